"""Versions read from release tags, through the `semver` library.

Tags are not always semver (`jq-1.5`, `v2.0.0-rc.1`, `jq-1.5rc1`, `release-2024-01`): the version
is read from the first `MAJOR.MINOR[.PATCH][pre-release]` run in the tag; a tag with no dotted
number has no version. Whatever a tag holds (5,000 digits, a component beyond a 32-bit column),
parsing never raises: a tag that does not give a usable version is "unparsed" (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import semver

_VERSION_IN_TAG = re.compile(
    r"(?<![\d.])(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?"
    r"(?:[-.]?(?P<pre>(?:rc|alpha|beta|pre|preview|dev|a|b)[-.]?\d*(?:[.-][0-9A-Za-z]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z.-]+))?",
    re.IGNORECASE,
)


# Git refs are at most a few hundred bytes; longer text is not a tag worth a regex search.
MAX_TAG_LENGTH = 256
# version_major/minor/patch are INTEGER columns
MAX_COMPONENT = 2**31 - 1


@dataclass(frozen=True)
class TagVersion:
    tag: str
    version: semver.Version

    @property
    def is_prerelease(self) -> bool:
        return self.version.prerelease is not None


def parse_tag(tag: str | None) -> TagVersion | None:
    """The semantic version a tag names, or None when no version can be read."""
    if not tag or not isinstance(tag, str) or len(tag) > MAX_TAG_LENGTH:
        return None
    match = _VERSION_IN_TAG.search(tag)
    if match is None:
        return None
    pre = match["pre"]
    if pre:
        # semver pre-release identifiers are dot-separated alphanumerics: rc1 -> rc.1
        pre = re.sub(r"^([A-Za-z]+)[-.]?(\d+)", r"\1.\2", pre).replace("-", ".").lower()
    try:
        parts = [int(match["major"]), int(match["minor"]), int(match["patch"] or 0)]
        if max(parts) > MAX_COMPONENT:
            return None
        version = semver.Version(
            parts[0], parts[1], parts[2], prerelease=pre or None, build=match["build"]
        )
        semver.Version.parse(str(version))  # rejects identifiers semver does not allow
    except (ValueError, TypeError):
        return None
    return TagVersion(tag=tag, version=version)


def bump_kind(previous: semver.Version | None, current: semver.Version) -> str:
    """major | minor | patch | prerelease | initial | none, against the previous version."""
    if current.prerelease is not None:
        return "prerelease"
    if previous is None:
        return "initial"
    if current.major != previous.major:
        return "major"
    if current.minor != previous.minor:
        return "minor"
    if current.patch != previous.patch:
        return "patch"
    # same MAJOR.MINOR.PATCH: the final release after its pre-releases
    return "patch" if previous.prerelease is not None else "none"
