"""Verification cost: bytes downloaded vs bytes shipped, and hashing in constant memory.

1. An organisation whose artifacts total more than 1 GiB, every one with a GitHub digest, each
   release with a checksum manifest and an SBOM, one with a real sigstore bundle: verification
   downloads only those small files (the binaries are not even served: fetching one would show
   up as an error). The original workflow downloaded every binary to check it.
2. A 1 GiB artifact *without* a digest, generated on the fly by a local streaming HTTP server,
   hashed by the verifier's own download path in a child process: throughput and peak RSS.

Run: `python benchmarks/bench_verification.py` (no network, no token).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GIB = 1024**3
MIB = 1024**2
FIXTURES = ROOT / "release_assets_tests" / "fixtures"
WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
WHEEL_DIGEST = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
PLATFORMS = (
    "linux_amd64.tar.gz",
    "linux_arm64.tar.gz",
    "darwin_amd64.tar.gz",
    "darwin_arm64.tar.gz",
    "windows_amd64.zip",
    "windows_arm64.zip",
    "amd64.deb",
    "x86_64.rpm",
)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_org(world, repos: int, binary_size: int) -> list[str]:
    """`repos` repositories, one release each: 8 binaries (digest only), checksums.txt, SBOM."""
    sbom = (FIXTURES / "sbom" / "sbomqs-cdx-cgomod.json").read_bytes()
    names = []
    for n in range(repos):
        repo = f"bench/tool{n:02d}"
        world.add_repo(repo)
        binaries = [f"tool{n:02d}_1.0.0_{p}" for p in PLATFORMS]
        # a binary's digest without its bytes: what GitHub reports for an upload
        digests = {b: _sha(f"{repo}/{b}".encode()) for b in binaries}
        manifest = "".join(f"{d[7:]}  {b}\n" for b, d in digests.items()).encode()
        artifacts = [{"name": b, "size": binary_size, "digest": d} for b, d in digests.items()]
        artifacts += [
            {"name": "checksums.txt", "size": len(manifest), "digest": _sha(manifest)},
            {"name": f"tool{n:02d}_1.0.0.cdx.json", "size": len(sbom), "digest": _sha(sbom)},
        ]
        world.add_release(repo, {"tag_name": "v1.0.0", "body": "## v1.0.0\n", "assets": artifacts})
        world.add_file(repo, "v1.0.0", "checksums.txt", manifest)
        world.add_file(repo, "v1.0.0", f"tool{n:02d}_1.0.0.cdx.json", sbom)
        names.append(repo)
    bundle = (
        FIXTURES / "sigstore" / "sigstore-python" / "bundle_v3_github.whl.sigstore"
    ).read_bytes()
    world.add_repo("trailofbits/rfc8785.py")
    world.add_release(
        "trailofbits/rfc8785.py",
        {
            "tag_name": "v0.1.2",
            "body": "v0.1.2",
            "assets": [
                {"name": WHEEL, "size": 9172, "digest": WHEEL_DIGEST},
                {"name": f"{WHEEL}.sigstore", "size": len(bundle), "digest": _sha(bundle)},
            ],
        },
    )
    world.add_file("trailofbits/rfc8785.py", "v0.1.2", f"{WHEEL}.sigstore", bundle)
    return [*names, "trailofbits/rfc8785.py"]


def bench_org(repos: int = 16, binary_size: int = 9 * MIB) -> None:
    from release_assets.lib.config import Config, VerificationConfig
    from release_assets.lib.discovery import refresh_repository_list
    from release_assets.lib.github_client import GitHubClient
    from release_assets.lib.ingest import refresh_repositories
    from release_assets.lib.verification.run import verify_repositories
    from release_assets_tests.github_server import GitHubServer, World

    world = World()
    keys = build_org(world, repos, binary_size)
    with tempfile.TemporaryDirectory() as tmp, GitHubServer(world, token="bench") as server:
        db = Path(tmp) / "bench.duckdb"
        client = GitHubClient(server.url, "bench")
        # as the graph runs it: `repositories` (their GitHub ids let attestations be listed in
        # bulk), then `github_releases`, then verification
        refresh_repository_list(client, db, Config(repos=tuple(keys)))
        refresh_repositories(client, db, keys)
        for label in ("first run", "rerun (cache)"):
            server.reset_stats()
            started = time.perf_counter()
            run = verify_repositories(db, client, VerificationConfig(), keys)
            elapsed = time.perf_counter() - started
            routes = server.stats.by_route
            print(
                f"  {label}: {run.releases} releases, {run.artifacts} artifacts, "
                f"{run.artifact_bytes / GIB:.2f} GiB shipped; downloaded "
                f"{run.bytes_downloaded:,} bytes in {run.files_downloaded} files "
                f"({run.bytes_downloaded / run.artifact_bytes:.6%} of the artifact bytes, "
                f"1 : {run.artifact_bytes / max(run.bytes_downloaded, 1):,.0f}); "
                f"HTTP requests {server.stats.requests} (downloads {routes.get('download', 0)}, "
                f"bulk attestation listings {routes.get('attestations_bulk', 0)}, "
                f"per-digest attestation lookups {routes.get('attestations', 0)}); "
                f"cache hits {run.cache_hits}; statuses {run.counts_by_status()}; "
                f"{elapsed:.2f} s"
            )
        print(
            f"  original workflow (download every binary to check it): {run.artifact_bytes:,} bytes"
        )


# ------------------------------------------------------------------------------ 1 GiB, no digest

BLOCK = hashlib.sha256(b"bench").digest() * (MIB // 32)  # 1 MiB of fixed pseudo-random bytes


def stream_blocks(total: int):
    """The artifact: `total` bytes, produced block by block (the same on both sides)."""
    sent = 0
    counter = 0
    while sent < total:
        # the counter makes every block differ, so a dropped or repeated block changes the hash
        block = counter.to_bytes(8, "big") + BLOCK[8:]
        chunk = block[: total - sent]
        yield chunk
        sent += len(chunk)
        counter += 1


class _Streaming(BaseHTTPRequestHandler):
    total = GIB

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(self.total))
        self.end_headers()
        for chunk in stream_blocks(self.total):
            self.wfile.write(chunk)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def peak_rss() -> int:
    """This process's peak resident set (VmHWM). Not ru_maxrss: Linux carries that across
    exec, so a child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def hash_child(url: str, cap: int) -> None:
    """Runs in a fresh process: only the verifier's hashing path, then report memory."""
    from release_assets.lib.github_client import GitHubClient
    from release_assets.lib.verification.fetch import Fetcher

    baseline = peak_rss()
    fetcher = Fetcher(GitHubClient("https://api.github.invalid", token="never-sent"))
    started = time.perf_counter()
    hex_ = fetcher.hashes(url, max_bytes=cap)["sha256"]
    elapsed = time.perf_counter() - started
    peak = peak_rss()
    print(
        json.dumps(
            {
                "sha256": hex_,
                "seconds": elapsed,
                "bytes": fetcher.bytes_downloaded,
                "baseline_rss": baseline,
                "peak_rss": peak,
            }
        )
    )


def bench_hash(total: int = GIB) -> None:
    _Streaming.total = total
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Streaming)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/download/big.bin"
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--hash-child", url, "--cap", str(2 * total)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        httpd.shutdown()
    result = json.loads(done.stdout)
    expected = hashlib.sha256()
    for chunk in stream_blocks(total):
        expected.update(chunk)
    ok = result["sha256"] == expected.hexdigest()
    peak_mb = result["peak_rss"] / 1e6
    print(
        f"  hashed {result['bytes'] / GIB:.2f} GiB without a digest in {result['seconds']:.2f} s "
        f"= {result['bytes'] / MIB / result['seconds']:.0f} MiB/s; digest correct: {ok}"
    )
    print(
        f"  peak RSS of the hashing process {peak_mb:.0f} MB (after imports, before hashing: "
        f"{result['baseline_rss'] / 1e6:.0f} MB); limit 150 MB: "
        f"{'OK' if peak_mb < 150 else 'EXCEEDED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hash-child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--cap", type=int, default=2 * GIB, help=argparse.SUPPRESS)
    parser.add_argument("--repos", type=int, default=16)
    args = parser.parse_args()
    if args.hash_child:
        hash_child(args.hash_child, args.cap)
        return
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="bench-xdg-"))
    print("Verification of an organisation whose artifacts carry GitHub digests:")
    bench_org(args.repos)
    print("Hashing a 1 GiB artifact that has no digest, streamed from a local server:")
    bench_hash()


if __name__ == "__main__":
    main()
