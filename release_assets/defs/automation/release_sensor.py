"""`new_release_sensor`: a run for exactly the repositories whose releases changed.

Dormant repositories are asked with conditional REST requests (a 304 costs no rate limit), busy
ones with one GraphQL query per 100 repositories (see `lib/automation/release_poll.py`). ETags
and fingerprints live in the cursor, never in DuckDB, which a run may be holding. A tick stops
polling after `POLL_TIME_BUDGET_SECONDS` and the next one resumes where it stopped.
"""

import dagster as dg

from release_assets.defs.automation.github import sensor_client
from release_assets.defs.automation.jobs import repository_refresh_job
from release_assets.defs.automation.settings import (
    PARTITIONS,
    POLL_TIME_BUDGET_SECONDS,
    SCHEDULE,
    TRIGGER_TAG,
    sensor_status,
)
from release_assets.defs.resources import GitHubResource
from release_assets.lib.automation import cursor as cursors
from release_assets.lib.automation.release_poll import PollState, poll


@dg.sensor(
    name="new_release_sensor",
    job=repository_refresh_job,
    minimum_interval_seconds=SCHEDULE.new_release_interval_seconds,
    default_status=sensor_status(),
    description="Notices new, edited and deleted releases at almost no API cost and refreshes those repositories.",
)
def new_release_sensor(context: dg.SensorEvaluationContext, github: GitHubResource) -> dg.SensorResult:
    repos = context.instance.get_dynamic_partitions(PARTITIONS)
    if not repos:
        return dg.SensorResult(skip_reason="no repository partitions yet", cursor=context.cursor)
    state = PollState.from_json(cursors.decode(context.cursor))
    result = poll(sensor_client(github), repos, state, time_budget=POLL_TIME_BUDGET_SECONDS)
    for repo, reason in sorted(result.errors.items())[:20]:
        context.log.warning(f"{repo}: {reason}")
    summary = (
        f"polled {result.polled} of {result.total} repositories: {result.requests} requests, "
        f"{result.not_modified} answered 304, {result.rate_limit_points} rate-limit points"
        + (f"; {len(result.errors)} failed" if result.errors else "")
        + (f"; {len(result.to_graphql)} busy, now polled by GraphQL" if result.to_graphql else "")
        + (f"; stopped early: {result.stopped}" if result.stopped else "")
    )
    cursor = cursors.encode(state.to_json())
    if not result.changed:
        return dg.SensorResult(skip_reason=f"no release changed ({summary})", cursor=cursor)
    context.log.info(f"changed: {', '.join(sorted(result.changed))} ({summary})")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                partition_key=repo,
                # The fingerprint names the change: the same change never runs twice.
                run_key=f"release:{repo}:{fingerprint}",
                tags={TRIGGER_TAG: "new_release"},
            )
            for repo, fingerprint in sorted(result.changed.items())
        ],
        cursor=cursor,
    )
