"""Verification: checksums, sigstore signatures and attestations, SBOMs and docs of each release."""

from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.defs.metadata import markdown_table, table_metadata
from release_assets.defs.partitions import repository_partitions, single_run
from release_assets.defs.progress import RepositoryProgress
from release_assets.defs.resources import GitHubResource, ReleaseAssetsConfig
from release_assets.lib import storage
from release_assets.lib.verification.run import VerificationRun, verify_repositories

NO_FAILURES = "verification_has_no_failures"
SIGNED_VERIFY = "signed_releases_verify"


@dg.asset(
    group_name="verification",
    deps=["release_artifacts"],
    kinds={"duckdb", "sigstore"},
    partitions_def=repository_partitions,
    backfill_policy=single_run,
    pool="duckdb",
    check_specs=[
        dg.AssetCheckSpec(
            NO_FAILURES,
            asset="release_verification",
            blocking=True,
            description="No checksum mismatch and no rejected signature or attestation: each "
            "is a security event, so downstream assets wait. Failing releases are listed.",
        ),
        dg.AssetCheckSpec(
            SIGNED_VERIFY,
            asset="release_verification",
            description="Every release that ships signature-shaped files (bundles, .sig, .asc, "
            "attestations) has at least one that verifies under the repository's signer policy.",
        ),
    ],
)
def release_verification(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    github: GitHubResource,
    release_config: ReleaseAssetsConfig,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """One row per (artifact, check): checksum manifests against GitHub's digests, sigstore
    bundles and GitHub attestations against a repository-bound signer policy, SBOMs, docs.
    Binaries that carry a digest are never downloaded; verdicts are cached by digest."""
    repos = list(context.partition_keys)
    client = github.client()
    settings = release_config.load().verification

    progress = RepositoryProgress(context.log, len(repos))

    def on_repo(repo: str, rows: list, error: str | None) -> None:
        progress(repo, f"not verified ({error})" if error else None, f"{len(rows)} rows")

    run = verify_repositories(
        duckdb.database,
        client,
        settings,
        repos,
        concurrency=github.concurrency,
        on_repo=on_repo,
    )
    stats = client.stats.snapshot()
    with storage.connect(duckdb.database, read_only=True) as con:
        metadata = table_metadata(
            con,
            "release_verification",
            where="list_contains(?::VARCHAR[], repo)",
            params=[repos],
            preview_columns=("repo", "tag", "artifact_name", '"check"', "status", "reason"),
            order_by="CASE status WHEN 'failed' THEN 0 WHEN 'error' THEN 1 ELSE 2 END, repo, tag",
            preview_rows=15,
        )
    yield dg.MaterializeResult(metadata={**metadata, **_run_metadata(run, stats)})
    yield _no_failures(run)
    yield _signed_verify(run)


def _run_metadata(run: VerificationRun, stats: dict[str, int]) -> dict[str, object]:
    by_check = run.counts_by_check()
    checks = sorted(by_check)
    statuses = ("passed", "failed", "error", "not_applicable")
    return {
        "counts_by_status": dg.MetadataValue.json(run.counts_by_status()),
        "counts_by_check": dg.MetadataValue.md(
            markdown_table(
                ("check", *statuses),
                [(c, *(by_check[c].get(s, 0) for s in statuses)) for c in checks],
            )
        ),
        "bytes_downloaded": run.bytes_downloaded,
        "artifact_bytes": run.artifact_bytes,
        "downloaded_share": dg.MetadataValue.float(
            round(run.bytes_downloaded / run.artifact_bytes, 6) if run.artifact_bytes else 0.0
        ),
        "files_downloaded": run.files_downloaded,
        "files_hashed": run.files_hashed,
        "attestation_lookups": run.attestation_lookups,
        "releases_verified": run.releases,
        "older_releases_not_reverified": run.older_releases_kept,
        "cache_hits": run.cache_hits,
        "cache_entries_written": run.cache_written,
        "requests": stats["requests"],
        "not_modified_304": stats["not_modified"],
        "rate_limit_points": stats["rate_limit_points"],
        "repositories_not_verified": dg.MetadataValue.md(
            markdown_table(("repository", "reason"), sorted(run.errors.items()))
            if run.errors
            else "none"
        ),
    }


def _no_failures(run: VerificationRun) -> dg.AssetCheckResult:
    failures = run.failures()
    releases = sorted({f"{f.result.repo}@{f.result.tag}" for f in failures})
    return dg.AssetCheckResult(
        check_name=NO_FAILURES,
        asset_key="release_verification",
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "failed_checks": len(failures),
            "failing_releases": dg.MetadataValue.json(releases),
            # full reasons (the markdown table below cuts cells at 80 characters)
            "reasons": dg.MetadataValue.json(
                [
                    {
                        "release": f"{f.result.repo}@{f.result.tag}",
                        "artifact": f.result.artifact_name,
                        "check": f.result.check,
                        "reason": f.result.reason,
                    }
                    for f in failures[:200]
                ]
            ),
            "failures": dg.MetadataValue.md(
                markdown_table(
                    ("repository", "tag", "artifact", "check", "reason"),
                    [
                        (
                            f.result.repo,
                            f.result.tag,
                            f.result.artifact_name,
                            f.result.check,
                            f.result.reason,
                        )
                        for f in failures[:50]
                    ],
                )
                if failures
                else "none"
            ),
        },
    )


def _signed_verify(run: VerificationRun) -> dg.AssetCheckResult:
    unverified = run.signed_but_unverified()
    return dg.AssetCheckResult(
        check_name=SIGNED_VERIFY,
        asset_key="release_verification",
        passed=not unverified,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "releases_without_a_verified_signature": len(unverified),
            "failing_releases": dg.MetadataValue.json([f"{r}@{t}" for r, t, _ in unverified]),
            "details": dg.MetadataValue.md(
                markdown_table(
                    ("repository", "tag", "signature files"),
                    [(r, t, ", ".join(files)) for r, t, files in unverified[:50]],
                )
                if unverified
                else "none"
            ),
        },
    )
