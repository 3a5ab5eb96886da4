"""Ingestion: repositories, releases, artifacts and the download-count history, from GitHub."""


from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.defs.metadata import markdown_table, table_metadata
from release_assets.defs.partitions import repository_partitions, single_run
from release_assets.defs.progress import RepositoryProgress
from release_assets.defs.resources import GitHubResource, ReleaseAssetsConfig
from release_assets.lib.discovery import active_repositories, refresh_repository_list
from release_assets.lib.graphql_releases import complete_with_graphql
from release_assets.lib.ingest import RepoRefresh, connector, refresh_repositories


@dg.asset(group_name="github", pool="duckdb", kinds={"duckdb", "github"})
def repositories(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    github: GitHubResource,
    release_config: ReleaseAssetsConfig,
) -> dg.MaterializeResult:
    """Every repository the config names or its orgs list, with fork/archived flags and tracking status."""
    client = github.client()
    connect = connector(duckdb.get_connection, path=duckdb.database)
    found = refresh_repository_list(
        client, connect, release_config.load(), run_id=context.run_id
    )
    with connect() as con:
        active = active_repositories(con)
        metadata = table_metadata(
            con, "repositories",
            preview_columns=("repo", "status", "status_reason", "archived", "fork"),
            order_by="status, repo", preview_rows=20,
        )
    known = set(context.instance.get_dynamic_partitions(repository_partitions.name))
    new = [repo for repo in active if repo not in known]
    if new:
        context.instance.add_dynamic_partitions(repository_partitions.name, new)
    stats = client.stats.snapshot()
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "active_repositories": len(active),
            "new_partitions": len(new),
            "lookup_errors": dg.MetadataValue.md(
                markdown_table(("source", "error"), sorted(found.errors.items())) if found.errors
                else "none"
            ),
            "skipped_entries": dg.MetadataValue.md(
                "\n".join(f"- {p}" for p in found.problems[:20]) if found.problems else "none"
            ),
            "requests": stats["requests"],
            "not_modified_304": stats["not_modified"],
            "rate_limit_points": stats["rate_limit_points"],
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "releases", group_name="github", deps=["repositories"], kinds={"duckdb"},
            description="Every release of each repository, drafts flagged, with the version read from its tag.",
        ),
        dg.AssetSpec(
            "release_artifacts", group_name="github", deps=["releases"], kinds={"duckdb"},
            description="Every file attached to a release, with GitHub's digest, download count and its kind, OS, architecture and package type.",
        ),
        dg.AssetSpec(
            "download_snapshots", group_name="github", deps=["release_artifacts"], kinds={"duckdb"},
            description="Append-only history of each artifact's download count, one observation per artifact per day.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "every_repository_fetched", asset="releases",
            description="Every repository in the run was read from GitHub; failures are listed with their reason.",
        )
    ],
    partitions_def=repository_partitions,
    backfill_policy=single_run,
    pool="duckdb",
)
def github_releases(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, github: GitHubResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    repos = list(context.partition_keys)
    client = github.client()

    progress = RepositoryProgress(context.log, len(repos))

    def on_result(result: RepoRefresh) -> None:
        failure = f"failed ({result.error})" if result.status == "failed" else None
        progress(result.repo, failure, f"{result.status}, {result.releases} releases")

    connect = connector(duckdb.get_connection, path=duckdb.database)
    results = refresh_repositories(
        client, connect, repos, run_id=context.run_id, on_result=on_result,
        concurrency=github.concurrency, complete_beyond_ceiling=complete_with_graphql,
    )
    failed = [r for r in results if r.status == "failed"]
    stats = client.stats.snapshot()
    cost = {
        "requests": stats["requests"],
        "not_modified_304": stats["not_modified"],
        "rate_limit_points": stats["rate_limit_points"],
        "repositories_failed": len(failed),
        "repositories_truncated": sum(r.truncated for r in results),
        "repositories_with_problems": sum(r.problems is not None for r in results),
    }
    with connect() as con:
        yield dg.MaterializeResult(
            asset_key="releases",
            metadata={
                **cost,
                **table_metadata(
                    con, "releases", repos=repos, live_only=True,
                    preview_columns=("repo", "tag", "published_at", "draft", "prerelease", "downloads"),
                    order_by="repo, list_position",
                ),
            },
        )
        yield dg.MaterializeResult(
            asset_key="release_artifacts",
            metadata=table_metadata(
                con, "release_artifacts", repos=repos, live_only=True,
                preview_columns=("repo", "tag", "name", "kind", "os", "arch", "download_count"),
                order_by="download_count DESC",
            ),
        )
        yield dg.MaterializeResult(
            asset_key="download_snapshots",
            metadata={
                "snapshots_added": sum(r.snapshots for r in results),
                **table_metadata(
                    con, "download_snapshots", repos=repos,
                    preview_columns=("repo", "tag", "name", "observed_on", "download_count"),
                    order_by="observed_at DESC, download_count DESC",
                ),
            },
        )
    yield dg.AssetCheckResult(
        check_name="every_repository_fetched",
        asset_key="releases",
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "repositories": len(results),
            "failed": len(failed),
            "failures": dg.MetadataValue.md(
                markdown_table(("repository", "reason"), [(r.repo, r.error) for r in failed])
                if failed else "none"
            ),
            "skipped_or_flagged": dg.MetadataValue.md(
                markdown_table(("repository", "what"),
                               [(r.repo, r.problems) for r in results if r.problems])
                if any(r.problems for r in results) else "none"
            ),
        },
    )
