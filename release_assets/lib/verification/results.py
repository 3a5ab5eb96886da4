"""The shapes every verification check returns: one row per (artifact, check)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Check = Literal["checksum", "signature", "attestation", "sbom", "docs"]
# passed; failed: cryptography or policy says no (the only status that blocks); unverifiable:
# may be valid, but this verifier cannot judge it (always with the reason); not_applicable:
# nothing to check; error: network or IO, retried next run.
Status = Literal["passed", "failed", "unverifiable", "not_applicable", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "unverifiable", "not_applicable", "error")
# Merging several sources of one (artifact, check), the first wins: a failure or an error is
# never hidden, and a source that passed outweighs one that could not be judged.
PRECEDENCE: dict[str, int] = {
    "failed": 0,
    "error": 1,
    "passed": 2,
    "unverifiable": 3,
    "not_applicable": 4,
}


CHECKS: tuple[Check, ...] = ("checksum", "signature", "attestation", "sbom", "docs")


def as_status(value: object) -> Status:
    """A status read back from storage; anything else (a corrupt row) counts as an error."""
    return next((s for s in STATUSES if s == value), "error")


def as_check(value: object) -> Check:
    """A check name read back from storage (cached verdicts of bundles are signature rows
    unless they say otherwise)."""
    return next((c for c in CHECKS if c == value), "signature")


@dataclass(frozen=True)
class ArtifactRef:
    """A file attached to a release, as the list-releases response describes it.

    `digest` is GitHub's `"sha256:<hex>"` or None (files uploaded before June 2025).
    """

    artifact_id: int
    name: str
    size: int | None = None
    digest: str | None = None
    download_url: str | None = None


@dataclass(frozen=True)
class ReleaseRef:
    """Which release a result belongs to; checks that see one artifact take it as context."""

    repo: str = ""
    release_id: int | None = None
    tag: str = ""


@dataclass(frozen=True)
class VerificationResult:
    """One verdict. `reason` is written for a person who has to act on it."""

    repo: str
    release_id: int | None
    tag: str
    artifact_id: int | None
    artifact_name: str | None
    check: Check
    status: Status
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    subject_digest: str | None = None


def make_result(
    release: ReleaseRef | None,
    artifact: ArtifactRef | None,
    check: Check,
    status: Status,
    reason: str,
    *,
    evidence: dict[str, Any] | None = None,
    subject_digest: str | None = None,
) -> VerificationResult:
    """Build a result from its context, so callers never repeat the five identity fields."""
    rel = release or ReleaseRef()
    return VerificationResult(
        repo=rel.repo,
        release_id=rel.release_id,
        tag=rel.tag,
        artifact_id=artifact.artifact_id if artifact else None,
        artifact_name=artifact.name if artifact else None,
        check=check,
        status=status,
        reason=reason,
        evidence=dict(evidence or {}),
        subject_digest=subject_digest,
    )
