"""The facts behind the analytics asset checks, as plain data (the Dagster layer only wraps them).

Each gate says whether it passed, what was observed against which limit, and lists the rows
that break it (release named, reason given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from release_assets.lib import storage, trends
from release_assets.lib.cadence import stale
from release_assets.lib.quality import below_threshold


@dataclass(frozen=True)
class Gate:
    passed: bool
    observed: int | float
    limit: int | float
    headers: tuple[str, ...] = ()
    rows: list[tuple[object, ...]] = field(default_factory=list)


def _rows(frame: pd.DataFrame, columns: Sequence[str], limit: int = 50) -> list[tuple[object, ...]]:
    return [tuple(None if pd.isna(v) else v for v in row)
            for row in frame[list(columns)].head(limit).itertuples(index=False)]


def latest_release_quality(summary: pd.DataFrame, threshold: int) -> Gate:
    """Every repository's latest published release scores at least `threshold`."""
    scored = summary[summary["latest_score"].notna()]
    failing = scored[below_threshold(scored["latest_score"], threshold)].sort_values(
        ["latest_score", "repo"]
    )
    lowest = int(scored["latest_score"].min()) if len(scored) else 100
    return Gate(
        passed=failing.empty, observed=lowest, limit=threshold,
        headers=("repository", "latest release", "score", "lacks"),
        rows=_rows(failing, ("repo", "latest_tag", "latest_score", "latest_missing")),
    )


def duplicate_release_ids(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> Gate:
    """A release id appears once in the releases and once in release_quality."""
    in_repos = storage.in_repositories(param="$repos")
    dupes = con.execute(f"""
        SELECT 'releases' AS source, release_id, count(*) AS copies, string_agg(repo || ' ' || tag, ', ')
        FROM releases WHERE {in_repos} GROUP BY release_id HAVING count(*) > 1
        UNION ALL
        SELECT 'release_quality', release_id, count(*), string_agg(repo || ' ' || tag, ', ')
        FROM release_quality WHERE {in_repos} GROUP BY release_id
        HAVING count(*) > 1
    """, {"repos": list(repos)}).fetchall()
    return Gate(passed=not dupes, observed=len(dupes), limit=0,
                headers=("table", "release_id", "copies", "releases"), rows=list(dupes[:50]))


def counts_never_decrease(resets: pd.DataFrame) -> Gate:
    """No artifact's download count went down; re-uploads (a new artifact id) are excused."""
    decreases = trends.unexplained_decreases(resets)
    return Gate(
        passed=decreases.empty, observed=len(decreases), limit=0,
        headers=("repository", "release", "artifact", "day", "before", "after"),
        rows=_rows(decreases, ("repo", "tag", "name", "observed_on", "previous_count",
                               "download_count")),
    )


def cadence_fresh(cadence: pd.DataFrame, after_days: int) -> Gate:
    """Every repository published a release within `after_days`."""
    old = stale(cadence, after_days).sort_values("latest_release_age_days", ascending=False)
    oldest = cadence["latest_release_age_days"].max() if len(cadence) else 0
    return Gate(
        passed=old.empty, observed=0 if pd.isna(oldest) else int(oldest), limit=after_days,
        headers=("repository", "latest release", "published", "age (days)"),
        rows=_rows(old, ("repo", "latest_tag", "latest_published_at", "latest_release_age_days")),
    )
