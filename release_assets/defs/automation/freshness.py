"""Freshness of the ingestion assets: a schedule that silently stopped shows up as a failed check.

The check passes while any repository partition of the asset was materialised within
`schedule.freshness_days` (8 by default: the weekly refresh plus a day of slack). Its failure is
a WARN-level check result, which the alert sensor turns into an alert like any other.
"""

from datetime import timedelta

import dagster as dg

from release_assets.defs.automation.settings import SCHEDULE, sensor_status

INGESTION_ASSETS = ["releases", "release_artifacts", "download_snapshots"]

ingestion_freshness_checks = dg.build_last_update_freshness_checks(
    assets=INGESTION_ASSETS,
    lower_bound_delta=timedelta(days=SCHEDULE.freshness_days),
    severity=dg.AssetCheckSeverity.WARN,
)

ingestion_freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=ingestion_freshness_checks,
    name="ingestion_freshness_sensor",
    minimum_interval_seconds=600,
    default_status=sensor_status(),
)
