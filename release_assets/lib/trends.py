"""Downloads gained per ISO week, per release and platform, from the download-count history.

`download_snapshots` holds cumulative counters. Between two observations of the same artifact
the gain is the difference. Two things break a counter, and both are flagged, never counted
negative:

- **re-upload**: the same release and file name comes back under a new artifact id (GitHub's
  delete + upload), counting from zero again: its first count is all new downloads;
- **decrease**: the same artifact's count went down (GitHub corrected it): gain 0 for that step.

An artifact's first observation is its **baseline** (downloads from before tracking began), kept
apart from the weekly gains so the first week of tracking is not a spike.

One DuckDB query with window functions, kept inside DuckDB: about a second per million snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from release_assets.lib import storage

# Per snapshot: gain since the previous observation of the same artifact, or reset flags.
_STEPS = """
WITH s AS (
    SELECT s.repo, s.release_id, s.tag, s.name, s.artifact_id, s.observed_on, s.observed_at,
           s.download_count,
           coalesce(a.os, 'unknown') AS os, coalesce(a.arch, 'unknown') AS arch,
           coalesce(a.package_type, 'none') AS package_type,
           lag(s.download_count) OVER same_artifact AS previous_count,
           lag(s.artifact_id) OVER same_name AS previous_name_artifact,
           lag(s.download_count) OVER same_name AS previous_name_count
    FROM download_snapshots s
    LEFT JOIN release_artifacts a ON a.artifact_id = s.artifact_id
    WHERE {scope}
    WINDOW same_artifact AS (PARTITION BY s.artifact_id ORDER BY s.observed_at),
           same_name AS (PARTITION BY s.release_id, s.name ORDER BY s.observed_at, s.artifact_id)
)
SELECT *,
    CASE
        WHEN previous_count IS NOT NULL AND download_count < previous_count THEN 'decrease'
        WHEN previous_count IS NULL AND previous_name_artifact IS NOT NULL
             AND previous_name_artifact <> artifact_id THEN 'reupload'
    END AS reset_kind,
    CASE
        WHEN previous_count IS NOT NULL THEN greatest(download_count - previous_count, 0)
        WHEN previous_name_artifact IS NOT NULL AND previous_name_artifact <> artifact_id
             THEN download_count
        ELSE 0
    END AS gained,
    CASE WHEN previous_count IS NULL AND previous_name_artifact IS NULL
         THEN download_count ELSE 0 END AS baseline
FROM s
"""

TREND_COLUMNS = [
    "repo", "release_id", "tag", "os", "arch", "package_type", "week", "iso_week",
    "downloads_gained", "baseline_downloads", "latest_count", "artifacts", "snapshots", "resets",
]
RESET_COLUMNS = [
    "repo", "release_id", "tag", "name", "artifact_id", "previous_artifact_id", "observed_on",
    "previous_count", "download_count", "reset_kind",
]


def _scope(repos: Sequence[str] | None) -> tuple[str, dict[str, object]]:
    if repos is None:
        return "true", {}
    return storage.in_repositories("s.repo", "$repos"), {"repos": list(repos)}


def define_steps(con: duckdb.DuckDBPyConnection, repos: Sequence[str] | None = None) -> None:
    """Temp table `snapshot_steps`: every snapshot with its gain, baseline and reset flag."""
    scope, params = _scope(repos)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE snapshot_steps AS " + _STEPS.format(scope=scope), params
    )


# Per repo, release, os, arch, package type and ISO week (Monday): downloads gained.
WEEKLY = """
    WITH per_artifact_week AS (
        SELECT repo, release_id, tag, os, arch, package_type, artifact_id,
               date_trunc('week', observed_on)::DATE AS week,
               sum(gained) AS gained, sum(baseline) AS baseline,
               arg_max(download_count, observed_at) AS latest_count,
               count(*) AS snapshots, count(reset_kind) AS resets
        FROM snapshot_steps GROUP BY ALL
    )
    SELECT repo, release_id, any_value(tag) AS tag, os, arch, package_type, week,
           strftime(week, '%G-W%V') AS iso_week,
           sum(gained)::BIGINT AS downloads_gained,
           sum(baseline)::BIGINT AS baseline_downloads,
           sum(latest_count)::BIGINT AS latest_count,
           count(DISTINCT artifact_id)::INTEGER AS artifacts,
           sum(snapshots)::INTEGER AS snapshots, sum(resets)::INTEGER AS resets
    FROM per_artifact_week
    GROUP BY repo, release_id, os, arch, package_type, week
"""


def weekly_trends(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The weekly gains of `snapshot_steps`, as a frame (the asset keeps them in DuckDB)."""
    return con.execute(
        WEEKLY + " ORDER BY repo, week, release_id, os, arch, package_type"
    ).df()[TREND_COLUMNS]


def counter_resets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every flagged reset: re-uploads (new artifact id) and decreases (count went down)."""
    return con.execute("""
        SELECT repo, release_id, tag, name, artifact_id,
               CASE WHEN reset_kind = 'reupload' THEN previous_name_artifact
                    ELSE artifact_id END AS previous_artifact_id,
               observed_on,
               CASE WHEN reset_kind = 'reupload' THEN previous_name_count
                    ELSE previous_count END AS previous_count,
               download_count, reset_kind
        FROM snapshot_steps WHERE reset_kind IS NOT NULL
        ORDER BY repo, observed_on, release_id, name
    """).df()[RESET_COLUMNS]


def compute_trends(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weekly trends, flagged resets) for `repos` (every repository when None)."""
    define_steps(con, repos)
    return weekly_trends(con), counter_resets(con)


def unexplained_decreases(resets: pd.DataFrame) -> pd.DataFrame:
    """Counts that went down on the same artifact id: not a re-upload, so not explained."""
    return resets[resets["reset_kind"] == "decrease"]
