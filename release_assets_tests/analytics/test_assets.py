"""The analytics assets and checks through Dagster, on data ingested from the local GitHub."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from release_assets.defs.analytics.assets import release_quality
from release_assets.defs.resources import resource_defs
from release_assets.lib import storage
from release_assets_tests.analytics.helpers import PER_REPOSITORY, query, run_pipeline
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World

GOOD = ("tool_linux_amd64.tar.gz", "checksums.txt", "checksums.txt.sig", "tool.spdx.json")


def checks_by_name(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def materialized(result: dg.ExecuteInProcessResult, key: str) -> dict:
    """The metadata of `key`'s materialisation (one event per partition, the same metadata)."""
    events = [e for e in result.get_asset_materialization_events()
              if e.asset_key.to_user_string() == key]
    assert events, key
    return events[0].materialization.metadata


@pytest.fixture
def repos(world: World) -> list[str]:
    keys = generate_org(world, "acme", repos=2, releases=10, artifacts=6, prerelease_every=4)
    world.add_repo("acme/good")
    world.add_release("acme/good", {
        "tag_name": "v2.0.0", "body": "## Changes\n- faster", "published_at": "2026-11-01T00:00:00Z",
        "assets": [{"name": n, "download_count": 7} for n in GOOD],
    })
    world.add_repo("acme/bare")
    world.add_release("acme/bare", {"tag_name": "v0.1.0", "body": None,
                                    "published_at": "2026-10-01T00:00:00Z", "assets": []})
    return sorted([*keys, "acme/good", "acme/bare"])


def test_assets_tables_metadata_and_failing_gate(
    project_env: Path, tmp_path: Path, github_server: GitHubServer, repos: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    with dg.instance_for_test() as instance:
        result = run_pipeline(instance, config, repos,
                              quality="quality:\n  threshold: 70\n  stale_after_days: 400\n")
        # the gate fails (ERROR, red in the UI) without failing the step or the run
        assert result.success
        assert not [e for e in result.all_events if e.is_step_failure]

        gate = checks_by_name(result)["latest_release_meets_quality_threshold"]
        assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
        assert gate.metadata["threshold"].value == 70
        assert gate.metadata["lowest_latest_score"].value == 0
        failing = gate.metadata["failing_releases"].value
        assert "| repository | latest release | score | lacks |" in failing
        assert "| acme/bare | v0.1.0 | 0 | Changelog, Binaries, Checksums, Signatures, SBOM |" in failing
        assert "acme/good" not in failing  # 100/100

        checks = checks_by_name(result)
        assert checks["release_ids_unique"].passed
        assert checks["download_counts_never_decrease"].passed
        stale = checks["cadence_not_stale"]
        assert stale.severity == dg.AssetCheckSeverity.WARN
        assert stale.metadata["stale_after_days"].value == 400
        # the generated repositories last released in 2020-2022: stale, and named
        assert not stale.passed and "acme/good" not in stale.metadata["details"].value

        quality_meta = materialized(result, "release_quality")
        releases = query(storage.default_db_path(), "SELECT count(*) FROM releases")[0][0]
        assert quality_meta["dagster/row_count"].value == releases == 22
        columns = {c.name for c in quality_meta["dagster/column_schema"].schema.columns}
        assert {"score", "binaries_evidence", "has_provenance", "missing"} <= columns
        assert quality_meta["rubric"].value == "default"
        assert "| repo | tag | score |" in quality_meta["preview"].value
        assert quality_meta["rows_this_run"].value == 22
        assert "nan" not in quality_meta["preview"].value.lower()
        assert materialized(result, "release_cadence")["dagster/row_count"].value == len(repos)
        assert materialized(result, "download_trends")["dagster/row_count"].value > 0

        good = query(storage.default_db_path(),
                     "SELECT score, checksums_evidence, signatures_evidence FROM release_quality "
                     "WHERE repo = 'acme/good'")
        assert good == [(100, "checksums.txt contains 'checksum' (any case)",
                         "checksums.txt.sig ends with '.sig'")]

        # a rerun replaces derived rows: nothing doubles
        run_pipeline(instance, config, repos, quality="quality:\n  threshold: 70\n")
        db = storage.default_db_path()
        assert query(db, "SELECT count(*) FROM release_quality")[0][0] == 22
        assert query(db, "SELECT count(*) FROM release_cadence")[0][0] == len(repos)

    dashboard = json.loads((tmp_path / "reports" / "release-dashboard.json").read_text())
    assert set(dashboard["repositories"]) == {r.split("/")[1] for r in repos}
    assert (tmp_path / "reports" / "release-dashboard.md").read_text().startswith(
        "# Release Dashboard Summary")


def test_warn_severity_lets_the_run_succeed(
    project_env: Path, tmp_path: Path, github_server: GitHubServer, repos: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    with dg.instance_for_test() as instance:
        result = run_pipeline(instance, config, repos, dashboard=False,
                              quality="quality:\n  severity: WARN\n  rubric: seed\n")
        assert result.success
        gate = checks_by_name(result)["latest_release_meets_quality_threshold"]
        assert not gate.passed and gate.severity == dg.AssetCheckSeverity.WARN
        assert query(storage.default_db_path(),
                     "SELECT DISTINCT rubric FROM release_quality") == [("seed",)]


def test_no_analytics_check_blocks() -> None:
    specs = {s.name: s for s in release_quality.check_specs}
    assert not specs["latest_release_meets_quality_threshold"].blocking
    assert not specs["release_ids_unique"].blocking


def test_dashboard_metadata_shows_the_markdown_summary(
    project_env: Path, tmp_path: Path, github_server: GitHubServer, repos: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from release_assets.defs.analytics.assets import release_dashboard
    from release_assets.defs.resources import resource_defs

    config = tmp_path / "config.yaml"
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    with dg.instance_for_test() as instance:
        run_pipeline(instance, config, repos, dashboard=False)
        result = dg.materialize([release_dashboard], instance=instance, resources=resource_defs())
    metadata = materialized(result, "release_dashboard")
    summary = metadata["summary"].value
    assert "| Repository | Releases | Total Downloads | Avg Days Between | Quality Score |" in summary
    assert "| good | 1 | 28 | — | 100/100 |" in summary  # the file keeps the original's N/A
    assert "N/A" not in summary and "nan" not in summary
    assert metadata["verification_pass_rate"].value == "—"  # nothing verified in this run
    assert metadata["latest_releases_below_threshold"].value >= 1
    assert Path(metadata["html"].value) == tmp_path / "reports" / "release-dashboard.html"


def test_row_counts_are_table_totals_after_a_one_partition_run(
    project_env: Path, tmp_path: Path, github_server: GitHubServer, repos: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    with dg.instance_for_test() as instance:
        run_pipeline(instance, config, repos, dashboard=False)
        one = dg.materialize(
            PER_REPOSITORY, instance=instance, resources=resource_defs(), partition_key="acme/good",
        )
    assert one.success
    releases, quality = materialized(one, "releases"), materialized(one, "release_quality")
    # what the asset page shows is the table, not the last run's partition
    assert releases["dagster/row_count"].value == quality["dagster/row_count"].value == 22
    assert releases["rows_this_run"].value == quality["rows_this_run"].value == 1
    assert "| acme/good | v2.0.0 |" in releases["preview"].value
    assert "acme/bare" not in quality["preview"].value  # the preview is the run's repositories
    cadence = materialized(one, "release_cadence")
    assert cadence["dagster/row_count"].value == len(repos)
    # one release: no average between releases; an empty cell, never "nan"
    assert "| acme/good | 1 |  |" in cadence["preview"].value
    assert "nan" not in cadence["preview"].value.lower()
