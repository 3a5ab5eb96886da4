"""The report files from stored real data: the original's shapes, written exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from markdown_it import MarkdownIt

from release_assets.lib import analytics, storage
from release_assets.lib.dashboard import write_reports
from release_assets.lib.dashboard.jsontext import dumps, plain
from release_assets.lib.dashboard.markdown import inert, render_markdown
from release_assets.lib.dashboard.model import build_dashboard, display_keys
from release_assets.lib.ingest import store_releases
from release_assets.lib.verification import store
from release_assets.lib.verification.results import ArtifactRef, ReleaseRef, make_result
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
    assert set(jq) == {"metrics", "cadence", "latest_quality", "verification"}  # ours added last
    assert list(data) == ["generated_at", "repositories", "verification"]
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


def _verify(db: Path, repo: str, statuses_by_tag: dict[str, list[str]]) -> None:
    """Verification results as the verification asset stores them (its own writer)."""
    with storage.connect(db) as con:
        ids = dict(con.execute("SELECT tag, release_id FROM releases WHERE repo = ?", [repo]).fetchall())
        store.ensure_schema(con)
        rows = [
            store.StoredResult(
                make_result(ReleaseRef(repo, ids[tag], tag), ArtifactRef(ids[tag] * 10 + i, f"f{i}"),
                            "checksum", status, f"{status} for the test"),
                cached=False, verified_at=NOW,
            )
            for tag, statuses in statuses_by_tag.items() for i, status in enumerate(statuses)
        ]
        store.replace_results(con, [repo], rows)


def test_verification_pass_rate_and_unverifiable_count_in_every_report(
    db_path: Path, tmp_path: Path
) -> None:
    stored(db_path)
    # jq: 4 releases verified, one with a failed result; hyper: 2 verified, none failed
    _verify(db_path, "stedolan/jq", {
        "jq-1.5": ["passed", "unverifiable"], "jq-1.5rc2": ["failed", "passed"],
        "jq-1.5rc1": ["not_applicable"], "jq-1.4": ["unverifiable", "unverifiable"],
    })
    _verify(db_path, "zeit/hyper", {"1.3.1": ["passed"], "1.3.0": ["error"]})
    with storage.connect(db_path) as con:
        reports = write_reports(con, tmp_path, threshold=60, now=NOW)
    data = json.loads(reports.json_path.read_text())
    assert data["repositories"]["stedolan/jq"]["verification"] == {
        "releases_verified": 4, "releases_without_failures": 3, "pass_rate": 0.75,
        "failed_results": 1, "unverifiable_results": 3}
    assert data["repositories"]["zeit/hyper"]["verification"]["pass_rate"] == 1.0
    assert data["repositories"]["jwodder/qypi"]["verification"] == {
        "releases_verified": 0, "releases_without_failures": 0, "pass_rate": None,
        "failed_results": 0, "unverifiable_results": 0}
    assert data["verification"] == {
        "releases_verified": 6, "releases_without_failures": 5, "pass_rate": 0.8333,
        "failed_results": 1, "unverifiable_results": 3}
    md = reports.markdown_path.read_text()
    original_part, ours = md.split("## Verification\n\n")
    assert original_part.endswith("- SBOM: ❌\n\n")  # after every line of the original
    assert ours.startswith("**Pass rate**: 83.3% (5 of 6 verified releases have no failed result)"
                           " · **Unverifiable results**: 3\n\n")
    assert "| stedolan/jq | 4 | 75.0% | 1 | 3 |\n" in ours
    assert "| jwodder/qypi | 0 | — | 0 | 0 |\n" in ours
    html = reports.html_path.read_text()
    assert "Pass rate <b>83.3%</b>" in html
    assert "<td>stedolan/jq</td><td class=num>4</td><td class=num>75.0%</td>" in html
    assert reports.pass_rate == "83.3%"


HOSTILE_TAG = "v1|x\n## Injected heading\n| injected | row |\n<img src=x onerror=alert(1)>#tag\r\n# h"


def _markdown_structure(text: str) -> tuple[list[str], int, list[str]]:
    """(headings, table rows, raw HTML) as a CommonMark + GFM-tables reader sees the file."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    rows = sum(t.type == "tr_open" for t in tokens)
    html = [t.content for t in tokens if t.type == "html_block"]
    html += [c.content for t in tokens if t.children for c in t.children if c.type == "html_inline"]
    return headings, rows, html


def test_hostile_tags_add_no_heading_row_or_tag_to_the_markdown(db_path: Path) -> None:
    release = {
        "id": 7, "tag_name": HOSTILE_TAG, "name": "<script>x</script>|\n# name",
        "body": "## body heading\n| a | b |", "draft": False, "prerelease": False,
        "published_at": "2017-07-01T00:00:00Z",
        "assets": [{"id": 70, "name": "tool|<b>.tar.gz", "download_count": 3, "size": 1}],
    }
    plain_release = {**release, "id": 8, "tag_name": "v0.9", "name": "v0.9", "body": "",
                     "published_at": "2017-06-01T00:00:00Z", "assets": []}
    with storage.connect(db_path) as con:
        store_releases(con, "acme/tool", [release, plain_release], observed_at=NOW)
        store_releases(con, "acme/plain", [plain_release | {"id": 9}], observed_at=NOW)
        analytics.refresh_cadence(con, ["acme/tool", "acme/plain"], as_of=NOW)
        analytics.refresh_quality(con, ["acme/tool", "acme/plain"], rubric="seed", threshold=60)
        hostile = render_markdown(build_dashboard(con, ["acme/tool", "acme/plain"], now=NOW))
        with_plain_tag = hostile.replace(inert(HOSTILE_TAG), "v1")
    headings, rows, html = _markdown_structure(hostile)
    assert (headings, rows) == _markdown_structure(with_plain_tag)[:2]  # as if the tag were "v1"
    assert headings == ["Release Dashboard Summary", "Repository Overview", "Detailed Metrics",
                        "tool", "plain", "Verification"]
    assert rows == 3 and html == []
    # a reader sees the tag's text on one line, literally
    latest = next(line for line in hostile.splitlines() if line.startswith("**Latest Release**: v1"))
    shown = MarkdownIt("commonmark").renderInline(latest)
    assert shown == ("<strong>Latest Release</strong>: v1|x ## Injected heading | injected | row | "
                     "&lt;img src=x onerror=alert(1)&gt;#tag # h (published 2017-07-01T00:00:00+00:00)")
