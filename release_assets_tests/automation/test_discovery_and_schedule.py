"""repository_discovery_sensor and weekly_release_refresh against the local GitHub server."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from release_assets.defs.automation.discovery_sensor import repository_discovery_sensor
from release_assets.defs.automation.schedules import weekly_release_refresh
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets_tests.automation.conftest import config_resource
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer


def _tick(instance, resources, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    result = repository_discovery_sensor(context)
    assert isinstance(result, dg.SensorResult)
    # Apply the partition requests as the daemon would.
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def test_discovery_adds_new_repositories_removes_archived_and_skips_when_unchanged(
    world, github_server: GitHubServer, instance, github_resource, tmp_path
):
    keys = generate_org(world, "acme", repos=3, releases=1, artifacts=1)
    world.add_repo("acme/fork-of-x", fork=True)
    resources = {"github": github_resource, "release_config": config_resource(tmp_path, "orgs: [acme]\n")}

    first = _tick(instance, resources, None)
    assert sorted(instance.get_dynamic_partitions("repositories")) == sorted(keys)  # no fork
    jobs = {r.job_name: r for r in first.run_requests}
    assert set(jobs) == {"discover_repositories", "repository_refresh"}
    refresh = jobs["repository_refresh"]
    assert (refresh.tags[RANGE_START], refresh.tags[RANGE_END]) == (sorted(keys)[0], sorted(keys)[-1])

    points = github_server.stats.rate_limit_points
    unchanged = _tick(instance, resources, first.cursor)
    assert not unchanged.run_requests
    assert "listings unchanged" in unchanged.skip_reason.skip_message
    assert github_server.stats.rate_limit_points == points  # the org listing answered 304

    world.add_repo("acme/newcomer")
    world.archive_repo(keys[0])
    changed = _tick(instance, resources, unchanged.cursor)
    partitions = set(instance.get_dynamic_partitions("repositories"))
    assert "acme/newcomer" in partitions and keys[0] not in partitions
    refresh = next(r for r in changed.run_requests if r.job_name == "repository_refresh")
    assert refresh.partition_key == "acme/newcomer"

    world.delete_repo(keys[1])
    gone = _tick(instance, resources, changed.cursor)
    assert keys[1] not in instance.get_dynamic_partitions("repositories")
    assert [r.job_name for r in gone.run_requests] == ["discover_repositories"]


def test_a_failing_listing_removes_nothing(world, github_server: GitHubServer, instance, github_resource, tmp_path):
    keys = generate_org(world, "acme", repos=2, releases=1, artifacts=1)
    resources = {"github": github_resource, "release_config": config_resource(tmp_path, "orgs: [acme]\n")}
    first = _tick(instance, resources, None)
    github_server.inject(r"/orgs/acme/repos", status=502, times=10)
    failed = _tick(instance, resources, first.cursor)
    assert sorted(instance.get_dynamic_partitions("repositories")) == sorted(keys)
    assert "failed" in failed.skip_reason.skip_message


def test_weekly_schedule_one_range_run_with_a_stable_run_key(instance):
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 1, 5, 6, tzinfo=UTC))
    assert isinstance(weekly_release_refresh(context), dg.SkipReason)
    instance.add_dynamic_partitions("repositories", ["acme/a", "acme/b", "other/c"])
    first = weekly_release_refresh(context)
    again = weekly_release_refresh(context)
    assert isinstance(first, dg.RunRequest)
    assert (first.tags[RANGE_START], first.tags[RANGE_END]) == ("acme/a", "other/c")
    assert first.run_key == again.run_key == "weekly:2026-01-05T06:00:00+00:00"
    assert weekly_release_refresh.cron_schedule == "0 6 * * 1"
    assert weekly_release_refresh.execution_timezone == "UTC"
