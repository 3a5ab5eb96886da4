"""A run made by `release-assets refresh` is the code location's own: it carries the origin of
location `release_assets`, and the UI (a real `dagster-webserver`, through its GraphQL API)
re-executes it successfully."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets_tests.deployment.graphql import LOCATION, DagsterGraphQL, GraphQLError
from release_assets_tests.deployment.processes import (
    BIN,
    ManagedProcess,
    free_port,
    http_ok,
    wait_until,
)
from release_assets_tests.runs.conftest import Place

ROOT = Path(__file__).resolve().parents[2]

REEXECUTE = """mutation Reexecute($params: ReexecutionParams!) {
    launchRunReexecution(reexecutionParams: $params) { __typename
        ... on LaunchRunSuccess { run { runId } }
        ... on PythonError { message stack }
        ... on Error { message } } }"""


def test_cli_runs_carry_the_location_origin_and_reexecute_from_the_ui(
    refreshed: Place, tmp_path: Path
) -> None:
    with refreshed.instance() as instance:
        runs = [record.dagster_run for record in instance.get_run_records()]
    assert sorted(run.job_name for run in runs) == [
        "discover_repositories", "organisation_reports", "repository_refresh"]
    for run in runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS, run.job_name
        assert run.remote_job_origin is not None, run.job_name
        assert run.remote_job_origin.location_name == LOCATION
        assert run.tags["dagster/code_location"] == LOCATION
    refresh = next(run for run in runs if run.job_name == "repository_refresh")
    before = refreshed.query("SELECT count(*), sum(download_count) FROM download_snapshots")

    port = free_port()
    webserver = ManagedProcess(
        "webserver",
        [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)],
        refreshed.env(), tmp_path / "logs", cwd=ROOT,
    ).start()
    try:
        graphql = DagsterGraphQL(f"http://127.0.0.1:{port}")
        wait_until("the webserver", lambda: http_ok(f"{graphql.url}/server_info"),
                   timeout=120, processes=[webserver])
        wait_until("the code location", graphql.location_loaded, timeout=120,
                   processes=[webserver])
        result = graphql(REEXECUTE, {"params": {"parentRunId": refresh.run_id,
                                                "strategy": "ALL_STEPS"}})
        launched = result["launchRunReexecution"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(str(launched))
        child = launched["run"]["runId"]
        status = graphql.wait_for_run(child, timeout=300)
        assert status == "SUCCESS", graphql.run_failure_messages(child)
        tags = {t["key"]: t["value"] for t in graphql.run(child)["tags"]}
        assert tags["dagster/parent_run_id"] == refresh.run_id
        assert (tags[RANGE_START], tags[RANGE_END]) == (refresh.tags[RANGE_START],
                                                         refresh.tags[RANGE_END])
    finally:
        webserver.stop()
    # The same day's rerun stored nothing twice.
    assert refreshed.query("SELECT count(*), sum(download_count) FROM download_snapshots") == before
