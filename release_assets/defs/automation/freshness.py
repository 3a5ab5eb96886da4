"""Freshness of the ingestion assets: a schedule that silently stopped shows up as a failed check.

The check passes while any repository partition of the asset was materialised within
`schedule.freshness_days` (8 by default: the weekly refresh plus a day of slack). Its failure is
a WARN-level check result, which the alert sensor turns into an alert like any other.

Dagster 1.13 marks these helpers as superseded by `FreshnessPolicy`. They stay, on purpose
(docs/AUTOMATION.md, "Freshness"): a freshness policy yields no asset check evaluation, so our
open-source alert path (which reads check evaluations) would go silent; freshness policies are
still a preview that needs an instance opt-in, and their alerts are a Dagster+ feature. The
supersession warning is silenced here, where that decision is made, and nowhere else.
"""

import warnings
from datetime import timedelta

import dagster as dg

from release_assets.defs.automation.settings import SCHEDULE, sensor_status

INGESTION_ASSETS = ["releases", "release_artifacts", "download_snapshots"]

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
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
