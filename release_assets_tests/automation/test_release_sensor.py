"""new_release_sensor against the local GitHub server, through build_sensor_context."""

from __future__ import annotations

import dagster as dg

from release_assets.defs.automation.release_sensor import new_release_sensor
from release_assets.lib.automation import cursor as cursors
from release_assets.lib.automation.release_poll import GRAPHQL, PollState, poll
from release_assets.lib.github_client import GitHubClient
from release_assets_tests.automation.conftest import release
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World


def _tick(instance: dg.DagsterInstance, github, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"github": github})
    result = new_release_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _setup(world: World, instance: dg.DagsterInstance, repos: int = 5) -> list[str]:
    keys = generate_org(world, "acme", repos=repos, releases=3, artifacts=2)
    instance.add_dynamic_partitions("repositories", keys)
    return keys


def test_nothing_changed_skips_at_zero_rate_limit_cost(world, github_server: GitHubServer, instance, github_resource):
    keys = _setup(world, instance)
    first = _tick(instance, github_resource, None)
    assert not first.run_requests  # the first answer is a baseline, not a change
    points = github_server.stats.rate_limit_points
    requests = github_server.stats.requests
    second = _tick(instance, github_resource, first.cursor)
    assert not second.run_requests
    assert "no release changed" in second.skip_reason.skip_message
    assert github_server.stats.requests - requests == len(keys)
    assert github_server.stats.rate_limit_points == points  # every answer was a free 304
    assert "0 rate-limit points" in second.skip_reason.skip_message


def test_release_added_requests_a_run_for_exactly_that_repository(world, instance, github_resource):
    keys = _setup(world, instance)
    cursor = _tick(instance, github_resource, None).cursor
    world.add_release(keys[2], release("v9.0.0", "tool-linux-amd64.tar.gz"))
    result = _tick(instance, github_resource, cursor)
    assert [r.partition_key for r in result.run_requests] == [keys[2]]
    assert result.run_requests[0].run_key.startswith(f"release:{keys[2]}:")
    # The same change is not reported again.
    again = _tick(instance, github_resource, result.cursor)
    assert not again.run_requests


def test_release_deleted_and_edited_are_changes(world, instance, github_resource):
    keys = _setup(world, instance)
    cursor = _tick(instance, github_resource, None).cursor
    victim = world.releases(keys[0])[1]
    world.delete_release(keys[0], victim["id"])
    newest = world.releases(keys[3])[0]
    world.edit_release(keys[3], newest["id"], body="## Changes\n- rewritten notes")
    result = _tick(instance, github_resource, cursor)
    assert sorted(r.partition_key for r in result.run_requests) == sorted([keys[0], keys[3]])


def test_download_counts_alone_never_request_a_run_and_busy_repositories_go_graphql(
    world, github_server, instance, github_resource
):
    keys = _setup(world, instance, repos=3)
    busy = keys[1]
    cursor = _tick(instance, github_resource, None).cursor
    artifact = world.releases(busy)[0]["assets"][0]["id"]
    for count in (10, 20):
        world.set_download_count(artifact, count)
        result = _tick(instance, github_resource, cursor)
        assert not result.run_requests
        cursor = result.cursor
    state = PollState.from_json(cursors.decode(cursor))
    assert state.repos[busy].mode == GRAPHQL
    # Downloads keep moving: GraphQL polling ignores them too.
    world.set_download_count(artifact, 30)
    result = _tick(instance, github_resource, cursor)
    assert not result.run_requests
    # A new release on the busy repository is still noticed.
    world.add_release(busy, release("v10.0.0", "tool.zip"))
    result = _tick(instance, github_resource, result.cursor)
    assert [r.partition_key for r in result.run_requests] == [busy]
    # Renaming the newest release is an edit GraphQL polling sees.
    newest = world.releases(busy)[0]
    world.edit_release(busy, newest["id"], name="v10.0.0 (final)")
    result = _tick(instance, github_resource, result.cursor)
    assert [r.partition_key for r in result.run_requests] == [busy]


def test_a_deleted_repository_does_not_break_the_graphql_batch(world, github_server: GitHubServer):
    keys = generate_org(world, "acme", repos=4, releases=1, artifacts=1)
    client = GitHubClient(github_server.url, "test-token-0123456789", backoff_seconds=0.01)
    state = PollState()
    poll(client, keys, state)
    for key in keys:
        state.repos[key].mode, state.repos[key].fingerprint = GRAPHQL, None
    poll(client, keys, state)  # GraphQL baselines
    world.delete_repo(keys[0])
    world.add_release(keys[2], release("v2.0.0", "x.zip"))
    result = poll(client, keys, state)
    assert list(result.changed) == [keys[2]]
    assert "not found" in result.errors[keys[0]]


def test_polling_is_spread_over_ticks_by_time_budget(world, github_server: GitHubServer):
    keys = generate_org(world, "acme", repos=250, releases=1, artifacts=1)
    client = GitHubClient(github_server.url, "test-token-0123456789", backoff_seconds=0.01)
    state = PollState()
    ticks = 0
    seen = 0
    while True:  # a zero budget still makes progress: one slice per tick
        result = poll(client, keys, state, time_budget=0.0)
        ticks += 1
        seen += result.polled
        if result.cycle_complete:
            break
    assert ticks == 3 and seen == 250 and state.offset == 0 and state.cycles == 1
    world.add_release(keys[-1], release("v3.0.0", "x.zip"))
    changed = {}
    for _ in range(3):
        changed.update(poll(client, keys, state, time_budget=0.0).changed)
    assert list(changed) == [keys[-1]]
