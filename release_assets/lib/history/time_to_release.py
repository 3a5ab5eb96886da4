"""Time to release: from the tagged commit to the moment a release is complete.

The original asked for "time from tag push to completion". GitHub does not record when a tag
was pushed, so the start is the tagged commit's committer date from git (`release_changes`),
else the release's `created_at` (which GitHub sets from that commit too). The release is complete
when it is published and its last file is uploaded: the later of `published_at` and the newest
artifact's `created_at`. A start after the completion (a tag moved onto a later commit) gives no
value rather than a negative one. Drafts and deleted releases have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from release_assets.lib import derived
from release_assets.lib.history import changes

SCHEMA = """
CREATE TABLE IF NOT EXISTS release_timing (
    release_id BIGINT NOT NULL,
    repo VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    tag_committed_at TIMESTAMPTZ,        -- git: the tagged commit's committer date
    created_at TIMESTAMPTZ,
    published_at TIMESTAMPTZ,
    last_artifact_at TIMESTAMPTZ,        -- newest artifact upload (created_at)
    started_at TIMESTAMPTZ,              -- tag_committed_at, else created_at
    start_source VARCHAR,                -- git | created_at
    completed_at TIMESTAMPTZ,            -- greatest(published_at, last_artifact_at)
    time_to_release_hours DOUBLE         -- completed_at - started_at; NULL if negative/unknown
);
"""

MEDIAN_COLUMN = "time_to_release_median_hours"

_TIMING = """
WITH files AS (
    SELECT release_id, max(created_at) AS last_artifact_at FROM release_artifacts
    WHERE deleted_at IS NULL AND repo IN (SELECT unnest($repos::VARCHAR[]))
    GROUP BY release_id
), timed AS (
    SELECT r.release_id, r.repo, r.tag,
           CASE WHEN c.status = 'ok' THEN c.tag_committed_at END AS tag_committed_at,
           r.created_at, r.published_at, f.last_artifact_at
    FROM releases r
    LEFT JOIN release_changes c ON c.release_id = r.release_id AND c.tag = r.tag
    LEFT JOIN files f ON f.release_id = r.release_id
    WHERE r.repo IN (SELECT unnest($repos::VARCHAR[])) AND r.deleted_at IS NULL AND NOT r.draft
), spans AS (
    SELECT *, coalesce(tag_committed_at, created_at) AS started_at,
           CASE WHEN tag_committed_at IS NOT NULL THEN 'git'
                WHEN created_at IS NOT NULL THEN 'created_at' END AS start_source,
           CASE WHEN published_at IS NOT NULL
                THEN greatest(published_at, coalesce(last_artifact_at, published_at)) END
               AS completed_at
    FROM timed
)
SELECT release_id, repo, tag, tag_committed_at, created_at, published_at, last_artifact_at,
       started_at, start_source, completed_at,
       CASE WHEN completed_at >= started_at
            THEN round(epoch(completed_at - started_at) / 3600.0, 2) END AS time_to_release_hours
FROM spans
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def refresh_timing(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> int:
    """Recompute `release_timing` for `repos` (needs `release_changes`); returns its rows."""
    ensure_schema(con)
    changes.ensure_schema(con)
    params = {"repos": list(repos)}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM release_timing WHERE repo IN (SELECT unnest($repos::VARCHAR[]))",
                    params)
        con.execute(f"INSERT INTO release_timing BY NAME {_TIMING}", params)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    rows = con.execute(
        "SELECT count(*) FROM release_timing WHERE repo IN (SELECT unnest($repos::VARCHAR[]))",
        params).fetchall()
    return int(rows[0][0])


def median_hours(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> pd.DataFrame:
    """(repo, time_to_release_median_hours) for `repos` with at least one timed release."""
    ensure_schema(con)
    return con.execute(f"""
        SELECT repo, round(median(time_to_release_hours), 2) AS {MEDIAN_COLUMN}
        FROM release_timing
        WHERE repo IN (SELECT unnest($repos::VARCHAR[])) AND time_to_release_hours IS NOT NULL
        GROUP BY repo
    """, {"repos": list(repos)}).df()


def with_median(con: duckdb.DuckDBPyConnection, cadence: pd.DataFrame,
                repos: Sequence[str]) -> pd.DataFrame:
    """`cadence` (release_cadence rows) with the median time to release joined in, and the
    column added to the stored table if it predates it."""
    derived.ensure_schema(con)
    con.execute(f"ALTER TABLE release_cadence ADD COLUMN IF NOT EXISTS {MEDIAN_COLUMN} DOUBLE")
    medians = median_hours(con, repos)
    return cadence.merge(medians, on="repo", how="left")
