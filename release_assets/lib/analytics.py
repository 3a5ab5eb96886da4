"""Compute and store the analytics tables for a set of repositories (what each asset runs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import duckdb
import pandas as pd

from release_assets.lib import cadence, derived, quality, trends


def refresh_cadence(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str], *, as_of: datetime | None = None
) -> pd.DataFrame:
    frame = cadence.compute_cadence(cadence.load_releases(con, repos), as_of=as_of)
    derived.replace_rows(con, "release_cadence", frame, repos)
    return frame


def refresh_quality(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str], *, rubric: str, threshold: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per release, one row per repository), stored in release_quality and
    repository_quality."""
    chosen = quality.get_rubric(rubric)
    scores = quality.score_releases(con, chosen, repos)
    summary = quality.repository_summary(scores, quality.scorecard_flags(con), threshold)
    derived.replace_rows(con, "release_quality", scores[quality.release_columns(chosen)], repos)
    derived.replace_rows(con, "repository_quality", summary, repos)
    return scores, summary


def refresh_trends(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weekly trends, flagged resets), stored in download_trends and download_resets."""
    weekly, resets = trends.compute_trends(con, repos)
    derived.replace_rows(con, "download_trends", weekly, repos)
    derived.replace_rows(con, "download_resets", resets, repos)
    return weekly, resets
