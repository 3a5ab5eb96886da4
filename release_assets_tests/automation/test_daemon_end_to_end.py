"""The real dagster-daemon on a temporary DAGSTER_HOME: sensors tick, runs happen, alerts arrive.

Discovery registers the org's two repositories and refreshes them in one run; one repository
answers 500, so `every_repository_fetched` fails and exactly one webhook alert names it. Then a
release below the quality threshold, added on the server, leads with nobody pressing a button
to a run for that repository alone, the release in DuckDB, and exactly one alert naming it; and
the organisation's reports rebuild themselves afterwards, the failed gate notwithstanding.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dagster._core.instance.ref import InstanceRef

from release_assets_tests.automation.conftest import release
from release_assets_tests.automation.receiver import Receiver
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.github_server import GitHubServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(420)


def _wait(what: str, condition: Callable[[], Any], log: Path, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text()[-4000:] if log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n--- daemon log ---\n{tail}")


@pytest.fixture
def daemon_env(tmp_path: Path, github_server: GitHubServer, receiver: Receiver) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    with (home / "dagster.yaml").open("a") as config:  # dequeue every second, not every five
        config.write(
            "run_coordinator:\n  module: dagster._core.run_coordinator\n"
            "  class: QueuedRunCoordinator\n  config:\n    dequeue_interval_seconds: 1\n"
        )
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: release_assets.definitions\n"
        f"      working_directory: {ROOT}\n"
    )
    (tmp_path / "release_assets.yaml").write_text(
        "orgs: [acme]\n"
        "schedule: {discovery_interval_seconds: 2, new_release_interval_seconds: 2}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RELEASE_ASSETS_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        RELEASE_ASSETS_CONFIG=str(tmp_path / "release_assets.yaml"),
        RELEASE_ASSETS_DB=str(tmp_path / "release_assets.duckdb"),
        RELEASE_ASSETS_REPORTS=str(tmp_path / "reports"),
        RELEASE_ASSETS_ALERT_WEBHOOK=receiver.url + "/hook",
        RELEASE_ASSETS_ALERT_INTERVAL_SECONDS="2",
        RELEASE_ASSETS_RETRY_BACKOFF_SECONDS="0.01",
        DAGSTER_WEBSERVER_URL="http://127.0.0.1:3999",
        GITHUB_API_URL=github_server.url,
        GITHUB_TOKEN=TEST_TOKEN,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    # Create the SQLite storage before any Dagster process starts: the daemon and its code
    # server initialising a fresh DAGSTER_HOME at the same time race on the schema migrations.
    dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))).dispose()
    return env


@pytest.fixture
def daemon(tmp_path: Path, daemon_env: dict[str, str]) -> Iterator[Path]:
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
            cwd=tmp_path, env=daemon_env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with every run it launched
        )
        try:
            yield log
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


GATE, FETCHED = "latest_release_meets_quality_threshold", "every_repository_fetched"
GOOD_FILES = ("tool-linux-amd64.tar.gz", "checksums.txt", "tool-linux-amd64.tar.gz.sig", "tool.spdx.json")


def test_daemon_discovers_refreshes_alerts_once_and_reacts_to_a_new_release(
    world, github_server: GitHubServer, receiver: Receiver, daemon_env: dict[str, str], daemon: Path
):
    tool, flaky = "acme/tool", "acme/flaky"
    world.add_repo(tool)
    world.add_release(tool, release("v1.0.0", *GOOD_FILES))
    world.add_release(tool, release("v1.1.0", *GOOD_FILES))
    world.add_repo(flaky)
    github_server.inject(rf"/repos/{flaky}/releases", status=500, times=10_000)
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(daemon_env["DAGSTER_HOME"]))

    def finished(tag: str) -> list[dg.DagsterRun]:
        runs = instance.get_runs(dg.RunsFilter(job_name="repository_refresh", tags={"release_assets/trigger": tag}))
        return [r for r in runs if r.is_finished]

    def alerts_naming(text: str, check: str) -> list[dict]:
        # Other checks (verification of the signatures, say) may alert too; these two are ours.
        return [p for p in receiver.received
                if p.get("check") == check and text in str(p.get("failing_releases"))]

    # 1. Discovery: both repositories become partitions and are refreshed in one run; the one
    #    answering 500 fails `every_repository_fetched` and is alerted once.
    # the first refresh runs the whole graph (ingestion, analytics, verification, history):
    # on a loaded 2-core machine it may queue behind the freshness run for the duckdb pool
    first = _wait("the discovery run", lambda: finished("discovery"), daemon, timeout=150)
    assert sorted(instance.get_dynamic_partitions("repositories")) == [flaky, tool]
    alert = _wait("the fetch alert", lambda: alerts_naming(flaky, FETCHED), daemon)[0]
    assert alert["severity"] == "WARN"
    assert alert["run_url"] == f"http://127.0.0.1:3999/runs/{first[0].run_id}"
    assert not alerts_naming("v1.1.0", GATE)  # the good release passes the quality gate

    # 2. A release below the quality threshold: a run for that repository alone, the release
    #    stored, and exactly one alert naming it.
    world.add_release(tool, {"tag_name": "v99.0.0", "body": None, "assets": [{"name": "tool.zip"}]})
    reacted = _wait("the new-release run", lambda: finished("new_release"), daemon)
    assert [r.tags.get("dagster/partition") for r in reacted] == [tool]

    def stored() -> bool:
        try:
            with duckdb.connect(daemon_env["RELEASE_ASSETS_DB"], read_only=True) as con:
                query = "SELECT count(*) FROM releases WHERE repo = ? AND tag = 'v99.0.0'"
                return bool(con.execute(query, [tool]).fetchone()[0])
        except duckdb.IOException:
            return False  # a run holds the file right now

    _wait("the release in DuckDB", stored, daemon, timeout=20)
    gate = _wait("the quality-gate alert", lambda: alerts_naming("v99.0.0", GATE), daemon)[0]
    assert gate["severity"] == "ERROR" and gate["partition"] == tool
    assert gate["run_url"].endswith(reacted[0].run_id)
    time.sleep(5)  # more alert ticks: still one alert each
    assert len(alerts_naming("v99.0.0", GATE)) == 1 and len(alerts_naming(flaky, FETCHED)) == 1

    # 3. The reports followed the refreshes by themselves (organisation_reports_automation),
    #    the failed quality gate notwithstanding, and show the new release.
    def reports_with_v99() -> bool:
        runs = instance.get_runs(dg.RunsFilter(tags={"release_assets/trigger": "refresh_finished"}))
        dashboard = Path(daemon_env["RELEASE_ASSETS_REPORTS"]) / "release-dashboard.json"
        return any(r.status == dg.DagsterRunStatus.SUCCESS for r in runs) and \
            dashboard.exists() and "v99.0.0" in dashboard.read_text()

    _wait("the reports rebuilt after the new release", reports_with_v99, daemon, timeout=120)
