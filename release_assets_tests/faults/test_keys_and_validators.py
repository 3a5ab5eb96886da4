"""Repository keys are checked before any URL is built; a tag of any length is stored, unparsed;
stored ETags are keyed below the API base URL, so another port serving the same data gets 304s."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from release_assets.lib.github_http import repository_key_problem
from release_assets.lib.versions import parse_tag
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.faults.helpers import DAY1, DAY2, fast_client, refresh, rows
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import (
    FIVE_THOUSAND_DIGIT_TAG,
    GitHubServer,
    World,
    hostile_text_releases,
)


@pytest.mark.parametrize("key", [
    "acme/..", "acme/.", "../etc", "acme/tool\nX-Injected: 1", "acme/tool/releases",
    "acme/tool?per_page=1", "acme/" + "x" * 101, "a" * 40 + "/tool", "-acme/tool", "acme",
])
def test_keys_breaking_githubs_rules_are_refused_before_any_request(
    key: str, world: World, github_server: GitHubServer, db_path: Path
) -> None:
    [good] = generate_org(world, "acme", repos=1, releases=1, artifacts=1)
    assert repository_key_problem(key) is not None
    results = refresh(fast_client(github_server.url), db_path, [key, good], DAY1, "run-1")
    error = results[key].error or ""
    assert results[key].status == "failed" and ("rules" in error or "not owner/name" in error)
    assert results[key].requests == 0
    assert results[good].status == "ok"
    assert [r.path for r in github_server.request_log] == [f"/repos/{good}/releases?per_page=100"]


def test_valid_keys_pass() -> None:
    for key in ("acme/tool", "a-b/c.d_e-f", "x/.github", "A1/" + "n" * 100):
        assert repository_key_problem(key) is None, key


def test_a_five_thousand_digit_tag_is_stored_unparsed(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    world.add_repo("acme/hostile")
    world.add_releases("acme/hostile", hostile_text_releases())
    result = refresh(fast_client(github_server.url), db_path, ["acme/hostile"], DAY1, "r")[
        "acme/hostile"]
    assert result.status == "ok" and result.releases == 4
    assert parse_tag(FIVE_THOUSAND_DIGIT_TAG) is None
    assert parse_tag("v" + "9" * 20 + ".0.0") is None  # beyond the INTEGER columns
    assert rows(db_path, "SELECT version FROM releases WHERE tag = ?",
                [FIVE_THOUSAND_DIGIT_TAG]) == [(None,)]


def test_etags_survive_a_move_to_another_port_and_old_absolute_keys_still_work(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    repos = generate_org(world, "acme", repos=2, releases=150, artifacts=1)
    refresh(fast_client(github_server.url), db_path, repos, DAY1, "run-1")
    assert all(not url.startswith("http") for (url,) in rows(
        db_path, "SELECT url FROM http_validators"))
    # A file written before keys were relative: absolute URLs of the old port.
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE http_validators SET url = ? || url, next_url = ? || next_url",
                    [github_server.url, github_server.url])
    with GitHubServer(world, token=TEST_TOKEN) as elsewhere:
        results = refresh(fast_client(elsewhere.url), db_path, repos, DAY2, "run-2")
        assert {r.status for r in results.values()} == {"not_modified"}
        assert elsewhere.stats.requests == elsewhere.stats.not_modified == 4
    assert rows(db_path, "SELECT count(*) FROM releases WHERE deleted_at IS NULL") == [(300,)]
