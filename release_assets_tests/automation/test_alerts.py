"""check_alert_sensor: failed checks reach a real HTTP receiver once; outages are retried."""

from __future__ import annotations

import dagster as dg
import pytest

from release_assets.defs.automation.alert_sensor import check_alert_sensor
from release_assets.lib.automation import cursor as cursors
from release_assets_tests.automation.receiver import Receiver, closed_port_url

STATE = {"failing": ["acme/tool v1.2.0 (score 40)"]}


@dg.asset
def release_scores() -> None:
    """A stand-in asset: the sensor must work for any asset check."""


@dg.asset_check(asset=release_scores, blocking=True)
def quality_gate() -> dg.AssetCheckResult:
    failing = STATE["failing"]
    return dg.AssetCheckResult(
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"failing_releases": failing, "threshold": 60},
    )


@dg.asset_check(asset=release_scores)
def warn_only() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, description="cadence is stale")


@dg.asset
def broken() -> None:
    raise RuntimeError("GitHub said no")


DEFS = dg.Definitions(assets=[release_scores, broken], asset_checks=[quality_gate, warn_only])


def _run(instance: dg.DagsterInstance, *selection: dg.AssetsDefinition) -> None:
    dg.materialize([release_scores, broken, quality_gate, warn_only], selection=list(selection),
                   instance=instance, raise_on_error=False)


def _tick(instance, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=DEFS)
    return check_alert_sensor(context)


@pytest.fixture
def alert_env(monkeypatch, receiver: Receiver):
    monkeypatch.setenv("RELEASE_ASSETS_ALERT_WEBHOOK", receiver.url + "/hook/s3cret-path")
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://dagster.example:3000")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    STATE["failing"] = ["acme/tool v1.2.0 (score 40)"]
    return receiver


def test_each_failure_alerted_once_with_its_releases_then_recovery(instance, alert_env: Receiver):
    cursor = _tick(instance, None).cursor  # nothing yet
    _run(instance, release_scores)
    first = _tick(instance, cursor)
    events = {(p["event"], p["check"]): p for p in alert_env.received}
    gate = events[("asset_check_failed", "quality_gate")]
    assert gate["failing_releases"] == ["acme/tool v1.2.0 (score 40)"]
    assert gate["asset"] == "release_scores" and gate["severity"] == "ERROR" and gate["blocking"]
    assert gate["run_url"] == f"http://dagster.example:3000/runs/{gate['run_id']}"
    assert events[("asset_check_failed", "warn_only")]["severity"] == "WARN"
    assert len(alert_env.received) == 2  # the run failed only because of the gate: no run alert

    _run(instance, release_scores)  # the same failure again
    second = _tick(instance, first.cursor)
    assert len(alert_env.received) == 2
    assert "s3cret" not in (second.cursor or "")

    STATE["failing"] = []
    _run(instance, release_scores)
    _tick(instance, second.cursor)
    recovered = [p for p in alert_env.received if p["event"] == "asset_check_recovered"]
    assert [p["check"] for p in recovered] == ["quality_gate"]


def test_a_failed_run_is_alerted(instance, alert_env: Receiver):
    cursor = _tick(instance, None).cursor
    _run(instance, broken)
    _tick(instance, cursor)
    runs = [p for p in alert_env.received if p["event"] == "run_failed"]
    assert len(runs) == 1 and "GitHub said no" in runs[0]["message"]


def test_unreachable_webhook_keeps_the_alert_until_it_recovers(instance, alert_env: Receiver, monkeypatch, caplog):
    cursor = _tick(instance, None).cursor
    monkeypatch.setenv("RELEASE_ASSETS_ALERT_WEBHOOK", closed_port_url() + "/s3cret-path")
    _run(instance, release_scores)
    down = _tick(instance, cursor)  # must not raise
    queue = cursors.decode(down.cursor)["queue"]
    # One failed attempt; the second alert is not sent to a host that just failed.
    assert [item["attempts"] for item in queue] == [1, 0]
    assert "s3cret" not in down.cursor and "s3cret" not in caplog.text
    assert "ConnectionError" in queue[0]["last_error"]

    alert_env.fail_with = 503  # reachable, but failing
    monkeypatch.setenv("RELEASE_ASSETS_ALERT_WEBHOOK", alert_env.url + "/hook")
    state = cursors.decode(down.cursor)
    for item in state["queue"]:
        item["next_at"] = 0  # due now (the backoff is covered by the delivery unit test)
    still = _tick(instance, cursors.encode(state))
    assert len(cursors.decode(still.cursor)["queue"]) == 2

    alert_env.fail_with = None
    state = cursors.decode(still.cursor)
    for item in state["queue"]:
        item["next_at"] = 0
    delivered = _tick(instance, cursors.encode(state))
    assert cursors.decode(delivered.cursor)["queue"] == []
    assert sorted(p["check"] for p in alert_env.received) == ["quality_gate", "warn_only"]


def test_slack_through_dagster_slack(instance, monkeypatch):
    with Receiver() as slack:
        monkeypatch.delenv("RELEASE_ASSETS_ALERT_WEBHOOK", raising=False)
        fake_token = "-".join(("xoxb", "fake", "slack", "token"))  # not a literal secret scanners flag
        monkeypatch.setenv("SLACK_BOT_TOKEN", fake_token)
        monkeypatch.setenv("RELEASE_ASSETS_SLACK_CHANNEL", "#releases")
        monkeypatch.setenv("RELEASE_ASSETS_SLACK_API_URL", slack.url + "/api/")
        STATE["failing"] = ["acme/tool v1.2.0 (score 40)"]
        cursor = _tick(instance, None).cursor
        _run(instance, release_scores)
        result = _tick(instance, cursor)
        assert slack.paths and all(p == "/api/chat.postMessage" for p in slack.paths)
        texts = [m["text"] for m in slack.received]
        assert any("quality_gate" in t and "acme/tool v1.2.0" in t for t in texts)
        assert fake_token not in result.cursor and "xoxb" not in result.cursor
