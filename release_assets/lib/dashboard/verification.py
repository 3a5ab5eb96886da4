"""Verification on the dashboard: the pass rate (the share of verified releases with no `failed`
result) and the count of `unverifiable` results, per repository and for the organisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from release_assets.lib import storage


@dataclass(frozen=True)
class VerificationSummary:
    releases_verified: int = 0  # releases with at least one verification result
    releases_without_failures: int = 0
    failed_results: int = 0
    unverifiable_results: int = 0

    @property
    def pass_rate(self) -> float | None:
        """None when no release was verified: no rate, rather than a made-up 0 or 1."""
        if not self.releases_verified:
            return None
        return round(self.releases_without_failures / self.releases_verified, 4)

    def __add__(self, other: VerificationSummary) -> VerificationSummary:
        return VerificationSummary(
            self.releases_verified + other.releases_verified,
            self.releases_without_failures + other.releases_without_failures,
            self.failed_results + other.failed_results,
            self.unverifiable_results + other.unverifiable_results,
        )

    def as_json(self) -> dict[str, int | float | None]:
        return {
            "releases_verified": self.releases_verified,
            "releases_without_failures": self.releases_without_failures,
            "pass_rate": self.pass_rate,
            "failed_results": self.failed_results,
            "unverifiable_results": self.unverifiable_results,
        }


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def summarise(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str]
) -> tuple[dict[str, VerificationSummary], VerificationSummary]:
    """(per repository, organisation) over the stored results of releases not deleted."""
    exists = storage.scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        ["release_verification"],
    )
    if not exists:
        return {}, VerificationSummary()
    rows = con.execute(f"""
        WITH per_release AS (
            SELECT v.repo, v.release_id,
                   bool_or(v.status = 'failed') AS failed,
                   count(*) FILTER (WHERE v.status = 'failed') AS failed_results,
                   count(*) FILTER (WHERE v.status = 'unverifiable') AS unverifiable_results
            FROM release_verification v JOIN releases r USING (release_id)
            WHERE r.deleted_at IS NULL AND {storage.in_repositories("v.repo", "$repos")}
            GROUP BY v.repo, v.release_id
        )
        SELECT repo, count(*), count(*) FILTER (WHERE NOT failed),
               sum(failed_results), sum(unverifiable_results)
        FROM per_release GROUP BY repo ORDER BY repo
    """, {"repos": list(repos)}).fetchall()
    per_repo = {
        str(repo): VerificationSummary(int(verified), int(clean), int(failed), int(unverifiable))
        for repo, verified, clean, failed, unverifiable in rows
    }
    return per_repo, sum(per_repo.values(), VerificationSummary())
