"""Release history at scale: change volume (git) and release events for N repositories.

Against the local GitHub-compatible server (ingestion fills DuckDB the usual way) and N bare git
repositories served over file:// (RELEASE_ASSETS_GIT_URL's shape), each with the release tags
GitHub lists. Measures, per step: wall time, git bytes fetched (the clones' growth) and GitHub
API requests (the history assets make none: they read DuckDB and git):

- first run: every repository cloned (blobless) and every release computed; events baseline;
- unchanged re-run: no new release anywhere, so no git traffic at all; no events;
- new releases: a tenth of the repositories gain a release (tag pushed, release published);
  only those are fetched (incrementally) and computed, and only their `published` events appear.

Then jq's real history (release_assets/demo/git/jq.bundle): what the blobless clone costs against
a full clone, and what `git diff --shortstat` fetches lazily.

    python benchmarks/bench_history.py [--repos 500] [--releases 10]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from release_assets.lib import storage  # noqa: E402
from release_assets.lib.github_client import GitHubClient  # noqa: E402
from release_assets.lib.history import changes, events  # noqa: E402
from release_assets.lib.history.git_changes import (  # noqa: E402
    GitAccess,
    ReleaseTag,
    directory_bytes,
    repository_changes,
)
from release_assets.lib.ingest import refresh_repositories  # noqa: E402
from release_assets_tests.github_server import GitHubServer, World, iso  # noqa: E402
from release_assets_tests.history.gitrepos import JQ_BUNDLE, build_repo, git  # noqa: E402

TOKEN = "bench-token-not-a-secret"
START = datetime(2024, 1, 1, tzinfo=UTC)


def release(tag: str, day: int) -> dict[str, object]:
    when = iso(START + timedelta(days=day))
    return {"tag_name": tag, "published_at": when, "created_at": when,
            "assets": [{"name": f"tool-{tag}-{os}.tar.gz", "size": 1000, "created_at": when}
                       for os in ("linux", "darwin", "windows", "checksums")]}


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--releases", type=int, default=10)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        run(args.repos, args.releases, work)
        jq(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run(count: int, releases: int, work: Path) -> None:
    started = time.perf_counter()
    history = [(f"dev{n % 3}", f"file{n % 7}.txt", f"v1.{n // 3}.0" if n % 3 == 2 else None)
               for n in range(releases * 3)]
    template = build_repo(work / "template", history)
    bare = work / "template.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(template), str(bare)], check=True)
    git(bare, "config", "uploadpack.allowFilter", "true")
    world = World()
    keys = [f"acme/tool-{i:04d}" for i in range(count)]
    origin = work / "origin"
    for key in keys:
        shutil.copytree(bare, origin / f"{key}.git")
        world.add_repo(key)
        world.add_releases(key, [release(f"v1.{n}.0", n) for n in reversed(range(releases))])
    print(f"{count} repositories × {releases} releases (git: {len(history)} commits, "
          f"{releases} tags each); set up in {time.perf_counter() - started:.1f} s\n")
    db = work / "bench.duckdb"
    cache = work / "clones"
    access = GitAccess()
    rows: list[tuple[str, ...]] = []
    with GitHubServer(world, token=TOKEN) as server:
        client = GitHubClient(server.url, TOKEN)

        def step(label: str) -> None:
            ingest_requests = server.stats.requests
            refresh_repositories(client, db, keys)
            ingest_requests = server.stats.requests - ingest_requests
            requests_before = server.stats.requests
            clock = time.perf_counter()
            with storage.connect(db) as con:
                plans = changes.plan_changes(con, keys, git_url=origin.as_uri())
            results = changes.compute_changes(plans, cache_root=cache, access=access)
            with storage.connect(db) as con:
                changes.store_changes(con, plans, results, computed_at=datetime.now(UTC))
            change_seconds = time.perf_counter() - clock
            clock = time.perf_counter()
            with storage.connect(db) as con:
                found = events.refresh_events(con, keys, observed_at=datetime.now(UTC))
            event_seconds = time.perf_counter() - clock
            rows.append((
                label, str(ingest_requests), str(len(plans)),
                str(sum(r.computed for r in results)),
                mb(sum(r.bytes_fetched for r in results)), f"{change_seconds:.1f} s",
                str(len(found.events)), f"{event_seconds:.2f} s",
                str(server.stats.requests - requests_before),
            ))

        step("first run")
        step("unchanged re-run")
        moved = keys[:: 10]
        for key in moved:
            path = origin / f"{key}.git"
            tree = git(path, "rev-parse", "HEAD^{tree}").strip()
            head = git(path, "rev-parse", "HEAD").strip()
            commit = git(path, "commit-tree", tree, "-p", head, "-m", "release").strip()
            git(path, "update-ref", "refs/heads/main", commit)
            git(path, "tag", f"v1.{releases}.0", commit)
            world.add_release(key, release(f"v1.{releases}.0", releases))
        step(f"{len(moved)} new releases")

    header = ("step", "ingest requests", "repos synced", "releases computed", "git fetched",
              "change volume", "events added", "events", "history API requests")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"\nclones on disk: {mb(directory_bytes(cache))} for {count} repositories\n")


def jq(work: Path) -> None:
    """jq's real history: blobless clone, lazily fetched diff blobs, and a full clone."""
    origin = work / "jq-origin" / "stedolan" / "jq.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(JQ_BUNDLE), str(origin)], check=True)
    git(origin, "config", "uploadpack.allowFilter", "true")
    tags = [line.split("refs/tags/")[1] for line in
            git(origin, "for-each-ref", "--format=%(refname)", "refs/tags").split()]
    url = origin.parent.parent.as_uri() + "/stedolan/jq.git"
    clock = time.perf_counter()
    none = repository_changes("stedolan/jq", url, [], cache_root=work / "jq-cache",
                              access=GitAccess())
    clone_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    computed = repository_changes("stedolan/jq", url, [ReleaseTag(i, t) for i, t in enumerate(tags)],
                                  cache_root=work / "jq-cache", access=GitAccess())
    compute_seconds = time.perf_counter() - clock
    full = work / "jq-full.git"
    clock = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", "--bare", "--no-local", url, str(full)], check=True)
    full_seconds = time.perf_counter() - clock
    print(f"jq ({len(tags)} tags, real history):")
    print(f"  blobless clone (commits + trees)        {mb(none.bytes_fetched):>10}  {clone_seconds:5.1f} s")
    print(f"  blobs fetched lazily by diff --shortstat {mb(computed.bytes_fetched):>10}  "
          f"{compute_seconds:5.1f} s for {computed.computed} releases")
    print(f"  full clone, for comparison               {mb(directory_bytes(full)):>10}  {full_seconds:5.1f} s")


if __name__ == "__main__":
    sys.exit(main())
