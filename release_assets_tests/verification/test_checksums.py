"""Checksum manifests: real jq manifests against the recorded jq releases, and format cases."""

from __future__ import annotations

import hashlib
import json

import pytest

from release_assets.lib.verification import (
    ArtifactRef,
    ReleaseRef,
    checksum_coverage,
    is_checksum_manifest,
    manifest_scope,
    parse_checksum_manifest,
    verify_checksums,
)

from .conftest import FIXTURES

JQ_MANIFEST_DIR = {
    "jq-1.3": "v1.3",
    "jq-1.4": "v1.4",
    "jq-1.5rc1": "v1.5rc1",
    "jq-1.5rc2": "v1.5rc2",
    "jq-1.5": "v1.5",
}


def jq_releases() -> dict[str, list[ArtifactRef]]:
    recorded = json.loads((FIXTURES / "github-api" / "stedolan_jq_releases.json").read_text())
    body = recorded["body"]  # the decoded response body, stored as JSON
    return {
        r["tag_name"]: [
            ArtifactRef(a["id"], a["name"], a["size"], a.get("digest"), a["browser_download_url"])
            for a in r["assets"]
        ]
        for r in body
    }


def jq_manifest(tag: str):
    path = FIXTURES / "checksums" / "jq" / JQ_MANIFEST_DIR[tag] / "sha256sum.txt"
    return parse_checksum_manifest(path.read_bytes(), source_name="sha256sum.txt")


@pytest.mark.parametrize("version", ["v1.3", "v1.4", "v1.5rc1", "v1.5rc2", "v1.5", "v1.6"])
def test_jq_manifests_parse_cleanly(version: str) -> None:
    text = (FIXTURES / "checksums" / "jq" / version / "sha256sum.txt").read_text()
    manifest = parse_checksum_manifest(text, source_name="sha256sum.txt")
    assert manifest.errors == ()
    assert len(manifest.entries) == len(text.splitlines())
    assert {e.algorithm for e in manifest.entries} == {"sha256"}


@pytest.mark.parametrize(
    ("tag", "listed", "total", "unlisted"),
    [
        ("jq-1.3", 6, 6, ()),
        ("jq-1.4", 9, 9, ()),
        ("jq-1.5rc1", 4, 5, ("jq.1",)),
        ("jq-1.5rc2", 7, 7, ()),
        ("jq-1.5", 7, 8, ("jq-linux32-no-oniguruma",)),
    ],
)
def test_jq_coverage_matches_the_recorded_releases(
    tag: str, listed: int, total: int, unlisted: tuple[str, ...]
) -> None:
    artifacts = jq_releases()[tag]
    coverage = checksum_coverage(jq_manifest(tag), artifacts)
    assert (len(coverage.listed), coverage.total, coverage.unlisted) == (listed, total, unlisted)
    assert coverage.summary == f"{listed} of {total} artifacts listed"
    assert coverage.orphans == ()


def test_jq_artifacts_without_digest_ask_to_be_hashed() -> None:
    results = verify_checksums(
        jq_manifest("jq-1.5"),
        jq_releases()["jq-1.5"],
        release=ReleaseRef("stedolan/jq", 1, "jq-1.5"),
    )
    assert len(results) == 8
    by_name = {r.artifact_name: r for r in results}
    # listed but without a digest: cannot be judged yet (unverifiable), never passed
    assert {n for n, r in by_name.items() if r.status == "unverifiable"} == set(by_name) - {
        "jq-linux32-no-oniguruma"
    }
    assert by_name["jq-linux32-no-oniguruma"].status == "not_applicable"
    assert "not listed" in by_name["jq-linux32-no-oniguruma"].reason
    assert "stream_and_hash" in by_name["jq-linux64"].reason
    assert by_name["jq-linux64"].evidence["manifest_line"].startswith("c6b3a7d7")
    assert by_name["jq-linux64"].repo == "stedolan/jq" and by_name["jq-linux64"].tag == "jq-1.5"


def test_jq_digest_from_hashing_passes_and_wrong_digest_fails() -> None:
    manifest = jq_manifest("jq-1.5")
    good = ArtifactRef(
        1,
        "jq-linux64",
        digest="sha256:c6b3a7d7d3e7b70c6f51b706a3b90bd01833846c54d32ca32f0027f00226ff6d",
    )
    bad = ArtifactRef(2, "jq-osx-amd64", digest="sha256:" + "ab" * 32)
    passed, failed = verify_checksums(manifest, [good, bad])
    assert passed.status == "passed" and passed.subject_digest == good.digest
    assert failed.status == "failed" and "replaced" in failed.reason
    assert failed.evidence["expected"].startswith("386e92c9")


def test_malformed_github_digest_is_an_error_not_a_pass() -> None:
    manifest = jq_manifest("jq-1.5")
    (result,) = verify_checksums(manifest, [ArtifactRef(1, "jq-linux64", digest="sha256:abc123")])
    assert result.status == "error" and "malformed" in result.reason


def test_entries_naming_no_artifact_are_orphans() -> None:
    coverage = checksum_coverage(jq_manifest("jq-1.5"), jq_releases()["jq-1.5"][:2])
    assert coverage.summary == "2 of 2 artifacts listed"
    assert "jq-linux64" in coverage.orphans and len(coverage.orphans) == 5


def test_signatures_and_manifests_do_not_count_against_coverage() -> None:
    data = b"payload"
    manifest = parse_checksum_manifest(
        f"{hashlib.sha256(data).hexdigest()}  app.tar.gz\n", source_name="checksums.txt"
    )
    names = [
        "app.tar.gz",
        "checksums.txt",
        "checksums.txt.sig",
        "app.tar.gz.sigstore.json",
        "app.tar.gz.pem",
    ]
    artifacts = [ArtifactRef(i, n) for i, n in enumerate(names)]
    assert checksum_coverage(manifest, artifacts).summary == "1 of 1 artifacts listed"


def test_bsd_format_crlf_comments_and_blank_lines() -> None:
    text = (
        "# produced by shasum --tag\r\n\r\n"
        f"SHA256 (dist/app.tar.gz) = {'a' * 64}\r\n"
        f"SHA512 (app.zip) = {'B' * 128}\r\n"
        f"SHA1 (app.exe) = {'c' * 40}\r\n"
    ).encode()
    manifest = parse_checksum_manifest(text, source_name="SHA256SUMS")
    assert manifest.errors == ()
    assert [(e.name, e.path, e.algorithm) for e in manifest.entries] == [
        ("app.tar.gz", "dist/app.tar.gz", "sha256"),
        ("app.zip", "app.zip", "sha512"),
        ("app.exe", "app.exe", "sha1"),
    ]
    assert manifest.entries[1].hex == "b" * 128


def test_gnu_binary_marker_and_single_space() -> None:
    text = f"{'1' * 64} *app.exe\n{'2' * 64} app.bin\n{'3' * 64}  ./app with space.tgz\n"
    manifest = parse_checksum_manifest(text, source_name="checksums.txt")
    assert [e.name for e in manifest.entries] == ["app.exe", "app.bin", "app with space.tgz"]


def test_malformed_lines_are_collected_not_raised() -> None:
    text = f"{'a' * 64}  ok.tgz\nnot a checksum\n{'b' * 63}  odd.tgz\nSHA256 (x) = {'c' * 40}\n"
    manifest = parse_checksum_manifest(text, source_name="SHA256SUMS")
    assert [e.name for e in manifest.entries] == ["ok.tgz"]
    assert len(manifest.errors) == 3
    assert manifest.errors[0].startswith("line 2: not a checksum line")


def test_conflicting_duplicate_entries_are_reported() -> None:
    text = f"{'a' * 64}  app\n{'b' * 64}  app\n"
    manifest = parse_checksum_manifest(text, source_name="SHA256SUMS")
    assert any("different sha256" in e for e in manifest.errors)
    (result,) = verify_checksums(manifest, [ArtifactRef(1, "app", digest="sha256:" + "a" * 64)])
    assert result.status == "failed"


def test_sha512_manifest_against_sha256_digest_is_unverifiable() -> None:
    manifest = parse_checksum_manifest(f"{'d' * 128}  app\n", source_name="SHA512SUMS")
    (result,) = verify_checksums(manifest, [ArtifactRef(1, "app", digest="sha256:" + "a" * 64)])
    assert result.status == "unverifiable" and "sha512" in result.reason


def test_per_file_manifest_covers_only_its_target_even_with_bare_hash() -> None:
    data = b"binary"
    digest = hashlib.sha256(data).hexdigest()
    manifest = parse_checksum_manifest(digest + "\n", source_name="app.tar.gz.sha256")
    assert manifest.scope == "app.tar.gz" and manifest.entries[0].name == "app.tar.gz"
    artifacts = [
        ArtifactRef(1, "app.tar.gz", digest=f"sha256:{digest}"),
        ArtifactRef(2, "other.zip"),
    ]
    assert checksum_coverage(manifest, artifacts).summary == "1 of 1 artifacts listed"
    (result,) = verify_checksums(manifest, artifacts)
    assert result.status == "passed"


@pytest.mark.parametrize(
    ("name", "is_manifest", "scope"),
    [
        ("SHA256SUMS", True, None),
        ("checksums.txt", True, None),
        ("sha256sum.txt", True, None),
        ("sha256sums.txt", True, None),
        ("myapp_1.2.3_checksums.txt", True, None),
        ("SHA512SUMS", True, None),
        ("checksums.sha256", True, None),
        ("app.tar.gz.sha256", True, "app.tar.gz"),
        ("app.tar.gz.sha256sum", True, "app.tar.gz"),
        ("app.zip.sha512", True, "app.zip"),
        ("SHA256SUMS.asc", False, None),
        ("checksums.txt.sig", False, None),
        ("checksums.txt.sigstore.json", False, None),
        ("app.tar.gz", False, None),
        ("jq.1", False, None),
    ],
)
def test_manifest_names(name: str, is_manifest: bool, scope: str | None) -> None:
    assert is_checksum_manifest(name) is is_manifest
    assert manifest_scope(name) == scope
