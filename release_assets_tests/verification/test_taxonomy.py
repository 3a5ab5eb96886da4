"""passed / failed / unverifiable / not_applicable / error: what "can't judge" is, and that it is
never a failure; plus the inputs that must not take verification down (a trickling server, a
manifest that covers nothing, a 5,000-digit tag)."""

from __future__ import annotations

import hashlib
import json
import time
from base64 import b64decode
from pathlib import Path

import duckdb
import pytest

from release_assets.lib.config import Config, VerificationConfig
from release_assets.lib.discovery import refresh_repository_list
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets.lib.verification.results import STATUSES
from release_assets.lib.verification.run import verify_repositories
from release_assets.lib.verification.statements import match_subjects, parse_statement
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.github_server import GitHubServer, World

from . import worlds
from .test_verify_repositories import rows, verify
from .worlds import add_release, artifact, sha256


@pytest.fixture(autouse=True)
def sigstore_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def statuses(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            s for (s,) in con.execute("SELECT DISTINCT status FROM release_verification").fetchall()
        }
    finally:
        con.close()


def test_npm_intoto_provenance_is_unverifiable_never_failed(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.npm_provenance(world)
    refresh_repository_list(client, db_path, Config(repos=("sigstore/sigstore-js",)))
    run = verify(client, db_path, ["sigstore/sigstore-js"])
    status, reason = rows(db_path)[("v2.1.0", worlds.NPM_TARBALL, "attestation")]
    assert status == "unverifiable"
    assert "intoto 0.0.2" in reason and "may well be valid" in reason
    assert run.failures() == []  # so the blocking check passes
    assert [r.result.artifact_name for r in run.unverifiable()] == [worlds.NPM_TARBALL]
    # the dashboard counts by `status`: only the five words ever appear
    assert statuses(db_path) <= set(STATUSES)
    # the tarball was never downloaded for a bundle that cannot be judged anyway
    downloads = [e.path for e in github_server.request_log if e.route == "download"]
    assert downloads == [
        f"/download/sigstore/sigstore-js/v2.1.0/{worlds.NPM_TARBALL}.sigstore.json"
    ]


def test_npm_subjects_are_matched_in_sha512() -> None:
    """npm provenance names its package in sha512 only (the tarball's npm `integrity`)."""
    bundle = json.loads(worlds.NPM_BUNDLE)
    subjects, predicate = parse_statement(b64decode(bundle["dsseEnvelope"]["payload"]))
    assert predicate == "https://slsa.dev/provenance/v1"
    [subject] = subjects
    sha512 = subject.digest["sha512"]
    assert subject.name == "pkg:npm/sigstore@2.1.0" and set(subject.digest) == {"sha512"}
    # GitHub's sha256 alone cannot be compared: the caller learns sha512 is needed
    only_sha256 = match_subjects(subjects, {"sha256": worlds.NPM_TARBALL_DIGEST[7:]})
    assert only_sha256.matched is None and only_sha256.missing == ("sha512",)
    # with the file's sha512 (hashed while downloading it) the subject matches
    both = match_subjects(subjects, {"sha256": "0" * 64, "sha512": sha512.upper()})
    assert both.matched == f"sha512:{sha512}" and both.missing == ()
    # a different file's sha512 is compared, and is not a match
    other = match_subjects(subjects, {"sha512": "f" * 128})
    assert other.matched is None and other.missing == ()


def test_a_manifest_covering_none_of_the_artifacts_is_not_passed(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    tool = b"tool binary\n"
    # lists files of some other release: it vouches for nothing attached here
    manifest = f"{sha256(b'elsewhere')[7:]}  other-tool-1.0.tar.gz\n".encode()
    world.add_repo("acme/tool")
    add_release(
        world,
        "acme/tool",
        "v2.0.0",
        [
            artifact("tool-2.0.tar.gz", size=len(tool), digest=sha256(tool)),
            artifact("checksums.txt", size=len(manifest), digest=sha256(manifest)),
        ],
        {"checksums.txt": manifest},
    )
    run = verify(client, db_path, ["acme/tool"])
    status, reason = rows(db_path)[("v2.0.0", "checksums.txt", "checksum")]
    assert status == "not_applicable"
    assert reason.startswith("covers none of this release's artifacts, so it verifies nothing")
    assert "entries naming no artifact: other-tool-1.0.tar.gz" in reason
    assert rows(db_path)[("v2.0.0", "tool-2.0.tar.gz", "checksum")][0] == "not_applicable"
    assert run.failures() == []


def test_a_trickling_download_ends_at_its_deadline_and_the_run_goes_on(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    manifest = b"".join(
        f"{sha256(n.encode())[7:]}  {n}\n".encode() for n in ("a.tar.gz", "b.tar.gz")
    )
    for repo in ("acme/slow", "acme/fast"):
        world.add_repo(repo)
        add_release(
            world,
            repo,
            "v1.0.0",
            [
                artifact("a.tar.gz", size=10, digest=sha256(b"a.tar.gz")),
                artifact("b.tar.gz", size=10, digest=sha256(b"b.tar.gz")),
                artifact("checksums.txt", size=len(manifest), digest=sha256(manifest)),
            ],
            {"checksums.txt": manifest},
        )
    # one byte a second: the 140-byte manifest would take over two minutes
    github_server.inject(r"^/download/acme/slow/", kind="trickle", trickle=1.0, times=None)
    client = GitHubClient(
        github_server.url,
        TEST_TOKEN,
        backoff_seconds=0.01,
        max_retries=1,
        download_deadline_seconds=2.0,
    )
    refresh_repositories(client, db_path, ["acme/slow", "acme/fast"])
    started = time.monotonic()
    run = verify_repositories(
        db_path, client, VerificationConfig(attestations=False), ["acme/slow", "acme/fast"]
    )
    assert time.monotonic() - started < 30
    slow = rows(db_path, "repo = 'acme/slow'")
    status, reason = slow[("v1.0.0", "checksums.txt", "checksum")]
    assert status == "error" and "deadline" in reason, reason
    fast = rows(db_path, "repo = 'acme/fast'")
    assert fast[("v1.0.0", "checksums.txt", "checksum")][0] == "passed"
    assert run.errors == {} and run.failures() == []


def test_a_5000_digit_tag_is_verified_like_any_other(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    huge = "v" + "9" * 5000
    manifest = f"{sha256(b'x')[7:]}  x.tar.gz\n".encode()
    world.add_repo("acme/huge")
    add_release(world, "acme/huge", "v1.0.0", [], {})
    add_release(
        world,
        "acme/huge",
        huge,
        [
            artifact("x.tar.gz", size=1, digest=sha256(b"x")),
            artifact("checksums.txt", size=len(manifest), digest=sha256(manifest)),
        ],
        {"checksums.txt": manifest},
        body=f"## {huge}\n\nA tag no version parser accepts.",
    )
    run = verify(client, db_path, ["acme/huge"])
    assert run.errors == {}
    found = rows(db_path)
    assert found[(huge, "x.tar.gz", "checksum")][0] == "passed"
    assert found[(huge, None, "docs")][0] in STATUSES


def hashed(db: Path) -> dict[str, dict[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            "SELECT subject, evidence FROM verification_cache WHERE kind = 'hash'"
        ).fetchall()
    finally:
        con.close()
    return {subject: json.loads(evidence) for subject, evidence in found}


def test_a_digestless_file_is_hashed_in_sha512_too_where_attestations_may_need_it(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    old = b"a 2017 binary, uploaded before GitHub gave digests\n"
    manifest = f"{sha256(old)[7:]}  tool\n".encode()
    # deliberately not an attestation: only its name matters here (it is an `error` row)
    provenance = b"not json\n"
    world.add_repo("acme/old")
    for tag, extra in (("v1", []), ("v2", [("tool.intoto.jsonl", provenance)])):
        files = {"tool": old, "SHA256SUMS": manifest, **dict(extra)}
        add_release(
            world,
            "acme/old",
            tag,
            [artifact(name, size=len(data), digest=None) for name, data in files.items()],
            files,
        )
    verify(client, db_path, ["acme/old"])
    found = rows(db_path)
    assert found[("v1", "tool", "checksum")][0] == "passed"
    assert found[("v2", "tool", "checksum")][0] == "passed"
    # each release's `tool` was downloaded once; v1 ships no attestation, so sha256 alone
    # (sha512 triples the hashing CPU); v2 ships an in-toto file, so sha512 too, in one pass
    evidence = sorted(hashed(db_path).values(), key=len)
    assert evidence == [
        {"digest": sha256(old)},
        {"digest": sha256(old), "sha512": hashlib.sha512(old).hexdigest()},
    ]


def test_a_sha512_manifest_is_checked_by_hashing_within_the_budget(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    good, replaced, big = b"good binary\n", b"replaced binary\n", b"a big binary\n"

    def sha512(data: bytes) -> str:
        return hashlib.sha512(data).hexdigest()

    # SHA512SUMS only: GitHub's sha256 digests cannot be compared with it
    manifest = (
        f"{sha512(good)}  good\n{sha512(b'what was built')}  replaced\n{sha512(big)}  big\n"
    ).encode()
    world.add_repo("acme/sha512")
    add_release(
        world,
        "acme/sha512",
        "v1",
        [
            artifact("good", size=len(good), digest=sha256(good)),
            artifact("replaced", size=len(replaced), digest=sha256(replaced)),
            artifact("big", size=60_000_000, digest=sha256(big)),  # above the 50 MB default cap
            artifact("SHA512SUMS", size=len(manifest), digest=sha256(manifest)),
        ],
        {"good": good, "replaced": replaced, "big": big, "SHA512SUMS": manifest},
    )
    run = verify(client, db_path, ["acme/sha512"], VerificationConfig(attestations=False))
    found = rows(db_path)
    status, _ = found[("v1", "good", "checksum")]
    assert status == "passed"
    status, reason = found[("v1", "replaced", "checksum")]
    assert status == "failed" and "replaced" in reason
    status, reason = found[("v1", "big", "checksum")]
    assert status == "unverifiable" and "above the" in reason and "sha512" in reason
    assert [
        f.result.artifact_name for f in run.failures() if f.result.artifact_name != "SHA512SUMS"
    ] == ["replaced"]
    # the two small files were downloaded to hash them (reported), the big one never
    fetched = sorted(
        e.path.rsplit("/", 1)[1] for e in github_server.request_log if e.route == "download"
    )
    assert fetched == ["SHA512SUMS", "good", "replaced"]
    assert run.bytes_downloaded == len(manifest) + len(good) + len(replaced)
    # a rerun takes every sha512 from the cache: nothing is downloaded again
    github_server.reset_stats()
    again = verify_repositories(
        db_path, client, VerificationConfig(attestations=False), ["acme/sha512"]
    )
    assert again.bytes_downloaded == 0 and rows(db_path) == found
