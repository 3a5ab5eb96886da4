"""`release-assets refresh` end to end: config → Dagster runs → DuckDB, at the request floor."""

from __future__ import annotations

import math
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from release_assets.cli import main
from release_assets_tests.github_server import GitHubServer, World

RELEASES_PER_REPO = [0, 1, 5, 99, 100, 101, 250] + [3] * 43  # 50 repositories


def populate(world: World, org: str = "acme") -> dict[str, int]:
    sizes = {}
    for i, count in enumerate(RELEASES_PER_REPO):
        repo = f"{org}/tool-{i:02d}"
        world.add_repo(repo)
        for n in range(count):
            world.add_release(repo, {
                "tag_name": f"v1.{n}.0", "body": None if n == 1 else "## Notes",
                "draft": n == 2, "published_at": None if n == 2 else f"2026-01-{1 + n % 28:02d}T00:00:00Z",
                "assets": [{"name": f"tool_{n}_linux_amd64.tar.gz", "download_count": n}],
            })
        sizes[repo] = count
    world.add_repo(f"{org}/old-archive", archived=True)
    world.add_repo(f"{org}/someones-fork", fork=True)
    return sizes


def floor(sizes: dict[str, int]) -> int:
    listed = len(sizes) + 2
    return math.ceil(listed / 100) + sum(max(1, math.ceil(n / 100)) for n in sizes.values())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "release_assets.yaml"
    path.write_text("orgs: [acme]\nexclude: ['*-archive']\nquality: {rubric: default, threshold: 0}\n")
    return path


def test_refresh_org_at_the_floor_then_all_304(
    project_env: Path, world: World, github_server: GitHubServer, config: Path, db_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sizes = populate(world)
    assert main(["refresh", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Repositories: 50 ok, 0 failed" in out
    assert "acme/tool-06" in out and "250 releases" in out
    # the summary counts every request ingestion made, the org listing included
    assert f"requests {floor(sizes)} (" in out
    # ingestion at its floor; verification's CHANGELOG lookups counted apart: one root listing
    # per repository whose notes do not mention their tags (here every one with a release)
    changelog_lookups = github_server.stats.by_route.get("contents", 0)
    assert changelog_lookups == sum(1 for n in sizes.values() if n)
    assert github_server.stats.requests - changelog_lookups == floor(sizes)
    assert github_server.stats.by_route.get("release_assets", 0) == 0

    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM releases").fetchall() == [(sum(sizes.values()),)]
        assert con.execute(
            "SELECT repo, status FROM repositories WHERE status <> 'active' ORDER BY repo"
        ).fetchall() == [("acme/old-archive", "archived"), ("acme/someones-fork", "excluded")]
    with dg.DagsterInstance.get() as instance:
        assert sorted(instance.get_dynamic_partitions("repositories")) == sorted(sizes)
        runs = instance.get_run_records()
        assert {r.dagster_run.job_name for r in runs} >= {"discover_repositories", "repository_refresh"}

    github_server.reset_stats()
    assert main(["refresh", "--config", str(config)]) == 0
    # every list (org listing and every release page) answers 304: no rate limit spent
    assert github_server.stats.requests == floor(sizes)
    assert github_server.stats.not_modified == github_server.stats.requests
    assert "0 rate-limit points" in capsys.readouterr().out


def test_refresh_one_repo_by_flag(
    project_env: Path, world: World, github_server: GitHubServer, db_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    populate(world)
    assert main(["refresh", "--repo", "acme/tool-03"]) == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT DISTINCT repo FROM releases").fetchall() == [("acme/tool-03",)]


def test_failing_repository_is_listed_not_fatal_and_the_token_never_leaks(
    project_env: Path, world: World, github_server: GitHubServer, config: Path, db_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from release_assets_tests.conftest import TEST_TOKEN

    populate(world)
    github_server.inject(r"/repos/acme/tool-05/releases", status=500, times=50)  # an error path too
    assert main(["refresh", "--config", str(config)]) == 0
    out, err = capfd.readouterr()
    assert "Repositories: 49 ok, 1 failed" in out
    assert "failed: acme/tool-05" in out and "HTTP 500" in out
    assert TEST_TOKEN not in out + err
    secret = TEST_TOKEN.encode()
    # the instance, the code server's and the runs' logs, the DuckDB file
    stored = [db_path, *(p for p in project_env.rglob("*") if p.is_file())]
    assert [p for p in stored if secret in p.read_bytes()] == []
    with duckdb.connect(str(db_path), read_only=True) as con:  # strings may be compressed on disk
        text_columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in text_columns:
            hits = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [TEST_TOKEN]
            ).fetchall()
            assert hits == [(0,)], f"{table}.{column}"
    # every request carried the token, and every one went to the API host (the only host here)
    assert all(r.authorized for r in github_server.request_log)
