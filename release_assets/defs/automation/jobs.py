"""Jobs: discover repositories, refresh repository partitions end to end, rebuild org-wide reports."""

import dagster as dg

from release_assets.defs.partitions import repository_partitions

# Assets computed across every repository carry this tag (the dashboard); they run after the
# per-repository refresh, in their own run.
ORGANISATION_SCOPE = dg.AssetSelection.tag("scope", "organisation")

discover_repositories_job = dg.define_asset_job(
    "discover_repositories",
    selection=dg.AssetSelection.assets("repositories"),
    description="List the configured orgs and repositories and register new ones as partitions.",
)

repository_refresh_job = dg.define_asset_job(
    "repository_refresh",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets("repositories") - ORGANISATION_SCOPE,
    partitions_def=repository_partitions,
    description="Refresh repository partitions end to end: ingestion, analytics, verification.",
)

organisation_reports_job = dg.define_asset_job(
    "organisation_reports",
    selection=ORGANISATION_SCOPE,
    description="Rebuild the assets computed across every repository (the release dashboard).",
)
