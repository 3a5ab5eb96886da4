"""A refresh killed with SIGKILL (the CLI, its code server and its run worker at once) during
ingestion, analytics or verification never wedges the next: each next refresh marks the dead run
failed and frees its `duckdb` pool slot, and the tables end equal to an uninterrupted run's."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import dagster as dg

from release_assets_tests.github_server import GitHubServer
from release_assets_tests.runs.conftest import (
    REPOSITORIES,
    Place,
    kill_group,
    new_place,
    run_cli,
    start_cli,
)

# (phase, the step that is running when the kill lands, requests slowed to keep it running)
PHASES = [
    ("ingestion", "github_releases", r"/repos/[^/]+/[^/]+/releases"),
    ("analytics", "release_cadence", None),
    ("verification", "release_verification", None),
]
VERIFICATION_REQUESTS = r"/contents|/attestations|/download/"
TABLES = ["repositories", "releases", "release_artifacts", "download_snapshots", "release_cadence",
          "release_quality", "download_trends", "release_verification"]


def _running_step(place: Place, step: str) -> str | None:
    """The id of the repository_refresh run that has started `step` and not finished, if any."""
    if not (place.home / "dagster.yaml").exists():
        return None
    with place.instance() as instance:
        for record in instance.get_run_records(
            filters=dg.RunsFilter(job_name="repository_refresh",
                                  statuses=[dg.DagsterRunStatus.STARTED])
        ):
            run_id = record.dagster_run.run_id
            starts = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
            if any(entry.step_key == step for entry in starts):
                return run_id
    return None


def _wait_for_step(place: Place, step: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 420
    while (run_id := _running_step(place, step)) is None:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the refresh ended before step {step}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"step {step} never started")
        time.sleep(0.2)
    return run_id


def _state(place: Place, table: str) -> list[str]:
    """A table's rows without when or by which run they were written, in a stable order.
    (`cached` says whether a verdict was reached in this run or an earlier one: after killed
    runs more verdicts come from the cache; the verdicts themselves must be the same.)"""
    columns = [
        name for name, kind in place.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_name = '{table}' ORDER BY ordinal_position")
        if "TIMESTAMP" not in str(kind) and name not in ("run_id", "cached")
    ]
    select = ", ".join(f'"{c}"' for c in columns)
    return sorted(repr(row) for row in place.query(f'SELECT {select} FROM "{table}"'))


def test_refreshes_killed_at_three_phases_never_wedge_the_next(
    refreshed: Place, org_github: GitHubServer, tmp_path: Path
) -> None:
    place = new_place(tmp_path, org_github)
    killed: list[str] = []
    for phase, step, slow in PHASES:
        org_github.inject(VERIFICATION_REQUESTS, delay=2.0, times=None)  # the run cannot end first
        if slow:
            org_github.inject(slow, delay=3.0, times=None)
        process = start_cli(place, "refresh")
        try:
            run_id = _wait_for_step(place, step, process)
        finally:
            kill_group(process)
            org_github.clear_faults()
        killed.append(run_id)
        with place.instance() as instance:  # nobody was left to record the end of the run
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.STARTED, phase

    done = run_cli(place, "refresh")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Repositories: {REPOSITORIES} ok, 0 failed" in done.stdout
    assert f"Run {killed[-1]} had no process left" in done.stderr
    with place.instance() as instance:
        for run_id in killed:
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        holders = instance.event_log_storage.get_concurrency_run_ids()
        assert not holders & set(killed)

    duplicates = place.query(
        "SELECT artifact_id, CAST(observed_at AS DATE), count(*) FROM download_snapshots "
        "GROUP BY ALL HAVING count(*) > 1")
    assert duplicates == []
    for table in TABLES:
        assert _state(place, table) == _state(refreshed, table), table
