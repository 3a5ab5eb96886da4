"""The docs check reads the repository's CHANGELOG: only when a release needs it, once per
repository per run, revalidated by ETag; every failure is evidence, never a crash."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from release_assets.lib.config import VerificationConfig
from release_assets.lib.github_client import GitHubClient, NotFound, Validator
from release_assets.lib.ingest import refresh_repositories
from release_assets.lib.verification.changelog import MAX_CHANGELOG_BYTES, pick
from release_assets.lib.verification.run import VerificationRun, verify_repositories
from release_assets_tests.github_server import GitHubServer, World

from .worlds import add_release

REPO = "acme/tool"
CHANGELOG = "# Changelog\n\n## [1.1.0] - 2024-03-01\n- faster\n\n## [1.0.0] - 2024-01-01\n- first\n"


def build(world: World, bodies: dict[str, str], repo: str = REPO) -> None:
    """Releases listed newest first, as GitHub lists them (so the previous tag is the next one)."""
    world.add_repo(repo)
    for tag, body in reversed(bodies.items()):
        add_release(world, repo, tag, [], {}, body=body)


def ingest(client: GitHubClient, db: Path, server: GitHubServer, repos: list[str]) -> None:
    refresh_repositories(client, db, repos)
    server.reset_stats()


def verify(client: GitHubClient, db: Path, repos: list[str] | None = None) -> VerificationRun:
    return verify_repositories(db, client, VerificationConfig(attestations=False), repos or [REPO])


def docs(db: Path, repo: str = REPO) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """tag -> (status, reason, evidence) of the docs rows."""
    with duckdb.connect(str(db), read_only=True) as con:
        found = con.execute(
            'SELECT tag, status, reason, evidence FROM release_verification WHERE "check" = '
            "'docs' AND repo = ?",
            [repo],
        ).fetchall()
    return {t: (s, r, json.loads(e)) for t, s, r, e in found}


def contents(server: GitHubServer) -> list[tuple[str, int]]:
    return [(e.path, e.status) for e in server.request_log if e.route in ("contents", "raw")]


def test_changelog_mentioning_the_tag_passes_a_release_whose_notes_do_not(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v1.1.0": "Faster.", "v1.0.0": "First release: v1.0.0"})
    world.set_file(REPO, "README.md", "# tool\n")
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    ingest(client, db_path, github_server, [REPO])
    run = verify(client, db_path)
    assert REPO not in run.errors
    status, reason, evidence = docs(db_path)["v1.1.0"]
    assert status == "passed", reason
    assert evidence["tag_mentioned_in"] == "changelog" and evidence["changelog"] == "CHANGELOG.md"
    # the other release names its tag itself; the repository's CHANGELOG was still looked at
    assert docs(db_path)["v1.0.0"][2]["tag_mentioned_in"] == "body"
    # once per repository: the root listing, then the file
    assert contents(github_server) == [
        (f"/repos/{REPO}/contents/", 200),
        (f"/repos/{REPO}/contents/CHANGELOG.md", 200),
    ]


def test_neither_notes_nor_changelog_mention_the_tag(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v1.2.0": "Faster.", "v1.1.0": "Smaller.", "v1.0.0": "Bigger."})
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    ingest(client, db_path, github_server, [REPO])
    verify(client, db_path)
    found = docs(db_path)
    status, reason, evidence = found["v1.2.0"]
    assert status == "failed" and "neither the notes nor the CHANGELOG" in reason
    assert evidence["tag_mentioned_in"] is None and evidence["changelog"] == "CHANGELOG.md"
    assert found["v1.1.0"][0] == found["v1.0.0"][0] == "passed"
    # three releases need it; it is fetched once
    assert len(contents(github_server)) == 2


def test_major_bump_documented_only_in_the_changelog(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v2.0.0": "v2.0.0 is out", "v1.0.0": "v1.0.0"})
    world.set_file(REPO, "CHANGES.md", "## 2.0.0\n\nBreaking changes: the config moved.\n")
    ingest(client, db_path, github_server, [REPO])
    verify(client, db_path)
    status, reason, evidence = docs(db_path)["v2.0.0"]
    assert status == "passed", reason
    assert evidence["breaking_changes_documented"] is True
    assert evidence["changelog"] == "CHANGES.md"


def test_no_contents_request_when_every_release_mentions_its_tag(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v2.0.0": "v2.0.0\n\nBREAKING: dropped X", "v1.0.0": "## v1.0.0\nFirst."})
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    ingest(client, db_path, github_server, [REPO])
    verify(client, db_path)
    assert github_server.stats.by_route.get("contents", 0) == 0
    assert github_server.request_log == []
    assert all(s == "passed" and "changelog" not in e for s, _, e in docs(db_path).values())


def test_unchanged_changelog_costs_a_304_and_is_reread_only_when_its_blob_changes(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v1.2.0": "Faster.", "v1.1.0": "Faster."})
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    ingest(client, db_path, github_server, [REPO])
    verify(client, db_path)
    assert docs(db_path)["v1.1.0"][0] == "passed" and docs(db_path)["v1.2.0"][0] == "failed"

    github_server.reset_stats()
    verify(client, db_path)  # unchanged: one conditional request, answered 304, no rate limit
    assert contents(github_server) == [(f"/repos/{REPO}/contents/", 304)]
    assert github_server.stats.rate_limit_points == 0
    assert docs(db_path)["v1.1.0"][0] == "passed"  # the text came from the cache

    github_server.reset_stats()
    world.set_file(REPO, "README.md", "# tool\n")  # the listing changes, the CHANGELOG does not
    verify(client, db_path)
    assert contents(github_server) == [(f"/repos/{REPO}/contents/", 200)]
    assert docs(db_path)["v1.1.0"][0] == "passed"

    github_server.reset_stats()
    world.set_file(REPO, "CHANGELOG.md", "## 1.2.0\n- faster\n\n" + CHANGELOG)
    verify(client, db_path)
    assert contents(github_server) == [
        (f"/repos/{REPO}/contents/", 200),
        (f"/repos/{REPO}/contents/CHANGELOG.md", 200),
    ]
    assert docs(db_path)["v1.2.0"][0] == "passed"


def test_server_error_is_evidence_and_retried_next_run(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v1.1.0": "Faster."})
    build(world, {"v3.0.0": "v3.0.0"}, repo="acme/other")
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    ingest(client, db_path, github_server, [REPO, "acme/other"])
    github_server.inject(rf"^/repos/{REPO}/contents/$", status=500, times=10)
    run = verify(client, db_path, [REPO, "acme/other"])
    assert run.errors == {}
    status, reason, evidence = docs(db_path)["v1.1.0"]
    assert status == "failed" and "HTTP 500" in reason
    assert evidence["changelog"].startswith("error: could not list the repository's files")
    assert docs(db_path, "acme/other")["v3.0.0"][0] == "passed"  # the run went on

    github_server.clear_faults()
    verify(client, db_path)  # the error was not cached: asked again, and read
    assert docs(db_path)["v1.1.0"][0] == "passed"


def test_file_read_error_is_evidence(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    build(world, {"v1.1.0": "Faster."})
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    ingest(client, db_path, github_server, [REPO])
    github_server.inject(r"/contents/CHANGELOG\.md$", status=502, times=10)
    verify(client, db_path)
    status, _, evidence = docs(db_path)["v1.1.0"]
    assert status == "failed"
    assert evidence["changelog"].startswith("error: could not read CHANGELOG.md")


@pytest.mark.parametrize(
    ("files", "note"),
    [
        ({}, "none found (the repository has no files)"),  # GitHub's 404 for an empty repository
        ({"README.md": "# tool\n", "docs/CHANGELOG.md": CHANGELOG}, "none found"),
        ({"CHANGELOG.md": "\xff\xfe v1.1.0 ".encode("latin-1")}, "not UTF-8 text; not read"),
        (
            {"CHANGELOG.md": "v1.1.0\n" + "x" * MAX_CHANGELOG_BYTES},
            f"above the {MAX_CHANGELOG_BYTES:,}-byte cap; not read",
        ),
    ],
    ids=["empty-repository", "no-changelog-file", "not-utf8", "too-large"],
)
def test_no_usable_changelog_judges_the_notes_alone(
    world: World,
    github_server: GitHubServer,
    client: GitHubClient,
    db_path: Path,
    files: dict[str, str | bytes],
    note: str,
) -> None:
    build(world, {"v1.1.0": "Faster."})
    for path, content in files.items():
        world.set_file(REPO, path, content)
    ingest(client, db_path, github_server, [REPO])
    run = verify(client, db_path)
    assert run.errors == {}
    status, reason, evidence = docs(db_path)["v1.1.0"]
    assert status == "failed" and note in evidence["changelog"] and note in reason
    if "cap" in note:  # a file above the cap is never requested
        assert contents(github_server) == [(f"/repos/{REPO}/contents/", 200)]

    github_server.reset_stats()
    verify(client, db_path)  # remembered: a 304 (or, for the 404 of an empty repository, nothing)
    assert all(status == 304 for _, status in contents(github_server))
    assert github_server.stats.rate_limit_points == 0
    assert docs(db_path)["v1.1.0"][2]["changelog"].endswith(note)


def test_a_changelog_above_1_mb_is_read_from_its_download_url(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    big = CHANGELOG + "\n".join(f"- entry {n}" for n in range(90_000)) + "\n## 1.9.0\n"
    assert 1024 * 1024 < len(big) < MAX_CHANGELOG_BYTES
    build(world, {"v1.9.0": "Faster."})
    world.set_file(REPO, "CHANGELOG.md", big)
    ingest(client, db_path, github_server, [REPO])
    verify(client, db_path)
    assert docs(db_path)["v1.9.0"][0] == "passed"
    # GitHub inlines no content above 1 MB: the file comes from its `download_url`
    assert [path for path, _ in contents(github_server)] == [
        f"/repos/{REPO}/contents/",
        f"/repos/{REPO}/contents/CHANGELOG.md",
        f"/raw/{REPO}/main/CHANGELOG.md",
    ]


def test_changelog_like_names_and_preference() -> None:
    def listing(*names: str) -> list[dict[str, Any]]:
        return [{"name": n, "path": n, "type": "file", "sha": "0", "size": 1} for n in names]

    assert pick(listing("NEWS.md", "HISTORY.md", "ChangeLog", "README.md"))["name"] == "ChangeLog"
    assert pick(listing("CHANGES.md", "CHANGELOG.rst"))["name"] == "CHANGELOG.rst"
    assert pick(listing("changelog.txt", "HISTORY.md"))["name"] == "changelog.txt"
    assert pick(listing("NEWS.md", "HISTORY.md"))["name"] == "HISTORY.md"
    assert pick(listing("README.md", "LICENSE")) is None
    assert pick([{"name": "CHANGELOG.md", "type": "dir"}]) is None
    assert pick({"message": "not a listing"}) is None


def test_local_server_speaks_the_contents_api(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    world.add_repo(REPO)
    with pytest.raises(NotFound, match="This repository is empty"):
        client.get(f"/repos/{REPO}/contents/")
    world.set_file(REPO, "CHANGELOG.md", CHANGELOG)
    world.set_file(REPO, "docs/guide.md", "guide")
    root = client.get(f"/repos/{REPO}/contents/")
    assert [(e["name"], e["type"], e["size"]) for e in root.data] == [
        ("CHANGELOG.md", "file", len(CHANGELOG)),
        ("docs", "dir", 0),
    ]
    entry = root.data[0]
    assert entry["sha"] == "9cc36a773751566751beae7ff6e2f23da0016bdb"  # `git hash-object`
    assert {"url", "html_url", "git_url", "download_url", "_links", "path"} <= set(entry)
    assert root.data[1]["download_url"] is None
    assert client.get(f"/repos/{REPO}/contents/", validator=Validator(root.etag)).status == 304
    file = client.get(f"/repos/{REPO}/contents/CHANGELOG.md").data
    assert (file["type"], file["encoding"], file["sha"]) == ("file", "base64", entry["sha"])
    assert base64.b64decode(file["content"]).decode() == CHANGELOG
    assert b"".join(client.download(file["download_url"], max_bytes=1 << 20)) == CHANGELOG.encode()
    assert [e["path"] for e in client.get(f"/repos/{REPO}/contents/docs").data] == ["docs/guide.md"]
    with pytest.raises(NotFound) as missing:
        client.get(f"/repos/{REPO}/contents/NEWS.md")
    assert "Not Found" in str(missing.value)
