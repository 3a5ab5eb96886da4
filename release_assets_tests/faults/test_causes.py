"""When nothing can be refreshed, the cause is stored in words a CLI can print: an unreachable
API, a refused token, an organisation that does not exist, an exhausted rate limit. Every
request made, discovery's included, is counted in DuckDB."""

from __future__ import annotations

import re
import time
from pathlib import Path

from release_assets.lib.config import Config
from release_assets.lib.discovery import refresh_repository_list
from release_assets.lib.github_client import GitHubClient
from release_assets_tests.faults.helpers import DAY1, DAY2, fast_client, refresh, rows
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World

NOTHING_LISTENS = "http://127.0.0.1:9"


def test_an_unreachable_api_is_named_and_given_up_on_within_a_minute(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    repos = generate_org(world, "acme", repos=3, releases=1, artifacts=1)
    config = Config(orgs=("acme",), repos=(repos[0],))
    refresh_repository_list(fast_client(github_server.url), db_path, config, run_id="run-1")
    refresh(fast_client(github_server.url), db_path, repos, DAY1, "run-1")
    waits: list[float] = []
    # The production retry settings; the injected sleep records the backoff asked for.
    client = GitHubClient(NOTHING_LISTENS, "token", sleep=waits.append)
    started = time.monotonic()
    refresh_repository_list(client, db_path, config, run_id="run-2")
    results = refresh(client, db_path, repos, DAY2, "run-2")
    assert time.monotonic() - started + sum(waits) < 60
    cause = "cannot connect to http://127.0.0.1:9: connection refused"
    assert rows(db_path, "SELECT source, status, error, requests FROM discovery_fetches "
                         "WHERE run_id = 'run-2' ORDER BY source") == [
        ("org:acme", "failed", f"{cause} (5 attempts)", 5),
        (f"repo:{repos[0]}", "failed", f"{cause} (1 attempt)", 1),  # known down: one try
    ]
    assert {r.status for r in results.values()} == {"failed"}
    assert all((r.error or "").startswith(cause) for r in results.values())
    # Nothing stored before is lost; every repository is still tracked.
    assert rows(db_path, "SELECT count(*) FROM releases WHERE deleted_at IS NULL") == [(3,)]
    assert rows(db_path, "SELECT count(*) FROM repositories WHERE status = 'active'") == [(3,)]


def test_a_refused_token_is_named(world: World, github_server: GitHubServer, db_path: Path) -> None:
    generate_org(world, "acme", repos=1, releases=1, artifacts=1)
    client = fast_client(github_server.url, token="not-the-token")
    refresh_repository_list(client, db_path, Config(orgs=("acme",)), run_id="run-1")
    assert rows(db_path, "SELECT status, error, requests, rate_limit_points "
                         "FROM discovery_fetches") == [
        ("failed", "GitHub refused the token (401 Bad credentials)", 1, 0)]


def test_an_organisation_that_does_not_exist_is_named(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    generate_org(world, "acme", repos=1, releases=1, artifacts=1)
    found = refresh_repository_list(client, db_path, Config(orgs=("acme", "acme-typo")),
                                    run_id="run-1")
    assert found.errors == {"org:acme-typo": "organisation acme-typo not found (404)"}
    assert rows(db_path, "SELECT source, status, error FROM discovery_fetches ORDER BY source") == [
        ("org:acme", "ok", None), ("org:acme-typo", "failed", "organisation acme-typo not found (404)")]
    assert rows(db_path, "SELECT count(*) FROM repositories WHERE status = 'active'") == [(1,)]


def test_an_exhausted_rate_limit_is_named_with_its_reset_and_not_hammered(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    repos = generate_org(world, "acme", repos=4, releases=1, artifacts=1)
    github_server.inject(kind="rate_limit_exhausted", times=None)
    results = refresh(client, db_path, repos, DAY1, "run-1")
    assert {r.status for r in results.values()} == {"failed"}
    for result in results.values():
        assert re.match(r"rate limit exhausted until (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC",
                        result.error or "")
    # Once GitHub said when the limit resets, the other repositories do not ask again (two
    # workers may each have asked once before the first answer came).
    assert github_server.stats.requests == sum(r.requests for r in results.values()) <= 2
