"""Shared fixtures: a local GitHub-compatible server, a temp DuckDB file, a temp Dagster home,
and a PostgreSQL server for the tests of the production instance."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_assets.lib.github_client import GitHubClient
from release_assets_tests.github_server import GitHubServer, World

TEST_TOKEN = "test-token-0123456789"  # a stand-in, checked by the server; not a real secret


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def github_server(world: World) -> Iterator[GitHubServer]:
    with GitHubServer(world, token=TEST_TOKEN) as server:
        yield server


@pytest.fixture
def client(github_server: GitHubServer) -> GitHubClient:
    return GitHubClient(
        github_server.url, TEST_TOKEN, backoff_seconds=0.01, max_rate_limit_wait=5, max_retries=3
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "release_assets.duckdb"


@pytest.fixture
def project_env(
    tmp_path: Path, db_path: Path, github_server: GitHubServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Environment for Dagster runs: temp DAGSTER_HOME and DuckDB, GitHub = the local server."""
    home = tmp_path / "dagster_home"
    (home / ".nux").mkdir(parents=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("RELEASE_ASSETS_DB", str(db_path))
    monkeypatch.setenv("RELEASE_ASSETS_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("GITHUB_API_URL", github_server.url)
    monkeypatch.setenv("GITHUB_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("RELEASE_ASSETS_RETRY_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RELEASE_ASSETS_CONFIG", raising=False)
    return home


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """`RELEASE_ASSETS_TEST_POSTGRES_URL`, else a throwaway cluster started for this session.

    Request it, then `postgres.create_database(url)` for a database of your own. Never skipped:
    `make test` installs the PostgreSQL binaries when they are missing.
    """
    # Imported here: psycopg2 and the cluster helpers only load in sessions that need them.
    from release_assets_tests.deployment import postgres

    url = os.environ.get(postgres.URL_ENV)
    if url:
        yield url
        return
    cluster = postgres.ThrowawayCluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()
