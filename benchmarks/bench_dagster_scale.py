"""End to end through Dagster at scale: `release-assets refresh` on a generated organisation.

The same code path a user runs (`release_assets.cli.main(["refresh", "--config", ...])`):
discovery, one `repository_refresh` run over every repository partition, then the organisation
reports, each a run of the `release_assets` code location in its own process (the CLI starts a
code server and launches them), against the local GitHub server (in its own process). Run twice:
a full refresh into an empty instance and DuckDB file, then the unchanged re-run. Prints wall
time, the CLI process's peak RSS (the runs' own processes are not in it), the server's request
counts, and each Dagster run's and step's duration (verification's step apart from the rest).

    .venv/bin/python benchmarks/bench_dagster_scale.py           # 50 × 50 × 10, the whole graph
    .venv/bin/python benchmarks/bench_dagster_scale.py --full    # 2,000 × 50 × 10 (target: < 10 min)
"""

from __future__ import annotations

import argparse
import json
import os
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

TARGET_SECONDS = 600


def cli_refresh(*, url: str, work: str, log: str, warmup: bool = False) -> dict[str, Any]:
    """`release-assets refresh --config …` in this process, its output to `log`."""
    home = Path(work) / "dagster_home"
    os.environ.update({
        "DAGSTER_HOME": str(home), "RELEASE_ASSETS_DB": str(Path(work) / "release_assets.duckdb"),
        "RELEASE_ASSETS_REPORTS": str(Path(work) / "reports"), "GITHUB_API_URL": url,
        "GITHUB_TOKEN": TOKEN, "RELEASE_ASSETS_CONFIG": str(Path(work) / "config.yaml"),
    })
    from release_assets import cli

    if warmup:
        import release_assets.definitions  # noqa: F401  (Dagster and every asset module)

        return {}
    config = Path(work) / "config.yaml"
    config.write_text(f"orgs: [{ORG}]\n")
    import contextlib

    with open(log, "a") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(["refresh", "--config", str(config)])
    return {"outcome": "ok" if code == 0 else f"exit {code}", "exit": code}


def run_details(work: str) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """(job, seconds, [(step, seconds)]) of every run in the instance, oldest first."""
    os.environ["DAGSTER_HOME"] = str(Path(work) / "dagster_home")
    import dagster as dg

    out = []
    with dg.DagsterInstance.get() as instance:
        for record in reversed(instance.get_run_records()):
            run = record.dagster_run
            stats = instance.get_run_stats(run.run_id)
            seconds = (stats.end_time or 0) - (stats.start_time or 0)
            steps = [(s.step_key, (s.end_time or 0) - (s.start_time or 0))
                     for s in instance.get_run_step_stats(run.run_id)]
            out.append((run.job_name, seconds, sorted(steps, key=lambda s: -s[1])))
    return out


def summary_lines(log: str) -> list[str]:
    lines = Path(log).read_text().splitlines()
    return [line for line in lines if line.startswith(("Repositories:", "Run failed", "Checks failed",
                                                       "  failed:"))][-4:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="2,000 repositories (the issue's size)")
    parser.add_argument("--repos", type=int, help="repositories (default 50, or 2,000 with --full)")
    parser.add_argument("--releases", type=int, default=50)
    parser.add_argument("--artifacts", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    spec = OrgSpec(args.repos or (2000 if args.full else 50), args.releases, args.artifacts)
    floor = request_floor(spec)
    print("# Dagster end-to-end benchmark: `release-assets refresh`")
    print(f"machine: {machine()}")
    print(f"organisation: {spec.label} (repositories × releases × artifacts), "
          f"{spec.repos * spec.releases:,} releases, {spec.repos * spec.releases * spec.artifacts:,} "
          f"artifacts; request floor {floor:,}")
    print("graph: the whole code location, as `release-assets refresh` runs it")
    runs: list[Measurement] = []
    details: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="bench-dagster-") as work:
        with ServerProcess(spec) as server:
            print(f"server: generated in {server.build_seconds:.1f} s, own process, {server.url}")
            for i, name in enumerate(("full refresh (empty instance and DuckDB)", "unchanged re-run")):
                log = str(Path(work) / f"refresh-{i}.log")
                m = run_isolated(server, name, cli_refresh, url=server.url, work=work, log=log)
                runs.append(m)
                print(f"  {name}: {m.seconds:.1f} s, {m.api_requests:,} API requests, "
                      f"{m.downloads:,} downloads, "
                      f"{m.not_modified:,} × 304 — {' / '.join(summary_lines(log)) or m.outcome}")
                print(f"    server requests by route: {m.by_route}")
        details = run_details(work)
        size = (Path(work) / "release_assets.duckdb").stat().st_size
    print()
    print(table(
        ("run", "wall", "target", "API requests", "× floor", "304s", "rate-limit points",
         "downloads", "bytes", "peak RSS (Δ over imports)", "outcome"),
        [(m.name, f"{m.seconds:.1f} s", f"< {TARGET_SECONDS} s", f"{m.api_requests:,}",
          f"{m.api_requests / floor:.2f}×", f"{m.not_modified:,}", f"{m.points:,}",
          f"{m.downloads:,}", mb(m.bytes),
          f"{m.peak_rss_mb:,.0f} MB (+{m.peak_rss_mb - m.rss_before_mb:,.0f})", m.outcome)
         for m in runs],
    ))
    print(f"\nDuckDB file after both runs: {mb(size)}")
    print("\nDagster runs (from the instance; steps slowest first):")
    for job, seconds, steps in details:
        top = ", ".join(f"{step} {s:.1f} s" for step, s in steps[:4])
        print(f"  {job:<24} {seconds:7.1f} s   {top}")
    verdict = runs[0].seconds < TARGET_SECONDS and runs[0].outcome == "ok"
    print(f"\nfull refresh under {TARGET_SECONDS // 60} minutes: {'yes' if verdict else 'NO'} "
          f"({runs[0].seconds / 60:.1f} min)")
    if args.json:
        args.json.write_text(json.dumps({"spec": spec.label, "floor": floor,
                                         "runs": [m.__dict__ for m in runs],
                                         "dagster_runs": details}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
