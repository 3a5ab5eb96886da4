"""The fault matrix: how a refresh fares when the GitHub API misbehaves, against a clean run.

One generated organisation (20 repositories × 10 releases × 4 artifacts) on the local server in
its own process. For each fault (`GitHubServer.inject`, see release_assets_tests/github_server),
the real ingestion path (what the `repositories` and `github_releases` assets call, as in
bench_ingestion.py: `refresh_repository_list`, then `refresh_repositories`) refreshes the org into
a fresh DuckDB file. Printed per fault: wall time and its ratio to the clean run, requests the
server counted, retries the client made, repositories ok / failed, and the first failure.

Transient faults hit one repository once (or twice); persistent ones every time until cleared.
The client is the production `GitHubClient` with its defaults, except a 10 s per-repository
deadline (300 s by default) so that the trickle finishes in seconds.

    .venv/bin/python benchmarks/bench_faults.py [--repos 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ORG, TOKEN, OrgSpec, ServerProcess, machine, table  # noqa: E402

REPOSITORY_DEADLINE_SECONDS = 10.0


def scenarios(target: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(fault, where, `inject` arguments); `target` is the one repository most faults hit."""
    once, always = {"repo": target, "times": 1}, {"repo": target, "times": None}
    return [
        ("clean run", "-", {}),
        ("HTTP 500, once", target, {**once, "status": 500}),
        ("HTML 502 page, twice", target, {**always, "kind": "html_502", "times": 2}),
        ("HTML 502 page, always", target, {**always, "kind": "html_502"}),
        ("body closed early, once", target, {**once, "kind": "close_early"}),
        ("body closed early, always", target, {**always, "kind": "close_early"}),
        ("trickle 1 byte/s", target, {**always, "kind": "trickle", "trickle": 1.0}),
        ("secondary limit, Retry-After 1", target, {**once, "kind": "secondary_rate_limit"}),
        ("primary limit exhausted", target, {**always, "kind": "rate_limit_exhausted"}),
        ("401 bad credentials", "every request", {"kind": "bad_credentials", "times": None}),
        ("org 404", f"org {ORG}", {"org": ORG, "kind": "not_found", "times": None}),
        ("org entry without full_name", f"org {ORG}",
         {"org": ORG, "kind": "entry_without_full_name", "times": None}),
        ("non-object list item", target, {**always, "kind": "non_object_item"}),
        ("release without id", target, {**always, "kind": "release_without_id"}),
        ("release id 2**64", target, {**always, "kind": "huge_id"}),
        ('"draft": "false"', target, {**always, "kind": "draft_string"}),
        ("download_count 2**64", target, {**always, "kind": "huge_count"}),
        ("download_count 1e300", target, {**always, "kind": "float_count"}),
        ("download_count -5", target, {**always, "kind": "negative_download_count"}),
    ]


def refresh(url: str, db: str) -> dict[str, Any]:
    """Discovery, then every active repository: what the ingestion assets run."""
    from release_assets.lib import storage
    from release_assets.lib.config import Config
    from release_assets.lib.discovery import active_repositories, refresh_repository_list
    from release_assets.lib.github_client import GitHubClient
    from release_assets.lib.graphql_releases import complete_with_graphql
    from release_assets.lib.ingest import refresh_repositories

    client = GitHubClient(url, TOKEN, repository_deadline_seconds=REPOSITORY_DEADLINE_SECONDS)
    problems: list[str] = []
    try:
        found = refresh_repository_list(client, db, Config(orgs=(ORG,)))
        problems += [f"discovery: {e}" for e in found.errors.values()]
        problems += [f"discovery: {p}" for p in found.problems]
        with storage.connect(db) as con:
            active = active_repositories(con)
        results = refresh_repositories(client, db, active,
                                       complete_beyond_ceiling=complete_with_graphql)
    except Exception as exc:  # the matrix shows a crash of the whole step as such
        return {"ok": 0, "failed": "-", "retries": client.stats.snapshot()["retries"],
                "note": f"step crashed: {type(exc).__name__}: {exc}"}
    failed = [r for r in results if r.status == "failed"]
    flagged = [r for r in results if r.status != "failed" and r.problems]
    problems += [f"{r.repo}: {r.error}" for r in failed]
    problems += [f"{r.repo} (stored, flagged): {r.problems}" for r in flagged]
    return {"ok": len(results) - len(failed), "failed": len(failed),
            "retries": client.stats.snapshot()["retries"], "note": problems[0] if problems else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20)
    args = parser.parse_args(argv)
    spec = OrgSpec(args.repos, 10, 4)
    print(f"machine: {machine()}")
    print(f"organisation: {spec.label}; per-repository deadline {REPOSITORY_DEADLINE_SECONDS:.0f} s")
    rows: list[tuple[Any, ...]] = []
    clean_seconds = 0.0
    with ServerProcess(spec) as server, tempfile.TemporaryDirectory() as tmp:
        target = server.repos[0]
        refresh(server.url, str(Path(tmp) / "warm-up.duckdb"))  # first-run costs out of the clean time
        for number, (name, where, fault) in enumerate(scenarios(target)):
            server.clear_faults()
            if fault:
                server.inject(**fault)
            server.reset()
            started = time.perf_counter()
            outcome = refresh(server.url, str(Path(tmp) / f"run-{number}.duckdb"))
            seconds = time.perf_counter() - started
            clean_seconds = clean_seconds or seconds
            note = str(outcome["note"]).replace("|", "/").replace("\n", " ")
            rows.append((name, where, f"{seconds:.2f} s", f"{seconds / clean_seconds:.1f}×",
                         server.stats()["requests"], outcome["retries"], outcome["ok"],
                         outcome["failed"], note if len(note) <= 90 else note[:89] + "…"))
            print(f"  {name}: {seconds:.2f} s", flush=True)
        server.clear_faults()
    print()
    print(table(("fault", "where", "wall", "× clean", "requests", "retries", "repos ok",
                 "failed", "first failure or flag"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
