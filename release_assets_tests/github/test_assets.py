"""The github asset group through Dagster: partitions, metadata a person looks at, the check."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from release_assets.defs.github.assets import github_releases, repositories
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.defs.resources import resource_defs
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World


def test_materialize_github_group(
    project_env: Path, tmp_path: Path, world: World, github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = generate_org(world, "acme", repos=3, releases=12, artifacts=4)
    world.add_repo("other/tool")
    config = tmp_path / "config.yaml"
    config.write_text("orgs: [acme]\nrepos: [other/tool]\n")
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    resources = resource_defs()
    with dg.instance_for_test() as instance:
        listed = dg.materialize([repositories], instance=instance, resources=resources)
        assert listed.success
        [event] = listed.asset_materializations_for_node("repositories")
        assert event.metadata["dagster/row_count"].value == 4
        assert event.metadata["new_partitions"].value == 4
        assert sorted(instance.get_dynamic_partitions("repositories")) == sorted([*keys, "other/tool"])

        result = dg.materialize(
            [github_releases], instance=instance, resources=resources,
            tags={RANGE_START: keys[0],
                  RANGE_END: "other/tool"},
        )
        assert result.success
        by_key = {
            m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node("github_releases")
        }
        assert set(by_key) == {"releases", "release_artifacts", "download_snapshots"}
        releases = by_key["releases"]
        assert releases["dagster/row_count"].value == 36
        assert releases["requests"].value == 4 and releases["not_modified_304"].value == 0
        assert "| repo | tag |" in releases["preview"].value
        columns = {c.name for c in releases["dagster/column_schema"].schema.columns}
        assert {"release_id", "tag", "draft", "version_major"} <= columns
        assert by_key["release_artifacts"]["dagster/row_count"].value == 36 * 4
        assert by_key["download_snapshots"]["snapshots_added"].value == 36 * 4
        [check] = result.get_asset_check_evaluations()
        assert check.check_name == "every_repository_fetched" and check.passed

        # a rerun the same day: all 304, no new snapshots, nothing lost
        github_server.inject(r"/repos/acme/.*/releases", status=500, times=20)
        again = dg.materialize(
            [github_releases], instance=instance, resources=resources,
            tags={RANGE_START: keys[0],
                  RANGE_END: "other/tool"},
        )
        assert again.success  # failed repositories are recorded, not fatal
        [check] = again.get_asset_check_evaluations()
        assert not check.passed
        assert check.metadata["failed"].value == 3
        assert "HTTP 500" in check.metadata["failures"].value
        metadata = {
            m.asset_key.to_user_string(): m.metadata
            for m in again.asset_materializations_for_node("github_releases")
        }
        assert metadata["releases"]["dagster/row_count"].value == 36
        assert metadata["download_snapshots"]["snapshots_added"].value == 0
