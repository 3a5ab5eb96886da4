"""release_events through `release-assets refresh` against the local server: the issue's
scenario exactly, append-only and idempotent; and every event kind from real DuckDB tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from release_assets.cli import main
from release_assets.lib import storage
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.history.events import refresh_events
from release_assets.lib.ingest import refresh_repositories
from release_assets_tests.github_server import World, iso

PUBLISHED = datetime(2026, 1, 5, tzinfo=UTC)


def _release(tag: str, day: int, **extra: object) -> dict[str, object]:
    when = iso(PUBLISHED + timedelta(days=day))
    return {"tag_name": tag, "published_at": when, "created_at": when,
            "assets": [{"name": f"tool-{tag}.tar.gz", "size": 10, "created_at": when,
                        "updated_at": when, "digest": "sha256:" + "a" * 64}], **extra}


def _events(db_path: Path) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            "SELECT repo, tag, event FROM release_events ORDER BY repo, tag, event").fetchall()


def test_the_issue_scenario_through_the_refresh(
    project_env: Path, world: World, tmp_path: Path, db_path: Path,
) -> None:
    ids: dict[str, list[int]] = {}
    for name in ("gone", "flipped", "replaced", "fresh", "quiet"):
        repo = f"acme/{name}"
        world.add_repo(repo)
        ids[repo] = [int(world.add_release(repo, _release(f"v1.{n}.0", n))["id"])
                     for n in range(3)]  # added oldest first: the last is newest
    config = tmp_path / "release_assets.yaml"
    config.write_text("orgs: [acme]\nquality: {threshold: 0}\n")
    assert main(["refresh", "--config", str(config)]) == 0
    assert _events(db_path) == []  # the first refresh is the baseline

    world.delete_release("acme/gone", ids["acme/gone"][-1])
    world.edit_release("acme/flipped", ids["acme/flipped"][-1], prerelease=True)
    world.replace_artifact("acme/replaced", ids["acme/replaced"][0], "tool-v1.0.0.tar.gz",
                           digest="sha256:" + "b" * 64)
    world.add_release("acme/fresh", _release("v1.3.0", 30))
    assert main(["refresh", "--config", str(config)]) == 0
    expected = [
        ("acme/flipped", "v1.2.0", "prerelease_on"), ("acme/flipped", "v1.2.0", "rollback"),
        ("acme/fresh", "v1.3.0", "published"),
        ("acme/gone", "v1.2.0", "deleted"), ("acme/gone", "v1.2.0", "rollback"),
        ("acme/replaced", "v1.0.0", "artifact_replaced"),
    ]
    assert _events(db_path) == expected
    with duckdb.connect(str(db_path), read_only=True) as con:
        details = dict(con.execute(
            "SELECT event || ':' || repo, detail FROM release_events").fetchall())
    replaced = json.loads(details["artifact_replaced:acme/replaced"])
    assert replaced["old_digest"] == "sha256:" + "a" * 64
    assert replaced["new_digest"] == "sha256:" + "b" * 64 and replaced["after_grace"] is True
    assert json.loads(details["rollback:acme/gone"]) == {
        "newest_release_now": "v1.1.0", "reason": "deleted"}

    page = (tmp_path / "reports" / "release-dashboard.html").read_text()
    assert "id=release-events" in page and "rollback" in page  # the events timeline
    assert main(["refresh", "--config", str(config)]) == 0
    assert _events(db_path) == expected  # nothing happened: nothing added, nothing removed


def _store(con: duckdb.DuckDBPyConnection, releases: list[tuple], artifacts: list[tuple]) -> None:
    """Write ingestion's tables as ingestion leaves them (the columns events read)."""
    con.execute("DELETE FROM releases")
    con.execute("DELETE FROM release_artifacts")
    for rid, tag, name, body, pre, draft, published in releases:
        con.execute(
            "INSERT INTO releases (release_id, repo, tag, name, body, draft, prerelease, "
            "created_at, published_at, list_position, artifact_count, downloads, fetched_at) "
            "VALUES (?, 'acme/tool', ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, now())",
            [rid, tag, name, body, draft, pre, published, published])
    for aid, rid, name, created, updated in artifacts:
        con.execute(
            "INSERT INTO release_artifacts (artifact_id, release_id, repo, tag, name, "
            "download_count, created_at, updated_at, kind, fetched_at) "
            "VALUES (?, ?, 'acme/tool', 'x', ?, 0, ?, ?, 'binary', now())",
            [aid, rid, name, created, updated])


@pytest.fixture
def con(db_path: Path) -> duckdb.DuckDBPyConnection:
    with storage.connect(db_path) as connection:
        yield connection


def test_every_event_kind_once(con: duckdb.DuckDBPyConnection) -> None:
    day = PUBLISHED
    late = day + timedelta(minutes=11)
    base = [(1, "v1", "one", "notes", False, False, day), (2, "v2", "two", "notes", True, False, day),
            (3, "v3", "three", None, False, False, day + timedelta(days=1))]
    files = [(10, 1, "a.tgz", day, day), (11, 1, "b.tgz", day, day), (12, 3, "c.tgz", day, day)]
    _store(con, base, files)
    assert refresh_events(con, ["acme/tool"], observed_at=day).baselined == ["acme/tool"]

    # v1 edited and a file added late, another removed; v2 final again; v3 back to a draft;
    # c.tgz modified in place after publishing
    _store(con, [(1, "v1", "one!", "notes", False, False, day),
                 (2, "v2", "two", "notes", False, False, day),
                 (3, "v3", "three", None, False, True, None)],
           [(10, 1, "a.tgz", day, day), (13, 1, "d.tgz", late, late), (12, 3, "c.tgz", day, late)])
    found = refresh_events(con, ["acme/tool"], observed_at=day + timedelta(days=2))
    assert sorted((e.tag, e.event) for e in found.events) == [
        ("v1", "artifact_added"), ("v1", "artifact_modified_after_publish"),
        ("v1", "artifact_removed"), ("v1", "edited"), ("v2", "prerelease_off"),
        ("v3", "deleted"), ("v3", "rollback"),
    ]
    deleted = next(e for e in found.events if e.event == "deleted")
    assert json.loads(deleted.detail) == {"turned_into_draft": True}
    assert {e.event for e in found.security_events()} == {
        "artifact_modified_after_publish", "rollback"}
    # unchanged: nothing more; events are never deleted
    again = refresh_events(con, ["acme/tool"], observed_at=day + timedelta(days=3))
    assert again.events == []
    assert con.execute("SELECT count(*) FROM release_events").fetchall() == [(7,)]


def test_immutable_flag_changes_when_ingestion_records_it(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE releases ADD COLUMN IF NOT EXISTS immutable BOOLEAN")
    _store(con, [(1, "v1", "one", "", False, False, PUBLISHED)], [])
    refresh_events(con, ["acme/tool"], observed_at=PUBLISHED)
    con.execute("UPDATE releases SET immutable = false")
    first = refresh_events(con, ["acme/tool"], observed_at=PUBLISHED + timedelta(days=1))
    assert first.events == []  # unknown → known is not a change
    con.execute("UPDATE releases SET immutable = true")
    found = refresh_events(con, ["acme/tool"], observed_at=PUBLISHED + timedelta(days=2))
    assert [(e.event, json.loads(e.detail)) for e in found.events] == [
        ("immutable_changed", {"before": False, "after": True})]


def test_immutable_changed_from_what_github_lists(
    world: World, client: GitHubClient, db_path: Path,
) -> None:
    world.add_repo("acme/tool")
    rid = int(world.add_release("acme/tool", _release("v1.0.0", 0, immutable=True))["id"])
    refresh_repositories(client, db_path, ["acme/tool"])
    with storage.connect(db_path) as con:
        refresh_events(con, ["acme/tool"], observed_at=PUBLISHED)
    world.edit_release("acme/tool", rid, immutable=False)
    refresh_repositories(client, db_path, ["acme/tool"])
    with storage.connect(db_path) as con:
        assert con.execute("SELECT immutable FROM releases").fetchall() == [(False,)]
        found = refresh_events(con, ["acme/tool"], observed_at=PUBLISHED + timedelta(days=1))
    assert [(e.tag, e.event, json.loads(e.detail)) for e in found.events] == [
        ("v1.0.0", "immutable_changed", {"after": False, "before": True})]
