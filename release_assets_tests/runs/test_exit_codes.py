"""Exit codes that tell the truth: when errors leave no repository refreshed, the cause is on
stderr and the exit code is 1; "No repositories to refresh" only for a config selecting none."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World
from release_assets_tests.runs.conftest import Place, new_place, run_cli


@pytest.fixture
def server() -> Iterator[GitHubServer]:
    world = World()
    generate_org(world, "acme", repos=2, releases=1, artifacts=1)
    with GitHubServer(world, token=TEST_TOKEN) as github:
        yield github


def test_unreachable_api_exits_1_within_a_minute_naming_the_connection_failure(
    tmp_path: Path, server: GitHubServer
) -> None:
    place = Place(tmp_path, "http://127.0.0.1:9")  # nothing listens on the discard port
    place.config.write_text("orgs: [acme]\n")
    env = place.env()
    del env["RELEASE_ASSETS_RETRY_BACKOFF_SECONDS"]  # the default retries, as a user has them
    started = time.monotonic()
    done = run_cli(place, "refresh", env=env)
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert elapsed < 60, f"took {elapsed:.0f} s"
    assert "No repository could be refreshed" in done.stderr
    assert re.search(r"(?i)connect", done.stderr) and "127.0.0.1:9" in done.stderr, done.stderr
    assert "No repositories to refresh" not in done.stdout


@pytest.mark.parametrize(
    ("case", "cause"),
    [
        ("bad_credentials", r"401"),
        ("unknown_org", r"(?i)organisation nosuchorg not found"),
        ("rate_limit_exhausted", r"(?i)rate limit"),
    ],
)
def test_errors_that_leave_nothing_refreshed_exit_1_with_the_cause(
    tmp_path: Path, server: GitHubServer, case: str, cause: str
) -> None:
    place = new_place(tmp_path, server)
    env = place.env()
    if case == "bad_credentials":
        env["GITHUB_TOKEN"] = "a-token-github-refuses"
    elif case == "unknown_org":
        place.config.write_text("orgs: [nosuchorg]\n")
    else:
        server.inject(kind="rate_limit_exhausted", times=None)
    done = run_cli(place, "refresh", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(cause, done.stderr), done.stderr
    assert "No repositories to refresh" not in done.stdout
    assert "a-token-github-refuses" not in done.stdout + done.stderr


def test_a_config_selecting_nothing_is_not_an_error(tmp_path: Path, server: GitHubServer) -> None:
    place = new_place(tmp_path, server)
    place.config.write_text("orgs: [acme]\nexclude: ['*']\n")
    done = run_cli(place, "refresh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No repositories to refresh" in done.stdout
    # the org listing was made and is counted
    assert "requests 1 " in done.stdout and server.stats.requests == 1
