"""Refresh repositories from GitHub into DuckDB: fetch first, then write in short transactions.

Per repository: read the release list page by page (conditional on stored ETags), then in one
transaction upsert releases and artifacts, mark what disappeared as deleted (never drop it),
append today's download snapshot, and store the new validators. A repository that fails is
recorded with its reason and leaves its stored data untouched; the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.classify import classify
from release_assets.lib.github_client import (
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
    try:
        for page in client.pages(
            client.releases_url(repo), validators, item_key=lambda r: str(r["id"])
        ):
            pages.append(page)
    except RestCeilingReached:
        # GitHub answers 422 past 1,000 results: report it, and complete through GraphQL
        # when a completer is available.
        result.truncated = True
        if complete_beyond_ceiling is not None:
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
    repo = fetched.repo
    con.execute("BEGIN TRANSACTION")
    try:
        if fetched.changed:
            positioned: list[tuple[int, dict[str, Any]]] = []
            offset = 0
            for page in fetched.pages:
                if page.items is not None:
                    positioned.extend((offset + i, r) for i, r in enumerate(page.items))
                offset += len(page.validator.item_keys)
            positioned.extend((offset + i, r) for i, r in enumerate(fetched.extra_releases))
            releases, artifacts = release_rows(repo, positioned, observed_at)
            storage.upsert_frame(con, "releases", _frame(releases, "releases", con), ("release_id",))
            storage.upsert_frame(
                con, "release_artifacts", _frame(artifacts, "release_artifacts", con), ("artifact_id",)
            )
            present = sorted(fetched.release_ids())
            con.execute(
                "UPDATE releases SET deleted_at = ? WHERE repo = ? AND deleted_at IS NULL "
                "AND NOT list_contains(?::BIGINT[], release_id)",
                [observed_at, repo, present],
            )
            refreshed_releases = [r["release_id"] for r in releases]
            con.execute(
                "UPDATE release_artifacts SET deleted_at = ? WHERE repo = ? AND deleted_at IS NULL "
                "AND (NOT list_contains(?::BIGINT[], release_id) OR "
                "     (list_contains(?::BIGINT[], release_id) "
                "      AND NOT list_contains(?::BIGINT[], artifact_id)))",
                [observed_at, repo, present, refreshed_releases, [a["artifact_id"] for a in artifacts]],
            )
        count_sql = "SELECT count(*) FROM download_snapshots WHERE repo = ?"
        before = storage.scalar(con, count_sql, [repo])
        # Today's observation of every live artifact; a 304 confirms the stored counts.
        con.execute(
            "INSERT INTO download_snapshots "
            "SELECT artifact_id, release_id, repo, tag, name, ?::DATE, ?, download_count "
            "FROM release_artifacts WHERE repo = ? AND deleted_at IS NULL "
            "ON CONFLICT DO NOTHING",
            [observed_at.date(), observed_at, repo],
        )
        snapshots = storage.scalar(con, count_sql, [repo]) - before
        store_validators(con, identity, fetched.pages, observed_at)
        [(releases_n, artifacts_n)] = con.execute(
            "SELECT count(DISTINCT r.release_id), count(a.artifact_id) FROM releases r "
            "LEFT JOIN release_artifacts a ON a.release_id = r.release_id AND a.deleted_at IS NULL "
            "WHERE r.repo = ? AND r.deleted_at IS NULL",
            [repo],
        ).fetchall()
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return int(releases_n), int(artifacts_n), int(snapshots)


def record_fetch(con: duckdb.DuckDBPyConnection, result: RepoRefresh, run_id: str | None) -> None:
    con.execute(
        "INSERT INTO repository_fetches VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.repo, run_id, result.status, result.error, result.releases, result.artifacts,
            result.snapshots, result.requests, result.not_modified, result.rate_limit_points,
            result.truncated, result.completed_via,
        ],
    )


# -- orchestration ----------------------------------------------------------------------------
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

    def flush() -> None:
        if not pending:
            return
        with storage.connect(db_path) as con:
            for repo, outcome, counts in pending:
                result = RepoRefresh(repo=repo, status="failed", **counts)
                if isinstance(outcome, Exception):
                    result.error = str(outcome)
                else:
                    try:
                        result.releases, result.artifacts, result.snapshots = write_releases(
                            con, outcome, identity=client.token_identity, observed_at=observed_at
                        )
                        result.status = "ok" if outcome.changed else "not_modified"
                        result.truncated = outcome.truncated
                        result.completed_via = outcome.completed_via
                    except (duckdb.Error, KeyError, TypeError, ValueError) as exc:
                        result.error = f"could not store the releases: {type(exc).__name__}: {exc}"
                record_fetch(con, result, run_id)
                results.append(result)
                if on_result is not None:
                    on_result(result)
        pending.clear()

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(fetch, repo) for repo in repos]
        for future in as_completed(futures):
            pending.append(future.result())
            if len(pending) >= batch_size:
                flush()
    flush()
    return results
