"""DuckDB tables of the verification layer: results per (artifact, check), and the digest cache.

The tables are created here, not in `lib/storage.py`, so the verification layer owns its schema.
`check` is a reserved word in SQL: quote it (`"check"`) in queries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from release_assets.lib import storage

from .results import VerificationResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS release_verification (
    repo VARCHAR NOT NULL,
    release_id BIGINT NOT NULL,
    tag VARCHAR NOT NULL,
    artifact_id BIGINT,                  -- NULL for release-level rows (docs)
    artifact_name VARCHAR,
    "check" VARCHAR NOT NULL,            -- checksum | signature | attestation | sbom | docs
    status VARCHAR NOT NULL,             -- passed | failed | unverifiable | not_applicable | error
    reason VARCHAR NOT NULL,
    evidence JSON,
    subject_digest VARCHAR,              -- the sha256 the verdict is about
    cached BOOLEAN NOT NULL,             -- taken from verification_cache, not recomputed
    verified_at TIMESTAMPTZ NOT NULL     -- when the verdict was first reached
);
CREATE TABLE IF NOT EXISTS verification_cache (
    cache_key VARCHAR PRIMARY KEY,       -- sha256 over (kind, subject, material, policy)
    kind VARCHAR NOT NULL,               -- signature | attestation | manifest | sbom | hash | attestation_list | changelog
    subject VARCHAR NOT NULL,            -- sha256:<hex> of the file judged, or github-artifact:<id>
    material VARCHAR NOT NULL,           -- digest of the bundle / manifest / SBOM (or its artifact id)
    policy VARCHAR NOT NULL,             -- signer policy + trust root fingerprint, '' when none
    status VARCHAR,
    reason VARCHAR,
    evidence JSON,
    subject_digest VARCHAR,
    etag VARCHAR,                        -- attestation and contents listings only: revalidated
    created_at TIMESTAMPTZ NOT NULL
);
"""

RESULT_COLUMNS = (
    "repo",
    "release_id",
    "tag",
    "artifact_id",
    "artifact_name",
    "check",
    "status",
    "reason",
    "evidence",
    "subject_digest",
    "cached",
    "verified_at",
)


CACHE_COLUMNS = (
    "cache_key",
    "kind",
    "subject",
    "material",
    "policy",
    "status",
    "reason",
    "evidence",
    "subject_digest",
    "etag",
    "created_at",
)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    kind: str
    subject: str
    material: str
    policy: str
    status: str | None
    reason: str | None
    evidence: dict[str, Any]
    subject_digest: str | None
    etag: str | None
    created_at: datetime


@dataclass(frozen=True)
class StoredResult:
    """A result as written: the verdict plus whether it came from the cache, and since when."""

    result: VerificationResult
    cached: bool
    verified_at: datetime


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def load_cache(
    con: duckdb.DuckDBPyConnection, subjects: Sequence[str], materials: Sequence[str]
) -> list[CacheEntry]:
    """Entries about any of these subjects or made from any of these materials."""
    rows = con.execute(
        "SELECT cache_key, kind, subject, material, policy, status, reason, evidence, "
        "subject_digest, etag, created_at FROM verification_cache "
        # IN (unnest) is a hash join; list_contains scans the list per row (quadratic).
        "WHERE subject IN (SELECT unnest(?::VARCHAR[])) "
        "OR material IN (SELECT unnest(?::VARCHAR[]))",
        [list(subjects), list(materials)],
    ).fetchall()
    return [
        CacheEntry(
            key=r[0],
            kind=r[1],
            subject=r[2],
            material=r[3],
            policy=r[4],
            status=r[5],
            reason=r[6],
            evidence=json.loads(r[7]) if r[7] else {},
            subject_digest=r[8],
            etag=r[9],
            created_at=r[10],
        )
        for r in rows
    ]


def write_cache(con: duckdb.DuckDBPyConnection, entries: Iterable[CacheEntry]) -> int:
    """Insert new entries; an existing key is only replaced for revalidated listings."""
    frame = pd.DataFrame(
        [
            (
                e.key,
                e.kind,
                e.subject,
                e.material,
                e.policy,
                e.status,
                e.reason,
                json.dumps(e.evidence, sort_keys=True, default=str),
                e.subject_digest,
                e.etag,
                e.created_at,
            )
            for e in entries
        ],
        columns=CACHE_COLUMNS,
    )
    if frame.empty:
        return 0
    # One set-based statement: row-by-row inserts cost ~3 ms each, minutes for a large org.
    con.register("new_cache_entries", frame)
    try:
        con.execute(
            f"INSERT INTO verification_cache SELECT {', '.join(CACHE_COLUMNS)} "
            "FROM new_cache_entries "
            "ON CONFLICT (cache_key) DO UPDATE SET status = excluded.status, "
            "reason = excluded.reason, evidence = excluded.evidence, etag = excluded.etag, "
            "created_at = excluded.created_at"
        )
    finally:
        con.unregister("new_cache_entries")
    return len(frame)


def replace_results(
    con: duckdb.DuckDBPyConnection,
    repos: Sequence[str],
    rows: Sequence[StoredResult],
    *,
    keep_release_ids: Sequence[int] = (),
) -> int:
    """Swap in the new rows for these repositories in one transaction (a rerun never duplicates);
    rows of `keep_release_ids` (releases not verified this run) stay as they were."""
    frame = pd.DataFrame([_row(s) for s in rows], columns=RESULT_COLUMNS)
    frame["release_id"] = frame["release_id"].astype("Int64")
    frame["artifact_id"] = frame["artifact_id"].astype("Int64")
    return storage.replace_repository_rows(
        con, "release_verification", frame, repos, keep_release_ids=keep_release_ids
    )


def _row(stored: StoredResult) -> list[Any]:
    r = stored.result
    return [
        r.repo,
        r.release_id,
        r.tag,
        r.artifact_id,
        r.artifact_name,
        r.check,
        r.status,
        r.reason,
        json.dumps(r.evidence, sort_keys=True, default=str),
        r.subject_digest,
        stored.cached,
        stored.verified_at,
    ]
