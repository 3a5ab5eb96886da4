"""Hostile or broken release lists: the well-formed releases are stored, what was wrong is
recorded for that repository alone, nothing stored before is lost, and a rerun changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from release_assets.lib.config import Config
from release_assets.lib.discovery import refresh_repository_list
from release_assets.lib.github_client import GitHubClient
from release_assets_tests.faults.helpers import DAY1, DAY2, fast_client, refresh, rows, stored_state
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World


def bump_downloads(world: World, repo: str) -> None:
    """Every artifact gains a download: the list's ETag changes, the next read is a 200."""
    for release in world.releases(repo):
        for artifact in release["assets"]:
            world.set_download_count(artifact["id"], artifact["download_count"] + 1)


# kind -> words the recorded problem must contain
RELEASE_FAULTS = {
    "non_object_item": "not a JSON object",
    "release_without_id": "is not a release id",
    "huge_id": "18446744073709551616",
    "draft_string": "draft is 'false', not a boolean",
    "huge_count": "download_count 18446744073709551616 ignored",
    "float_count": "download_count 1e+300 ignored",
    "negative_download_count": "download_count -5 ignored",
}


@pytest.mark.parametrize("kind", sorted(RELEASE_FAULTS))
def test_a_hostile_release_list_only_affects_what_it_breaks(
    kind: str, world: World, github_server: GitHubServer, db_path: Path
) -> None:
    bad, good = generate_org(world, "acme", repos=2, releases=3, artifacts=2)
    client = fast_client(github_server.url)
    refresh(client, db_path, [bad, good], DAY1, "run-1")
    before = stored_state(db_path, bad)
    first_artifact = world.releases(bad)[0]["assets"][0]["id"]

    bump_downloads(world, bad)
    bump_downloads(world, good)
    github_server.inject(r"/releases", kind=kind, repo=bad, times=None)
    results = refresh(client, db_path, [bad, good], DAY2, "run-2")

    assert results[good].status == "ok" and results[good].problems is None
    assert results[bad].status == "ok" and results[bad].error is None
    assert RELEASE_FAULTS[kind] in (results[bad].problems or "")
    assert rows(db_path, "SELECT problems FROM repository_fetches WHERE run_id = 'run-2' "
                         "AND repo = ?", [bad]) == [(results[bad].problems,)]
    after = stored_state(db_path, bad)
    # Nothing stored before is lost or marked deleted: the same releases and artifacts, live.
    assert [r[0] for r in after["releases"]] == [r[0] for r in before["releases"]]
    assert all(r[4] for r in after["releases"]) and all(a[2] for a in after["artifacts"])
    if kind in ("huge_count", "float_count", "negative_download_count"):
        # The impossible count is neither stored, summed nor snapshotted; the others are.
        counts = dict((a[0], a[1]) for a in after["artifacts"])
        assert counts[first_artifact] == dict((a[0], a[1]) for a in before["artifacts"])[
            first_artifact]
        day2 = {s[0] for s in after["snapshots"] if s[1] == DAY2.date()}
        assert first_artifact not in day2 and len(day2) == len(after["artifacts"]) - 1
        [(downloads,)] = rows(db_path, "SELECT downloads FROM releases WHERE release_id = "
                              "(SELECT release_id FROM release_artifacts WHERE artifact_id = ?)",
                              [first_artifact])
        others = rows(db_path, "SELECT sum(download_count) FROM release_artifacts WHERE "
                               "release_id = (SELECT release_id FROM release_artifacts WHERE "
                               "artifact_id = ?) AND artifact_id <> ?",
                      [first_artifact, first_artifact])
        assert downloads == others[0][0] and downloads >= 0
    if kind == "draft_string":  # the skipped release keeps what was stored, not draft = true
        assert not any(r[2] for r in after["releases"])

    # A rerun the same day adds nothing and changes nothing.
    again = refresh(client, db_path, [bad, good], DAY2, "run-3")
    assert stored_state(db_path, bad) == after
    assert again[bad].problems == results[bad].problems  # reported again, not cached as fine


def test_a_fresh_repository_keeps_its_well_formed_releases(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=4, artifacts=1)
    github_server.inject(r"/releases", kind="non_object_item", repo=repo)
    github_server.inject(r"/releases", kind="release_without_id", repo=repo)  # a later request
    result = refresh(fast_client(github_server.url), db_path, [repo], DAY1, "run-1")[repo]
    assert result.status == "ok" and result.releases == 4
    assert "release #2 skipped: not a JSON object (NoneType)" in (result.problems or "")
    assert "release #6 skipped: not a JSON object (str)" in (result.problems or "")
    # The page with bad items was not cached: the next read is a 200 and sees the next fault.
    second = refresh(fast_client(github_server.url), db_path, [repo], DAY2, "run-2")[repo]
    assert "is not a release id" in (second.problems or "")
    assert rows(db_path, "SELECT count(*) FROM releases WHERE deleted_at IS NULL") == [(4,)]


def test_an_org_listing_entry_without_full_name_is_skipped_and_reported(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    generate_org(world, "acme", repos=3, releases=1, artifacts=1)
    github_server.inject(r"/orgs/acme/repos", kind="entry_without_full_name")
    found = refresh_repository_list(client, db_path, Config(orgs=("acme",)), run_id="run-1")
    assert len(found.problems) == 1 and "no valid full_name" in found.problems[0]
    assert rows(db_path, "SELECT count(*) FROM repositories WHERE status = 'active'") == [(2,)]
    assert rows(db_path, "SELECT source, status, error, requests FROM discovery_fetches") == [
        ("org:acme", "ok", None, 1)]
