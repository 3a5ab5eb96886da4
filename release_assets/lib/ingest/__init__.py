"""Ingestion from GitHub into DuckDB, in three stages: `fetch` (GitHub pages → payloads),
`rows` (the one JSON → row mapping, validating at the boundary) and `write` (DuckDB);
`refresh` runs them for many repositories."""

from release_assets.lib.ingest.fetch import FetchedReleases, fetch_releases
from release_assets.lib.ingest.refresh import Connect, connector, refresh_repositories
from release_assets.lib.ingest.write import RepoRefresh, Written, store_releases, write_batch

__all__ = [
    "Connect",
    "FetchedReleases",
    "RepoRefresh",
    "Written",
    "connector",
    "fetch_releases",
    "refresh_repositories",
    "store_releases",
    "write_batch",
]
