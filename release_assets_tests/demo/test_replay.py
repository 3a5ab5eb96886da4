"""The demo's replay server (`release_assets.demo.replay`): what `make demo` and `make dev` read."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import requests
import yaml

from release_assets.demo.replay import DemoServer, start_demo_server
from release_assets.demo.snapshot import DEMO_REPOSITORIES, demo_config_yaml
from release_assets.lib.config import parse_config
from release_assets.lib.discovery import refresh_repository_list
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets_tests.github_server import GitHubServer, load_demo_world

PRODUCT = Path(__file__).resolve().parents[2] / "release_assets"
DAY1 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def refresh_demo(server: DemoServer, db: Path, observed_at: datetime) -> tuple[int, int]:
    """The demo's discovery and ingestion against `server`; (requests, 304s) the client counted."""
    client = GitHubClient(server.url, None, backoff_seconds=0.01)
    config = parse_config(yaml.safe_load(demo_config_yaml()))
    refresh_repository_list(client, db, config, now=observed_at)
    results = refresh_repositories(client, db, DEMO_REPOSITORIES, observed_at=observed_at)
    assert [r.repo for r in results if r.status == "failed"] == []
    stats = client.stats.snapshot()
    return stats["requests"], stats["not_modified"]


def test_a_second_demo_refresh_on_another_port_is_all_304s(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    # Both up at once, so the second surely has another port (as when 47117 is busy).
    with start_demo_server(None) as first, start_demo_server(None) as second:
        assert first.url != second.url
        requests_made, not_modified = refresh_demo(first, db, DAY1)
        assert (requests_made, not_modified) == (2 * len(DEMO_REPOSITORIES), 0)
        with duckdb.connect(str(db)) as con:
            before = con.execute("SELECT count(*), sum(download_count) FROM release_artifacts").fetchone()

        requests_made, not_modified = refresh_demo(second, db, DAY1 + timedelta(days=1))
    assert requests_made == not_modified == 2 * len(DEMO_REPOSITORIES)
    assert second.not_modified == second.requests == requests_made
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*), sum(download_count) FROM release_artifacts").fetchone() == before
        assert before == (118, con.execute("SELECT sum(download_count) FROM release_artifacts").fetchone()[0])


def test_etags_do_not_depend_on_the_port_and_304_is_free() -> None:
    with start_demo_server(None) as one, start_demo_server(None) as two:
        path = "/repos/zeit/hyper/releases?per_page=100"
        first, other = requests.get(one.url + path), requests.get(two.url + path)
        assert first.status_code == other.status_code == 200
        assert one.url in first.text and two.url in other.text  # URLs on each server's own host
        assert first.headers["ETag"] == other.headers["ETag"]
        again = requests.get(two.url + path, headers={"If-None-Match": first.headers["ETag"]})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["X-RateLimit-Remaining"] == other.headers["X-RateLimit-Remaining"]
        assert int(first.headers["X-RateLimit-Limit"]) - int(first.headers["X-RateLimit-Remaining"]) == 1


def test_release_lists_page_by_link_like_github() -> None:
    with start_demo_server(None) as server:
        url = f"{server.url}/repos/zeit/hyper/releases?per_page=5"
        tags, pages = [], 0
        while url:
            page = requests.get(url)
            tags += [r["tag_name"] for r in page.json()]
            url = page.links.get("next", {}).get("url")
            pages += 1
        assert pages == 3 and len(tags) == 11 and tags[0] == "1.3.1"
        last = requests.get(f"{server.url}/repos/zeit/hyper/releases?per_page=5&page=3")
        assert set(last.links) == {"prev", "first"}
        assert "/repositories/" in last.links["first"]["url"]


def test_serves_the_demo_files_and_github_errors() -> None:
    with start_demo_server(None) as server:
        manifest = requests.get(f"{server.url}/download/stedolan/jq/jq-1.5/sha256sum.txt")
        assert manifest.status_code == 200 and b"jq-linux64" in manifest.content
        empty = requests.get(f"{server.url}/repos/stedolan/jq/contents/")
        assert (empty.status_code, empty.json()["message"]) == (404, "This repository is empty.")
        assert requests.get(f"{server.url}/repos/acme/nothing").status_code == 404
        assert requests.get(f"{server.url}/download/stedolan/jq/jq-1.5/nope").status_code == 404
        digest = "sha256:" + "a" * 64
        bulk = requests.post(f"{server.url}/orgs/stedolan/attestations/bulk-list",
                             json={"subject_digests": [digest]})
        assert bulk.json()["attestations_subject_digests"] == {digest: None}


def test_replay_serves_what_the_test_worlds_demo_serves() -> None:
    """The product's replay and the test suite's demo World give the same answers."""
    with start_demo_server(None) as replay, GitHubServer(load_demo_world()) as world:
        for repo in DEMO_REPOSITORIES:
            for path in (f"/repos/{repo}", f"/repos/{repo}/releases?per_page=100",
                         f"/repos/{repo}/releases?per_page=2&page=2"):
                ours, theirs = requests.get(replay.url + path), requests.get(world.url + path)
                assert ours.status_code == theirs.status_code, path
                assert json.loads(ours.text.replace(replay.url, "H")) == json.loads(
                    theirs.text.replace(world.url, "H")), path
                assert ours.links.keys() == theirs.links.keys(), path


def test_the_product_never_imports_the_test_server() -> None:
    offenders = []
    for module in PRODUCT.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{module.relative_to(PRODUCT)}: {n}" for n in names
                          if n.split(".")[0] in ("release_assets_tests", "graphql")]
    assert offenders == []
