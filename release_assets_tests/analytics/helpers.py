"""Running the real pipeline in tests: ingestion from the local GitHub server, then analytics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from release_assets.defs.analytics.assets import (
    download_trends,
    release_cadence,
    release_dashboard,
    release_quality,
)
from release_assets.defs.github.assets import github_releases, repositories
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.defs.resources import resource_defs
from release_assets.lib import storage
from release_assets.lib.ingest import store_releases

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "github-api"
PER_REPOSITORY = [github_releases, release_cadence, release_quality, download_trends]


def recorded_releases(file_name: str) -> list[dict[str, Any]]:
    """A recorded list-releases (or single release) response body, as GitHub sent it."""
    payload = json.loads((FIXTURES / file_name).read_text())
    if isinstance(payload, dict) and "body" in payload and "tag_name" not in payload:
        payload = payload["body"]
    return payload if isinstance(payload, list) else [payload]


def store_recorded(db: Path, repo: str, releases: list[dict[str, Any]]) -> None:
    """Rows exactly as ingestion writes them, without a server (lib-level tests)."""
    with storage.connect(db) as con:
        store_releases(con, repo, releases, observed_at=datetime.now(UTC))


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def run_pipeline(
    instance: dg.DagsterInstance, config: Path, repos: list[str], *, quality: str = "",
    dashboard: bool = True, raise_on_error: bool = False,
) -> dg.ExecuteInProcessResult:
    """Discover, ingest and analyse `repos` in one range run, then build the dashboard.

    `config` is the file `RELEASE_ASSETS_CONFIG` names; `quality` is YAML for its quality section.
    """
    config.write_text("repos:\n" + "".join(f"  - {r}\n" for r in repos) + quality)
    resources = resource_defs()
    assert dg.materialize([repositories], instance=instance, resources=resources).success
    keys = sorted(instance.get_dynamic_partitions("repositories"))
    result = dg.materialize(
        PER_REPOSITORY, instance=instance, resources=resources, raise_on_error=raise_on_error,
        tags={RANGE_START: keys[0], RANGE_END: keys[-1]},
    )
    if dashboard:
        assert dg.materialize(
            [release_dashboard], instance=instance, resources=resources,
            selection=[release_dashboard],
        ).success
    return result
