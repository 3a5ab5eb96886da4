"""The weekly refresh of every repository.

The schedule asks for ONE run over the whole repository key range (the design's single-run
backfill policy: 2,000 partitions in one run cost ~14 s of overhead; 2,000 runs would cost
hours). Its run key is the tick's time, so a tick re-evaluated after a daemon restart never
launches a second run. The org-wide reports follow by themselves (`reports.py`).
"""

import dagster as dg

from release_assets.defs.automation.jobs import repository_refresh_job
from release_assets.defs.automation.settings import (
    PARTITIONS,
    SCHEDULE,
    TRIGGER_TAG,
    schedule_status,
)
from release_assets.defs.partitions import RANGE_END, RANGE_START


@dg.schedule(
    name="weekly_release_refresh",
    cron_schedule=SCHEDULE.cron,
    execution_timezone=SCHEDULE.timezone,
    job=repository_refresh_job,
    default_status=schedule_status(),
    description="Every repository partition, end to end, in one run (config: schedule.cron / timezone).",
)
def weekly_release_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    keys = context.instance.get_dynamic_partitions(PARTITIONS)
    if not keys:
        return dg.SkipReason(
            "no repository partitions yet: repository_discovery_sensor (or `release-assets "
            "refresh`) adds them"
        )
    tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
    return dg.RunRequest(
        run_key=f"weekly:{tick}",
        tags={RANGE_START: keys[0], RANGE_END: keys[-1], TRIGGER_TAG: "weekly"},
    )
