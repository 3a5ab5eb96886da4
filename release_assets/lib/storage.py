"""The DuckDB tables of the ingestion layer and the writes that keep them.

Releases and artifacts are upserted (they change: edits, download counts); download snapshots
are append-only history (one row per artifact per UTC day, never deleted); HTTP validators
(ETags) live here so a 304 survives restarts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS repositories (
    repo VARCHAR PRIMARY KEY,            -- owner/name, the partition key
    owner VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    repo_id BIGINT,
    source VARCHAR NOT NULL,             -- 'org:<login>' or 'config'
    private BOOLEAN,
    fork BOOLEAN,
    archived BOOLEAN,
    default_branch VARCHAR,
    html_url VARCHAR,
    pushed_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,             -- active | archived | excluded | missing
    status_reason VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    release_id BIGINT PRIMARY KEY,
    repo VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    name VARCHAR,
    body VARCHAR,
    draft BOOLEAN NOT NULL,
    prerelease BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ,
    published_at TIMESTAMPTZ,            -- NULL for drafts
    html_url VARCHAR,
    author VARCHAR,
    list_position INTEGER NOT NULL,      -- 0 = first in GitHub's list (newest)
    version VARCHAR,                     -- normalised semver read from the tag, NULL if none
    version_major INTEGER,
    version_minor INTEGER,
    version_patch INTEGER,
    version_prerelease VARCHAR,
    artifact_count INTEGER NOT NULL,
    downloads BIGINT NOT NULL,
    deleted_at TIMESTAMPTZ,              -- set when the release disappeared from GitHub
    fetched_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS release_artifacts (
    artifact_id BIGINT PRIMARY KEY,
    release_id BIGINT NOT NULL,
    repo VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    label VARCHAR,
    state VARCHAR,
    size BIGINT,
    content_type VARCHAR,
    digest VARCHAR,                      -- 'sha256:<hex>' from GitHub, NULL for older uploads
    download_count BIGINT NOT NULL,
    browser_download_url VARCHAR,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    kind VARCHAR NOT NULL,
    os VARCHAR,
    arch VARCHAR,
    package_type VARCHAR,
    deleted_at TIMESTAMPTZ,
    fetched_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS download_snapshots (
    artifact_id BIGINT NOT NULL,
    release_id BIGINT NOT NULL,
    repo VARCHAR NOT NULL,
    tag VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    observed_on DATE NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    download_count BIGINT NOT NULL,
    PRIMARY KEY (artifact_id, observed_on)
);
CREATE TABLE IF NOT EXISTS http_validators (
    token_identity VARCHAR NOT NULL,     -- fingerprint of the token, never the token
    url VARCHAR NOT NULL,
    etag VARCHAR,
    last_modified VARCHAR,
    next_url VARCHAR,
    item_count INTEGER,
    item_keys VARCHAR,                   -- JSON list of the ids on this page
    stored_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_identity, url)
);
CREATE TABLE IF NOT EXISTS repository_fetches (
    repo VARCHAR NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    status VARCHAR NOT NULL,             -- ok | not_modified | failed
    error VARCHAR,
    releases INTEGER,
    artifacts INTEGER,
    snapshots INTEGER,
    requests INTEGER,
    not_modified INTEGER,
    rate_limit_points INTEGER,
    truncated BOOLEAN,                   -- GitHub's 1,000-release REST ceiling was hit
    completed_via VARCHAR                -- rest | graphql
);
"""

DEFAULT_DB_NAME = "release_assets.duckdb"


def default_db_path() -> Path:
    """`RELEASE_ASSETS_DB`, else a file under `DAGSTER_HOME`, else `./data`."""
    if explicit := os.environ.get("RELEASE_ASSETS_DB"):
        return Path(explicit)
    if home := os.environ.get("DAGSTER_HOME"):
        return Path(home) / DEFAULT_DB_NAME
    return Path("data") / DEFAULT_DB_NAME


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


@contextmanager
def connect(path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection: DuckDB allows one writer process, so never hold it long."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if not read_only:
            ensure_schema(con)
        yield con
    finally:
        con.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The single value of a query. DuckDB 2 refuses new work while a result is half-read, so
    results are always read to the end (never `fetchone()`)."""
    rows = con.execute(sql, list(params)).fetchall()
    return rows[0][0] if rows else None


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def replace_repository_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pd.DataFrame | str,
    repos: Sequence[str],
    *,
    keep_release_ids: Sequence[int] = (),
) -> int:
    """Delete `repos`' rows of `table` (except those of `keep_release_ids`) and insert `rows`,
    atomically: a rerun never duplicates.

    Set-based: `rows` is a frame DuckDB scans (row-by-row inserts cost milliseconds each), or a
    SELECT naming `table`'s columns, whose result never leaves DuckDB.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        # IN (unnest) is a hash join: list_contains would scan the id list once per row.
        repo_rows = f"DELETE FROM {table} WHERE repo IN (SELECT unnest($repos::VARCHAR[]))"
        if keep_release_ids:
            con.execute(
                repo_rows + " AND release_id NOT IN (SELECT unnest($keep::BIGINT[]))",
                {"repos": list(repos), "keep": list(keep_release_ids)},
            )
        else:
            con.execute(repo_rows, {"repos": list(repos)})
        if isinstance(rows, str):
            inserted = int(con.execute(f"INSERT INTO {table} BY NAME {rows}").fetchall()[0][0])
        else:
            inserted = len(rows)
            if not rows.empty:
                con.register("replacement_rows", rows)
                try:
                    columns = ", ".join(f'"{c}"' for c in rows.columns)
                    con.execute(
                        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM replacement_rows"
                    )
                finally:
                    con.unregister("replacement_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return inserted


def upsert_frame(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, key: Sequence[str]
) -> int:
    """Insert or replace rows of `frame` (columns named as in `table`) by primary key."""
    if frame.empty:
        return 0
    columns = ", ".join(frame.columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c not in key)
    con.register("incoming_rows", frame)
    try:
        con.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        )
    finally:
        con.unregister("incoming_rows")
    return len(frame)


def append_new(
    con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame
) -> int:
    """Append rows whose primary key is not stored yet; returns how many were new."""
    if frame.empty:
        return 0
    before = scalar(con, f"SELECT count(*) FROM {table}")
    columns = ", ".join(frame.columns)
    con.register("incoming_rows", frame)
    try:
        con.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows "
            "ON CONFLICT DO NOTHING"
        )
    finally:
        con.unregister("incoming_rows")
    return scalar(con, f"SELECT count(*) FROM {table}") - before
