"""Docs completeness: notes, tag mention (body or CHANGELOG), breaking changes on a major bump."""

from __future__ import annotations

import pytest

from release_assets.lib.verification import ReleaseRef, check_docs, docs_result
from release_assets.lib.verification.docs import mentions_tag


def test_complete_release() -> None:
    report = check_docs(
        "## v2.0.0\n\nBREAKING: drop Python 3.8", tag="v2.0.0", previous_tag="v1.9.3"
    )
    assert report.passed and report.major_bump and report.breaking_changes_documented
    row = docs_result(report, ReleaseRef("o/r", 1, "v2.0.0"))
    assert (row.check, row.status, row.artifact_id) == ("docs", "passed", None)


def test_missing_notes_and_null_body() -> None:
    report = check_docs(None, tag="v1.0.1")
    assert not report.release_notes_present and not report.passed
    assert "no notes" in docs_result(report, ReleaseRef()).reason


def test_tag_found_in_changelog_only() -> None:
    report = check_docs(
        "Bug fixes.", tag="v1.2.0", changelog="# Changelog\n\n## [1.2.0] - 2024-05-01\n"
    )
    assert report.passed and report.tag_mentioned_in == "changelog"


def test_major_bump_without_breaking_notes_fails() -> None:
    report = check_docs("## 3.0.0\nNew things", tag="3.0.0", previous_tag="2.4.1")
    assert not report.passed and report.breaking_changes_documented is False
    assert "breaking" in docs_result(report, ReleaseRef()).reason


@pytest.mark.parametrize(
    "notes",
    ["This is a breaking change for plugins", "See the migration guide", "## Breaking Changes"],
)
def test_breaking_keywords(notes: str) -> None:
    assert check_docs(f"v2.0.0: {notes}", tag="v2.0.0", previous_tag="v1.0.0").passed


def test_minor_bump_needs_no_breaking_section() -> None:
    report = check_docs("v1.3.0", tag="v1.3.0", previous_tag="v1.2.9")
    assert (
        report.passed and report.major_bump is False and report.breaking_changes_documented is None
    )


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("Release v1.2.0", "v1.2.0", True),
        ("Release 1.2.0.", "v1.2.0", True),
        ("jq 1.5 is out", "jq-1.5", True),
        ("jq-1.5 is out", "jq-1.5", True),
        ("see 11.2.0", "v1.2.0", False),
        ("see 1.2.0.1", "v1.2.0", False),
        ("1.5rc1 notes", "jq-1.5", False),
    ],
)
def test_mentions_tag(text: str, tag: str, expected: bool) -> None:
    assert mentions_tag(text, tag) is expected
