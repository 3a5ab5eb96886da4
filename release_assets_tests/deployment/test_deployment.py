"""The production shape, for real: gRPC code server + webserver + daemon on PostgreSQL.

A refresh is launched through the webserver's GraphQL API (as the UI does), queued by the
QueuedRunCoordinator, started by the daemon through the code server, and fetched from the local
GitHub-compatible server into a DuckDB file. Then every process is restarted and the run
history, the repository partitions and the schedule/sensor state are still there, because they
live in PostgreSQL and nowhere else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from release_assets.demo.snapshot import DEMO_REPOSITORIES
from release_assets_tests.deployment import postgres
from release_assets_tests.deployment.conftest import INFRA, RANGE_END, RANGE_START, Deployment
from release_assets_tests.deployment.processes import wait_until
from release_assets_tests.github_server import GitHubServer

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(300)]

SCHEDULE = "weekly_release_refresh"
SENSOR = "check_alert_sensor"  # reads the instance only: ticks without launching runs


def test_production_instance_settings_are_live(deployment: Deployment) -> None:
    """What infra/dagster.yaml promises is what the running webserver reports."""
    settings = deployment.graphql.pool_settings()
    assert settings["runQueuingSupported"], "runs must go through the QueuedRunCoordinator"
    assert settings["runQueueConfig"]["maxConcurrentRuns"] == 4
    assert settings["poolConfig"] == {"poolGranularity": "op", "defaultPoolLimit": 1}
    # DuckDB has one writer: the pool every writing asset declares is limited to 1.
    assert settings["concurrencyLimit"]["limit"] == 1
    # Storage really is PostgreSQL: the schema Dagster created is in our database.
    tables = {row[0] for row in postgres.query(
        deployment.database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"runs", "event_logs", "jobs", "job_ticks", "dynamic_partitions"} <= tables


def test_refresh_launched_through_graphql_succeeds(refreshed: Deployment) -> None:
    refresh = refreshed.refresh
    assert refresh is not None
    acme = [key for key in refresh.partitions if key.startswith("acme/")]
    assert len(acme) == 2, f"org discovery should register acme's 2 repositories: {refresh.partitions}"
    assert set(DEMO_REPOSITORIES) <= set(refresh.partitions)

    # One run for the whole key range, not one per repository.
    run = refreshed.graphql.run(refresh.refresh_run)
    assert run["status"] == "SUCCESS"
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert (tags[RANGE_START], tags[RANGE_END]) == (refresh.partitions[0], refresh.partitions[-1])

    # The run worker (spawned by the code server) wrote the DuckDB file from the local GitHub.
    with duckdb.connect(str(refreshed.db_path), read_only=True) as con:
        repos = {row[0] for row in con.execute("SELECT DISTINCT repo FROM releases").fetchall()}
        snapshots = con.execute("SELECT count(*) FROM download_snapshots").fetchone()
    assert {"stedolan/jq", "zeit/hyper", "acme/atlas", "acme/beacon"} <= repos
    assert snapshots is not None and snapshots[0] > 100

    # The run's history is rows in PostgreSQL.
    stored = dict(postgres.query(refreshed.database_url, "SELECT run_id, status FROM runs"))
    for run_id in (refresh.discover_run, refresh.refresh_run, refresh.reports_run):
        if run_id is not None:
            assert stored[run_id] == "SUCCESS"


def test_restart_of_every_process_keeps_history_and_automation_state(refreshed: Deployment) -> None:
    graphql = refreshed.graphql
    # Both start stopped (RELEASE_ASSETS_AUTOMATION=off): RUNNING after the restart can only
    # come from the state stored in PostgreSQL, not from the code's defaults.
    assert graphql.schedule_state(SCHEDULE)["scheduleState"]["status"] == "STOPPED"
    assert graphql.start_schedule(SCHEDULE) == "RUNNING"
    assert graphql.start_sensor(SENSOR) == "RUNNING"
    # A finished tick (not one still in progress) has stored the sensor's cursor.
    state_before = wait_until(
        f"a finished {SENSOR} tick from the daemon",
        lambda: (state := graphql.sensor_state(SENSOR)["sensorState"])["typeSpecificData"]["lastCursor"]
        and state,
        timeout=60, processes=refreshed.processes.processes,
    )
    ticks_before = state_before["ticks"]
    cursor_before = state_before["typeSpecificData"]["lastCursor"]
    runs_before = {run["runId"]: run["status"] for run in graphql.runs()}
    partitions_before = graphql.partition_keys("releases")
    assert len(runs_before) >= 3

    started = time.monotonic()
    refreshed.processes.restart()
    refreshed.wait_ready()
    restart_seconds = time.monotonic() - started
    assert all(p.starts == 2 for p in refreshed.processes.processes), "every process restarted"

    runs_after = {run["runId"]: run["status"] for run in graphql.runs()}
    for run_id, status in runs_before.items():
        assert runs_after[run_id] == status, f"run {run_id} was {status}, now {runs_after.get(run_id)}"
    assert graphql.partition_keys("releases") == partitions_before

    assert graphql.schedule_state(SCHEDULE)["scheduleState"]["status"] == "RUNNING"
    sensor = graphql.sensor_state(SENSOR)["sensorState"]
    assert sensor["status"] == "RUNNING"
    old_ticks = {tick["tickId"] for tick in ticks_before}
    assert old_ticks <= {tick["tickId"] for tick in sensor["ticks"]}, "sensor ticks were lost"
    assert cursor_before, "the alert sensor keeps its dedupe state in its cursor"

    # The restarted daemon resumes the stored RUNNING state by itself: a new tick appears.
    newest_before = max(tick["timestamp"] for tick in ticks_before)
    wait_until(
        f"a {SENSOR} tick after the restart",
        lambda: any(t["timestamp"] > newest_before
                    for t in graphql.sensor_state(SENSOR)["sensorState"]["ticks"]),
        timeout=60, processes=refreshed.processes.processes,
    )
    # And the restarted deployment still launches and finishes runs.
    again = graphql.launch_run("discover_repositories")
    refreshed.run_to_end(again)
    assert restart_seconds < 90


def test_online_backup_of_the_duckdb_file(refreshed: Deployment) -> None:
    """infra/backup_duckdb.py, as the operator guide runs it, while the deployment is up."""
    target = refreshed.tmp / "backups" / "release_assets-backup.duckdb"
    done = subprocess.run(
        [sys.executable, str(INFRA / "backup_duckdb.py"), str(refreshed.db_path), str(target), "--wait", "60"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout
    with duckdb.connect(str(refreshed.db_path), read_only=True) as live:
        tables = [row[0] for row in live.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        expected = {t: live.execute(f'SELECT count(*) FROM "{t}"').fetchone() for t in tables}
    with duckdb.connect(str(target), read_only=True) as copy:
        copied = {t: copy.execute(f'SELECT count(*) FROM "{t}"').fetchone() for t in tables}
    assert {"releases", "release_artifacts", "download_snapshots"} <= set(tables)
    assert copied == expected
    # A second run never overwrites a backup.
    again = subprocess.run([sys.executable, str(INFRA / "backup_duckdb.py"), str(refreshed.db_path), str(target)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "exists" in again.stderr


def data_table_counts(db_path: Path) -> dict[str, int]:
    """Rows per table, except the per-run fetch logs (`*_fetches`), which every run appends to."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
                  if not row[0].endswith("_fetches")]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_a_killed_run_frees_its_slot_and_is_retried(
    refreshed: Deployment, deployment_github: GitHubServer
) -> None:
    """SIGKILL of a run worker holding the `duckdb` slot never wedges the daemon deployment.

    The code server marks the run failed, run monitoring frees the slot it held
    (`free_slots_after_run_end_seconds`), run retries start it again, and afterwards every data table
    holds what the uninterrupted refresh stored.
    """
    graphql = refreshed.graphql
    processes = refreshed.processes.processes
    before = data_table_counts(refreshed.db_path)
    partitions = graphql.partition_keys("releases")
    # One slow release list keeps the ingestion step (and so the slot) busy until the kill.
    deployment_github.inject(r"/repos/zeit/hyper/releases", delay=20)
    killed = graphql.launch_run(
        "repository_refresh", tags={RANGE_START: partitions[0], RANGE_END: partitions[-1]}
    )

    def holds_slot() -> bool:
        return any(slot["runId"] == killed for slot in graphql.claimed_pool_slots())

    wait_until("the refresh to hold the duckdb slot", holds_slot, timeout=120, interval=0.2,
               processes=processes)
    pid = wait_until("the run worker's pid", lambda: graphql.run_worker_pid(killed), timeout=30)
    os.kill(pid, signal.SIGKILL)

    assert graphql.wait_for_run(killed, timeout=60) == "FAILURE"
    wait_until("run monitoring to free the dead run's slot", lambda: not holds_slot(), timeout=120,
               interval=1.0, processes=processes)
    retry = wait_until(
        "run retries to start the killed run again",
        lambda: next((run["runId"] for run in graphql.runs()
                      if {"key": "dagster/parent_run_id", "value": killed} in run["tags"]), None),
        timeout=90, interval=1.0, processes=processes,
    )
    refreshed.run_to_end(retry)
    assert data_table_counts(refreshed.db_path) == before
