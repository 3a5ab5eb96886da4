"""Ingestion into DuckDB: upserts, append-only snapshots, deletions marked, failures isolated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets_tests.github_server import GitHubServer, World

DAY1 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def release(tag: str, *, body: str | None = "## Changes", draft: bool = False,
            prerelease: bool = False, published: str | None = "2026-10-01T00:00:00Z",
            artifacts: tuple[tuple[str, int], ...] = (("tool_linux_amd64.tar.gz", 10),)) -> dict:
    return {
        "tag_name": tag, "name": tag, "body": body, "draft": draft, "prerelease": prerelease,
        "published_at": None if draft else published, "created_at": published or "2026-10-01T00:00:00Z",
        "assets": [{"name": n, "download_count": c, "size": 100, "content_type": "application/gzip"}
                   for n, c in artifacts],
    }


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_odd_releases_are_stored_not_fatal(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    world.add_repo("acme/odd")
    world.add_release("acme/odd", release("v0.9.0"))
    world.add_release("acme/odd", release("jq-1.5", body=None))
    world.add_release("acme/odd", release("v2.0.0-rc.1", prerelease=True))
    world.add_release("acme/odd", release("v2.0.0", draft=True, published=None))
    world.add_repo("acme/empty")
    results = refresh_repositories(client, db_path, ["acme/odd", "acme/empty"], observed_at=DAY1)
    assert {r.repo: r.status for r in results} == {"acme/odd": "ok", "acme/empty": "ok"}
    stored = rows(db_path, "SELECT tag, draft, published_at IS NULL, body IS NULL, version "
                           "FROM releases ORDER BY list_position")
    assert stored == [
        ("v2.0.0", True, True, False, "2.0.0"),
        ("v2.0.0-rc.1", False, False, False, "2.0.0-rc.1"),
        ("jq-1.5", False, False, True, "1.5.0"),
        ("v0.9.0", False, False, False, "0.9.0"),
    ]


def test_snapshots_append_once_per_day_and_never_delete(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    world.add_repo("acme/tool")
    stored = world.add_release("acme/tool", release("v1.0.0"))
    artifact_id = stored["assets"][0]["id"]
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1)
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1 + timedelta(hours=2))
    assert rows(db_path, "SELECT count(*) FROM download_snapshots") == [(1,)]
    world.set_download_count(artifact_id, 25)
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1 + timedelta(days=1))
    world.delete_release("acme/tool", stored["id"])
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1 + timedelta(days=2))
    assert rows(db_path, "SELECT observed_on, download_count FROM download_snapshots ORDER BY 1") == [
        (DAY1.date(), 10), ((DAY1 + timedelta(days=1)).date(), 25),
    ]
    assert rows(db_path, "SELECT deleted_at IS NOT NULL FROM releases") == [(True,)]
    assert rows(db_path, "SELECT deleted_at IS NOT NULL FROM release_artifacts") == [(True,)]


def test_unchanged_repository_is_304_and_survives_restart(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    world.add_repo("acme/tool")
    for i in range(120):
        world.add_release("acme/tool", release(f"v1.{i}.0"))
    token = "test-token-0123456789"
    refresh_repositories(GitHubClient(github_server.url, token), db_path, ["acme/tool"], observed_at=DAY1)
    github_server.reset_stats()
    # a new client (a new process in real life): validators come from DuckDB
    again = GitHubClient(github_server.url, token)
    [result] = refresh_repositories(again, db_path, ["acme/tool"], observed_at=DAY1 + timedelta(days=1))
    assert result.status == "not_modified"
    assert (result.requests, result.not_modified, result.rate_limit_points) == (2, 2, 0)
    assert github_server.stats.not_modified == 2
    # the 304 still confirms today's counts
    assert rows(db_path, "SELECT count(DISTINCT observed_on) FROM download_snapshots") == [(2,)]
    assert rows(db_path, "SELECT count(*) FROM releases WHERE deleted_at IS NULL") == [(120,)]


def test_new_release_shifts_pages_and_nothing_is_lost(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    world.add_repo("acme/tool")
    for i in range(150):
        world.add_release("acme/tool", release(f"v1.{i}.0"))
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1)
    world.add_release("acme/tool", release("v2.0.0"))
    [result] = refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1)
    assert result.releases == 151
    assert rows(db_path, "SELECT tag FROM releases WHERE list_position = 0") == [("v2.0.0",)]
    assert rows(db_path, "SELECT count(*) FROM releases WHERE deleted_at IS NOT NULL") == [(0,)]


def test_reuploaded_artifact_gets_a_new_row(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    world.add_repo("acme/tool")
    stored = world.add_release("acme/tool", release("v1.0.0"))
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1)
    world.replace_artifact("acme/tool", stored["id"], "tool_linux_amd64.tar.gz")
    refresh_repositories(client, db_path, ["acme/tool"], observed_at=DAY1 + timedelta(days=1))
    assert rows(
        db_path, "SELECT download_count, deleted_at IS NULL FROM release_artifacts ORDER BY artifact_id"
    ) == [(10, False), (0, True)]


def test_one_failing_repository_does_not_stop_the_others(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    for name in ("a", "b", "c"):
        world.add_repo(f"acme/{name}")
        world.add_release(f"acme/{name}", release("v1.0.0"))
    refresh_repositories(client, db_path, ["acme/a", "acme/b", "acme/c"], observed_at=DAY1)
    world.add_release("acme/b", release("v1.1.0"))
    github_server.inject(r"/repos/acme/b/releases", status=500, times=20)
    results = refresh_repositories(
        client, db_path, ["acme/a", "acme/b", "acme/c", "acme/gone"], observed_at=DAY1
    )
    status = {r.repo: (r.status, r.error) for r in results}
    assert status["acme/a"][0] == status["acme/c"][0] == "not_modified"
    assert status["acme/b"][0] == "failed" and "HTTP 500" in status["acme/b"][1]
    assert status["acme/gone"][0] == "failed" and "404" in status["acme/gone"][1]
    # what acme/b had before is still there; the failure is recorded with its reason
    assert rows(db_path, "SELECT count(*) FROM releases WHERE repo = 'acme/b'") == [(1,)]
    assert rows(db_path, "SELECT status, error LIKE '%500%' FROM repository_fetches "
                         "WHERE repo = 'acme/b' ORDER BY fetched_at DESC LIMIT 1") == [("failed", True)]
