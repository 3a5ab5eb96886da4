"""Real SBOMs from sbomqs' samples: format, version and component counts exactly."""

from __future__ import annotations

import json

import pytest

from release_assets.lib.verification import (
    ReleaseRef,
    parse_sbom,
    sbom_matches_release,
    sbom_result,
)

from .conftest import FIXTURES

SBOM = FIXTURES / "sbom"


@pytest.mark.parametrize(
    ("name", "fmt", "version", "count", "described"),
    [
        ("julia.spdx.json", "spdx", "2.2", 34, "Julia"),
        ("sbomqs.syft-spdx.json", "spdx", "2.3", 30, "../sbomqs"),
        ("sbomqs-cdx-cgomod.json", "cyclonedx", "1.4", 20, "github.com/interlynk-io/sbomqs"),
        ("stree-cdxgen.cdx.json", "cyclonedx", "1.5", 12, "github.com/viveksahu26/stree"),
    ],
)
def test_real_sboms(name: str, fmt: str, version: str, count: int, described: str) -> None:
    report = parse_sbom((SBOM / name).read_bytes())
    assert report.error is None and report.valid
    assert (report.format, report.spec_version, report.component_count) == (fmt, version, count)
    assert report.name == described


@pytest.mark.parametrize("name", ["julia.spdx.json", "stree-cdxgen.cdx.json"])
def test_truncated_sbom_fails_with_reason(name: str) -> None:
    data = (SBOM / name).read_bytes()
    report = parse_sbom(data[: len(data) // 2])
    assert not report.valid and "not valid JSON" in (report.error or "")


def test_oversized_sbom_fails_before_parsing() -> None:
    data = (SBOM / "julia.spdx.json").read_bytes()
    report = parse_sbom(data, max_bytes=1024)
    assert not report.valid and "above the 1,024-byte cap" in (report.error or "")


def test_cyclonedx_schema_violation_is_reported() -> None:
    doc = json.loads((SBOM / "sbomqs-cdx-cgomod.json").read_bytes())
    doc["components"][0]["type"] = "not-a-component-type"
    report = parse_sbom(json.dumps(doc).encode())
    assert report.format == "cyclonedx" and "schema violation" in (report.error or "")


def test_spdx_missing_required_fields_are_reported() -> None:
    doc = json.loads((SBOM / "sbomqs.syft-spdx.json").read_bytes())
    del doc["documentNamespace"]
    del doc["packages"][3]["downloadLocation"]
    report = parse_sbom(json.dumps(doc).encode())
    assert "documentNamespace" in (report.error or "")
    assert "packages[3] missing downloadLocation" in (report.error or "")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"spdxVersion": "SPDX-3.0"}', "not supported"),
        (b'{"bomFormat": "CycloneDX", "specVersion": "1.2"}', "not supported"),
        (b'{"hello": 1}', "neither SPDX"),
        (b"[]", "not an object"),
    ],
)
def test_unknown_or_unsupported_documents(data: bytes, reason: str) -> None:
    assert reason in (parse_sbom(data).error or "")


def test_sbom_matches_release() -> None:
    cdx = parse_sbom((SBOM / "sbomqs-cdx-cgomod.json").read_bytes())
    assert (
        sbom_matches_release(cdx, "interlynk-io/sbomqs", "v0.0.16-0.20230424202416-6a969c2dcfe4")
        is True
    )
    assert sbom_matches_release(cdx, "interlynk-io/sbomqs", "v0.0.17") is False
    assert sbom_matches_release(cdx, "other/repo", "v0.0.16") is False
    julia = parse_sbom((SBOM / "julia.spdx.json").read_bytes())
    assert sbom_matches_release(julia, "JuliaLang/julia", "v1.8.0-DEV") is True
    stree = parse_sbom((SBOM / "stree-cdxgen.cdx.json").read_bytes())
    assert sbom_matches_release(stree, "viveksahu26/stree", "v1.0.0") is None  # no version
    assert sbom_matches_release(parse_sbom(b"{}"), "a/b", "v1") is None


def test_sbom_result_rows() -> None:
    release = ReleaseRef("interlynk-io/sbomqs", 5, "v0.0.17")
    ok = sbom_result(
        parse_sbom((SBOM / "sbomqs-cdx-cgomod.json").read_bytes()), release=release, artifact=None
    )
    assert ok.status == "passed" and ok.evidence["component_count"] == 20
    assert ok.evidence["matches_release"] is False and "not this release" in ok.reason
    bad = sbom_result(parse_sbom(b"{"), release=release, artifact=None)
    assert bad.status == "failed" and bad.check == "sbom"
