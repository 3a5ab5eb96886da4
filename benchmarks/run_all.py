"""Every benchmark, one after another (what `make bench` runs).

Small sizes by default (a few minutes); `--full` for the sizes in the issue (ingestion up to
2,000 × 50 × 10 with the original approach beside it, Dagster end to end at 2,000 × 50 × 10,
analytics over 1,000,000 releases). Each benchmark runs in its own process and prints its own
tables; this prints them through, then one line per benchmark: exit code and duration.
Benchmarks that are not present (built by other work streams) are listed as skipped.

    .venv/bin/python benchmarks/run_all.py [--full] [--only ingestion dagster ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (script, arguments for the small run, arguments for --full); None: not in that mode.
BENCHMARKS: dict[str, tuple[str, list[str] | None, list[str] | None]] = {
    "ingestion": ("bench_ingestion.py", [], ["--full"]),
    # The target: 2,000 × 50 × 10 through Dagster, the whole graph, in < 10 min.
    "dagster": ("bench_dagster_scale.py", [], ["--full"]),
    "analytics": ("bench_analytics.py", [], ["--releases", "1000000", "--repos", "10000",
                                               "--snapshots", "10000000"]),
    "verification": ("bench_verification.py", [], []),
    "sensors": ("bench_sensors.py", ["--repos", "50", "200"], []),
    # Issue 14: each fault's wall time, requests, retries and repositories ok/failed.
    "faults": ("bench_faults.py", [], []),
    # Issue 17: change volume (git bytes) and release events at 500 repositories, first and re-run.
    "history": ("bench_history.py", ["--releases", "5"], ["--releases", "20"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (about an hour)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--out", type=Path, help="also save each benchmark's output here")
    args = parser.parse_args(argv)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    summary: list[str] = []
    failed = False
    for name, (script, small, full) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        arguments = full if args.full else small
        if arguments is None:
            continue
        path = HERE / script
        if not path.exists():
            summary.append(f"{name:<13} skipped: {script} not present")
            continue
        command = [sys.executable, str(path), *arguments]
        print(f"\n{'=' * 100}\n$ {' '.join([Path(sys.executable).name, f'benchmarks/{script}', *command[2:]])}",
              flush=True)
        started = time.perf_counter()
        output: list[str] = []
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=HERE.parent) as process:
            assert process.stdout is not None
            for line in process.stdout:  # streamed, so long runs show progress
                print(line, end="", flush=True)
                output.append(line)
        seconds = time.perf_counter() - started
        if args.out:
            (args.out / f"{name}.txt").write_text("".join(output))
        failed |= process.returncode != 0
        summary.append(f"{name:<13} exit {process.returncode}  {seconds:8.1f} s  "
                       f"({script} {' '.join(command[2:])})")
    print(f"\n{'=' * 100}\nSummary")
    for line in summary:
        print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
