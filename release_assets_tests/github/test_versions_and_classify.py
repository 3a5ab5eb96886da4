"""Versions read from real-world tags, and artifact classification from real file names."""

import pytest

from release_assets.lib.classify import classify
from release_assets.lib.versions import bump_kind, parse_tag


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("v1.2.3", "1.2.3"),
        ("1.2.3", "1.2.3"),
        ("jq-1.5", "1.5.0"),
        ("jq-1.5rc1", "1.5.0-rc.1"),
        ("v2.0.0-rc.1", "2.0.0-rc.1"),
        ("0.5.0", "0.5.0"),
        ("v0.1.2", "0.1.2"),
        ("v1.55", "1.55.0"),
        ("release-2024-01", None),
        ("nightly", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_tag(tag: str | None, version: str | None) -> None:
    parsed = parse_tag(tag)
    assert (str(parsed.version) if parsed else None) == version


def test_bump_kinds_include_zero_major_and_prereleases() -> None:
    v = lambda t: parse_tag(t).version  # noqa: E731
    assert bump_kind(None, v("0.1.0")) == "initial"
    assert bump_kind(v("0.1.0"), v("0.2.0")) == "minor"
    assert bump_kind(v("0.2.0"), v("0.2.1")) == "patch"
    assert bump_kind(v("0.2.1"), v("1.0.0")) == "major"
    assert bump_kind(v("1.0.0"), v("2.0.0-rc.1")) == "prerelease"
    assert bump_kind(v("2.0.0-rc.1"), v("2.0.0")) == "patch"


@pytest.mark.parametrize(
    ("name", "kind", "os", "arch", "package"),
    [
        ("jq-linux64", "binary", "linux", "x86_64", None),
        ("jq-win32.exe", "binary", "windows", "x86", "exe"),
        ("jq-osx-amd64", "binary", "macos", "x86_64", None),
        ("hyper-1.3.1.dmg", "binary", "macos", None, "dmg"),
        ("hyper_1.3.1_amd64.deb", "binary", "linux", "x86_64", "deb"),
        ("tool_1.2.3_darwin_arm64.zip", "binary", "macos", "arm64", "zip"),
        ("checksums.txt", "checksums", None, None, None),
        ("sha256sum.txt", "checksums", None, None, None),
        ("SHA256SUMS", "checksums", None, None, None),
        ("json.hpp.asc", "signature", None, None, None),
        ("tool.tar.gz.sig", "signature", None, None, None),
        ("rfc8785-0.1.2-py3-none-any.whl.sigstore", "sigstore_bundle", None, None, None),
        ("multiple.intoto.jsonl", "provenance", None, None, None),
        ("tool.sbom.spdx.json", "sbom", None, None, None),
        ("cosign.pem", "certificate", None, None, None),
        ("RELEASES", "other", None, None, None),
    ],
)
def test_classify(name: str, kind: str, os: str | None, arch: str | None, package: str | None) -> None:
    found = classify(name)
    assert (found.kind, found.os, found.arch, found.package_type) == (kind, os, arch, package)
