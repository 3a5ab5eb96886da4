"""Through `release-assets refresh`: jq's change volume equals git's own numbers for every
recorded stedolan/jq release, time to release reaches release_cadence, and an unchanged
repository costs no git traffic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from release_assets.cli import main
from release_assets.demo.snapshot import recorded_releases
from release_assets_tests.github_server import World
from release_assets_tests.history.gitrepos import git, jq_origin, original_numbers

_URL_FIELDS = ("url", "assets_url", "upload_url", "tarball_url", "zipball_url")


def served(release: dict[str, Any]) -> dict[str, Any]:
    """A recorded release with its api.github.com URLs left for the local server to fill."""
    out = {k: v for k, v in release.items() if k not in _URL_FIELDS}
    out["assets"] = [{k: v for k, v in a.items() if k not in ("url", "browser_download_url")}
                     for a in release.get("assets") or []]
    return out


@pytest.fixture
def jq_world(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    world.add_repo("stedolan/jq", default_branch="master")
    world.add_releases("stedolan/jq", [served(r) for r in recorded_releases("stedolan/jq")])
    origin = jq_origin(tmp_path / "git-origin")
    monkeypatch.setenv("RELEASE_ASSETS_GIT_URL", f"file://{tmp_path / 'git-origin'}")
    config = tmp_path / "release_assets.yaml"
    config.write_text("repos: [stedolan/jq]\nquality: {threshold: 0}\n")
    return origin


def test_jq_change_volume_equals_git_through_the_refresh(
    project_env: Path, jq_world: Path, tmp_path: Path, db_path: Path,
) -> None:
    config = tmp_path / "release_assets.yaml"
    assert main(["refresh", "--config", str(config)]) == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "SELECT tag, base_tag, commits, contributors, files_changed, insertions, deletions, "
            "status, tag_committed_at FROM release_changes ORDER BY tag").fetchall()
        fetches = con.execute("SELECT count(*), sum(bytes_fetched) FROM git_fetches").fetchall()
        timing = dict(con.execute(
            "SELECT tag, time_to_release_hours FROM release_timing").fetchall())
        median = con.execute(
            "SELECT time_to_release_median_hours FROM release_cadence").fetchall()
    recorded = sorted(r["tag_name"] for r in recorded_releases("stedolan/jq"))
    assert [r[0] for r in rows] == recorded and len(recorded) == 8
    for tag, base, *numbers, status, _ in rows:
        assert status == "ok"
        assert (base, *numbers) == original_numbers(jq_world, tag), tag
    assert dict((r[0], r[1]) for r in rows)["jq-1.1"] is None  # the root fallback
    assert fetches[0][0] == 1 and fetches[0][1] > 0

    # time to release: from the tagged commit (git) to publication with every file uploaded
    for release in recorded_releases("stedolan/jq"):
        tag = release["tag_name"]
        committed = datetime.fromisoformat(
            git(jq_world, "log", "-1", "--format=%cI", f"refs/tags/{tag}").strip())
        done = max([release["published_at"], *(a["created_at"] for a in release["assets"])])
        expected = (datetime.fromisoformat(done) - committed).total_seconds() / 3600
        assert timing[tag] == pytest.approx(expected, abs=0.01), tag
    hours = sorted(timing.values())
    assert median == [(pytest.approx((hours[3] + hours[4]) / 2, abs=0.01),)]

    # on the dashboard: change volume per release and the median, keys added to the original's
    report = json.loads((tmp_path / "reports" / "release-dashboard.json").read_text())
    jq = report["repositories"]["jq"]  # one owner: keyed by name, as the original
    assert {"metrics", "cadence", "latest_quality"} <= set(jq)
    assert {c["tag"]: c["insertions"] for c in jq["history"]["changes"]}["jq-1.5"] == 118224
    assert jq["history"]["time_to_release_median_hours"] == median[0][0]
    page = (tmp_path / "reports" / "release-dashboard.html").read_text()
    assert "id=change-volume-table" in page and "jq-1.5rc2" in page

    # no new release: the second refresh touches no git at all
    assert main(["refresh", "--config", str(config)]) == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM git_fetches").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM release_changes").fetchall() == [(8,)]


def test_without_a_clone_url_each_release_records_why(
    project_env: Path, world: World, tmp_path: Path, db_path: Path,
) -> None:
    # the local server, like a repository listing without clone_url, offers no way to git
    world.add_repo("acme/tool")
    world.add_release("acme/tool", {"tag_name": "v1.0.0",
                                    "published_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat()})
    config = tmp_path / "release_assets.yaml"
    config.write_text("repos: [acme/tool]\nquality: {threshold: 0}\n")
    assert main(["refresh", "--config", str(config)]) == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT tag, status, reason LIKE '%RELEASE_ASSETS_GIT_URL%' "
                           "FROM release_changes").fetchall() == [("v1.0.0", "no_clone_url", True)]
        assert con.execute("SELECT count(*) FROM release_timing WHERE start_source = 'created_at'"
                           ).fetchall() == [(1,)]
