"""The repository's CHANGELOG, for the docs check: read once per repository per run, and only
when one of its releases needs it.

A release needs it when its notes do not mention its tag, or when it is a major bump whose notes
say nothing about breaking changes. Finding the file costs one request (the root directory
listing, `GET /repos/{repo}/contents/`); reading it one more, only when its blob sha changed.
Both answers are kept in the verification cache with the listing's ETag, so on later runs an
unchanged repository costs a single 304 (no rate limit). An answer without an ETag (the 404 of an
empty repository) cannot be revalidated for free, so it is reused for a week instead. Failures
are never cached and never stop the repository: the docs check then judges the notes alone and
says why.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from release_assets.lib.github_client import GitHubClient, GitHubError, NotFound, Validator

from .cache import VerificationCache
from .context import ReleaseInput
from .docs import check_docs

KIND = "changelog"
MATERIAL = "github-contents:root"
MAX_CHANGELOG_BYTES = 2 * 1024 * 1024
RECHECK_WITHOUT_ETAG = timedelta(days=7)
# Lower-case names, most preferred first; any other `changelog.*` ranks after these CHANGELOGs.
NAMES = (
    "changelog.md",
    "changelog",
    "changelog.rst",
    "changes.md",
    "changes",
    "history.md",
    "news.md",
)


@dataclass(frozen=True)
class Changelog:
    text: str | None  # None when there is none, or it could not be read
    note: str | None  # the docs row's `changelog` evidence: the path read, or why not; None
    # when no release needed it (nothing was asked)


NOT_NEEDED = Changelog(None, None)


def changelog_subject(repo: str) -> str:
    """The cache subject of a repository's CHANGELOG (one entry per repository)."""
    return f"changelog:{repo}"


def needs_changelog(releases: Iterable[ReleaseInput]) -> bool:
    """Whether some release's docs verdict could change with the CHANGELOG."""
    for rel in releases:
        report = check_docs(rel.body, tag=rel.release.tag, previous_tag=rel.previous_tag)
        if not report.tag_mentioned or report.breaking_changes_documented is False:
            return True
    return False


def pick(listing: Any) -> dict[str, Any] | None:
    """The changelog-like file of a root directory listing, CHANGELOG* first."""
    files = [
        e
        for e in (listing if isinstance(listing, list) else [])
        if isinstance(e, dict) and e.get("type") == "file" and isinstance(e.get("name"), str)
    ]

    def rank(entry: dict[str, Any]) -> tuple[int, int] | None:
        name = str(entry["name"]).lower()
        if name in NAMES:
            return (0 if name.startswith("changelog") else 2, NAMES.index(name))
        if name.startswith("changelog."):
            return (1, 0)
        return None

    ranked = [(r, str(e["name"]), e) for e in files if (r := rank(e)) is not None]
    return min(ranked, key=lambda t: (t[0], t[1]))[2] if ranked else None


def repository_changelog(
    repo: str,
    releases: Iterable[ReleaseInput],
    client: GitHubClient,
    cache: VerificationCache,
    *,
    max_bytes: int = MAX_CHANGELOG_BYTES,
) -> Changelog:
    """The CHANGELOG text of `repo` if some release needs it, from the cache when unchanged."""
    if not needs_changelog(releases):
        return NOT_NEEDED
    known = cache.get(KIND, changelog_subject(repo), MATERIAL)
    if known is not None and not known.etag and cache.now - known.created_at < RECHECK_WITHOUT_ETAG:
        return _recalled(known.evidence)
    validator = Validator(known.etag) if known is not None and known.etag else None
    try:
        response = client.get(f"/repos/{repo}/contents/", validator=validator)
    except NotFound:  # an empty repository: a 404 carries no ETag
        found: dict[str, Any] = {"note": "none found (the repository has no files)"}
        cache.put(KIND, changelog_subject(repo), MATERIAL, evidence=found)
        return _recalled(found)
    except GitHubError as exc:  # not cached: asked again next run
        return Changelog(None, f"error: could not list the repository's files: {exc}")
    if response.status == 304 and known is not None:
        return _recalled(known.evidence)
    entry = pick(response.data)
    if entry is None:
        found = {"note": "none found"}
    elif known is not None and _same_file(known.evidence, entry):
        found = dict(known.evidence)  # another file changed; this one did not: no request
    else:
        try:
            found = _read(repo, entry, client, max_bytes)
        except (GitHubError, ValueError, OSError) as exc:  # not cached: read again next run
            return Changelog(None, f"error: could not read {entry['name']}: {exc}")
    cache.put(KIND, changelog_subject(repo), MATERIAL, evidence=found, etag=response.etag)
    return _recalled(found)


def _recalled(evidence: dict[str, Any]) -> Changelog:
    text = evidence.get("text")
    return Changelog(text if isinstance(text, str) else None, str(evidence.get("note")))


def _same_file(evidence: dict[str, Any], entry: dict[str, Any]) -> bool:
    return evidence.get("path") == entry.get("path") and evidence.get("sha") == entry.get("sha")


def _read(repo: str, entry: dict[str, Any], client: GitHubClient, max_bytes: int) -> dict[str, Any]:
    """What to remember about the picked file: its text, or why it is not used.

    Raises GitHubError (HTTP), OSError (connection) or ValueError (a malformed answer, bad
    base64: binascii.Error is one): transient, not remembered.
    """
    name, path = str(entry["name"]), str(entry.get("path") or entry["name"])
    about = {"path": path, "sha": entry.get("sha")}
    size = entry.get("size")
    if isinstance(size, int) and size > max_bytes:
        return {**about, "note": _too_large(name, size, max_bytes)}
    data = client.get(f"/repos/{repo}/contents/{quote(path)}").data
    if not isinstance(data, dict) or data.get("type") != "file":
        raise ValueError(f"{path} is not a file")
    if data.get("encoding") == "base64" and isinstance(data.get("content"), str):
        raw = base64.b64decode(data["content"])  # binascii.Error is a ValueError
    elif isinstance(url := data.get("download_url"), str):  # above 1 MB GitHub inlines nothing
        raw = b"".join(client.download(url, max_bytes=max_bytes))
    else:
        raise ValueError(f"{path} came with neither content nor a download URL")
    if len(raw) > max_bytes:
        return {**about, "note": _too_large(name, len(raw), max_bytes)}
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {**about, "note": f"{name} is not UTF-8 text; not read"}
    return {**about, "note": path, "text": text}


def _too_large(name: str, size: int, cap: int) -> str:
    return f"{name} is {size:,} bytes, above the {cap:,}-byte cap; not read"
