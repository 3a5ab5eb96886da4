"""Release history: change volume per release from git, release events, and time to release."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.defs.metadata import markdown_table, table_metadata
from release_assets.defs.partitions import repository_partitions, single_run
from release_assets.defs.resources import GitHubResource
from release_assets.lib.history import changes, events, time_to_release
from release_assets.lib.history.git_changes import (
    DEFAULT_MAX_CLONE_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    GitAccess,
    RepositoryChanges,
    token_host_for,
)

PER_REPOSITORY: dict[str, Any] = {
    "group_name": "history",
    "partitions_def": repository_partitions,
    "backfill_policy": single_run,
    "pool": "duckdb",
    "kinds": {"duckdb"},
}
MAX_SECURITY_EVENTS_IN_METADATA = 100


class ReleaseChangesConfig(dg.Config):
    max_clone_bytes: int = DEFAULT_MAX_CLONE_BYTES  # a bigger clone is recorded, not read
    git_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS  # per git command
    concurrency: int = 4  # repositories synced at once


class ReleaseEventsConfig(dg.Config):
    # An artifact created or updated later than published_at + this is a tamper signal.
    grace_minutes: float = 10.0


def git_cache_root(database: str) -> Path:
    """The clones live beside the DuckDB file."""
    return Path(database).resolve().parent / "git"


@dg.asset(deps=["releases"], **{**PER_REPOSITORY, "kinds": {"duckdb", "git"}})
def release_changes(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, github: GitHubResource,
    config: ReleaseChangesConfig,
) -> dg.MaterializeResult:
    """One row per published release: commits, contributors, files changed, insertions and deletions since the nearest earlier tag, as the original release notes counted them, read from a blobless git clone."""
    repos = list(context.partition_keys)
    with duckdb.get_connection() as con:
        plans = changes.plan_changes(con, repos, git_url=github.git_url)
    access = GitAccess(
        token=github.token or None, token_host=token_host_for(github.api_url),
        timeout_seconds=config.git_timeout_seconds, max_clone_bytes=config.max_clone_bytes,
    )

    def log(result: RepositoryChanges) -> None:
        outcome = f"failed ({result.error})" if result.error else f"{result.computed} computed"
        context.log.info(f"{result.repo}: {outcome}, {result.bytes_fetched:,} git bytes")

    results = changes.compute_changes(
        plans, cache_root=git_cache_root(duckdb.database), access=access,
        concurrency=config.concurrency, on_result=log,
    )
    with duckdb.get_connection() as con:
        changes.store_changes(con, plans, results, computed_at=datetime.now(UTC))
        metadata = table_metadata(
            con, "release_changes", repos=repos, order_by="repo, tag",
            preview_columns=("repo", "tag", "base_tag", "commits", "contributors",
                             "files_changed", "insertions", "deletions", "status"),
        )
    failures = [(r.repo, r.error) for r in results if r.error]
    return dg.MaterializeResult(metadata={
        **metadata,
        "git_bytes_fetched": sum(r.bytes_fetched for r in results),
        "repositories_synced": sum(1 for p in plans if p.url),
        "repositories_unchanged": len(repos) - len(plans),
        "releases_computed": sum(r.computed for r in results),
        "failures": dg.MetadataValue.md(
            markdown_table(("repository", "reason"), failures) if failures else "none"),
    })


@dg.asset(deps=["release_changes", "release_artifacts"], **PER_REPOSITORY)
def release_timing(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Time to release for each published release: from the tagged commit (git) or the release's creation to publication with every file uploaded."""
    repos = list(context.partition_keys)
    with duckdb.get_connection() as con:
        time_to_release.refresh_timing(con, repos)
        metadata = table_metadata(
            con, "release_timing", repos=repos, order_by="repo, published_at DESC",
            preview_columns=("repo", "tag", "start_source", "started_at", "completed_at",
                             "time_to_release_hours"),
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(deps=["releases", "release_artifacts"], **PER_REPOSITORY)
def release_events(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: ReleaseEventsConfig,
) -> dg.MaterializeResult:
    """Append-only log of what happened to releases between refreshes: published, edited, deleted, pre-release flips, files added, removed, replaced or changed after publishing, immutability changes and rollbacks."""
    repos = list(context.partition_keys)
    with duckdb.get_connection() as con:
        found = events.refresh_events(
            con, repos, observed_at=datetime.now(UTC),
            grace=timedelta(minutes=config.grace_minutes),
        )
        metadata = table_metadata(
            con, "release_events", repos=repos,
            order_by="observed_at DESC, repo, tag",
            preview_columns=("repo", "tag", "event", "observed_at", "detail"),
        )
    security = found.security_events()
    for event in security:
        context.log.warning(f"security event: {event.event} on {event.repo} {event.tag}")
    return dg.MaterializeResult(metadata={
        **metadata,
        "events_added": len(found.events),
        "baselined_repositories": len(found.baselined),
        # read by check_alert_sensor, which sends each one once
        "security_events": dg.MetadataValue.json([
            {"repo": e.repo, "release_id": e.release_id, "tag": e.tag, "event": e.event,
             "observed_at": e.observed_at.isoformat(), "detail": e.detail}
            for e in security[:MAX_SECURITY_EVENTS_IN_METADATA]
        ]),
        "security_events_total": len(security),
    })
