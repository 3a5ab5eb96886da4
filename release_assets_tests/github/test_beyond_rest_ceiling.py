"""Repositories past GitHub's 1,000-release REST ceiling: completed through GraphQL, reported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from release_assets.defs.github.assets import github_releases
from release_assets.defs.resources import resource_defs
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.graphql_releases import complete_with_graphql
from release_assets.lib.ingest import fetch_releases, refresh_repositories
from release_assets_tests.generated_org import build_releases, generate_big_repo
from release_assets_tests.github_server import GitHubServer, World

DAY1 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_1500_releases_complete_through_graphql(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    generate_big_repo(world, "acme/huge", releases=1500, artifacts=2)
    expected = world.releases("acme/huge")  # GitHub's list order, newest first
    [result] = refresh_repositories(
        client, db_path, ["acme/huge"], observed_at=DAY1,
        complete_beyond_ceiling=complete_with_graphql,
    )
    assert (result.status, result.truncated, result.completed_via) == ("ok", True, "graphql")
    assert (result.releases, result.artifacts, result.snapshots) == (1500, 3000, 3000)
    # 10 REST pages (the 11th would only answer 422), 5 GraphQL pages read backwards from the
    # oldest end: nothing of the first 1,000 is read twice, the floor of 15 requests exactly.
    assert github_server.stats.by_route == {"releases": 10, "graphql": 5}
    assert result.requests == 15 and result.rate_limit_points == 10 + 5
    stored = rows(db_path, "SELECT release_id, list_position, tag FROM releases ORDER BY list_position")
    assert [(r["id"], i, r["tag_name"]) for i, r in enumerate(expected)] == stored
    oldest = expected[-1]
    artifacts = rows(
        db_path,
        "SELECT artifact_id, name, size, digest, download_count, content_type, "
        "browser_download_url IS NOT NULL FROM release_artifacts WHERE release_id = ? "
        "ORDER BY artifact_id",
        [oldest["id"]],
    )
    assert artifacts == [
        (a["id"], a["name"], a["size"], a["digest"], a["download_count"], a["content_type"], True)
        for a in sorted(oldest["assets"], key=lambda a: a["id"])
    ]
    [(fetch_truncated, via)] = rows(
        db_path, "SELECT truncated, completed_via FROM repository_fetches WHERE repo = 'acme/huge'"
    )
    assert (fetch_truncated, via) == (True, "graphql")


def test_without_a_completer_the_truncation_is_reported(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    generate_big_repo(world, "acme/huge", releases=1100, artifacts=1)
    [result] = refresh_repositories(client, db_path, ["acme/huge"], observed_at=DAY1)
    assert (result.status, result.truncated, result.completed_via) == ("ok", True, "rest")
    assert result.releases == 1000


def test_a_422_ceiling_answer_is_still_understood(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    generate_big_repo(world, "acme/big", releases=250, artifacts=1)
    # A ceiling met before 1,000 releases (another page size, a lower limit): GitHub's 422.
    github_server.inject(r"/releases\?(per_page=100&)?page=3(&per_page=100)?$", status=422, body={
        "message": "Only the first 1000 results are available.", "status": "422"})
    fetched = fetch_releases(client, "acme/big", {}, complete_beyond_ceiling=complete_with_graphql)
    assert fetched.truncated and fetched.completed_via == "graphql"
    assert len(fetched.release_ids()) == 250 and len(fetched.extra_releases) == 50


def test_release_with_more_than_100_artifacts_pages_its_artifacts(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    world.add_repo("acme/wide")
    releases = build_releases("acme/wide", releases=1010, artifacts=1)
    releases[-1]["assets"] = [
        {"name": f"part-{i:03}.bin", "size": i, "download_count": i} for i in range(250)
    ]
    world.add_releases("acme/wide", releases)
    [result] = refresh_repositories(
        client, db_path, ["acme/wide"], observed_at=DAY1,
        complete_beyond_ceiling=complete_with_graphql,
    )
    assert (result.releases, result.completed_via) == (1010, "graphql")
    assert result.artifacts == 1009 + 250
    # the oldest release's artifacts: 100 with its page, then two more pages of its own
    assert github_server.stats.by_route["graphql"] == 1 + 2


def test_overlapping_completer_pages_are_stored_once(
    world: World, client: GitHubClient, github_server: GitHubServer, db_path: Path
) -> None:
    generate_big_repo(world, "acme/huge", releases=1050, artifacts=1)
    # Asked for fewer than the REST pages hold, the completer's page reaches into them.
    extra = complete_with_graphql(client, "acme/huge", 1000)
    assert len(extra) == 100 and len({r["id"] for r in extra}) == 100
    [result] = refresh_repositories(
        client, db_path, ["acme/huge"], observed_at=DAY1,
        complete_beyond_ceiling=complete_with_graphql,
    )
    assert (result.status, result.releases) == ("ok", 1050)
    assert rows(db_path, "SELECT count(*), count(DISTINCT list_position) FROM releases") == [
        (1050, 1050)
    ]


def test_graphql_release_shape_matches_rest(
    world: World, client: GitHubClient, github_server: GitHubServer
) -> None:
    world.add_repo("acme/tool")
    world.add_release("acme/tool", {
        "tag_name": "v1.0.0", "name": None, "body": None, "draft": True, "published_at": None,
        "created_at": "2026-01-01T00:00:00Z",
        "assets": [{"name": "a.tar.gz", "size": 5, "download_count": 7, "digest": "sha256:" + "a" * 64}],
    })
    [rest] = world.releases("acme/tool")
    [converted] = complete_with_graphql(client, "acme/tool", 0)
    for key in ("id", "tag_name", "body", "draft", "prerelease", "created_at", "published_at"):
        assert converted[key] == rest[key], key
    [artifact] = converted["assets"]
    for key in ("id", "name", "content_type", "size", "download_count", "digest",
                "browser_download_url", "created_at", "updated_at"):
        assert artifact[key] == rest["assets"][0][key], key


def test_ingestion_asset_completes_big_repositories(
    project_env: Path, db_path: Path, world: World, github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate_big_repo(world, "acme/huge", releases=1200, artifacts=1)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("repositories", ["acme/huge"])
        result = dg.materialize(
            [github_releases], instance=instance, resources=resource_defs(),
            partition_key="acme/huge",
        )
        assert result.success
        metadata = {
            m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node("github_releases")
        }
        assert metadata["releases"]["dagster/row_count"].value == 1200
        assert metadata["releases"]["repositories_truncated"].value == 1
    assert rows(db_path, "SELECT completed_via, truncated FROM repository_fetches") == [
        ("graphql", True)
    ]
