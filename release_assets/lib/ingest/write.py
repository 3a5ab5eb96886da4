"""Write: apply fetched repositories to DuckDB in one short transaction per batch.

Releases and artifacts are upserted; what GitHub no longer lists is marked deleted, never
dropped; today's download snapshot is appended (once per artifact per UTC day); the pages'
validators are stored. Set-based: one upsert per table, one anti-join, one snapshot insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.ingest.fetch import FetchedReleases
from release_assets.lib.ingest.rows import batch_rows


@dataclass(frozen=True)
class Written:
    releases: int  # live releases of the repository after the write
    artifacts: int  # live artifacts
    snapshots: int  # snapshots added today
    problems: str | None  # what was skipped or flagged, in words


def _timestamp(column: str) -> str:
    # Timestamps stay ISO strings until DuckDB casts them (parsing them in Python cost more than
    # all the rest of the row building); a malformed one becomes NULL instead of failing the batch.
    return f"timezone('UTC', TRY_CAST(CAST({column} AS VARCHAR) AS TIMESTAMP))"


_RELEASE_INSERT = f"""
INSERT INTO releases (release_id, repo, tag, name, body, draft, prerelease, created_at,
    published_at, html_url, author, list_position, version, version_major, version_minor,
    version_patch, version_prerelease, artifact_count, downloads, deleted_at, fetched_at,
    immutable)
SELECT release_id, repo, tag, CAST(name AS VARCHAR), CAST(body AS VARCHAR), draft, prerelease,
    {_timestamp("created_at")}, {_timestamp("published_at")},
    CAST(html_url AS VARCHAR), CAST(author AS VARCHAR), list_position, CAST(version AS VARCHAR),
    version_major, version_minor, version_patch, CAST(version_prerelease AS VARCHAR),
    artifact_count, downloads, NULL, $fetched_at, CAST(immutable AS BOOLEAN)
FROM incoming_releases
ON CONFLICT (release_id) DO UPDATE SET repo = excluded.repo, tag = excluded.tag,
    name = excluded.name, body = excluded.body, draft = excluded.draft,
    prerelease = excluded.prerelease, created_at = excluded.created_at,
    published_at = excluded.published_at, html_url = excluded.html_url, author = excluded.author,
    list_position = excluded.list_position, version = excluded.version,
    version_major = excluded.version_major, version_minor = excluded.version_minor,
    version_patch = excluded.version_patch, version_prerelease = excluded.version_prerelease,
    artifact_count = excluded.artifact_count, downloads = excluded.downloads,
    deleted_at = NULL, fetched_at = excluded.fetched_at, immutable = excluded.immutable
"""
_ARTIFACT_UPDATED = (
    "release_id", "repo", "tag", "name", "label", "state", "size", "content_type", "digest",
    "browser_download_url", "created_at", "updated_at", "kind", "os", "arch", "package_type",
    "fetched_at",
)


def _artifact_insert(flagged: bool) -> str:
    """The artifact upsert; for artifacts whose count was flagged, the stored count stays."""
    updated = [*_ARTIFACT_UPDATED, *(() if flagged else ("download_count",))]
    return f"""
INSERT INTO release_artifacts (artifact_id, release_id, repo, tag, name, label, state, size,
    content_type, digest, download_count, browser_download_url, created_at, updated_at, kind, os,
    arch, package_type, deleted_at, fetched_at)
SELECT artifact_id, release_id, repo, tag, name, CAST(label AS VARCHAR), CAST(state AS VARCHAR),
    size, CAST(content_type AS VARCHAR), CAST(digest AS VARCHAR), download_count,
    CAST(browser_download_url AS VARCHAR), {_timestamp("created_at")}, {_timestamp("updated_at")},
    kind, CAST(os AS VARCHAR), CAST(arch AS VARCHAR), CAST(package_type AS VARCHAR),
    NULL, $fetched_at
FROM incoming_artifacts WHERE {"" if flagged else "NOT "}count_flagged
ON CONFLICT (artifact_id) DO UPDATE SET deleted_at = NULL,
    {", ".join(f"{c} = excluded.{c}" for c in updated)}
"""


def write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Sequence[FetchedReleases],
    *,
    identity: str,
    observed_at: datetime,
) -> dict[str, Written]:
    """Apply many repositories' fetches in one transaction; what each now holds, per repository."""
    rows = batch_rows(batch)
    repos = [f.repo for f in batch]
    changed = sorted({f.repo for f in batch if f.changed})
    # A repository with an unreadable release cannot say what was deleted: nothing is marked.
    complete = [repo for repo in changed if repo not in rows.incomplete]
    flagged = any(rows.artifacts.data["count_flagged"])
    day = observed_at.date()
    con.execute("BEGIN TRANSACTION")
    registered: list[str] = []
    try:
        def register(name: str, frame: pd.DataFrame) -> None:
            con.register(name, frame)
            registered.append(name)

        register("batch_repos", pd.DataFrame({"repo": pd.Series(repos, dtype=object)}))
        if changed:
            register("incoming_releases", rows.releases.frame(
                ints=("release_id", "list_position", "artifact_count", "downloads"),
                nullable_ints=("version_major", "version_minor", "version_patch"),
                bools=("draft", "prerelease")))
            register("incoming_artifacts", rows.artifacts.frame(
                ints=("artifact_id", "release_id", "download_count"),
                nullable_ints=("size",), bools=("count_flagged",)))
            register("changed_repos", pd.DataFrame({"repo": pd.Series(complete, dtype=object)}))
            register("present_releases", pd.DataFrame({
                "repo": pd.Series([p[0] for p in rows.present], dtype=object),
                "release_id": np.asarray([p[1] for p in rows.present], dtype=np.int64),
            }))
            params = {"fetched_at": observed_at}
            if len(rows.releases):
                con.execute(_RELEASE_INSERT, params)
            if len(rows.artifacts):
                con.execute(_artifact_insert(flagged=False), params)
                if flagged:
                    con.execute(_artifact_insert(flagged=True), params)
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
        # time order), so counting today's rows stays cheap as the history grows. A count
        # flagged today was not observed: no snapshot for it.
        count_today = (
            "SELECT repo, count(*) FROM download_snapshots WHERE observed_on = $day "
            "AND repo IN (SELECT repo FROM batch_repos) GROUP BY repo"
        )
        before = dict(con.execute(count_today, {"day": day}).fetchall())
        unobserved = (" AND artifact_id NOT IN "
                      "(SELECT artifact_id FROM incoming_artifacts WHERE count_flagged)"
                      if flagged else "")
        con.execute(
            "INSERT INTO download_snapshots "
            "SELECT artifact_id, release_id, repo, tag, name, $day, $at, download_count "
            "FROM release_artifacts WHERE deleted_at IS NULL "
            f"AND repo IN (SELECT repo FROM batch_repos){unobserved} ON CONFLICT DO NOTHING",
            {"day": day, "at": observed_at},
        )
        after = dict(con.execute(count_today, {"day": day}).fetchall())
        # A repository with problems is read again next time (no 304), so they are reported
        # again and a flagged count is never confirmed from storage.
        troubled = {repo for repo, found in rows.problems.items() if found}
        storage.store_validators(con, identity, [
            replace(p, cacheable=False) if f.repo in troubled else p
            for f in batch for p in f.pages
        ], observed_at)
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
        repo: Written(
            *totals.get(repo, (0, 0)),
            int(after.get(repo, 0)) - int(before.get(repo, 0)),
            rows.problem_text(repo),
        )
        for repo in repos
    }


def store_releases(
    con: duckdb.DuckDBPyConnection, repo: str, releases: list[Any], *, observed_at: datetime
) -> Written:
    """Store release JSON already in hand (a recording, a test's list) exactly as a refresh
    would: the same mapping, validation, deletion marking and snapshot."""
    fetched = FetchedReleases(repo=repo, pages=[], extra_releases=list(releases))
    return write_batch(con, [fetched], identity="anonymous", observed_at=observed_at)[repo]


@dataclass
class RepoRefresh:
    repo: str
    status: str  # ok | not_modified | failed
    error: str | None = None
    problems: str | None = None  # skipped or flagged items of an otherwise stored fetch
    releases: int = 0
    artifacts: int = 0
    snapshots: int = 0
    requests: int = 0
    not_modified: int = 0
    rate_limit_points: int = 0
    truncated: bool = False
    completed_via: str = "rest"


def record_fetches(
    con: duckdb.DuckDBPyConnection, results: Sequence[RepoRefresh], run_id: str | None
) -> None:
    """One `repository_fetches` row per repository per run, in one statement."""
    if not results:
        return
    frame = pd.DataFrame({
        "repo": pd.Series([r.repo for r in results], dtype=object),
        "run_id": pd.Series([run_id] * len(results), dtype=object),
        "status": pd.Series([r.status for r in results], dtype=object),
        "error": pd.Series([r.error for r in results], dtype=object),
        "problems": pd.Series([r.problems for r in results], dtype=object),
        **{name: np.asarray([getattr(r, name) for r in results], dtype=np.int64)
           for name in ("releases", "artifacts", "snapshots", "requests", "not_modified",
                        "rate_limit_points")},
        "truncated": np.asarray([r.truncated for r in results], dtype=bool),
        "completed_via": pd.Series([r.completed_via for r in results], dtype=object),
    })
    con.register("incoming_fetches", frame)
    try:
        con.execute(
            "INSERT INTO repository_fetches BY NAME SELECT repo, now() AS fetched_at, "
            "CAST(run_id AS VARCHAR) AS run_id, status, CAST(error AS VARCHAR) AS error, "
            "CAST(problems AS VARCHAR) AS problems, releases, artifacts, snapshots, requests, "
            "not_modified, rate_limit_points, truncated, completed_via FROM incoming_fetches"
        )
    finally:
        con.unregister("incoming_fetches")
