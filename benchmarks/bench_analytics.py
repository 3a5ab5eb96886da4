"""Cadence, quality and download trends over 100,000 releases (`--full` in run_all: 1,000,000
releases and 10,000,000 snapshots).

Generates the ingestion tables directly in a temporary DuckDB file (SQL `range()`, no GitHub),
then times each analytics step as the assets run it, and the original script's approach for
comparison: its per-release Python loop for the quality rules (one `any(...)` per check over
each release's artifacts). Run: `python benchmarks/bench_analytics.py [--releases N]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from release_assets.lib import analytics, storage
from release_assets.lib.dashboard import write_reports

T = TypeVar("T")
NAMES = ["tool_linux_amd64.tar.gz", "tool_darwin_arm64.zip", "tool_windows_amd64.exe",
         "checksums.txt", "checksums.txt.sig", "tool.spdx.json", "tool_1.0_amd64.deb",
         "tool.intoto.jsonl", "tool-1.0-1.x86_64.rpm", "README.md"]


def generate(db: Path, releases: int, repos: int, artifacts: int, days: int,
             snapshots: int = 1_000_000) -> None:
    names = "[" + ", ".join(f"'{n}'" for n in NAMES) + "]"
    with storage.connect(db) as con:
        con.execute(f"""
            INSERT INTO releases (release_id, repo, tag, name, body, draft, prerelease, created_at,
                published_at, html_url, author, list_position, version, version_major,
                version_minor, version_patch, version_prerelease, artifact_count, downloads,
                deleted_at, fetched_at)
            SELECT i AS release_id, 'org/repo' || (i % {repos}) AS repo,
                   'v' || (i // {repos} // 100) || '.' || (i // {repos} % 100) || '.' || (i % 7) AS tag,
                   NULL, CASE WHEN i % 3 = 0 THEN '## Changes' WHEN i % 11 = 0 THEN NULL
                              ELSE 'fixes' END,
                   i % 97 = 0, i % 13 = 0, now(),
                   CASE WHEN i % 97 = 0 THEN NULL
                        ELSE TIMESTAMPTZ '2015-01-01' + to_seconds((i * 3000)::BIGINT) END,
                   NULL, NULL, -(i // {repos})::INTEGER,
                   NULL, (i // {repos} // 100)::INTEGER, (i // {repos} % 100)::INTEGER,
                   (i % 7)::INTEGER, NULL, {artifacts}, 0, NULL, now()
            FROM range({releases}) t(i)
        """)
        con.execute(f"""
            INSERT INTO release_artifacts (artifact_id, release_id, repo, tag, name, label, state,
                size, content_type, digest, download_count, browser_download_url, created_at,
                updated_at, kind, os, arch, package_type, deleted_at, fetched_at)
            SELECT r.release_id * 16 + k, r.release_id, r.repo, r.tag,
                   {names}[(r.release_id + k) % {len(NAMES)} + 1], NULL, 'uploaded', 1000,
                   'application/octet-stream', NULL, (r.release_id % 500) * (k + 1), NULL,
                   now(), now(), 'binary', 'linux', 'x86_64', 'tar.gz', NULL, now()
            FROM releases r, range({artifacts}) a(k)
        """)
        # `days` weekly observations of a sample of artifacts, counts growing
        sample = max(1, snapshots // days)
        con.execute(f"""
            INSERT INTO download_snapshots
            SELECT a.artifact_id, a.release_id, a.repo, a.tag, a.name,
                   DATE '2026-01-05' + (7 * d)::INTEGER, TIMESTAMPTZ '2026-01-05' + to_days((7 * d)::INTEGER),
                   a.download_count + d * (a.artifact_id % 13)
                     - CASE WHEN d = 3 AND a.artifact_id % 1000 = 0 THEN 5 ELSE 0 END
            FROM (SELECT * FROM release_artifacts ORDER BY artifact_id LIMIT {sample}) a,
                 range({days}) s(d)
        """)


def timed(label: str, fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:8.2f} s")
    return value, elapsed


def original_quality_loop(db: Path) -> int:
    """The original's rules as it ran them: Python `any()` per check per release."""
    with storage.connect(db, read_only=True) as con:
        bodies = dict(con.execute("SELECT release_id, body FROM releases").fetchall())
        files: dict[int, list[str]] = {}
        for release_id, name in con.execute(
            "SELECT release_id, name FROM release_artifacts"
        ).fetchall():
            files.setdefault(release_id, []).append(name)
    total = 0
    for release_id, body in bodies.items():
        names = files.get(release_id, [])
        body = body or ""
        score = 25 if ("CHANGELOG.md" in body or "## " in body) else 0
        score += 20 if any(n.endswith((".tar.gz", ".zip", ".exe")) for n in names) else 0
        score += 20 if any("checksum" in n.lower() or "sha256" in n.lower() for n in names) else 0
        score += 20 if any(n.endswith(".sig") or n.endswith(".asc") for n in names) else 0
        score += 15 if any("sbom" in n.lower() or "spdx" in n.lower() or "cyclonedx" in n.lower()
                           for n in names) else 0
        total += score
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=100_000)
    parser.add_argument("--repos", type=int, default=1_000)
    parser.add_argument("--artifacts", type=int, default=8)
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--snapshots", type=int, default=1_000_000,
                        help="download snapshots in all (weekly observations of a sample)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        print(f"{args.releases:,} releases in {args.repos:,} repositories, "
              f"{args.artifacts} artifacts each, snapshots over {args.weeks} weeks")
        timed("generate (not analytics)", lambda: generate(
            db, args.releases, args.repos, args.artifacts, args.weeks, args.snapshots))
        with storage.connect(db) as con:
            counts = con.execute("SELECT (SELECT count(*) FROM releases), "
                                 "(SELECT count(*) FROM release_artifacts), "
                                 "(SELECT count(*) FROM download_snapshots)").fetchone()
            print(f"  rows: {counts[0]:,} releases, {counts[1]:,} artifacts, "
                  f"{counts[2]:,} snapshots")
            repos = [r[0] for r in con.execute("SELECT DISTINCT repo FROM releases").fetchall()]
            times: dict[str, float] = {}
            for key, label, step in (
                ("cadence", "release_cadence (compute + store)",
                 lambda: analytics.refresh_cadence(con, repos)),
                ("seed", "release_quality seed (compute + store)",
                 lambda: analytics.refresh_quality(con, repos, rubric="seed", threshold=60)),
                ("quality", "release_quality default (compute + store)",
                 lambda: analytics.refresh_quality(con, repos, rubric="default", threshold=60)),
                ("trends", "download_trends (compute + store)",
                 lambda: analytics.refresh_trends(con, repos)),
                ("dashboard", "release_dashboard (json + md + html)",
                 lambda: write_reports(con, Path(tmp) / "reports", threshold=60, repos=repos)),
            ):
                _, times[key] = timed(label, step)
            assets = times["cadence"] + times["quality"] + times["trends"]
            print(f"  {'analytics (cadence + quality + trends)':<44} {assets:8.2f} s"
                  f"   (target at 1,000,000 releases: < 10 s)")
            print(f"  {'all of the above':<44} {sum(times.values()):8.2f} s")
        # For scale only: the original's five rules as a Python loop, without evidence, from
        # rows already in memory. Its real cost was the API: about n + 11 requests per
        # repository of n releases (110,000+ requests here, 20+ hours of one token's budget).
        timed("original's rules as a Python loop (no evidence)", lambda: original_quality_loop(db))
        with storage.connect(db) as con:
            timed("seed scoring query with evidence (ours)", lambda: analytics.quality.score_releases(
                con, analytics.quality.SEED, repos))


if __name__ == "__main__":
    main()
