"""Compute and store the analytics tables for a set of repositories (what each asset runs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pandas as pd

from release_assets.lib import cadence, derived, quality, storage, trends
from release_assets.lib.history import time_to_release


def refresh_cadence(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str], *, as_of: datetime | None = None
) -> pd.DataFrame:
    storage.ensure_schema(con)
    frame = cadence.compute_cadence(cadence.load_releases(con, repos), as_of=as_of)
    frame = time_to_release.with_median(con, frame, repos)  # from release_timing
    derived.replace_rows(con, "release_cadence", frame, repos)
    return frame


def refresh_quality(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str], *, rubric: str, threshold: int
) -> pd.DataFrame:
    """Score every release (computed and stored in release_quality without leaving DuckDB) and
    summarise each repository (returned, and stored in repository_quality)."""
    storage.ensure_schema(con)
    quality.define_scope(con, repos)
    derived.replace_rows(con, "release_quality", quality.score_sql(quality.get_rubric(rubric)), repos)
    scores = con.execute(
        "SELECT release_id, repo, tag, rubric, draft, published_at, list_position, asset_count, "
        f"score, missing FROM release_quality WHERE {storage.in_repositories(param='$repos')}",
        {"repos": list(repos)},
    ).df()
    summary = quality.repository_summary(scores, quality.scorecard_flags(con), threshold)
    derived.replace_rows(con, "repository_quality", summary, repos)
    return summary


def refresh_trends(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> pd.DataFrame:
    """Weekly gains (computed and stored in download_trends without leaving DuckDB) and the
    flagged counter resets (returned, and stored in download_resets)."""
    storage.ensure_schema(con)
    trends.define_steps(con, repos)
    derived.replace_rows(con, "download_trends", trends.WEEKLY, repos)
    resets = trends.counter_resets(con)
    derived.replace_rows(con, "download_resets", resets, repos)
    return resets
