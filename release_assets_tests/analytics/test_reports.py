"""The report files from stored real data: the original's shapes, written exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from release_assets.lib import analytics, storage
from release_assets.lib.dashboard import write_reports
from release_assets.lib.dashboard.jsontext import dumps, plain
from release_assets.lib.dashboard.model import build_dashboard, display_keys
from release_assets_tests.analytics.helpers import recorded_releases, store_recorded

NOW = datetime(2017, 8, 1, 12, 0, tzinfo=UTC)
REPOS = ["stedolan/jq", "zeit/hyper", "jwodder/qypi"]


def stored(db: Path) -> None:
    store_recorded(db, "stedolan/jq", recorded_releases("stedolan_jq_releases.json"))
    store_recorded(db, "zeit/hyper", recorded_releases("zeit_hyper_releases.json"))
    store_recorded(db, "jwodder/qypi", recorded_releases("jwodder_qypi_releases.json"))
    with storage.connect(db) as con:
        analytics.refresh_cadence(con, REPOS, as_of=NOW)
        analytics.refresh_quality(con, REPOS, rubric="seed", threshold=60)
        analytics.refresh_trends(con, REPOS)


def test_json_is_the_original_structure_and_byte_exact_encoding(db_path: Path) -> None:
    stored(db_path)
    with storage.connect(db_path) as con:
        built = build_dashboard(con, REPOS, now=NOW)
    data = plain(built)
    assert dumps(built) == json.dumps(data, indent=2)  # same bytes as json.dumps(indent=2)
    assert data["generated_at"] == "2017-08-01T12:00:00"
    jq = data["repositories"]["stedolan/jq"]
    assert set(jq) == {"metrics", "cadence", "latest_quality"}
    assert set(jq["metrics"]) == {"repository", "collected_at", "releases", "summary"}
    summary = jq["metrics"]["summary"]
    assert (summary["total_releases"], summary["prerelease_count"], summary["draft_count"]) == (8, 2, 0)
    assert summary["total_downloads"] == sum(r["downloads"] for r in jq["metrics"]["releases"])
    assert summary["latest_release"] == jq["metrics"]["releases"][0]
    assert summary["latest_release"]["assets"][0] == {
        "name": "jq-1.5.tar.gz", "size": 739309, "download_count": 101277,
        "content_type": "application/gzip"}
    assert jq["cadence"] == {
        "repository": "stedolan/jq", "total_releases": 8, "average_days_between_releases": 32.4,
        "release_breakdown": {"major": 0, "minor": 0, "patch": 0},
        "latest_release_age_days": (NOW - datetime(2015, 8, 16, 6, 39, 17, tzinfo=UTC)).days,
    }
    assert jq["latest_quality"] == {
        "tag": "jq-1.5", "quality_score": 20,
        "checks": {"has_changelog": False, "has_binaries": True, "has_checksums": False,
                   "has_signatures": False, "has_sbom": False, "asset_count": 8,
                   "body_length": len(recorded_releases("stedolan_jq_releases.json")[0]["body"])},
    }


def test_files_written_with_the_original_markdown_shape(db_path: Path, tmp_path: Path) -> None:
    stored(db_path)
    with storage.connect(db_path) as con:
        reports = write_reports(con, tmp_path / "reports", threshold=60, now=NOW)
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "release-dashboard.html", "release-dashboard.json", "release-dashboard.md"]
    md = reports.markdown_path.read_text()
    assert md.startswith("# Release Dashboard Summary\n\n**Generated**: 2017-08-01T12:00:00\n\n")
    assert "| stedolan/jq | 8 | 9286421 | 32.4 | 20/100 |\n" in md
    assert ("### zeit/hyper\n\n**Latest Release**: 1.3.1 (published 2017-03-10T18:45:54+00:00)\n\n"
            "**Release Cadence**:\n- Average: 15.1 days\n- Major releases: 1\n"
            "- Minor releases: 3\n- Patch releases: 3\n\n"
            "**Latest Release Quality** (45/100):\n- Changelog: ✅\n- Binaries: ✅\n"
            "- Checksums: ❌\n- Signatures: ❌\n- SBOM: ❌\n\n") in md
    assert reports.failing == 3


def test_single_owner_keys_are_names_as_in_the_original() -> None:
    assert display_keys(["acme/a", "acme/b"]) == {"acme/a": "a", "acme/b": "b"}
    assert display_keys(["acme/a", "other/a"]) == {"acme/a": "acme/a", "other/a": "other/a"}
