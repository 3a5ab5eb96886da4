"""Verification: checksums, sigstore signatures and attestations, SBOMs and docs of each release."""

from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.defs.metadata import Metadata, markdown_table, table_metadata
from release_assets.defs.partitions import repository_partitions, single_run
from release_assets.defs.progress import RepositoryProgress
from release_assets.defs.resources import GitHubResource, ReleaseAssetsConfig
from release_assets.lib.ingest.refresh import connector
from release_assets.lib.verification.results import STATUSES
from release_assets.lib.verification.run import VerificationRun, verify_repositories
from release_assets.lib.verification.store import StoredResult

NO_FAILURES = "verification_has_no_failures"
NO_UNVERIFIABLE = "verification_has_no_unverifiable"
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
            NO_UNVERIFIABLE,
            asset="release_verification",
            description="Every checksum, signature and attestation could be judged. A warning: "
            "an unverifiable one (npm intoto provenance, GitHub's private Sigstore, a key-based "
            "or GPG signature, a file above the hashing cap) may be valid; each reason is listed.",
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
    """One row per (artifact, check): checksums, sigstore signatures and attestations bound to
    the repository, SBOMs and docs, judged passed, failed, unverifiable, not_applicable or error."""
    repos = list(context.partition_keys)
    client = github.client()
    settings = release_config.load().verification

    progress = RepositoryProgress(context.log, len(repos))

    def on_repo(repo: str, rows: list[StoredResult], error: str | None) -> None:
        progress(repo, f"not verified ({error})" if error else None, f"{len(rows)} rows")

    connect = connector(duckdb.get_connection, path=duckdb.database)
    run = verify_repositories(
        connect,
        client,
        settings,
        repos,
        concurrency=github.concurrency,
        on_repo=on_repo,
    )
    stats = client.stats.snapshot()
    with connect() as con:
        metadata = table_metadata(
            con,
            "release_verification",
            repos=repos,
            preview_columns=("repo", "tag", "artifact_name", '"check"', "status", "reason"),
            order_by="CASE status WHEN 'failed' THEN 0 WHEN 'error' THEN 1 "
            "WHEN 'unverifiable' THEN 2 ELSE 3 END, repo, tag",
            preview_rows=15,
        )
    yield dg.MaterializeResult(metadata={**metadata, **_run_metadata(run, stats)})
    yield _no_failures(run)
    yield _no_unverifiable(run)
    yield _signed_verify(run)


def _run_metadata(run: VerificationRun, stats: dict[str, int]) -> Metadata:
    by_check = run.counts_by_check()
    checks = sorted(by_check)
    statuses = STATUSES
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
    return dg.AssetCheckResult(
        check_name=NO_FAILURES,
        asset_key="release_verification",
        passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "failed_checks": len(failures),
            "unverifiable_checks": len(run.unverifiable()),  # not failures: see the warning
            **_listing(failures, releases_key="failing_releases", table_key="failures"),
        },
    )


def _no_unverifiable(run: VerificationRun) -> dg.AssetCheckResult:
    unverifiable = run.unverifiable()
    return dg.AssetCheckResult(
        check_name=NO_UNVERIFIABLE,
        asset_key="release_verification",
        passed=not unverifiable,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unverifiable_checks": len(unverifiable),
            **_listing(unverifiable, releases_key="releases", table_key="unverifiable"),
        },
    )


def _listing(
    rows: list[StoredResult], *, releases_key: str, table_key: str
) -> dict[str, dg.MetadataValue]:
    """The releases, every row's reason in full (JSON), and the first 50 as a table."""
    results = [r.result for r in rows]
    return {
        releases_key: dg.MetadataValue.json(sorted({f"{r.repo}@{r.tag}" for r in results})),
        # full reasons (the markdown table cuts cells at 80 characters)
        "reasons": dg.MetadataValue.json(
            [
                {
                    "release": f"{r.repo}@{r.tag}",
                    "artifact": r.artifact_name,
                    "check": r.check,
                    "reason": r.reason,
                }
                for r in results[:200]
            ]
        ),
        table_key: dg.MetadataValue.md(
            markdown_table(
                ("repository", "tag", "artifact", "check", "reason"),
                [(r.repo, r.tag, r.artifact_name, r.check, r.reason) for r in results[:50]],
            )
            if results
            else "none"
        ),
    }


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
