"""One production-shaped deployment shared by the deployment tests (starting it costs ~10 s).

PostgreSQL: the session's `postgres_server_url` (release_assets_tests/conftest.py: the server at
`RELEASE_ASSETS_TEST_POSTGRES_URL`, or a throwaway cluster); never skipped. GitHub: the local
GitHub-compatible server on the demo world (recorded real responses) plus a generated org `acme`,
so the refresh exercises both explicit repositories and org discovery. The instance is
`infra/dagster.yaml` and the workspace `infra/workspace.yaml`, byte for byte: what the tests pass
is what operators deploy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.demo.snapshot import DEMO_REPOSITORIES
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.deployment import postgres
from release_assets_tests.deployment.graphql import DagsterGraphQL
from release_assets_tests.deployment.processes import DagsterDeployment, wait_until
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, load_demo_world

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
ARTIFACTS = ROOT / "test-artifacts" / "deployment"  # screenshots and process logs (gitignored)



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "deployment: long (tens of seconds): real code server, webserver, daemon, PostgreSQL, "
        "and for the UI test a real Chromium; never skipped",
    )


@pytest.fixture(scope="package")
def deployment_github() -> Iterator[GitHubServer]:
    world = load_demo_world()
    # Three artifacts each (binaries only): nothing to verify, so only discovery and ingestion
    # of an org are added to what the demo repositories already cover.
    generate_org(world, "acme", repos=2, releases=3, artifacts=3)
    with GitHubServer(world, token=TEST_TOKEN) as server:
        yield server


def deployment_config() -> str:
    """The release_assets config the deployment runs with (explicit repos + one org)."""
    repos = "\n".join(f"  - {repo}" for repo in DEMO_REPOSITORIES)
    # Quality failures are warnings here: the recorded demo releases score below 60 and a
    # blocking check would fail the refresh run, which is the automation tests' subject, not ours.
    return (
        f"orgs: [acme]\nrepos:\n{repos}\nskip_forks: false\n"
        "quality: {rubric: default, threshold: 60, severity: WARN}\n"
    )


@dataclass
class Refresh:
    """The runs the shared refresh launched through GraphQL, and their final statuses."""

    discover_run: str
    refresh_run: str
    reports_run: str | None
    partitions: list[str]
    statuses: dict[str, str] = field(default_factory=dict)


@dataclass
class Deployment:
    processes: DagsterDeployment
    graphql: DagsterGraphQL
    database_url: str
    db_path: Path
    tmp: Path
    refresh: Refresh | None = None

    def wait_ready(self, timeout: float = 90.0) -> None:
        """The code location loaded in the webserver and every required daemon heartbeating."""
        wait_until("the code location to load", self.graphql.location_loaded, timeout=timeout,
                   processes=self.processes.processes)
        wait_until("healthy daemons", self.graphql.daemons_healthy, timeout=timeout,
                   processes=self.processes.processes)

    def run_to_end(self, run_id: str, timeout: float = 150.0) -> str:
        def still_alive() -> None:
            dead = [p.name for p in self.processes.processes if not p.running]
            if dead:
                raise AssertionError(f"{dead} exited during run {run_id}\n{self.processes.describe()}")

        status = self.graphql.wait_for_run(run_id, timeout=timeout, on_wait=still_alive)
        if status != "SUCCESS":
            messages = "\n".join(self.graphql.run_failure_messages(run_id))
            raise AssertionError(f"run {run_id} ended {status}:\n{messages}\n{self.processes.describe()}")
        return status


@pytest.fixture(scope="package")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server_url: str,
    deployment_github: GitHubServer,
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("deployment")
    home = tmp / "dagster_home"
    (home / ".nux").mkdir(parents=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # no welcome pop-up over the UI
    shutil.copy(INFRA / "dagster.yaml", home / "dagster.yaml")
    config = tmp / "release_assets.yaml"
    config.write_text(deployment_config())
    database_url = postgres.create_database(postgres_server_url)
    db_path = tmp / "data" / "release_assets.duckdb"

    # Only what a production container gets: no test runner's DAGSTER_*/RELEASE_ASSETS_* leaks in.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DAGSTER_", "RELEASE_ASSETS_", "GITHUB_", "SLACK_", "PYTEST"))}
    env.update(
        DAGSTER_POSTGRES_URL=database_url,
        GITHUB_API_URL=deployment_github.url,
        GITHUB_TOKEN=TEST_TOKEN,
        RELEASE_ASSETS_CONFIG=str(config),
        RELEASE_ASSETS_DB=str(db_path),
        RELEASE_ASSETS_REPORTS=str(tmp / "data" / "reports"),
        # Schedules and sensors start stopped, so only what the tests launch runs, and the
        # tests turn some on to prove their state survives a restart.
        RELEASE_ASSETS_AUTOMATION="off",
        RELEASE_ASSETS_ALERT_INTERVAL_SECONDS="2",
        RELEASE_ASSETS_RETRY_BACKOFF_SECONDS="0.01",
        XDG_CACHE_HOME=str(tmp / "cache"),
    )
    log_dir = ARTIFACTS / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    processes = DagsterDeployment(home=home, workspace=INFRA / "workspace.yaml", env=env, log_dir=log_dir)
    deployment = Deployment(processes, DagsterGraphQL(processes.url), database_url, db_path, tmp)
    try:
        processes.start()
        deployment.wait_ready()
        yield deployment
    finally:
        processes.stop()
        postgres.drop_database(database_url)


@pytest.fixture(scope="package")
def refreshed(deployment: Deployment) -> Deployment:
    """A whole refresh launched through the webserver's GraphQL API, as the UI would.

    `discover_repositories` registers the repository partitions; then ONE `repository_refresh`
    run over the whole key range (the design's single-run backfill); then the org-wide reports.
    """
    if deployment.refresh is not None:
        return deployment
    graphql = deployment.graphql
    discover = graphql.launch_run("discover_repositories")
    deployment.run_to_end(discover)
    partitions = graphql.partition_keys("releases")
    assert partitions, "discover_repositories registered no repository partitions"
    refresh = graphql.launch_run(
        "repository_refresh", tags={RANGE_START: partitions[0], RANGE_END: partitions[-1]}
    )
    deployment.run_to_end(refresh)
    reports = graphql.launch_run("organisation_reports") if graphql.job_has_assets("organisation_reports") else None
    if reports is not None:
        deployment.run_to_end(reports)
    deployment.refresh = Refresh(discover, refresh, reports, partitions)
    return deployment
