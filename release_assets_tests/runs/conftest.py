"""`release-assets` as a user runs it: the console script in its own process, an explicit
environment, the local GitHub-compatible server; the runs it makes are real code-location runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World

CLI = Path(sys.executable).parent / "release-assets"
# Settings a test must not inherit from whoever runs pytest.
_SCRUBBED = ("GITHUB_", "RELEASE_ASSETS_", "DAGSTER_", "SLACK_")


@dataclass
class Place:
    """One instance + DuckDB file + reports, and the environment pointing the CLI at them."""

    root: Path
    api_url: str
    token: str | None = TEST_TOKEN

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def db(self) -> Path:
        return self.root / "release_assets.duckdb"

    @property
    def config(self) -> Path:
        return self.root / "release_assets.yaml"

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
        env.update({
            "DAGSTER_HOME": str(self.home), "RELEASE_ASSETS_DB": str(self.db),
            "RELEASE_ASSETS_CONFIG": str(self.config), "GITHUB_API_URL": self.api_url,
            "RELEASE_ASSETS_RETRY_BACKOFF_SECONDS": "0.01",
            "XDG_CACHE_HOME": str(self.root / "cache"), "RELEASE_ASSETS_AUTOMATION": "off",
        })
        if self.token:
            env["GITHUB_TOKEN"] = self.token
        env.update(overrides)
        return env

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()


def start_cli(place: Place, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`release-assets ARGS` in its own process group, so a test can SIGKILL all of it."""
    return subprocess.Popen(  # noqa: S603 - our own console script
        [str(CLI), *args], env=env or place.env(), cwd=place.root, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )


def run_cli(place: Place, *args: str, env: dict[str, str] | None = None,
            timeout: float = 420) -> subprocess.CompletedProcess[str]:
    process = start_cli(place, *args, env=env)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        out, err = process.communicate()
        raise AssertionError(f"release-assets {' '.join(args)} still running after {timeout} s\n"
                             f"{out[-3000:]}\n{err[-3000:]}") from None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the CLI, its code server and its run worker at once: nothing cleans up."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(what: str, condition: object, timeout: float = 300, interval: float = 0.1) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(interval)


REPOSITORIES = 4


@pytest.fixture(scope="package")
def org_github() -> Iterator[GitHubServer]:
    """An org of a few repositories whose releases verify cleanly; a token is required."""
    world = World()
    generate_org(world, "acme", repos=REPOSITORIES, releases=3, artifacts=3)
    with GitHubServer(world, token=TEST_TOKEN) as server:
        yield server


def new_place(root: Path, server: GitHubServer) -> Place:
    root.mkdir(parents=True, exist_ok=True)
    place = Place(root, server.url)
    # Quality gate at 0: these tests are about runs, not scores.
    place.config.write_text("orgs: [acme]\nquality: {rubric: default, threshold: 0}\n")
    return place


@pytest.fixture(scope="package")
def refreshed(tmp_path_factory: pytest.TempPathFactory, org_github: GitHubServer) -> Place:
    """One uninterrupted `release-assets refresh` of the org: the reference."""
    place = new_place(tmp_path_factory.mktemp("reference"), org_github)
    done = run_cli(place, "refresh")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Repositories: {REPOSITORIES} ok, 0 failed" in done.stdout
    return place
