"""The `release_verification` asset and its checks through Dagster, against the local server."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from release_assets.defs.github.assets import github_releases
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.defs.resources import resource_defs
from release_assets.defs.verification.assets import release_verification
from release_assets_tests.github_server import GitHubServer, World

from . import worlds
from .worlds import RFC8785, WHEEL


def materialize(instance: dg.DagsterInstance, repos: list[str]) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions("repositories", repos)
    return dg.materialize(
        [github_releases, release_verification],
        instance=instance,
        resources=resource_defs(),
        tags={
            RANGE_START: repos[0],
            RANGE_END: repos[-1],
        },
        raise_on_error=False,
    )


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        c.check_name: c
        for c in result.get_asset_check_evaluations()
        if c.asset_key == dg.AssetKey("release_verification")
    }


def metadata(result: dg.ExecuteInProcessResult) -> dict[str, dg.MetadataValue]:
    # one materialization per partition of the run, all with the run's metadata
    events = result.asset_materializations_for_node("release_verification")
    return dict(events[0].metadata)


def test_asset_verifies_signed_wheel_and_reports_coverage(
    project_env: Path,
    tmp_path: Path,
    world: World,
    github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worlds.signed_wheel(world)
    worlds.jq(world)
    config = tmp_path / "config.yaml"
    config.write_text("verification:\n  max_download_bytes: 0\n")
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    repos = ["stedolan/jq", RFC8785]
    with dg.instance_for_test() as instance:
        result = materialize(instance, repos)
        assert result.success
        meta = metadata(result)
        assert len(result.asset_materializations_for_node("release_verification")) == 2
        assert meta["dagster/row_count"].value > 40
        columns = {c.name for c in meta["dagster/column_schema"].schema.columns}
        assert {"artifact_id", "check", "status", "reason", "evidence", "verified_at"} <= columns
        assert "| repo | tag | artifact_name |" in meta["preview"].value
        # jq-1.5rc1/rc2's notes do not mention their tags: quality, not a security failure
        assert meta["counts_by_status"].value["failed"] == 2
        # columns: passed, failed, unverifiable, not_applicable, error
        assert "| docs | 7 | 2 | 0 | 0 | 0 |" in meta["counts_by_check"].value
        # the wheel is 9,172 bytes and never fetched; the jq binaries neither
        assert meta["bytes_downloaded"].value < 20_000 < meta["artifact_bytes"].value
        assert meta["requests"].value > 0
        found = checks(result)
        assert found["verification_has_no_failures"].passed
        assert found["signed_releases_verify"].passed
        # max_download_bytes: 0 leaves jq's digest-less binaries unjudged: a warning, with why
        unjudged = found["verification_has_no_unverifiable"]
        assert not unjudged.passed and unjudged.severity == dg.AssetCheckSeverity.WARN
        assert all("hashing is disabled" in r["reason"] for r in unjudged.metadata["reasons"].value)
        downloaded = [
            e.path.rsplit("/", 1)[1] for e in github_server.request_log if e.route == "download"
        ]
        assert WHEEL not in downloaded and downloaded.count("sha256sum.txt") == 5

        github_server.reset_stats()
        again = materialize(instance, repos)
        assert again.success and metadata(again)["bytes_downloaded"].value == 0
        assert metadata(again)["cache_hits"].value > 0
        assert not [e for e in github_server.request_log if e.route in ("download", "attestations")]


def test_wrong_signer_fails_the_blocking_check_naming_the_release(
    project_env: Path,
    world: World,
    github_server: GitHubServer,
) -> None:
    worlds.signed_wheel(world, repo="mallory/rfc8785.py")
    with dg.instance_for_test() as instance:
        result = materialize(instance, ["mallory/rfc8785.py"])
        assert not result.success  # a blocking ERROR check stops the step
        found = checks(result)
        blocking = found["verification_has_no_failures"]
        assert not blocking.passed and blocking.severity == dg.AssetCheckSeverity.ERROR
        assert blocking.metadata["failing_releases"].value == ["mallory/rfc8785.py@v0.1.2"]
        [reason] = blocking.metadata["reasons"].value
        assert reason["artifact"] == WHEEL and "not allowed" in reason["reason"]
        assert "mallory/rfc8785.py" in blocking.metadata["failures"].value
        warn = found["signed_releases_verify"]
        assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
        assert warn.metadata["failing_releases"].value == ["mallory/rfc8785.py@v0.1.2"]
        # the rows were written before the check failed: the evidence is queryable
        assert metadata(result)["counts_by_status"].value["failed"] >= 1


def test_unverifiable_provenance_warns_and_never_blocks(
    project_env: Path, world: World, github_server: GitHubServer
) -> None:
    worlds.npm_provenance(world)
    with dg.instance_for_test() as instance:
        result = materialize(instance, ["sigstore/sigstore-js"])
        assert result.success  # nothing blocks: "cannot judge" is not "failed"
        found = checks(result)
        blocking = found["verification_has_no_failures"]
        assert blocking.passed and blocking.metadata["unverifiable_checks"].value == 1
        warning = found["verification_has_no_unverifiable"]
        assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
        assert warning.metadata["releases"].value == ["sigstore/sigstore-js@v2.1.0"]
        [row] = warning.metadata["reasons"].value
        assert row["artifact"] == worlds.NPM_TARBALL and "intoto 0.0.2" in row["reason"]
        assert metadata(result)["counts_by_status"].value["unverifiable"] == 1
