"""Analytics: cadence, quality with evidence, download trends, and the cross-repository dashboard."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.defs.analytics.checks import (
    CADENCE_NOT_STALE,
    COUNTS_NEVER_DECREASE,
    LATEST_QUALITY,
    RELEASE_IDS_UNIQUE,
    gate_result,
)
from release_assets.defs.automation.reports import AFTER_ANY_REFRESH
from release_assets.defs.metadata import table_metadata
from release_assets.defs.partitions import repository_partitions, single_run
from release_assets.defs.resources import ReleaseAssetsConfig
from release_assets.lib import analytics, gates
from release_assets.lib.dashboard import write_reports

# The keyword arguments every per-repository asset shares.
PER_REPOSITORY: dict[str, Any] = {
    "group_name": "analytics",
    "partitions_def": repository_partitions,
    "backfill_policy": single_run,
    "pool": "duckdb",
    "kinds": {"duckdb"},
}
Results = Iterator[dg.MaterializeResult | dg.AssetCheckResult]


@dg.asset(deps=["releases", "release_timing"], check_specs=[CADENCE_NOT_STALE], **PER_REPOSITORY)
def release_cadence(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, release_config: ReleaseAssetsConfig
) -> Results:
    """One row per repository: release counts, days between releases (the original's mean, plus median, p90 and variation), recent activity, latest release age and the semver bump mix."""
    repos = list(context.partition_keys)
    config = release_config.load()
    with duckdb.get_connection() as con:
        frame = analytics.refresh_cadence(con, repos)
        metadata = table_metadata(
            con, "release_cadence", repos=repos, order_by="repo",
            preview_columns=("repo", "total_releases", "average_days_between_releases",
                             "interval_median_days", "latest_tag", "latest_release_age_days",
                             "bumps_major", "bumps_minor", "bumps_patch"),
        )
    yield dg.MaterializeResult(metadata=metadata)
    yield gate_result(
        CADENCE_NOT_STALE, gates.cadence_fresh(frame, config.quality.stale_after_days),
        severity=dg.AssetCheckSeverity.WARN, limit_name="stale_after_days",
        observed_name="oldest_latest_release_days",
    )


@dg.asset(
    deps=["releases", "release_artifacts"], check_specs=[LATEST_QUALITY, RELEASE_IDS_UNIQUE],
    **PER_REPOSITORY,
)
def release_quality(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, release_config: ReleaseAssetsConfig
) -> Results:
    """One row per release: the five quality checks with the evidence that met each, provenance, and the 0-100 score under the configured rubric."""
    repos = list(context.partition_keys)
    settings = release_config.load().quality
    with duckdb.get_connection() as con:
        summary = analytics.refresh_quality(
            con, repos, rubric=settings.rubric, threshold=settings.threshold
        )
        unique = gates.duplicate_release_ids(con, repos)
        metadata = table_metadata(
            con, "release_quality", repos=repos, order_by="score, repo",
            preview_columns=("repo", "tag", "score", "missing", "binaries_evidence",
                             "signatures_evidence"),
        )
        repository_metadata = table_metadata(
            con, "repository_quality", repos=repos, order_by="latest_score, repo",
            preview_columns=("repo", "latest_tag", "latest_score", "mean_score",
                             "scorecard_signed_releases"), preview_rows=20,
        )
    yield dg.MaterializeResult(metadata={
        **metadata,
        "rubric": settings.rubric,
        "threshold": settings.threshold,
        "per_repository": repository_metadata["preview"],
    })
    yield gate_result(
        LATEST_QUALITY, gates.latest_release_quality(summary, settings.threshold),
        severity=dg.AssetCheckSeverity[settings.severity], limit_name="threshold",
        observed_name="lowest_latest_score", rows_name="failing_releases",
    )
    yield gate_result(
        RELEASE_IDS_UNIQUE, unique, severity=dg.AssetCheckSeverity.ERROR, limit_name="allowed",
        observed_name="duplicated_ids",
    )


@dg.asset(
    deps=["download_snapshots", "release_artifacts"], check_specs=[COUNTS_NEVER_DECREASE],
    **PER_REPOSITORY,
)
def download_trends(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> Results:
    """Downloads gained per ISO week for each release, operating system, architecture and package type, with counter resets flagged."""
    repos = list(context.partition_keys)
    with duckdb.get_connection() as con:
        resets = analytics.refresh_trends(con, repos)
        metadata = table_metadata(
            con, "download_trends", repos=repos, order_by="week DESC, downloads_gained DESC",
            preview_columns=("repo", "tag", "os", "arch", "iso_week", "downloads_gained",
                             "baseline_downloads", "resets"),
        )
    yield dg.MaterializeResult(metadata={**metadata, "flagged_resets": len(resets)})
    yield gate_result(
        COUNTS_NEVER_DECREASE, gates.counts_never_decrease(resets),
        severity=dg.AssetCheckSeverity.WARN, limit_name="allowed", observed_name="decreases",
    )


@dg.asset(
    group_name="analytics",
    deps=["release_cadence", "release_quality", "download_trends", "release_verification"],
    pool="duckdb", kinds={"duckdb", "html"}, tags={"scope": "organisation"},
    automation_condition=AFTER_ANY_REFRESH,
)
def release_dashboard(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, release_config: ReleaseAssetsConfig
) -> dg.MaterializeResult:
    """release-dashboard.json and .md in the original script's shapes, plus an offline HTML page of charts, across every tracked repository."""
    settings = release_config.load().quality
    folder = release_config.reports_folder(duckdb.database)
    with duckdb.get_connection() as con:
        reports = write_reports(con, folder, threshold=settings.threshold)
    context.log.info(f"Dashboard written to {reports.html_path}")
    return dg.MaterializeResult(metadata={
        "summary": dg.MetadataValue.md(reports.summary),
        "repositories": reports.repositories,
        "latest_releases_below_threshold": reports.failing,
        "verification_pass_rate": dg.MetadataValue.text(reports.pass_rate),
        "html": dg.MetadataValue.path(str(reports.html_path)),
        "json": dg.MetadataValue.path(str(reports.json_path)),
        "markdown": dg.MetadataValue.path(str(reports.markdown_path)),
    })
