"""Docs completeness, as the original verification workflow judged it.

A release passes when it has notes, the notes or the CHANGELOG mention its tag, and a major
version bump says what breaks (users upgrading across a major need to know).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .results import ReleaseRef, VerificationResult, make_result

_BREAKING = re.compile(r"breaking[ -]changes?|\bBREAKING\b|\bmigrat(?:ion|e|ing)\b", re.I)
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_MAX_MAJOR_DIGITS = 18  # fits an int64 column; real majors have a few digits


@dataclass(frozen=True)
class DocsReport:
    release_notes_present: bool
    tag_mentioned: bool
    tag_mentioned_in: str | None  # "body" or "changelog"
    major_bump: bool | None  # None when either tag has no version number
    breaking_changes_documented: bool | None  # None when not a major bump

    @property
    def passed(self) -> bool:
        return (
            self.release_notes_present
            and self.tag_mentioned
            and self.breaking_changes_documented is not False
        )

    def missing(self) -> list[str]:
        out = []
        if not self.release_notes_present:
            out.append("the release has no notes")
        if not self.tag_mentioned:
            out.append("neither the notes nor the CHANGELOG mention the tag")
        if self.breaking_changes_documented is False:
            out.append("a major version bump does not document breaking changes or migration")
        return out

    def evidence(self) -> dict[str, Any]:
        return {
            "release_notes_present": self.release_notes_present,
            "tag_mentioned_in": self.tag_mentioned_in,
            "major_bump": self.major_bump,
            "breaking_changes_documented": self.breaking_changes_documented,
        }


def major_of(tag: str) -> int | None:
    """The major version a tag names, or None (no version, or digits no version has: a
    5,000-digit "major" is a hostile tag, and int() of it would raise)."""
    m = _VERSION.search(tag)
    if not m or len(m.group(1)) > _MAX_MAJOR_DIGITS:
        return None
    return int(m.group(1))


def mentions_tag(text: str, tag: str) -> bool:
    """The tag, or its version without a `v`/`name-` prefix, as a whole token.

    "1.2.0" must not match inside "11.2.0" or "1.2.0.1".
    """
    forms = {tag}
    start = _VERSION.search(tag)
    if start:
        forms.add(tag[start.start() :])
    pattern = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.search(rf"(?<![\w.-])(?:{pattern})(?!\w|\.\d|-\d)", text) is not None


def check_docs(
    body: str | None,
    *,
    tag: str,
    changelog: str | None = None,
    previous_tag: str | None = None,
) -> DocsReport:
    """Judge one release's docs from its body, optional CHANGELOG text and the previous tag."""
    notes = (body or "").strip()
    where = "body" if notes and mentions_tag(notes, tag) else None
    if where is None and changelog and mentions_tag(changelog, tag):
        where = "changelog"
    major, prev = major_of(tag), major_of(previous_tag) if previous_tag else None
    bump = None if major is None or prev is None else major > prev
    documented = None
    if bump:
        documented = bool(_BREAKING.search(notes) or (changelog and _BREAKING.search(changelog)))
    return DocsReport(bool(notes), where is not None, where, bump, documented)


def docs_result(
    report: DocsReport, release: ReleaseRef, *, changelog: str | None = None
) -> VerificationResult:
    """The release-level `docs` row (no artifact).

    `changelog` is what became of the repository's CHANGELOG (the path read, "none found", an
    error); None when it was not looked at (no release of the repository needed it).
    """
    evidence = report.evidence()
    if changelog is not None:
        evidence["changelog"] = changelog
    if report.passed:
        reason = f"notes present, tag mentioned in {report.tag_mentioned_in}"
        return make_result(release, None, "docs", "passed", reason, evidence=evidence)
    reason = "; ".join(report.missing())
    if changelog is not None:
        reason += f" (CHANGELOG: {changelog})"
    return make_result(release, None, "docs", "failed", reason, evidence=evidence)
