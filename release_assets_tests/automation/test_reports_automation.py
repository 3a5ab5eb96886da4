"""The org-wide reports follow refreshes by declarative automation, as the daemon evaluates it.

Real runs of the code location's jobs on a real instance; the automation conditions are
evaluated the way `organisation_reports_automation` evaluates them on each tick.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from release_assets.definitions import defs as load_defs
from release_assets.defs.automation.reports import organisation_reports_automation
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets_tests.automation.conftest import release
from release_assets_tests.github_server import GitHubServer, World

DASHBOARD = dg.AssetKey("release_dashboard")


def _requested(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: object) -> tuple[bool, object]:
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    return bool(result.get_num_requested(DASHBOARD)), result.cursor


def test_reports_are_rebuilt_once_after_each_refresh_and_not_otherwise(
    project_env: Path, tmp_path: Path, world: World, github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for repo in ("acme/good", "acme/bare", "acme/new"):
        world.add_repo(repo)
    world.add_release("acme/good", release("v1.0.0", "tool.tar.gz"))
    world.add_release("acme/bare", {"tag_name": "v0.1.0", "body": None, "assets": []})
    config = tmp_path / "release_assets.yaml"
    config.write_text("repos: [acme/bare, acme/good, acme/new]\n")
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    defs = load_defs()
    refresh = defs.resolve_job_def("repository_refresh")

    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("discover_repositories").execute_in_process(
            instance=instance).success
        cursor = None
        _, cursor = _requested(defs, instance, cursor)  # first tick: the starting point

        # the refresh of two of the three repositories (acme/new never refreshed) finishes,
        # with a failed (non-blocking) quality gate: the reports are due, once
        assert refresh.execute_in_process(
            instance=instance, tags={RANGE_START: "acme/bare", RANGE_END: "acme/good"},
        ).success
        due, cursor = _requested(defs, instance, cursor)
        assert due
        again, cursor = _requested(defs, instance, cursor)
        assert not again  # requested already: not twice for the same refresh

        assert defs.resolve_job_def("organisation_reports").execute_in_process(
            instance=instance).success
        quiet, cursor = _requested(defs, instance, cursor)
        assert not quiet  # nothing refreshed since the reports were built

        assert refresh.execute_in_process(instance=instance, partition_key="acme/good").success
        due, cursor = _requested(defs, instance, cursor)
        assert due


def test_the_automation_targets_only_the_organisation_reports() -> None:
    defs = load_defs()
    graph = defs.resolve_asset_graph()
    targeted = organisation_reports_automation.asset_selection.resolve(graph)
    assert targeted == {DASHBOARD}
    assert organisation_reports_automation.run_tags == {"release_assets/trigger": "refresh_finished"}
