"""Refresh many repositories: fetch concurrently (no database held), write in short batches.

A repository that fails is recorded with its reason and leaves its stored data untouched; the
others go on. Each repository's requests run under the client's per-repository deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import duckdb

from release_assets.lib import storage
from release_assets.lib.github_client import GitHubClient, GitHubError
from release_assets.lib.ingest.fetch import Completer, FetchedReleases, fetch_releases
from release_assets.lib.ingest.write import RepoRefresh, Written, record_fetches, write_batch

# A connection factory: `DuckDBResource.get_connection` in Dagster, `storage.connect(path)` here.
Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
# A batch is also written once it holds this many releases (bounded memory for huge repositories).
MAX_BATCH_RELEASES = 20_000


def connector(db: str | Path | Connect, *, path: str | Path | None = None) -> Connect:
    """Short-lived connections to `db` (a path, or a factory for the file at `path`), with the
    file's folder and the schema in place."""
    if isinstance(db, (str, Path)):
        file = db
        return lambda: storage.connect(file)
    if path is not None and str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    factory = db

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        with factory() as con:
            storage.ensure_schema(con)
            yield con

    return connect


def refresh_repositories(
    client: GitHubClient,
    db: str | Path | Connect,
    repos: Sequence[str],
    *,
    run_id: str | None = None,
    concurrency: int = 8,
    observed_at: datetime | None = None,
    on_result: Callable[[RepoRefresh], None] | None = None,
    complete_beyond_ceiling: Completer | None = None,
    batch_size: int = 50,
) -> list[RepoRefresh]:
    """Refresh `repos` into `db`; one `repository_fetches` row each, in `repos`' finishing order."""
    observed_at = observed_at or datetime.now(UTC)
    connect = connector(db)
    identity = client.token_identity
    with connect() as con:
        validators = storage.load_validators(con, identity, client.api_base_path)

    Outcome = tuple[str, FetchedReleases | GitHubError, dict[str, int]]

    def fetch(repo: str) -> Outcome:
        with client.tally() as counts, client.deadline(
            client.repository_deadline_seconds, f"repository {repo}"
        ):
            try:
                outcome: FetchedReleases | GitHubError = fetch_releases(
                    client, repo, validators, complete_beyond_ceiling=complete_beyond_ceiling
                )
            except GitHubError as exc:
                outcome = exc
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # an answer in a shape nobody expected (a hostile GraphQL node): this repository only
                outcome = GitHubError(f"unexpected answer from GitHub: {type(exc).__name__}: "
                                      f"{str(exc)[:200]}")
        return repo, outcome, counts

    results: list[RepoRefresh] = []
    pending: list[Outcome] = []

    def stored(result: RepoRefresh, fetched: FetchedReleases, written: Written) -> None:
        result.releases, result.artifacts, result.snapshots = (
            written.releases, written.artifacts, written.snapshots)
        result.problems = written.problems
        result.status = "ok" if fetched.changed else "not_modified"
        result.truncated = fetched.truncated
        result.completed_via = fetched.completed_via

    def flush() -> None:
        if not pending:
            return
        batch = [o for _, o, _ in pending if isinstance(o, FetchedReleases)]
        written: dict[str, Written] | None = None
        with connect() as con:
            if batch:
                try:
                    written = write_batch(con, batch, identity=identity, observed_at=observed_at)
                except (duckdb.Error, KeyError, TypeError, ValueError, OverflowError):
                    written = None  # one bad repository must not fail the others: one by one
            outcomes: list[RepoRefresh] = []
            for repo, outcome, counts in pending:
                result = RepoRefresh(
                    repo=repo, status="failed", requests=counts["requests"],
                    not_modified=counts["not_modified"],
                    rate_limit_points=counts["rate_limit_points"],
                )
                if isinstance(outcome, GitHubError):
                    result.error = str(outcome)
                elif written is not None:
                    stored(result, outcome, written[repo])
                else:
                    try:
                        stored(result, outcome, write_batch(
                            con, [outcome], identity=identity, observed_at=observed_at)[repo])
                    except (duckdb.Error, KeyError, TypeError, ValueError, OverflowError) as exc:
                        result.error = f"could not store the releases: {type(exc).__name__}: {exc}"
                outcomes.append(result)
            record_fetches(con, outcomes, run_id)
        for result in outcomes:
            results.append(result)
            if on_result is not None:
                on_result(result)
        pending.clear()

    # Bounded memory: only a window of repositories is fetched ahead of the writer, so a slow
    # disk makes the fetchers wait instead of piling every response up in memory. Pages are
    # also flushed by size, so a batch of 1,500-release repositories stays small.
    window = max(1, concurrency) * 2 + batch_size
    queue = iter(repos)
    pending_releases = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        running = {pool.submit(fetch, repo) for repo in islice(queue, window)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                repo, outcome, counts = future.result()
                pending.append((repo, outcome, counts))
                if isinstance(outcome, FetchedReleases):
                    pending_releases += sum(len(p.items or ()) for p in outcome.pages)
                    pending_releases += len(outcome.extra_releases)
                next_repo = next(queue, None)
                if next_repo is not None:
                    running.add(pool.submit(fetch, next_repo))
            if len(pending) >= batch_size or pending_releases >= MAX_BATCH_RELEASES:
                flush()
                pending_releases = 0
    flush()
    return results
