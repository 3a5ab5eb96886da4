"""The DuckDB tables of the ingestion layer and the writes that keep them.

Releases and artifacts are upserted (they change: edits, download counts); download snapshots
are append-only history (one row per artifact per UTC day, never deleted); HTTP validators
(ETags) live here so a 304 survives restarts.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pandas as pd

from release_assets.lib.github_http import Page, Validator
from release_assets.lib.settings import Settings

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
-- git clones read the API's clone_url (GitHub Enterprise too); added after the first release
ALTER TABLE repositories ADD COLUMN IF NOT EXISTS clone_url VARCHAR;
-- GitHub's immutable-release flag (NULL when GitHub did not say); release_events diffs it
ALTER TABLE releases ADD COLUMN IF NOT EXISTS immutable BOOLEAN;
-- verification requires signatures' Source Repository Owner Identifier to equal it
ALTER TABLE repositories ADD COLUMN IF NOT EXISTS owner_id BIGINT;
-- what a fetch skipped or flagged (malformed items, impossible counts); NULL when nothing
ALTER TABLE repository_fetches ADD COLUMN IF NOT EXISTS problems VARCHAR;
-- one row per discovery source per run: an org listing or an explicit repository's lookup
CREATE TABLE IF NOT EXISTS discovery_fetches (
    source VARCHAR NOT NULL,             -- 'org:<login>' or 'repo:<owner/name>'
    fetched_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR,
    status VARCHAR NOT NULL,             -- ok | not_modified | missing | failed
    error VARCHAR,                       -- the cause in words, e.g. 'organisation acme not found (404)'
    requests INTEGER NOT NULL,
    not_modified INTEGER NOT NULL,
    rate_limit_points INTEGER NOT NULL
);
"""

def default_db_path() -> Path:
    """The DuckDB file this process's environment names (rules: `Settings.duckdb_path`)."""
    return Settings.from_environ(os.environ).duckdb_path()


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


def in_repositories(column: str = "repo", param: str = "?") -> str:
    """SQL: `column` is one of the repository keys bound to `param` (a list of names).

    The one way this project filters by repository: IN (unnest) is a hash join, while
    list_contains would scan the list once per row.
    """
    return f"{column} IN (SELECT unnest({param}::VARCHAR[]))"


@dataclass(frozen=True)
class TableSummary:
    rows: int  # the whole table (its live rows when `live_only`)
    repository_rows: int | None  # the rows of the repositories asked about, None if none asked
    columns: list[tuple[str, str]]  # (name, DuckDB type)
    headers: tuple[str, ...]
    preview: list[tuple[object, ...]]  # NULL is None, never NaN


def summarise_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    repos: Sequence[str] | None = None,
    live_only: bool = False,
    preview_columns: Sequence[str] = (),
    order_by: str | None = None,
    preview_rows: int = 10,
) -> TableSummary:
    """Row counts, schema and the first rows of `table` (the preview from `repos` when given).

    `live_only` leaves out rows marked deleted; `order_by` is an ORDER BY list over the table.
    """
    live = "deleted_at IS NULL" if live_only else "true"
    rows = int(scalar(con, f"SELECT count(*) FROM {table} WHERE {live}"))
    scope, params = (live, []) if repos is None else (
        f"{live} AND {in_repositories()}", [list(repos)]
    )
    repository_rows = (
        None if repos is None
        else int(scalar(con, f"SELECT count(*) FROM {table} WHERE {scope}", params))
    )
    headers = tuple(c.strip('"') for c in preview_columns)
    preview: list[tuple[object, ...]] = []
    if headers:
        select = ", ".join(f'"{c}"' for c in headers)
        order = f" ORDER BY {order_by}" if order_by else ""
        preview = [
            tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
            for row in con.execute(
                f"SELECT {select} FROM {table} WHERE {scope}{order} LIMIT {int(preview_rows)}",
                params,
            ).fetchall()
        ]
    return TableSummary(rows, repository_rows, table_columns(con, table), headers, preview)


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


# -- HTTP validators (ETags) ------------------------------------------------------------------
def _below_base(url: str, api_base_path: str) -> str:
    """A stored page URL as its path + query below the API base. Rows written before keys were
    relative hold absolute URLs (of whatever host or port served them): read as the same key."""
    if not url.startswith("http"):
        return url
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path[len(api_base_path):] if api_base_path and path.startswith(api_base_path) else path


def load_validators(
    con: duckdb.DuckDBPyConnection, identity: str, api_base_path: str = ""
) -> dict[str, Validator]:
    """Every stored validator of a token, by page key (path + query below the API base URL)."""
    rows = con.execute(
        "SELECT url, etag, last_modified, next_url, item_keys FROM http_validators "
        "WHERE token_identity = ? ORDER BY starts_with(url, 'http') DESC",  # relative rows win
        [identity],
    ).fetchall()
    return {
        _below_base(url, api_base_path): Validator(
            etag, last_modified,
            _below_base(next_url, api_base_path) if next_url else None,
            tuple(json.loads(keys or "[]")),
        )
        for url, etag, last_modified, next_url, keys in rows
    }


def store_validators(
    con: duckdb.DuckDBPyConnection, identity: str, pages: Sequence[Page], stored_at: datetime
) -> None:
    """Keep each freshly read page's validator; a page with a malformed item is not kept, so
    the next refresh reads (and reports) it again instead of answering 304."""
    fresh = [p for p in pages if not p.not_modified and p.cacheable]
    if not fresh:
        return
    frame = pd.DataFrame(
        {
            "token_identity": identity,
            "url": [p.key for p in fresh],
            "etag": [p.validator.etag for p in fresh],
            "last_modified": [p.validator.last_modified for p in fresh],
            "next_url": [p.validator.next_url for p in fresh],
            "item_count": [len(p.validator.item_keys) for p in fresh],
            "item_keys": [json.dumps(list(p.validator.item_keys)) for p in fresh],
            "stored_at": stored_at,
        }
    )
    upsert_frame(con, "http_validators", frame, ("token_identity", "url"))
    uncached = [p.key for p in pages if not p.not_modified and not p.cacheable]
    if uncached:
        con.execute(  # the relative key, and an absolute URL stored by an older version
            "DELETE FROM http_validators WHERE token_identity = $id AND list_has_any("
            "[url, regexp_replace(url, '^https?://[^/]+(/api/v3)?', '')], $keys::VARCHAR[])",
            {"id": identity, "keys": uncached},
        )
