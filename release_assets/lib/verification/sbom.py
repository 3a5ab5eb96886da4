"""SBOM parsing: SPDX 2.2/2.3 JSON and CycloneDX 1.4-1.6 JSON, validated, never trusted blindly.

CycloneDX is validated against its published JSON schema through cyclonedx-python-lib.
SPDX is checked for the fields the 2.x spec requires; spdx-tools would add a heavy dependency
tree (rdflib, ply, ...) for little more than these checks on JSON input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from cyclonedx.schema import SchemaVersion

from .results import ArtifactRef, ReleaseRef, VerificationResult, make_result

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

SbomFormat = Literal["spdx", "cyclonedx"]

_CDX_VERSIONS = {"1.4": SchemaVersion.V1_4, "1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}
_SPDX_VERSIONS = ("SPDX-2.2", "SPDX-2.3")
_SPDX_REQUIRED = (
    "spdxVersion",
    "SPDXID",
    "name",
    "dataLicense",
    "documentNamespace",
    "creationInfo",
)
_SPDX_PACKAGE_REQUIRED = ("SPDXID", "name", "downloadLocation")


@dataclass(frozen=True)
class SbomReport:
    format: SbomFormat | None = None
    spec_version: str | None = None
    component_count: int | None = None
    name: str | None = None  # what the SBOM says it describes
    version: str | None = None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None

    def evidence(self) -> dict[str, Any]:
        return {
            "sbom_format": self.format,
            "sbom_spec_version": self.spec_version,
            "component_count": self.component_count,
            "described_name": self.name,
            "described_version": self.version,
        }


def parse_sbom(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SbomReport:
    """Identify, validate and summarise an SBOM; problems are reported in `error`."""
    if len(data) > max_bytes:
        return SbomReport(error=f"SBOM is {len(data):,} bytes, above the {max_bytes:,}-byte cap")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return SbomReport(error=f"SBOM is not valid JSON (truncated?): {exc}")
    if not isinstance(doc, dict):
        return SbomReport(error="SBOM JSON is not an object")
    if "spdxVersion" in doc:
        return _spdx(doc)
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(doc, data)
    return SbomReport(error="neither SPDX (spdxVersion) nor CycloneDX (bomFormat) JSON")


def _cyclonedx(doc: dict[str, Any], data: bytes) -> SbomReport:
    version = str(doc.get("specVersion"))
    schema = _CDX_VERSIONS.get(version)
    if schema is None:
        return SbomReport(
            "cyclonedx", version, error=f"CycloneDX {version} is not supported (1.4-1.6)"
        )
    # Imported here: the validator pulls in jsonschema's format checkers, seconds of import
    # that every Dagster code-server start would pay for a CycloneDX SBOM it may never see.
    from cyclonedx.validation.json import JsonStrictValidator

    invalid = JsonStrictValidator(schema).validate_str(data.decode("utf-8", errors="replace"))
    described = (doc.get("metadata") or {}).get("component") or {}
    report = SbomReport(
        "cyclonedx",
        version,
        _count_components(doc.get("components") or []),
        described.get("name"),
        described.get("version") or None,
    )
    if invalid is not None:
        return _with_error(report, f"CycloneDX {version} schema violation: {_first(invalid)}")
    return report


def _count_components(components: list[Any]) -> int:
    # Components may nest (assemblies); every one of them is shipped.
    return sum(
        1 + _count_components(c.get("components") or []) for c in components if isinstance(c, dict)
    )


def _spdx(doc: dict[str, Any]) -> SbomReport:
    version = str(doc.get("spdxVersion"))
    packages = doc.get("packages") or []
    name, pkg_version = _spdx_described(doc, packages)
    report = SbomReport(
        "spdx",
        version.removeprefix("SPDX-"),
        len(packages) if isinstance(packages, list) else None,
        name,
        pkg_version,
    )
    problems = _spdx_problems(doc, version, packages)
    return _with_error(report, "; ".join(problems[:5])) if problems else report


def _spdx_problems(doc: dict[str, Any], version: str, packages: Any) -> list[str]:
    if version not in _SPDX_VERSIONS:
        return [f"{version} is not supported (SPDX-2.2 or SPDX-2.3)"]
    problems = [f"missing required field {k}" for k in _SPDX_REQUIRED if not doc.get(k)]
    creation = doc.get("creationInfo")
    if isinstance(creation, dict):
        problems += [
            f"creationInfo.{k} missing" for k in ("created", "creators") if not creation.get(k)
        ]
    if doc.get("SPDXID") not in (None, "SPDXRef-DOCUMENT"):
        problems.append("document SPDXID must be SPDXRef-DOCUMENT")
    if not isinstance(packages, list):
        return [*problems, "packages is not a list"]
    for i, pkg in enumerate(packages):
        missing = [k for k in _SPDX_PACKAGE_REQUIRED if not isinstance(pkg, dict) or not pkg.get(k)]
        if missing:
            problems.append(f"packages[{i}] missing {', '.join(missing)}")
    return problems


def _spdx_described(doc: dict[str, Any], packages: Any) -> tuple[str | None, str | None]:
    """The package the document DESCRIBES; else its document name (tools put the target there)."""
    ids = list(doc.get("documentDescribes") or [])
    ids += [
        r.get("relatedSpdxElement")
        for r in doc.get("relationships") or []
        if isinstance(r, dict) and r.get("relationshipType") == "DESCRIBES"
    ]
    by_id = (
        {p.get("SPDXID"): p for p in packages if isinstance(p, dict)}
        if isinstance(packages, list)
        else {}
    )
    for spdx_id in ids:
        if spdx_id in by_id:
            return by_id[spdx_id].get("name"), by_id[spdx_id].get("versionInfo") or None
    return doc.get("name"), None


def _with_error(report: SbomReport, error: str) -> SbomReport:
    return SbomReport(
        report.format,
        report.spec_version,
        report.component_count,
        report.name,
        report.version,
        error,
    )


def _first(invalid: Any) -> str:
    text = str(getattr(invalid, "data", invalid))
    return text.splitlines()[0][:300] if text else "invalid"


def _normalise_version(value: str) -> str:
    return re.sub(r"^[^\d]*", "", value.strip())


def sbom_matches_release(report: SbomReport, repo_name: str, tag: str) -> bool | None:
    """Does the SBOM describe this repository at this tag? None when it names nothing to compare.

    Names compare on the last path segment (Go modules say github.com/owner/repo), versions
    without a leading "v" or tag prefix such as "jq-".
    """
    if not report.name:
        return None
    described = report.name.strip().rstrip("/").rsplit("/", 1)[-1].lower()
    if described != repo_name.rsplit("/", 1)[-1].lower():
        return False
    if not report.version:
        return None
    return _normalise_version(report.version) == _normalise_version(tag)


def sbom_result(
    report: SbomReport, *, release: ReleaseRef, artifact: ArtifactRef | None
) -> VerificationResult:
    """The `sbom` row: failed when unreadable, passed otherwise, with what it describes."""
    matches = sbom_matches_release(report, release.repo, release.tag) if release.repo else None
    evidence = {**report.evidence(), "matches_release": matches}
    if report.error:
        return make_result(release, artifact, "sbom", "failed", report.error, evidence=evidence)
    what = f"{report.format} {report.spec_version}, {report.component_count} components"
    if matches is False:
        what += f"; describes {report.name} {report.version or ''}, not this release".rstrip()
    return make_result(release, artifact, "sbom", "passed", what, evidence=evidence)
