"""`release_changes`: plan which repositories need git, run git, store one row per release.

Planning and storing take a DuckDB connection; the git work in between holds none (DuckDB has
one writer). A repository whose every published release already has a settled row is not
touched at all: no new release, no git traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from release_assets.lib.history.git_changes import (
    ChangeRow,
    Counts,
    GitAccess,
    ReleaseTag,
    RepositoryChanges,
    clone_url_for,
    display_url,
    repository_changes,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS release_changes (
    release_id BIGINT PRIMARY KEY,
    repo VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    base_tag VARCHAR,                    -- NULL: the root commit (TAG alone, vs the empty tree)
    tag_sha VARCHAR,                     -- the tagged commit
    base_sha VARCHAR,
    commits INTEGER,                     -- git rev-list --count base..TAG
    contributors INTEGER,                -- lines of git shortlog -sn base..TAG
    files_changed INTEGER,               -- git diff --shortstat base TAG
    insertions BIGINT,
    deletions BIGINT,
    tag_committed_at TIMESTAMPTZ,        -- committer date of the tagged commit
    status VARCHAR NOT NULL,             -- ok | tag_missing | empty_repository | too_large |
                                         -- clone_failed | no_clone_url | failed
    reason VARCHAR,
    computed_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS git_fetches (
    repo VARCHAR NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    url VARCHAR,                         -- without credentials
    bytes_fetched BIGINT NOT NULL,       -- growth of the clone, lazily fetched blobs included
    releases_computed INTEGER NOT NULL,
    error VARCHAR
);
"""

# Settled rows are not retried until the repository gets a new release; these are.
RETRIED = ("clone_failed", "no_clone_url", "failed")
_COLUMNS = list(ChangeRow.__annotations__)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


@dataclass
class RepositoryPlan:
    repo: str
    url: str | None
    releases: list[ReleaseTag]
    known: dict[tuple[str, str], Counts] = field(default_factory=dict)


def plan_changes(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str], *, git_url: str | None
) -> list[RepositoryPlan]:
    """The repositories with a published release that has no settled row for its tag."""
    ensure_schema(con)
    params = {"repos": list(repos), "retried": list(RETRIED)}
    pending = con.execute("""
        SELECT r.repo, r.release_id, r.tag
        FROM releases r
        LEFT JOIN release_changes c ON c.release_id = r.release_id AND c.tag = r.tag
             AND NOT list_contains($retried::VARCHAR[], c.status)
        WHERE r.repo IN (SELECT unnest($repos::VARCHAR[])) AND r.deleted_at IS NULL
          AND NOT r.draft AND c.release_id IS NULL
    """, params).fetchall()
    stale = sorted({repo for repo, _, _ in pending})
    if not stale:
        return []
    scope = {"repos": stale}
    urls = {
        repo: (clone_url, html_url) for repo, clone_url, html_url in con.execute(
            "SELECT repo, clone_url, html_url FROM repositories "
            "WHERE repo IN (SELECT unnest($repos::VARCHAR[]))", scope,
        ).fetchall()
    }
    releases = con.execute("""
        SELECT repo, release_id, tag FROM releases
        WHERE repo IN (SELECT unnest($repos::VARCHAR[])) AND deleted_at IS NULL AND NOT draft
        ORDER BY repo, list_position
    """, scope).fetchall()
    known = con.execute("""
        SELECT repo, coalesce(base_sha, ''), tag_sha, commits, contributors, files_changed,
               insertions, deletions
        FROM release_changes
        WHERE repo IN (SELECT unnest($repos::VARCHAR[])) AND status = 'ok'
    """, scope).fetchall()
    plans = {
        repo: RepositoryPlan(repo, clone_url_for(repo, *urls.get(repo, (None, None)), git_url), [])
        for repo in stale
    }
    for repo, release_id, tag in releases:
        plans[repo].releases.append(ReleaseTag(int(release_id), str(tag)))
    for repo, base, tag_sha, *numbers in known:
        plans[repo].known[(base, tag_sha)] = Counts(*(int(n) for n in numbers))
    return list(plans.values())


def compute_changes(
    plans: Sequence[RepositoryPlan],
    *,
    cache_root: Path,
    access: GitAccess,
    concurrency: int = 4,
    on_result: Callable[[RepositoryChanges], None] | None = None,
) -> list[RepositoryChanges]:
    """Run git for every planned repository (a few at a time); never raises for one of them."""

    def one(plan: RepositoryPlan) -> RepositoryChanges:
        if plan.url is None:
            reason = "GitHub gave no clone_url for this repository (set RELEASE_ASSETS_GIT_URL)"
            result = RepositoryChanges(plan.repo, error=reason)
            result.rows = [
                ChangeRow(release_id=r.release_id, repo=plan.repo, tag=r.tag, tag_sha=None,
                          base_tag=None, base_sha=None, commits=None, contributors=None,
                          files_changed=None, insertions=None, deletions=None,
                          tag_committed_at=None, status="no_clone_url", reason=reason)
                for r in plan.releases
            ]
            return result
        return repository_changes(plan.repo, plan.url, plan.releases, cache_root=cache_root,
                                  access=access, known=plan.known)

    results: list[RepositoryChanges] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for result in pool.map(one, plans):
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def store_changes(
    con: duckdb.DuckDBPyConnection,
    plans: Sequence[RepositoryPlan],
    results: Sequence[RepositoryChanges],
    *,
    computed_at: datetime,
) -> int:
    """Upsert every computed row by release id and log each repository's fetch; atomic."""
    ensure_schema(con)
    rows = [row for result in results for row in result.rows]
    urls = {plan.repo: plan.url for plan in plans if plan.url}
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame["tag_committed_at"] = pd.to_datetime(frame["tag_committed_at"], utc=True)
    frame["computed_at"] = pd.Timestamp(computed_at)
    fetches = pd.DataFrame([
        {"repo": r.repo, "fetched_at": pd.Timestamp(computed_at),
         "url": display_url(urls[r.repo]) if r.repo in urls else None,
         "bytes_fetched": r.bytes_fetched, "releases_computed": r.computed, "error": r.error}
        for r in results
    ], columns=["repo", "fetched_at", "url", "bytes_fetched", "releases_computed", "error"])
    con.execute("BEGIN TRANSACTION")
    try:
        if len(frame):
            con.register("incoming_changes", frame)
            columns = ", ".join([*_COLUMNS, "computed_at"])
            updates = ", ".join(f"{c} = excluded.{c}" for c in [*_COLUMNS, "computed_at"]
                                if c != "release_id")
            con.execute(f"INSERT INTO release_changes ({columns}) SELECT {columns} "
                        f"FROM incoming_changes ON CONFLICT (release_id) DO UPDATE SET {updates}")
            con.unregister("incoming_changes")
        if len(fetches):
            con.register("incoming_fetches", fetches)
            con.execute("INSERT INTO git_fetches SELECT * FROM incoming_fetches")
            con.unregister("incoming_fetches")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(frame)
