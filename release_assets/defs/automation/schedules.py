"""The weekly refresh of every repository, and the org-wide reports after any refresh.

The schedule asks for ONE run over the whole repository key range (the design's single-run
backfill policy: 2,000 partitions in one run cost ~14 s of overhead; 2,000 runs would cost
hours). Its run key is the tick's time, so a tick re-evaluated after a daemon restart never
launches a second run.

A schedule targets one job, and the cross-repository assets must be built after the
repositories they summarise, so the rebuild is requested by `organisation_reports_sensor` once
every refresh run (weekly, discovery or new-release) has finished: one reports run per quiet
moment, never one per repository.
"""

import dagster as dg

from release_assets.defs.automation.jobs import organisation_reports_job, repository_refresh_job
from release_assets.defs.automation.settings import (
    PARTITIONS,
    RANGE_END,
    RANGE_START,
    SCHEDULE,
    TRIGGER_TAG,
    schedule_status,
    sensor_status,
)

_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


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


@dg.sensor(
    name="organisation_reports_sensor",
    job=organisation_reports_job,
    minimum_interval_seconds=60,
    default_status=sensor_status(),
    description="Rebuilds the cross-repository reports once refresh runs have finished.",
)
def organisation_reports_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    since = float(context.cursor or 0)
    job = context.repository_def.get_job(organisation_reports_job.name) if context.repository_def else None
    if job is not None and not job.asset_layer.executable_asset_keys:
        return dg.SensorResult(skip_reason="no organisation-wide assets are defined", cursor=context.cursor)
    finished = context.instance.get_run_records(
        dg.RunsFilter(job_name=repository_refresh_job.name, statuses=_FINISHED),
        limit=50,
    )
    newest = max((r.update_timestamp.timestamp() for r in finished), default=0.0)
    if newest <= since:
        return dg.SensorResult(skip_reason="no refresh run finished since the last report", cursor=context.cursor)
    busy = context.instance.get_runs_count(
        dg.RunsFilter(job_name=repository_refresh_job.name, statuses=_IN_FLIGHT)
    )
    if busy:
        return dg.SensorResult(
            skip_reason=f"waiting for {busy} refresh run(s) to finish before rebuilding the reports",
            cursor=context.cursor,
        )
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"reports:{newest:.6f}", tags={TRIGGER_TAG: "refresh_finished"})],
        cursor=f"{newest:.6f}",
    )
