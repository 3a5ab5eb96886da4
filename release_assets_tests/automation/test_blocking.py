"""Blocking only where it should: one repository's low score fails its check, not the run.

The real code location's jobs run on a real instance, as the weekly schedule asks for them:
the refresh over every repository partition, then the organisation's reports. A repository
whose latest release scores 0 fails `latest_release_meets_quality_threshold` (ERROR), yet the
weekly run succeeds, the dashboard is rebuilt with that repository on it, and the alert sensor
still sends exactly one alert naming the release.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from release_assets.definitions import defs as load_defs
from release_assets.defs.automation.alert_sensor import check_alert_sensor
from release_assets.defs.automation.schedules import weekly_release_refresh
from release_assets_tests.automation.conftest import release
from release_assets_tests.automation.receiver import Receiver
from release_assets_tests.github_server import GitHubServer, World

GATE = "latest_release_meets_quality_threshold"
GOOD_FILES = ("tool-linux-amd64.tar.gz", "checksums.txt", "tool-linux-amd64.tar.gz.sig", "tool.spdx.json")


def _run(defs: dg.Definitions, job: str, instance: dg.DagsterInstance,
         tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags or {}, raise_on_error=False
    )


def test_a_low_score_fails_its_check_but_not_the_weekly_run_nor_the_reports(
    project_env: Path, tmp_path: Path, world: World, github_server: GitHubServer,
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    world.add_repo("acme/good")
    world.add_release("acme/good", release("v1.0.0", *GOOD_FILES))
    world.add_repo("acme/bare")
    world.add_release("acme/bare", {"tag_name": "v0.1.0", "body": None, "assets": []})
    config = tmp_path / "release_assets.yaml"
    config.write_text("repos: [acme/good, acme/bare]\n")
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    monkeypatch.setenv("RELEASE_ASSETS_ALERT_WEBHOOK", receiver.url + "/hook")
    defs = load_defs()

    with dg.instance_for_test() as instance:
        assert _run(defs, "discover_repositories", instance).success
        alerts_cursor = check_alert_sensor(
            dg.build_sensor_context(instance=instance, definitions=defs)
        ).cursor
        request = weekly_release_refresh(dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 12, 7, 6, tzinfo=UTC)
        ))
        assert isinstance(request, dg.RunRequest)
        weekly = _run(defs, "repository_refresh", instance, tags=request.tags)

        assert weekly.success  # no step failed: the gate does not block
        gates = [c for c in weekly.get_asset_check_evaluations() if c.check_name == GATE]
        assert len(gates) == 1
        gate = gates[0]
        assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
        assert gate.metadata["threshold"].value == 60
        assert gate.metadata["lowest_latest_score"].value == 0
        assert "| acme/bare | v0.1.0 | 0 |" in gate.metadata["failing_releases"].value
        assert "acme/good" not in gate.metadata["failing_releases"].value

        reports = _run(defs, "organisation_reports", instance)
        assert reports.success
        dashboard = json.loads((tmp_path / "reports" / "release-dashboard.json").read_text())
        assert dashboard["repositories"]["bare"]["latest_quality"]["quality_score"] == 0
        assert dashboard["repositories"]["good"]["latest_quality"]["quality_score"] == 100

        check_alert_sensor(dg.build_sensor_context(
            instance=instance, cursor=alerts_cursor, definitions=defs
        ))
    alerts = [p for p in receiver.received if p.get("check") == GATE]
    assert len(alerts) == 1
    assert alerts[0]["event"] == "asset_check_failed" and alerts[0]["blocking"] is False
    assert "acme/bare | v0.1.0" in alerts[0]["failing_releases"]
    assert not [p for p in receiver.received if p["event"] == "run_failed"]
