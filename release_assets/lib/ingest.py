"""Refresh repositories from GitHub into DuckDB: fetch first, then write in short transactions.

Per repository: read the release list page by page (conditional on stored ETags), then in one
transaction upsert releases and artifacts, mark what disappeared as deleted (never drop it),
append today's download snapshot, and store the new validators. A repository that fails is
recorded with its reason and leaves its stored data untouched; the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.classify import classify
from release_assets.lib.github_client import (
    REST_RESULT_CEILING,
    GitHubClient,
    GitHubError,
    Page,
    RestCeilingReached,
    Validator,
)
from release_assets.lib.versions import parse_tag


@dataclass
class FetchedReleases:
    repo: str
    pages: list[Page]
    truncated: bool = False
    completed_via: str = "rest"
    extra_releases: list[dict[str, Any]] = field(default_factory=list)  # beyond the REST ceiling

    @property
    def changed(self) -> bool:
        return any(not p.not_modified for p in self.pages) or bool(self.extra_releases)

    def release_ids(self) -> set[int]:
        ids: set[int] = set()
        for page in self.pages:
            ids.update(int(k) for k in page.validator.item_keys)
        ids.update(int(r["id"]) for r in self.extra_releases)
        return ids


@dataclass
class RepoRefresh:
    repo: str
    status: str  # ok | not_modified | failed
    error: str | None = None
    releases: int = 0
    artifacts: int = 0
    snapshots: int = 0
    requests: int = 0
    not_modified: int = 0
    rate_limit_points: int = 0
    truncated: bool = False
    completed_via: str = "rest"


# -- fetching (no database) -------------------------------------------------------------------
def fetch_releases(
    client: GitHubClient,
    repo: str,
    validators: dict[str, Validator],
    *,
    complete_beyond_ceiling: Callable[[GitHubClient, str, int], list[dict[str, Any]]] | None = None,
) -> FetchedReleases:
    """Every page of a repository's release list; 304 pages are reused from storage."""
    pages: list[Page] = []
    result = FetchedReleases(repo=repo, pages=pages)
    listed = 0
    try:
        for page in client.pages(
            client.releases_url(repo), validators, item_key=lambda r: str(r["id"])
        ):
            pages.append(page)
            listed += len(page.validator.item_keys)
            if listed >= REST_RESULT_CEILING and page.validator.next_url:
                # The next page lies past GitHub's ceiling and would only answer 422: a
                # request (and a rate-limit point) spent to learn what is already known.
                result.truncated = True
                break
    except RestCeilingReached:
        # GitHub answers 422 past 1,000 results (reached here with another page size).
        result.truncated = True
    if result.truncated and complete_beyond_ceiling is not None:
        # Completed through GraphQL when a completer is available; reported either way.
        seen = {key for p in pages for key in p.validator.item_keys}
        extra = complete_beyond_ceiling(client, repo, len(seen))
        # A completer may overlap the REST pages (a release published between the two
        # reads shifts positions): one row per release id, the REST copy first.
        unique: dict[str, dict[str, Any]] = {}
        for release in extra:
            unique.setdefault(str(release["id"]), release)
        result.extra_releases = [r for k, r in unique.items() if k not in seen]
        result.completed_via = "graphql"
    return result


# -- rows -------------------------------------------------------------------------------------
def _ts(value: Any) -> pd.Timestamp | None:
    if not value:
        return None
    return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(
        value, tz="UTC"
    )


def release_rows(
    repo: str, releases: Iterable[tuple[int, dict[str, Any]]], fetched_at: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Release and artifact rows from GitHub's JSON; (position, release) pairs."""
    release_out: list[dict[str, Any]] = []
    artifact_out: list[dict[str, Any]] = []
    for position, raw in releases:
        release_id = int(raw["id"])
        tag = str(raw.get("tag_name") or "")
        version = parse_tag(tag)
        artifacts = [a for a in (raw.get("assets") or []) if isinstance(a, dict)]
        downloads = 0
        for artifact in artifacts:
            name = str(artifact.get("name") or "")
            kind = classify(name)
            count = int(artifact.get("download_count") or 0)
            downloads += count
            digest = artifact.get("digest")
            artifact_out.append(
                {
                    "artifact_id": int(artifact["id"]),
                    "release_id": release_id,
                    "repo": repo,
                    "tag": tag,
                    "name": name,
                    "label": artifact.get("label"),
                    "state": artifact.get("state"),
                    "size": artifact.get("size"),
                    "content_type": artifact.get("content_type"),
                    "digest": digest if isinstance(digest, str) and digest else None,
                    "download_count": count,
                    "browser_download_url": artifact.get("browser_download_url"),
                    "created_at": _ts(artifact.get("created_at")),
                    "updated_at": _ts(artifact.get("updated_at")),
                    "kind": kind.kind,
                    "os": kind.os,
                    "arch": kind.arch,
                    "package_type": kind.package_type,
                    "deleted_at": None,
                    "fetched_at": fetched_at,
                }
            )
        author = raw.get("author") or {}
        release_out.append(
            {
                "release_id": release_id,
                "repo": repo,
                "tag": tag,
                "name": raw.get("name"),
                "body": raw.get("body"),
                "draft": bool(raw.get("draft")),
                "prerelease": bool(raw.get("prerelease")),
                "created_at": _ts(raw.get("created_at")),
                "published_at": _ts(raw.get("published_at")),
                "html_url": raw.get("html_url"),
                "author": author.get("login") if isinstance(author, dict) else None,
                "list_position": position,
                "version": str(version.version) if version else None,
                "version_major": version.version.major if version else None,
                "version_minor": version.version.minor if version else None,
                "version_patch": version.version.patch if version else None,
                "version_prerelease": version.version.prerelease if version else None,
                "artifact_count": len(artifacts),
                "downloads": downloads,
                "deleted_at": None,
                "fetched_at": fetched_at,
            }
        )
    return release_out, artifact_out


def _frame(rows: list[dict[str, Any]], table: str, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    columns = [name for name, _ in storage.table_columns(con, table)]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(object).where(frame.notna(), None) if not frame.empty else frame


# -- writing ----------------------------------------------------------------------------------
def load_validators(
    con: duckdb.DuckDBPyConnection, identity: str, prefix: str | None = None
) -> dict[str, Validator]:
    query = (
        "SELECT url, etag, last_modified, next_url, item_keys FROM http_validators "
        "WHERE token_identity = ?"
    )
    params: list[Any] = [identity]
    if prefix is not None:
        query += " AND starts_with(url, ?)"
        params.append(prefix)
    return {
        url: Validator(etag, last_modified, next_url, tuple(json.loads(keys or "[]")))
        for url, etag, last_modified, next_url, keys in con.execute(query, params).fetchall()
    }


def store_validators(
    con: duckdb.DuckDBPyConnection, identity: str, pages: Sequence[Page], stored_at: datetime
) -> None:
    fresh = [p for p in pages if not p.not_modified]
    if not fresh:
        return
    frame = pd.DataFrame(
        {
            "token_identity": identity,
            "url": [p.url for p in fresh],
            "etag": [p.validator.etag for p in fresh],
            "last_modified": [p.validator.last_modified for p in fresh],
            "next_url": [p.validator.next_url for p in fresh],
            "item_count": [len(p.validator.item_keys) for p in fresh],
            "item_keys": [json.dumps(list(p.validator.item_keys)) for p in fresh],
            "stored_at": stored_at,
        }
    )
    storage.upsert_frame(con, "http_validators", frame, ("token_identity", "url"))


def write_releases(
    con: duckdb.DuckDBPyConnection,
    fetched: FetchedReleases,
    *,
    identity: str,
    observed_at: datetime,
) -> tuple[int, int, int]:
    """Apply one repository's fetch in a transaction; returns (releases, artifacts, snapshots)."""
    return write_batch(con, [fetched], identity=identity, observed_at=observed_at)[fetched.repo]


# Columns of the batch frames, in the order the INSERTs below read them. Timestamps stay ISO
# strings until DuckDB casts them: parsing 2 per artifact in Python (pandas.Timestamp) cost more
# than everything else in the row building together.
_RELEASE_INSERT = """
INSERT INTO releases (release_id, repo, tag, name, body, draft, prerelease, created_at,
    published_at, html_url, author, list_position, version, version_major, version_minor,
    version_patch, version_prerelease, artifact_count, downloads, deleted_at, fetched_at)
SELECT release_id, repo, tag, CAST(name AS VARCHAR), CAST(body AS VARCHAR), draft, prerelease,
    timezone('UTC', CAST(CAST(created_at AS VARCHAR) AS TIMESTAMP)),
    timezone('UTC', CAST(CAST(published_at AS VARCHAR) AS TIMESTAMP)),
    CAST(html_url AS VARCHAR), CAST(author AS VARCHAR), list_position, CAST(version AS VARCHAR),
    version_major, version_minor, version_patch, CAST(version_prerelease AS VARCHAR),
    artifact_count, downloads, NULL, $fetched_at
FROM incoming_releases
ON CONFLICT (release_id) DO UPDATE SET repo = excluded.repo, tag = excluded.tag,
    name = excluded.name, body = excluded.body, draft = excluded.draft,
    prerelease = excluded.prerelease, created_at = excluded.created_at,
    published_at = excluded.published_at, html_url = excluded.html_url, author = excluded.author,
    list_position = excluded.list_position, version = excluded.version,
    version_major = excluded.version_major, version_minor = excluded.version_minor,
    version_patch = excluded.version_patch, version_prerelease = excluded.version_prerelease,
    artifact_count = excluded.artifact_count, downloads = excluded.downloads,
    deleted_at = NULL, fetched_at = excluded.fetched_at
"""
_ARTIFACT_INSERT = """
INSERT INTO release_artifacts (artifact_id, release_id, repo, tag, name, label, state, size,
    content_type, digest, download_count, browser_download_url, created_at, updated_at, kind, os,
    arch, package_type, deleted_at, fetched_at)
SELECT artifact_id, release_id, repo, tag, name, CAST(label AS VARCHAR), CAST(state AS VARCHAR),
    size, CAST(content_type AS VARCHAR), CAST(digest AS VARCHAR), download_count,
    CAST(browser_download_url AS VARCHAR),
    timezone('UTC', CAST(CAST(created_at AS VARCHAR) AS TIMESTAMP)),
    timezone('UTC', CAST(CAST(updated_at AS VARCHAR) AS TIMESTAMP)),
    kind, CAST(os AS VARCHAR), CAST(arch AS VARCHAR), CAST(package_type AS VARCHAR),
    NULL, $fetched_at
FROM incoming_artifacts
ON CONFLICT (artifact_id) DO UPDATE SET release_id = excluded.release_id, repo = excluded.repo,
    tag = excluded.tag, name = excluded.name, label = excluded.label, state = excluded.state,
    size = excluded.size, content_type = excluded.content_type, digest = excluded.digest,
    download_count = excluded.download_count,
    browser_download_url = excluded.browser_download_url, created_at = excluded.created_at,
    updated_at = excluded.updated_at, kind = excluded.kind, os = excluded.os,
    arch = excluded.arch, package_type = excluded.package_type, deleted_at = NULL,
    fetched_at = excluded.fetched_at
"""

# The kind of an artifact depends only on its name; names repeat across refreshes of a process
# (the Dagster daemon, a long `dev` session) and `checksums.txt` across releases.
_classify = lru_cache(maxsize=1 << 16)(classify)


def _str(value: Any) -> str | None:
    # "" and null are different GitHub answers (an empty release name is not a missing one)
    return value if isinstance(value, str) else None


def _opt_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass
class _Columns:
    """Rows of one write batch, column by column (no per-row dicts, no per-row pandas)."""

    names: tuple[str, ...]
    data: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = {name: [] for name in self.names}

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


_RELEASE_NAMES = (
    "release_id", "repo", "tag", "name", "body", "draft", "prerelease", "created_at",
    "published_at", "html_url", "author", "list_position", "version", "version_major",
    "version_minor", "version_patch", "version_prerelease", "artifact_count", "downloads",
)
_ARTIFACT_NAMES = (
    "artifact_id", "release_id", "repo", "tag", "name", "label", "state", "size", "content_type",
    "digest", "download_count", "browser_download_url", "created_at", "updated_at", "kind", "os",
    "arch", "package_type",
)


def _batch_columns(batch: Sequence[FetchedReleases]) -> tuple[_Columns, _Columns, list[tuple[str, int]]]:
    """(releases, artifacts, present) of the changed repositories in a batch.

    `present` is every (repo, release id) GitHub listed, including the pages answered 304.
    A release (or artifact) seen twice in one fetch (a release published while the list was
    being paged shifts it to the next page) is kept once, at its first position.
    """
    rel = _Columns(_RELEASE_NAMES)
    art = _Columns(_ARTIFACT_NAMES)
    r, a = rel.data, art.data
    present: list[tuple[str, int]] = []
    seen_releases: set[int] = set()
    seen_artifacts: set[int] = set()
    for fetched in batch:
        if not fetched.changed:
            continue
        repo = fetched.repo
        present.extend((repo, release_id) for release_id in fetched.release_ids())
        positioned: list[tuple[int, dict[str, Any]]] = []
        offset = 0
        for page in fetched.pages:
            if page.items is not None:
                positioned.extend((offset + i, item) for i, item in enumerate(page.items))
            offset += len(page.validator.item_keys)
        positioned.extend((offset + i, item) for i, item in enumerate(fetched.extra_releases))
        for position, raw in positioned:
            release_id = int(raw["id"])
            if release_id in seen_releases:
                continue
            seen_releases.add(release_id)
            tag = str(raw.get("tag_name") or "")
            parsed = parse_tag(tag)
            version = parsed.version if parsed else None
            artifacts = [x for x in (raw.get("assets") or []) if isinstance(x, dict)]
            downloads = 0
            for artifact in artifacts:
                artifact_id = int(artifact["id"])
                name = str(artifact.get("name") or "")
                count = int(artifact.get("download_count") or 0)
                downloads += count
                if artifact_id in seen_artifacts:
                    continue
                seen_artifacts.add(artifact_id)
                kind = _classify(name)
                a["artifact_id"].append(artifact_id)
                a["release_id"].append(release_id)
                a["repo"].append(repo)
                a["tag"].append(tag)
                a["name"].append(name)
                a["label"].append(_str(artifact.get("label")))
                a["state"].append(_str(artifact.get("state")))
                a["size"].append(_opt_int(artifact.get("size")))
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
            author = raw.get("author")
            r["release_id"].append(release_id)
            r["repo"].append(repo)
            r["tag"].append(tag)
            r["name"].append(_str(raw.get("name")))
            r["body"].append(raw.get("body") if isinstance(raw.get("body"), str) else None)
            r["draft"].append(bool(raw.get("draft")))
            r["prerelease"].append(bool(raw.get("prerelease")))
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
            r["artifact_count"].append(len(artifacts))
            r["downloads"].append(downloads)
    return rel, art, present


def write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Sequence[FetchedReleases],
    *,
    identity: str,
    observed_at: datetime,
) -> dict[str, tuple[int, int, int]]:
    """Apply many repositories' fetches in one transaction, set-based: one upsert per table,
    one anti-join to mark what disappeared, one snapshot insert. Returns, per repository,
    (releases, artifacts, snapshots added)."""
    rel, art, present = _batch_columns(batch)
    repos = [f.repo for f in batch]
    changed = sorted({f.repo for f in batch if f.changed})
    day = observed_at.date()
    con.execute("BEGIN TRANSACTION")
    registered: list[str] = []
    try:
        def register(name: str, frame: pd.DataFrame) -> None:
            con.register(name, frame)
            registered.append(name)

        register("batch_repos", pd.DataFrame({"repo": pd.Series(repos, dtype=object)}))
        if changed:
            register("incoming_releases", rel.frame(
                ints=("release_id", "list_position", "artifact_count", "downloads"),
                nullable_ints=("version_major", "version_minor", "version_patch"),
                bools=("draft", "prerelease")))
            register("incoming_artifacts", art.frame(
                ints=("artifact_id", "release_id", "download_count"),
                nullable_ints=("size",), bools=()))
            register("changed_repos", pd.DataFrame({"repo": pd.Series(changed, dtype=object)}))
            register("present_releases", pd.DataFrame({
                "repo": pd.Series([p[0] for p in present], dtype=object),
                "release_id": np.asarray([p[1] for p in present], dtype=np.int64),
            }))
            params = {"fetched_at": observed_at}
            if rel.data["release_id"]:
                con.execute(_RELEASE_INSERT, params)
            if art.data["artifact_id"]:
                con.execute(_ARTIFACT_INSERT, params)
            # What GitHub no longer lists is marked, never dropped.
            con.execute(
                "UPDATE releases SET deleted_at = $at WHERE deleted_at IS NULL "
                "AND repo IN (SELECT repo FROM changed_repos) "
                "AND release_id NOT IN (SELECT release_id FROM present_releases)",
                {"at": observed_at},
            )
            con.execute(
                "UPDATE release_artifacts SET deleted_at = $at WHERE deleted_at IS NULL "
                "AND repo IN (SELECT repo FROM changed_repos) "
                "AND (release_id NOT IN (SELECT release_id FROM present_releases) "
                "     OR (release_id IN (SELECT release_id FROM incoming_releases) "
                "         AND artifact_id NOT IN (SELECT artifact_id FROM incoming_artifacts)))",
                {"at": observed_at},
            )
        # Today's observation of every live artifact; a 304 confirms the stored counts. Old
        # days' row groups are skipped by DuckDB's min/max on `observed_on` (rows arrive in
        # time order), so counting today's rows stays cheap as the history grows.
        count_today = (
            "SELECT repo, count(*) FROM download_snapshots WHERE observed_on = $day "
            "AND repo IN (SELECT repo FROM batch_repos) GROUP BY repo"
        )
        before = dict(con.execute(count_today, {"day": day}).fetchall())
        con.execute(
            "INSERT INTO download_snapshots "
            "SELECT artifact_id, release_id, repo, tag, name, $day, $at, download_count "
            "FROM release_artifacts WHERE deleted_at IS NULL "
            "AND repo IN (SELECT repo FROM batch_repos) ON CONFLICT DO NOTHING",
            {"day": day, "at": observed_at},
        )
        after = dict(con.execute(count_today, {"day": day}).fetchall())
        store_validators(con, identity, [p for f in batch for p in f.pages], observed_at)
        totals = {
            repo: (int(n_rel), int(n_art))
            for repo, n_rel, n_art in con.execute(
                "SELECT r.repo, count(DISTINCT r.release_id), count(a.artifact_id) "
                "FROM releases r LEFT JOIN release_artifacts a "
                "  ON a.release_id = r.release_id AND a.deleted_at IS NULL "
                "WHERE r.deleted_at IS NULL AND r.repo IN (SELECT repo FROM batch_repos) "
                "GROUP BY r.repo"
            ).fetchall()
        }
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in registered:
            con.unregister(name)
    return {
        repo: (*totals.get(repo, (0, 0)), int(after.get(repo, 0)) - int(before.get(repo, 0)))
        for repo in repos
    }


def record_fetch(con: duckdb.DuckDBPyConnection, result: RepoRefresh, run_id: str | None) -> None:
    con.execute(
        "INSERT INTO repository_fetches VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.repo, run_id, result.status, result.error, result.releases, result.artifacts,
            result.snapshots, result.requests, result.not_modified, result.rate_limit_points,
            result.truncated, result.completed_via,
        ],
    )


def record_fetches(
    con: duckdb.DuckDBPyConnection, results: Sequence[RepoRefresh], run_id: str | None
) -> None:
    """One row per repository per run, in one statement."""
    if not results:
        return
    frame = pd.DataFrame({
        "repo": pd.Series([r.repo for r in results], dtype=object),
        "run_id": pd.Series([run_id] * len(results), dtype=object),
        "status": pd.Series([r.status for r in results], dtype=object),
        "error": pd.Series([r.error for r in results], dtype=object),
        **{name: np.asarray([getattr(r, name) for r in results], dtype=np.int64)
           for name in ("releases", "artifacts", "snapshots", "requests", "not_modified",
                        "rate_limit_points")},
        "truncated": np.asarray([r.truncated for r in results], dtype=bool),
        "completed_via": pd.Series([r.completed_via for r in results], dtype=object),
    })
    con.register("incoming_fetches", frame)
    try:
        con.execute(
            "INSERT INTO repository_fetches SELECT repo, now(), CAST(run_id AS VARCHAR), status, "
            "CAST(error AS VARCHAR), releases, artifacts, snapshots, requests, not_modified, "
            "rate_limit_points, truncated, completed_via FROM incoming_fetches"
        )
    finally:
        con.unregister("incoming_fetches")


# -- orchestration ----------------------------------------------------------------------------
# A batch is also written once it holds this many releases (bounded memory for huge repositories).
MAX_BATCH_RELEASES = 20_000


def refresh_repositories(
    client: GitHubClient,
    db_path: str | Path,
    repos: Sequence[str],
    *,
    run_id: str | None = None,
    concurrency: int = 8,
    observed_at: datetime | None = None,
    on_result: Callable[[RepoRefresh], None] | None = None,
    complete_beyond_ceiling: Callable[[GitHubClient, str, int], list[dict[str, Any]]] | None = None,
    batch_size: int = 50,
) -> list[RepoRefresh]:
    """Refresh many repositories: fetch concurrently, write in batches of short transactions."""
    observed_at = observed_at or datetime.now(UTC)
    with storage.connect(db_path) as con:
        validators = load_validators(con, client.token_identity)

    def fetch(repo: str) -> tuple[str, FetchedReleases | Exception, dict[str, int]]:
        with client.tally() as counts:
            try:
                outcome: FetchedReleases | Exception = fetch_releases(
                    client, repo, validators, complete_beyond_ceiling=complete_beyond_ceiling
                )
            except GitHubError as exc:
                outcome = exc
        return repo, outcome, counts

    results: list[RepoRefresh] = []
    pending: list[tuple[str, FetchedReleases | Exception, dict[str, int]]] = []
    identity = client.token_identity

    def stored(result: RepoRefresh, fetched: FetchedReleases, counts: tuple[int, int, int]) -> None:
        result.releases, result.artifacts, result.snapshots = counts
        result.status = "ok" if fetched.changed else "not_modified"
        result.truncated = fetched.truncated
        result.completed_via = fetched.completed_via

    def flush() -> None:
        if not pending:
            return
        batch = [o for _, o, _ in pending if isinstance(o, FetchedReleases)]
        written: dict[str, tuple[int, int, int]] | None = None
        with storage.connect(db_path) as con:
            if batch:
                try:
                    written = write_batch(con, batch, identity=identity, observed_at=observed_at)
                except (duckdb.Error, KeyError, TypeError, ValueError):
                    written = None  # one bad repository must not fail the others: one by one
            outcomes: list[RepoRefresh] = []
            for repo, outcome, counts in pending:
                result = RepoRefresh(repo=repo, status="failed", **counts)
                if isinstance(outcome, Exception):
                    result.error = str(outcome)
                elif written is not None:
                    stored(result, outcome, written[repo])
                else:
                    try:
                        stored(result, outcome, write_batch(
                            con, [outcome], identity=identity, observed_at=observed_at)[repo])
                    except (duckdb.Error, KeyError, TypeError, ValueError) as exc:
                        result.error = f"could not store the releases: {type(exc).__name__}: {exc}"
                outcomes.append(result)
            record_fetches(con, outcomes, run_id)
            for result in outcomes:
                results.append(result)
                if on_result is not None:
                    on_result(result)
        pending.clear()

    # Bounded memory: only a window of repositories is fetched ahead of the writer, so a slow
    # disk makes the fetchers wait instead of piling every response up in memory. Pages are
    # also flushed by size, so a batch of 1,500-release repositories stays small.
    window = max(1, concurrency) * 2 + batch_size
    queue = iter(repos)
    pending_releases = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        running = {pool.submit(fetch, repo) for repo in islice(queue, window)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                repo, outcome, counts = future.result()
                pending.append((repo, outcome, counts))
                if isinstance(outcome, FetchedReleases):
                    pending_releases += sum(len(p.items or ()) for p in outcome.pages)
                    pending_releases += len(outcome.extra_releases)
                next_repo = next(queue, None)
                if next_repo is not None:
                    running.add(pool.submit(fetch, next_repo))
            if len(pending) >= batch_size or pending_releases >= MAX_BATCH_RELEASES:
                flush()
                pending_releases = 0
    flush()
    return results
