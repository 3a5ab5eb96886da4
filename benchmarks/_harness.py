"""Shared benchmark plumbing: the local GitHub server in its own process, costs, memory, tables.

The server runs in a separate process so that its JSON rendering does not share a GIL with the
client being measured (this machine has 2 cores: one serves, one fetches and writes), and so
that wall times measure the client. The benchmark process talks to it over a pipe: build a
generated organisation, read `server.stats`, change some repositories, inject faults, stop.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN = "bench-token-0123456789"  # a stand-in the local server checks; not a real secret
ORG = "bench"


@dataclass(frozen=True)
class OrgSpec:
    """What the server holds: one generated org, optionally big repositories and odd releases."""

    repos: int
    releases: int
    artifacts: int
    big_repos: int = 0  # repositories with `big_releases` releases (past the REST ceiling)
    big_releases: int = 1500
    big_artifacts: int = 2
    drafts_every: int = 0  # a draft every n releases (the original script crashes on one)
    null_body_every: int = 0
    seed: int = 0

    @property
    def label(self) -> str:
        text = f"{self.repos} × {self.releases} × {self.artifacts}"
        if self.big_repos:
            text += f" + {self.big_repos} × {self.big_releases}"
        if self.drafts_every or self.null_body_every:
            text += " (drafts, null bodies)"
        return text

    def release_counts(self) -> list[int]:
        return [self.releases] * self.repos + [self.big_releases] * self.big_repos


def request_floor(spec: OrgSpec) -> int:
    """GitHub's floor for a full refresh: 1 per 100 repositories listed + 1 per 100 releases."""
    counts = spec.release_counts()
    return math.ceil(len(counts) / 100) + sum(max(1, math.ceil(n / 100)) for n in counts)


# -- the server process -------------------------------------------------------------------------
def _serve(spec: OrgSpec, conn: Connection) -> None:
    from release_assets_tests.generated_org import generate_big_repo, generate_org, repo_names
    from release_assets_tests.github_server import GitHubServer, World

    world = World()
    started = time.perf_counter()
    keys = generate_org(
        world, ORG, repos=spec.repos, releases=spec.releases, artifacts=spec.artifacts,
        seed=spec.seed, drafts_every=spec.drafts_every, null_body_every=spec.null_body_every,
    )
    taken = set(keys)
    for name in repo_names(spec.repos + spec.big_repos)[spec.repos:]:
        key = f"{ORG}/{name}"
        generate_big_repo(world, key, spec.big_releases, artifacts=spec.big_artifacts,
                          seed=spec.seed)
        keys.append(key)
        taken.add(key)
    built = time.perf_counter() - started
    server = GitHubServer(world, token=TOKEN, rate_limit=10_000_000).start()
    conn.send({"url": server.url, "repos": keys, "build_seconds": built})
    while True:
        command, args = conn.recv()
        if command == "stats":
            s = server.stats
            conn.send({"requests": s.requests, "not_modified": s.not_modified,
                       "bytes": s.bytes_sent, "points": s.rate_limit_points,
                       "by_route": dict(s.by_route), "by_status": dict(s.by_status)})
        elif command == "log":
            conn.send([(r.method, r.route, r.path, r.status) for r in server.request_log])
        elif command == "reset":
            server.reset_stats()
            conn.send(True)
        elif command == "change":
            # A new download on the newest release's first artifact: page 1's ETag changes,
            # as on GitHub, where any download changes a release list's body.
            changed = []
            for key in args:
                newest = world.releases(key)[0]
                artifact = newest["assets"][0]
                world.set_download_count(artifact["id"], artifact["download_count"] + 1)
                changed.append(key)
            conn.send(changed)
        elif command == "inject":  # keyword arguments of GitHubServer.inject (faults)
            server.inject(**args)
            conn.send(True)
        elif command == "clear_faults":
            server.clear_faults()
            conn.send(True)
        elif command == "stop":
            server.stop()
            conn.send(True)
            return


class ServerProcess:
    """A GitHubServer over a generated org, in a child process; a context manager."""

    def __init__(self, spec: OrgSpec) -> None:
        self.spec = spec
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(spec, child), daemon=True)
        self._process.start()
        hello = self._conn.recv()
        self.url: str = hello["url"]
        self.repos: list[str] = hello["repos"]
        self.build_seconds: float = hello["build_seconds"]

    def _call(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def stats(self) -> dict[str, Any]:
        return self._call("stats")

    def log(self) -> list[tuple[str, str, str, int]]:
        return self._call("log")

    def reset(self) -> None:
        self._call("reset")

    def change(self, keys: list[str]) -> list[str]:
        return self._call("change", keys)

    def inject(self, **fault: Any) -> None:
        """`GitHubServer.inject(**fault)` in the server process (a `kind`, not a callable)."""
        self._call("inject", fault)

    def clear_faults(self) -> None:
        self._call("clear_faults")

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._call("stop")
            finally:
                self._process.join(timeout=10)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- measuring ----------------------------------------------------------------------------------
def _status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux `clear_refs` 5); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Measurement:
    name: str
    requests: int = 0
    not_modified: int = 0
    points: int = 0
    bytes: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0  # the process's peak resident set during the phase
    rss_before_mb: float = 0.0
    by_route: dict[str, int] = field(default_factory=dict)
    outcome: str = "ok"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def downloads(self) -> int:
        """Release files fetched from the download host: not API requests, no rate limit."""
        return self.by_route.get("download", 0) + self.by_route.get("raw", 0)

    @property
    def api_requests(self) -> int:
        return self.requests - self.downloads

    @property
    def share_304(self) -> float:
        return self.not_modified / self.requests if self.requests else 0.0


def _isolated_main(target: Callable[..., Any], kwargs: dict[str, Any], conn: Connection) -> None:
    try:
        # Imports first, so the baseline of the interpreter and libraries is known.
        target(warmup=True, **kwargs)
        import gc

        gc.collect()
        before = _status_kb("VmRSS") / 1024
        reset_peak_rss()
        started = time.perf_counter()
        outcome = target(**kwargs)
        seconds = time.perf_counter() - started
        conn.send({"seconds": seconds, "peak_rss_mb": _status_kb("VmHWM") / 1024,
                   "rss_before_mb": before, "outcome": outcome, "error": None})
    except BaseException as exc:  # reported to the parent, which prints it
        conn.send({"error": f"{type(exc).__name__}: {exc}"})


def run_isolated(
    server: ServerProcess, name: str, target: Callable[..., Any], **kwargs: Any
) -> Measurement:
    """Run `target(**kwargs)` in a fresh process: clean wall time and peak RSS for one client.

    `target(warmup=True, ...)` is called first in that process and must only import what the
    real call needs (so the peak measures the work, with the libraries already loaded).
    """
    server.reset()
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_isolated_main, args=(target, kwargs, child))
    process.start()
    report = parent.recv()
    process.join()
    if report.get("error"):
        raise RuntimeError(f"{name}: {report['error']}")
    s = server.stats()
    return Measurement(
        name, requests=s["requests"], not_modified=s["not_modified"], points=s["points"],
        bytes=s["bytes"], seconds=report["seconds"], peak_rss_mb=report["peak_rss_mb"],
        rss_before_mb=report["rss_before_mb"], by_route=s["by_route"],
        outcome=str(report["outcome"].get("outcome", "ok")),
        extra=dict(report["outcome"]),
    )


@contextmanager
def measure(server: ServerProcess, name: str) -> Iterator[Measurement]:
    """Server-side request accounting plus wall time and peak RSS of the block."""
    import gc

    gc.collect()
    server.reset()
    m = Measurement(name)
    m.rss_before_mb = _status_kb("VmRSS") / 1024
    reset_peak_rss()
    started = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = time.perf_counter() - started
        m.peak_rss_mb = _status_kb("VmHWM") / 1024
        s = server.stats()
        m.requests, m.not_modified, m.points, m.bytes = (
            s["requests"], s["not_modified"], s["points"], s["bytes"])
        m.by_route = s["by_route"]


# -- output -------------------------------------------------------------------------------------
def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    # The load average says whether other work shared the 2 cores while this ran.
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem_kb / 1024 / 1024:.1f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
            f"load average at start {load}")


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def timed(label: str, fn: Callable[[], Any], say: Callable[[str], None] = print) -> Any:
    started = time.perf_counter()
    out = fn()
    say(f"  {label}: {time.perf_counter() - started:.1f} s")
    return out
