"""`repository_discovery_sensor`: new repositories become partitions and get a first run.

Reads the configured orgs conditionally (an unchanged org costs no rate limit), never the
DuckDB file (a run may hold it). New tracked repositories are added as partitions and refreshed
in one run; repositories now archived, excluded or gone lose their partition (their history
stays in DuckDB and in the event log), and a `discover_repositories` run records every status
and reason in the `repositories` table.
"""

import dagster as dg

from release_assets.defs.automation.github import sensor_client, short_digest
from release_assets.defs.automation.jobs import discover_repositories_job, repository_refresh_job
from release_assets.defs.automation.settings import (
    PARTITIONS,
    SCHEDULE,
    TRIGGER_TAG,
    sensor_status,
)
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.defs.resources import GitHubResource, ReleaseAssetsConfig
from release_assets.lib.automation import cursor as cursors
from release_assets.lib.automation.org_poll import poll_orgs


@dg.sensor(
    name="repository_discovery_sensor",
    jobs=[discover_repositories_job, repository_refresh_job],
    minimum_interval_seconds=SCHEDULE.discovery_interval_seconds,
    default_status=sensor_status(),
    description="Lists the configured orgs (conditional requests) and adds or removes repository partitions.",
)
def repository_discovery_sensor(
    context: dg.SensorEvaluationContext, github: GitHubResource, release_config: ReleaseAssetsConfig
) -> dg.SensorResult:
    config = release_config.load()
    if not config.orgs and not config.repos:
        return dg.SensorResult(skip_reason="the config names no orgs and no repos", cursor=context.cursor)
    polled, state = poll_orgs(sensor_client(github), config, cursors.decode(context.cursor))
    for source, reason in sorted(polled.errors.items()):
        context.log.warning(f"could not list {source}: {reason}")
    partitions = set(context.instance.get_dynamic_partitions(PARTITIONS))
    new = sorted(polled.active - partitions)
    # Only a repository positively seen as not tracked loses its partition (never one that a
    # failing listing merely did not show, nor one added by hand with `refresh --repo`).
    gone = sorted(set(polled.inactive) & partitions) if polled.complete else []
    cost = (
        f"{polled.requests} requests, {polled.not_modified} answered 304, "
        f"{polled.rate_limit_points} rate-limit points"
    )
    cursor = cursors.encode(state)
    if not new and not gone:
        what = "listings unchanged" if not polled.listings_changed else "no repository added or removed"
        errors = f"; {len(polled.errors)} source(s) failed" if polled.errors else ""
        return dg.SensorResult(
            skip_reason=f"{what} ({cost}; {len(polled.active)} tracked){errors}", cursor=cursor
        )

    requests = [
        dg.RunRequest(
            job_name=discover_repositories_job.name,
            run_key=f"discover:{short_digest(new, gone)}",
            tags={TRIGGER_TAG: "discovery"},
        )
    ]
    if new:
        # Added in this order right before the run starts, so the key range is exactly `new`.
        range_tags = (
            {RANGE_START: new[0], RANGE_END: new[-1]} if len(new) > 1 else {}
        )
        requests.append(
            dg.RunRequest(
                job_name=repository_refresh_job.name,
                run_key=f"first-refresh:{short_digest(new)}",
                partition_key=new[0] if len(new) == 1 else None,
                tags={**range_tags, TRIGGER_TAG: "discovery"},
            )
        )
    dynamic: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if new:
        dynamic.append(dg.AddDynamicPartitionsRequest(PARTITIONS, new))
    if gone:
        dynamic.append(dg.DeleteDynamicPartitionsRequest(PARTITIONS, gone))
        for repo in gone:
            context.log.info(f"{repo}: partition removed ({polled.inactive[repo]}); history kept")
    context.log.info(f"{len(new)} new, {len(gone)} removed ({cost})")
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=dynamic, cursor=cursor)
