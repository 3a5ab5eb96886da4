"""Shared steps of the fault suite: refresh from the local server, read the stored state back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import RepoRefresh, refresh_repositories
from release_assets_tests.conftest import TEST_TOKEN

DAY1 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


def fast_client(url: str, **options: Any) -> GitHubClient:
    """A client whose backoff takes milliseconds (the waits asked for are the point)."""
    settings: dict[str, Any] = {"backoff_seconds": 0.01, "max_retries": 3, "max_rate_limit_wait": 5}
    return GitHubClient(url, options.pop("token", TEST_TOKEN), **{**settings, **options})


def refresh(client: GitHubClient, db: Path, repos: list[str], day: datetime,
            run_id: str) -> dict[str, RepoRefresh]:
    return {r.repo: r for r in refresh_repositories(
        client, db, repos, observed_at=day, run_id=run_id, concurrency=2)}


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def stored_state(db: Path, repo: str) -> dict[str, Any]:
    """What a user reads back for one repository: releases, artifacts, snapshots."""
    return {
        "releases": rows(db, "SELECT release_id, tag, draft, downloads, deleted_at IS NULL "
                             "FROM releases WHERE repo = ? ORDER BY release_id", [repo]),
        "artifacts": rows(db, "SELECT artifact_id, download_count, deleted_at IS NULL "
                              "FROM release_artifacts WHERE repo = ? ORDER BY artifact_id", [repo]),
        "snapshots": rows(db, "SELECT artifact_id, observed_on, download_count "
                              "FROM download_snapshots WHERE repo = ? "
                              "ORDER BY artifact_id, observed_on", [repo]),
    }
