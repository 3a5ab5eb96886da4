"""Jobs: discover repositories, refresh repository partitions end to end, rebuild org-wide reports.

Every job runs in one process: DuckDB takes one writer at a time (the `duckdb` pool is 1), so
a process per step would only add start-up time.
"""

import dagster as dg

from release_assets.defs.automation.freshness import ingestion_freshness_checks
from release_assets.defs.partitions import repository_partitions

# Assets computed across every repository carry this tag (the dashboard); they run after the
# per-repository refresh, in their own run.
ORGANISATION_SCOPE = dg.AssetSelection.tag("scope", "organisation")
# Freshness checks are evaluated by their own sensor, not by the runs whose lateness they judge.
FRESHNESS = dg.AssetSelection.checks(*ingestion_freshness_checks)

discover_repositories_job = dg.define_asset_job(
    "discover_repositories",
    selection=dg.AssetSelection.assets("repositories") - FRESHNESS,
    executor_def=dg.in_process_executor,
    description="List the configured orgs and repositories and register new ones as partitions.",
)

repository_refresh_job = dg.define_asset_job(
    "repository_refresh",
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.assets("repositories")
    - ORGANISATION_SCOPE
    - FRESHNESS,
    partitions_def=repository_partitions,
    executor_def=dg.in_process_executor,
    description="Refresh repository partitions end to end: ingestion, analytics, verification.",
)

organisation_reports_job = dg.define_asset_job(
    "organisation_reports",
    selection=ORGANISATION_SCOPE - FRESHNESS,
    executor_def=dg.in_process_executor,
    description="Rebuild the assets computed across every repository (the release dashboard).",
)
