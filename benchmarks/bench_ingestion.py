"""Ingestion cost and speed: the project vs the original script's approach, same server, same run.

For each generated organisation (repositories × releases × artifacts, optionally repositories
past the 1,000-release REST ceiling, optionally with drafts and null bodies):

1. the project's full refresh (org listing + every release list, into a fresh DuckDB file),
2. the project's re-run on the unchanged org (conditional requests: 304s),
3. the project's re-run after 1 % of the repositories changed (a new download),
4. the original approach (`baseline.py`) over the same repositories,

each in a fresh process, with the requests, rate-limit points, 304s and bytes the server
counted, wall time, peak RSS, and the ratios to GitHub's request floor (1 per 100 repositories
listed + 1 per 100 releases per repository) and to the baseline.

    .venv/bin/python benchmarks/bench_ingestion.py            # small sizes (about a minute)
    .venv/bin/python benchmarks/bench_ingestion.py --full     # the issue's sizes
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    ORG,
    TOKEN,
    Measurement,
    OrgSpec,
    ServerProcess,
    machine,
    mb,
    request_floor,
    run_isolated,
    table,
)

SMALL = [
    OrgSpec(5, 50, 10),
    OrgSpec(50, 50, 10),
    OrgSpec(0, 0, 0, big_repos=1),
    OrgSpec(50, 50, 10, drafts_every=25, null_body_every=9),
]
FULL = [
    OrgSpec(5, 50, 10),
    OrgSpec(50, 50, 10),
    OrgSpec(200, 50, 10),
    OrgSpec(500, 50, 10),
    OrgSpec(2000, 50, 10),
    OrgSpec(0, 0, 0, big_repos=10),
    OrgSpec(500, 50, 10, drafts_every=25, null_body_every=9),
]


# -- the clients, each run in its own process -----------------------------------------------------
def project_refresh(*, url: str, db: str, warmup: bool = False) -> dict[str, Any]:
    """What `release-assets refresh` does below Dagster: discover, then refresh every repository."""
    from release_assets.lib import storage
    from release_assets.lib.config import Config
    from release_assets.lib.discovery import active_repositories, refresh_repository_list
    from release_assets.lib.github_client import GitHubClient
    from release_assets.lib.graphql_releases import complete_with_graphql
    from release_assets.lib.ingest import refresh_repositories

    if warmup:
        return {}
    client = GitHubClient(url, TOKEN)
    refresh_repository_list(client, db, Config(orgs=(ORG,)))
    with storage.connect(db) as con:
        active = active_repositories(con)
    results = refresh_repositories(
        client, db, active, complete_beyond_ceiling=complete_with_graphql
    )
    failed = [r for r in results if r.status == "failed"]
    return {
        "outcome": f"{len(failed)} failed: {failed[0].error}" if failed else "ok",
        "repositories": len(results),
        "releases": sum(r.releases for r in results),
        "artifacts": sum(r.artifacts for r in results),
        "snapshots": sum(r.snapshots for r in results),
        "truncated": sum(r.truncated for r in results),
        "completed_via_graphql": sum(r.completed_via == "graphql" for r in results),
        "client_requests": client.stats.requests,
    }


def baseline_refresh(*, url: str, repos: list[str], out: str, warmup: bool = False) -> dict[str, Any]:
    from baseline import run_baseline

    if warmup:
        return {}
    result = run_baseline(url, TOKEN, ORG, repos, Path(out))
    return {
        "outcome": f"crashed: {result.crashed}; wrote nothing" if result.crashed else "ok",
        "repositories": result.repos_done,
    }


# -- reporting ------------------------------------------------------------------------------------
def row(m: Measurement, floor: int) -> tuple[Any, ...]:
    return (
        m.name, f"{m.requests:,}", f"{m.requests / floor:.2f}×", f"{m.not_modified:,}",
        f"{100 * m.share_304:.1f} %", f"{m.points:,}", mb(m.bytes), f"{m.seconds:.1f} s",
        f"{m.peak_rss_mb:,.0f} MB (+{m.peak_rss_mb - m.rss_before_mb:,.0f})",
        m.outcome if len(m.outcome) < 60 else m.outcome[:57] + "…",
    )


HEADER = ("run", "requests", "× floor", "304s", "304 share", "rate-limit points", "bytes",
          "wall", "peak RSS (Δ over imports)", "outcome")


def bench(spec: OrgSpec, work: Path, *, baseline: bool, say: Any = print) -> dict[str, Any]:
    floor = request_floor(spec)
    say(f"\n## {spec.label} — floor {floor:,} requests "
        f"({sum(spec.release_counts()):,} releases)")
    with ServerProcess(spec) as server:
        say(f"  server: {len(server.repos)} repositories generated in {server.build_seconds:.1f} s "
            f"at {server.url} (own process)")
        db = str(work / f"project-{spec.repos}-{spec.big_repos}-{spec.drafts_every}.duckdb")
        runs = [run_isolated(server, "project: full refresh", project_refresh, url=server.url, db=db)]
        runs.append(run_isolated(server, "project: unchanged re-run", project_refresh,
                                 url=server.url, db=db))
        changed = server.change(server.repos[::100])  # 1 % (at least one repository)
        runs.append(run_isolated(
            server, f"project: re-run, {len(changed)} changed ({100 * len(changed) / len(server.repos):.0f} %)",
            project_refresh, url=server.url, db=db))
        if baseline:
            runs.append(run_isolated(server, "original approach (baseline)", baseline_refresh,
                                     url=server.url, repos=server.repos, out=str(work / "baseline")))
    say(table(HEADER, [row(m, floor) for m in runs]))
    full = runs[0]
    say(f"  project stored: {full.extra.get('repositories')} repositories, "
        f"{full.extra.get('releases'):,} releases, {full.extra.get('artifacts'):,} artifacts, "
        f"{full.extra.get('snapshots'):,} snapshots; truncated by REST {full.extra.get('truncated')}, "
        f"completed via GraphQL {full.extra.get('completed_via_graphql')}")
    result: dict[str, Any] = {"spec": spec.label, "floor": floor,
                              "runs": [m.__dict__ for m in runs]}
    if baseline:
        base = runs[-1]
        if base.outcome == "ok":
            say(f"  baseline / project (full refresh): requests {base.requests / full.requests:.1f}×, "
                f"rate-limit points {base.points / max(1, full.points):.1f}×, "
                f"bytes {base.bytes / max(1, full.bytes):.1f}×, "
                f"wall {base.seconds / max(1e-9, full.seconds):.1f}× "
                f"(baseline without PyGithub's default 0.25 s pacing; with it, at least "
                f"{base.requests * 0.25 / 60:,.0f} min)")
            say(f"  baseline requests by route: {base.by_route}")
        else:
            say(f"  baseline {base.outcome} after {base.requests:,} requests")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (about 20 minutes)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the original approach")
    parser.add_argument("--only", type=int, action="append", metavar="N",
                        help="only the organisations with N repositories (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    specs = FULL if args.full else SMALL
    if args.only:
        specs = [s for s in specs if s.repos in args.only or s.big_repos in args.only]
    print("# Ingestion benchmark")
    print(f"machine: {machine()}")
    print("server: release_assets_tests.github_server.GitHubServer in its own process; every client "
          "in a fresh process; counts are the server's")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as tmp:
        work = Path(tmp)
        if (faithful := check_baseline(work)) is not None:
            print(faithful)
        for spec in specs:
            results.append(bench(spec, work, baseline=not args.no_baseline))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def check_baseline(work: Path) -> str | None:
    """The baseline's requests against the original script's own, on a small org."""
    from baseline import check_faithful

    with ServerProcess(OrgSpec(3, 40, 7)) as server:
        found = check_faithful(server.url, TOKEN, ORG, server.repos, work / "faithful", server.log)
    if found is None:
        return "baseline faithfulness: original script not found, not checked"
    same, original, ours = found
    return (f"baseline faithfulness (3 × 40 × 7): the original script made {original} requests, "
            f"the baseline {ours}; identical sequence (method, route, path): {same}")


if __name__ == "__main__":
    sys.exit(main())
