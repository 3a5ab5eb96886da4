"""Change volume from a blobless clone equals the original workflow's git numbers, on jq's real
history; the cache, moved tags and every kind of bad input are handled per release."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.lib.history.git_changes import (
    Counts,
    GitAccess,
    ReleaseTag,
    clone_url_for,
    repository_changes,
    token_host_for,
)
from release_assets_tests.history.gitrepos import (
    JQ_BUNDLE,
    SHARED_JQ_BUNDLE,
    build_repo,
    git,
    jq_origin,
    original_numbers,
    serve_bare,
)

JQ_TAGS = [t for t in git(JQ_BUNDLE.parent, "bundle", "list-heads", str(JQ_BUNDLE)).split()
           if t.startswith("refs/tags/")]


@pytest.fixture(scope="module")
def jq(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return jq_origin(tmp_path_factory.mktemp("origin"))


def test_every_jq_tag_matches_the_original_commands(jq: Path, tmp_path: Path) -> None:
    tags = [t.removeprefix("refs/tags/") for t in JQ_TAGS]
    assert len(tags) == (19 if JQ_BUNDLE == SHARED_JQ_BUNDLE else 8)
    releases = [ReleaseTag(i, t) for i, t in enumerate(tags)]
    result = repository_changes("stedolan/jq", f"file://{jq}", releases, cache_root=tmp_path,
                                access=GitAccess())
    assert result.error is None and result.computed == len(tags)
    for row in result.rows:
        base, *numbers = original_numbers(jq, row["tag"])
        assert row["status"] == "ok", row
        assert (row["base_tag"], row["commits"], row["contributors"], row["files_changed"],
                row["insertions"], row["deletions"]) == (base, *numbers), row["tag"]
    by_tag = {row["tag"]: row for row in result.rows}
    # the bundle's README quirks
    assert by_tag["jq-1.1"]["base_tag"] is None and by_tag["jq-1.1"]["commits"] > 0
    if "jq-1.6" in by_tag:  # the full history: jq-1.6's nearest tag is 1.6rc2, not a release
        assert by_tag["jq-1.6"]["base_tag"] == "1.6rc2"
    assert (by_tag["jq-1.5"]["files_changed"], by_tag["jq-1.5"]["insertions"]) == (50, 118224)
    # blobless: far less than the full 8 MB bundle, lazily fetched diff blobs included; the
    # trimmed bundle holds only what 8 releases' diffs need (repacked hard), so about its size
    bound = 1.0 if JQ_BUNDLE == SHARED_JQ_BUNDLE else 1.2
    assert 0 < result.bytes_fetched < bound * JQ_BUNDLE.stat().st_size
    config = (tmp_path / "stedolan" / "jq.git" / "config").read_text()
    assert "partialclonefilter = blob:none" in config


def test_known_results_are_reused_and_an_unchanged_fetch_adds_nothing(jq: Path, tmp_path: Path) -> None:
    releases = [ReleaseTag(1, "jq-1.4"), ReleaseTag(2, "jq-1.5")]
    first = repository_changes("stedolan/jq", f"file://{jq}", releases, cache_root=tmp_path,
                               access=GitAccess())
    known = {(r["base_sha"] or "", r["tag_sha"]): Counts(r["commits"], r["contributors"],
             r["files_changed"], r["insertions"], r["deletions"]) for r in first.rows}
    again = repository_changes("stedolan/jq", f"file://{jq}", releases, cache_root=tmp_path,
                               access=GitAccess(), known=known)
    assert again.computed == 0 and again.bytes_fetched == 0
    assert [r["commits"] for r in again.rows] == [r["commits"] for r in first.rows]


def test_a_moved_tag_is_recomputed(tmp_path: Path) -> None:
    work = build_repo(tmp_path / "work", [("ann", "a.txt", "v1"), ("bob", "b.txt", None),
                                          ("cy", "c.txt", "v2"), ("dee", "d.txt", None)])
    origin = serve_bare(tmp_path / "origin", "acme/tool", work)
    releases = [ReleaseTag(1, "v1"), ReleaseTag(2, "v2")]
    first = repository_changes("acme/tool", f"file://{origin}", releases,
                               cache_root=tmp_path / "cache", access=GitAccess())
    assert [(r["base_tag"], r["commits"], r["contributors"]) for r in first.rows] == \
        [(None, 1, 1), ("v1", 2, 2)]
    git(origin, "tag", "-f", "v2", "main")  # v2 now also holds dee's commit
    known = {(r["base_sha"] or "", r["tag_sha"]): Counts(r["commits"], r["contributors"],
             r["files_changed"], r["insertions"], r["deletions"]) for r in first.rows}
    moved = repository_changes("acme/tool", f"file://{origin}", releases,
                               cache_root=tmp_path / "cache", access=GitAccess(), known=known)
    assert moved.computed == 1
    assert (moved.rows[1]["commits"], moved.rows[1]["contributors"]) == (3, 3)
    assert moved.rows[1]["tag_sha"] != first.rows[1]["tag_sha"]


def test_bad_input_is_a_recorded_reason_per_release(jq: Path, tmp_path: Path) -> None:
    missing = repository_changes("stedolan/jq", f"file://{jq}", [ReleaseTag(1, "v9.9"),
                                 ReleaseTag(2, "jq-1.3")], cache_root=tmp_path, access=GitAccess())
    assert [r["status"] for r in missing.rows] == ["tag_missing", "ok"]
    assert "v9.9" in (missing.rows[0]["reason"] or "")

    gone = repository_changes("acme/nowhere", f"file://{tmp_path}/nowhere.git",
                              [ReleaseTag(1, "v1")], cache_root=tmp_path, access=GitAccess())
    assert gone.rows[0]["status"] == "clone_failed" and "nowhere.git" in (gone.error or "")

    empty = tmp_path / "origin" / "acme" / "empty.git"
    empty.mkdir(parents=True)
    git(empty, "init", "--quiet", "--bare")
    blank = repository_changes("acme/empty", f"file://{empty}", [ReleaseTag(1, "v1")],
                               cache_root=tmp_path, access=GitAccess())
    assert blank.rows[0]["status"] == "empty_repository"

    huge = repository_changes("stedolan/jq", f"file://{jq}", [ReleaseTag(1, "jq-1.5")],
                              cache_root=tmp_path / "small", access=GitAccess(max_clone_bytes=1000))
    assert huge.rows[0]["status"] == "too_large" and "1,000" in (huge.rows[0]["reason"] or "")


def test_the_token_goes_only_to_the_api_host_and_never_into_errors_or_config(tmp_path: Path) -> None:
    token = "-".join(["test", "token", "not", "a", "credential"])  # no secret-shaped literal
    access = GitAccess(token=token, token_host=token_host_for("https://api.github.com"))
    assert token_host_for("https://ghe.example.com/api/v3") == "ghe.example.com"
    header = access.env("https://github.com/acme/tool.git")
    assert header["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert "GIT_CONFIG_COUNT" not in access.env("https://evil.example.com/acme/tool.git")
    assert "GIT_CONFIG_COUNT" not in access.env("http://github.com/acme/tool.git")
    # a clone that fails against the token host: the reason and the clone hold no token
    local = GitAccess(token=token, token_host="127.0.0.1", timeout_seconds=20)
    failed = repository_changes("acme/tool", "https://127.0.0.1:9/acme/tool.git",
                                [ReleaseTag(1, "v1")], cache_root=tmp_path, access=local)
    assert failed.rows[0]["status"] == "clone_failed"
    assert token not in (failed.error or "") and "127.0.0.1" in (failed.error or "")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes()


def test_clone_url_prefers_the_override_then_the_api() -> None:
    assert clone_url_for("acme/tool", "https://ghe.example.com/acme/tool.git", None,
                         "file:///srv/git") == "file:///srv/git/acme/tool.git"
    assert clone_url_for("acme/tool", "https://ghe.example.com/acme/tool.git", None, None) == \
        "https://ghe.example.com/acme/tool.git"
    assert clone_url_for("acme/tool", None, "https://github.com/acme/tool", None) == \
        "https://github.com/acme/tool.git"
    assert clone_url_for("acme/tool", None, "http://127.0.0.1:8000/acme/tool", None) is None
