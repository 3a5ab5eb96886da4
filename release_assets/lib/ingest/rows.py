"""Rows: the one mapping from GitHub's release JSON to `releases` and `release_artifacts` rows.

The JSON is validated here, at the boundary, item by item. A release that cannot be keyed or
read (not an object, no usable `id`, `draft` that is not a boolean, …) is skipped and reported;
an artifact likewise. A `download_count` that is negative, not an integer or beyond what a
JSON number holds exactly is flagged: the artifact is kept, the count is not stored, summed or
snapshotted. Every problem is a sentence naming the repository's item, for
`repository_fetches.problems`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import pandas as pd

from release_assets.lib.classify import classify
from release_assets.lib.versions import parse_tag

if TYPE_CHECKING:
    from release_assets.lib.ingest.fetch import FetchedReleases

INT64_MAX = 2**63 - 1
# Above 2**53 a JSON number is not exact in most parsers, and a release's sum of such counts
# could overflow BIGINT: no real download count comes near.
COUNT_MAX = 2**53
MAX_PROBLEMS_LISTED = 5

# The kind of an artifact depends only on its name; names repeat across refreshes of a process
# (the Dagster daemon, a long `dev` session) and `checksums.txt` across releases.
_classify = lru_cache(maxsize=1 << 16)(classify)


def _is_id(value: object) -> TypeGuard[int]:
    return type(value) is int and 0 < value <= INT64_MAX


def release_key(item: object) -> str | None:
    """The key a release list item is known by, or None when it has no usable id."""
    if isinstance(item, dict):
        value = item.get("id")
        if _is_id(value):
            return str(value)
    return None


def _str(value: object) -> str | None:
    # "" and null are different GitHub answers (an empty release name is not a missing one)
    return value if isinstance(value, str) else None


def _shown(value: object) -> str:
    return repr(value)[:40]


@dataclass
class Columns:
    """Rows of one write batch, column by column (no per-row dicts, no per-row pandas)."""

    names: tuple[str, ...]
    data: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = {name: [] for name in self.names}

    def __len__(self) -> int:
        return len(self.data[self.names[0]])

    def frame(self, ints: tuple[str, ...], nullable_ints: tuple[str, ...],
              bools: tuple[str, ...]) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for name, values in self.data.items():
            if name in ints:
                columns[name] = np.asarray(values, dtype=np.int64)
            elif name in nullable_ints:
                columns[name] = pd.array(values, dtype="Int64")
            elif name in bools:
                columns[name] = np.asarray(values, dtype=bool)
            else:  # strings and ISO timestamps: object, so None stays NULL
                columns[name] = pd.Series(values, dtype=object)
        return pd.DataFrame(columns)


RELEASE_COLUMNS = (
    "release_id", "repo", "tag", "name", "body", "draft", "prerelease", "created_at",
    "published_at", "html_url", "author", "list_position", "version", "version_major",
    "version_minor", "version_patch", "version_prerelease", "artifact_count", "downloads",
    "immutable",
)
ARTIFACT_COLUMNS = (
    "artifact_id", "release_id", "repo", "tag", "name", "label", "state", "size", "content_type",
    "digest", "download_count", "browser_download_url", "created_at", "updated_at", "kind", "os",
    "arch", "package_type", "count_flagged",
)


@dataclass
class BatchRows:
    releases: Columns
    artifacts: Columns
    present: list[tuple[str, int]]  # every (repo, release id) listed, 304 pages included
    problems: dict[str, list[str]]  # repo -> what was skipped or flagged
    incomplete: set[str]  # repos with a release that could not be read

    def problem_text(self, repo: str) -> str | None:
        found = self.problems.get(repo)
        if not found:
            return None
        shown = "; ".join(found[:MAX_PROBLEMS_LISTED])
        more = len(found) - MAX_PROBLEMS_LISTED
        return shown + (f"; and {more} more" if more > 0 else "")


def _flag(raw: dict[str, Any], name: str) -> bool | str:
    """A boolean field (missing means false), or the problem: "false" is not false."""
    value = raw.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return f"{name} is {_shown(value)}, not a boolean"


def _positioned(fetched: FetchedReleases) -> Iterable[tuple[int, Any]]:
    offset = 0
    for page in fetched.pages:
        if page.items is not None:
            yield from ((offset + i, item) for i, item in enumerate(page.items))
            offset += len(page.items)
        else:
            offset += len(page.validator.item_keys)
    yield from ((offset + i, item) for i, item in enumerate(fetched.extra_releases))


def batch_rows(batch: Sequence[FetchedReleases]) -> BatchRows:
    """Rows of the changed repositories in a batch, validated.

    A release (or artifact) seen twice in one fetch (a release published while the list was
    being paged shifts it to the next page) is kept once, at its first position.
    """
    out = BatchRows(Columns(RELEASE_COLUMNS), Columns(ARTIFACT_COLUMNS), [], {}, set())
    r, a = out.releases.data, out.artifacts.data
    seen_releases: set[int] = set()
    seen_artifacts: set[int] = set()
    for fetched in batch:
        if not fetched.changed:
            continue
        repo = fetched.repo
        problems = out.problems.setdefault(repo, [])
        out.present.extend((repo, release_id) for release_id in fetched.release_ids())
        for position, raw in _positioned(fetched):
            where = f"release #{position + 1}"
            if not isinstance(raw, dict):
                problems.append(f"{where} skipped: not a JSON object ({type(raw).__name__})")
                out.incomplete.add(repo)
                continue
            release_id = raw.get("id")
            if not _is_id(release_id):
                problems.append(f"{where} skipped: id {_shown(release_id)} is not a release id")
                out.incomplete.add(repo)
                continue
            tag_value = raw.get("tag_name")
            draft, prerelease = _flag(raw, "draft"), _flag(raw, "prerelease")
            assets = raw.get("assets")
            reason = next((p for p in (draft, prerelease) if isinstance(p, str)), None)
            if tag_value is not None and not isinstance(tag_value, str):
                reason = f"tag_name is {_shown(tag_value)}, not a string"
            elif assets is not None and not isinstance(assets, list):
                reason = f"assets is {type(assets).__name__}, not a list"
            if reason is not None:
                problems.append(f"release {release_id} skipped: {reason}")
                out.incomplete.add(repo)
                continue
            if release_id in seen_releases:
                continue
            seen_releases.add(release_id)
            tag = tag_value or ""
            parsed = parse_tag(tag)
            version = parsed.version if parsed else None
            listed = 0
            downloads = 0
            for artifact in assets or ():
                artifact_id = artifact.get("id") if isinstance(artifact, dict) else None
                if not _is_id(artifact_id):
                    why = (f"id {_shown(artifact_id)} is not an artifact id"
                           if isinstance(artifact, dict) else "not a JSON object")
                    problems.append(f"an artifact of {tag[:60] or release_id} skipped: {why}")
                    continue
                listed += 1
                name = _str(artifact.get("name")) or ""
                count = artifact.get("download_count", 0)
                flagged = not (type(count) is int and 0 <= count <= COUNT_MAX)
                if flagged:
                    problems.append(f"artifact {artifact_id} ({name[:60]}) of {tag[:60]}: "
                                    f"download_count {_shown(count)} ignored")
                    count = 0
                downloads += count
                if artifact_id in seen_artifacts:
                    continue
                seen_artifacts.add(artifact_id)
                size = artifact.get("size")
                kind = _classify(name)
                a["artifact_id"].append(artifact_id)
                a["release_id"].append(release_id)
                a["repo"].append(repo)
                a["tag"].append(tag)
                a["name"].append(name)
                a["label"].append(_str(artifact.get("label")))
                a["state"].append(_str(artifact.get("state")))
                a["size"].append(size if type(size) is int and 0 <= size <= INT64_MAX else None)
                a["content_type"].append(_str(artifact.get("content_type")))
                a["digest"].append(_str(artifact.get("digest")))
                a["download_count"].append(count)
                a["browser_download_url"].append(_str(artifact.get("browser_download_url")))
                a["created_at"].append(_str(artifact.get("created_at")))
                a["updated_at"].append(_str(artifact.get("updated_at")))
                a["kind"].append(kind.kind)
                a["os"].append(kind.os)
                a["arch"].append(kind.arch)
                a["package_type"].append(kind.package_type)
                a["count_flagged"].append(flagged)
            author = raw.get("author")
            r["release_id"].append(release_id)
            r["repo"].append(repo)
            r["tag"].append(tag)
            r["name"].append(_str(raw.get("name")))
            r["body"].append(_str(raw.get("body")))
            r["draft"].append(draft is True)
            r["prerelease"].append(prerelease is True)
            r["created_at"].append(_str(raw.get("created_at")))
            r["published_at"].append(_str(raw.get("published_at")))
            r["html_url"].append(_str(raw.get("html_url")))
            r["author"].append(_str(author.get("login")) if isinstance(author, dict) else None)
            r["list_position"].append(position)
            r["version"].append(str(version) if version else None)
            r["version_major"].append(version.major if version else None)
            r["version_minor"].append(version.minor if version else None)
            r["version_patch"].append(version.patch if version else None)
            r["version_prerelease"].append(version.prerelease if version else None)
            r["artifact_count"].append(listed)
            r["downloads"].append(downloads)
            immutable = raw.get("immutable")
            r["immutable"].append(immutable if isinstance(immutable, bool) else None)
    return out
