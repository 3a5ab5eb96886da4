"""The analytics tables: derived from the ingestion tables, rebuilt per repository on each run.

Derived rows are replaced, not upserted: a run deletes the rows of the repositories it computed
and inserts the new ones in one transaction, so a release that disappeared also disappears here.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from release_assets.lib import storage

SCHEMA = """
CREATE TABLE IF NOT EXISTS release_cadence (
    repo VARCHAR PRIMARY KEY,
    total_releases INTEGER NOT NULL,          -- every listed release, drafts included (original)
    published_releases INTEGER NOT NULL,
    prerelease_count INTEGER NOT NULL,
    draft_count INTEGER NOT NULL,
    average_days_between_releases DOUBLE,     -- the original's mean, whole days, list order
    interval_count INTEGER NOT NULL,
    interval_median_days DOUBLE,              -- chronological, fractional days
    interval_p90_days DOUBLE,
    interval_cv DOUBLE,                       -- standard deviation / mean of the intervals
    releases_last_90_days INTEGER NOT NULL,
    releases_last_365_days INTEGER NOT NULL,
    latest_tag VARCHAR,                       -- first published release in GitHub's list order
    latest_published_at TIMESTAMPTZ,
    latest_release_age_days INTEGER,
    bumps_major INTEGER NOT NULL,             -- vs the previous final release in version order
    bumps_minor INTEGER NOT NULL,
    bumps_patch INTEGER NOT NULL,
    bumps_prerelease INTEGER NOT NULL,
    bumps_initial INTEGER NOT NULL,
    bumps_repeat INTEGER NOT NULL,            -- same version as an earlier release
    unparsed_tags INTEGER NOT NULL,           -- no version readable from the tag
    seed_major INTEGER NOT NULL,              -- the original's release_breakdown rule
    seed_minor INTEGER NOT NULL,
    seed_patch INTEGER NOT NULL,
    as_of TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS release_quality (
    release_id BIGINT NOT NULL,               -- unique: one row per release (see KEYLESS)
    repo VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    rubric VARCHAR NOT NULL,
    draft BOOLEAN NOT NULL,
    prerelease BOOLEAN NOT NULL,
    published_at TIMESTAMPTZ,
    list_position INTEGER NOT NULL,
    asset_count INTEGER NOT NULL,
    body_length INTEGER NOT NULL,
    has_changelog BOOLEAN NOT NULL,
    has_binaries BOOLEAN NOT NULL,
    has_checksums BOOLEAN NOT NULL,
    has_signatures BOOLEAN NOT NULL,
    has_sbom BOOLEAN NOT NULL,
    has_provenance BOOLEAN NOT NULL,          -- recorded, not weighted
    changelog_evidence VARCHAR,               -- which body text or artifact matched which rule
    binaries_evidence VARCHAR,
    checksums_evidence VARCHAR,
    signatures_evidence VARCHAR,
    sbom_evidence VARCHAR,
    provenance_evidence VARCHAR,
    score INTEGER NOT NULL,                   -- 0-100: 25 + 20 + 20 + 20 + 15
    missing VARCHAR NOT NULL                  -- labels of the weighted checks not met
);
CREATE TABLE IF NOT EXISTS repository_quality (
    repo VARCHAR PRIMARY KEY,
    rubric VARCHAR NOT NULL,
    threshold INTEGER NOT NULL,
    latest_tag VARCHAR,
    latest_score INTEGER,
    latest_missing VARCHAR,
    releases_scored INTEGER,
    mean_score DOUBLE,
    releases_below_threshold INTEGER,
    scorecard_signed_releases INTEGER,        -- OpenSSF Scorecard Signed-Releases, 0-10
    scorecard_releases_considered INTEGER
);
CREATE TABLE IF NOT EXISTS download_trends (
    repo VARCHAR NOT NULL,
    release_id BIGINT NOT NULL,
    tag VARCHAR NOT NULL,
    os VARCHAR NOT NULL,
    arch VARCHAR NOT NULL,
    package_type VARCHAR NOT NULL,
    week DATE NOT NULL,                       -- Monday of the ISO week
    iso_week VARCHAR NOT NULL,
    downloads_gained BIGINT NOT NULL,         -- between observations, resets never negative
    baseline_downloads BIGINT NOT NULL,       -- counts at first observation (before tracking)
    latest_count BIGINT NOT NULL,             -- cumulative at the week's last observation
    artifacts INTEGER NOT NULL,
    snapshots INTEGER NOT NULL,
    resets INTEGER NOT NULL                   -- unique per (repo, release_id, os, arch,
                                              -- package_type, week): see KEYLESS
);
CREATE TABLE IF NOT EXISTS download_resets (
    repo VARCHAR NOT NULL,
    release_id BIGINT NOT NULL,
    tag VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    artifact_id BIGINT NOT NULL,
    previous_artifact_id BIGINT,
    observed_on DATE NOT NULL,
    previous_count BIGINT,
    download_count BIGINT NOT NULL,
    reset_kind VARCHAR NOT NULL               -- reupload | decrease
);
"""


# Rebuilt per repository by `replace_rows`, unique by construction (one query groups by the
# key), so no primary key: DuckDB's index made deleting and re-inserting a million rows take 20 s
# instead of half a second. Files made by earlier versions lose the key on first use.
KEYLESS = ("release_quality", "download_trends")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)
    keyed = con.execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND table_name IN (SELECT unnest(?::VARCHAR[]))",
        [list(KEYLESS)],
    ).fetchall()
    for (table,) in keyed:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"ALTER TABLE {table} RENAME TO {table}_keyed")
            con.execute(SCHEMA)
            con.execute(f"INSERT INTO {table} SELECT * FROM {table}_keyed")
            con.execute(f"DROP TABLE {table}_keyed")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame | str, repos: Sequence[str]
) -> int:
    """Delete `repos`' rows of `table` and insert `rows` (a frame or a SELECT), atomically."""
    ensure_schema(con)
    return storage.replace_repository_rows(con, table, rows, repos)
