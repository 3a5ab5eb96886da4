"""Verify one sigstore bundle offline against a repository-bound signer policy.

For a plain signature, GitHub's sha256 digest stands in for the file (`Hashed`), so a 2 GB
binary verifies without being downloaded. For a DSSE attestation the envelope is verified and
then its in-toto subjects are checked against the expected digest: a valid attestation about
some *other* file proves nothing about this one.

Every failure becomes a verdict with a reason; nothing raised by a hostile bundle escapes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.x509 import Certificate
from sigstore.errors import Error as SigstoreError
from sigstore.hashes import Hashed
from sigstore.models import Bundle
from sigstore.verify import Verifier
from sigstore.verify import policy as sigstore_policy
from sigstore_models.common.v1 import HashAlgorithm

from .hashing import parse_digest
from .names import CosignPair, bundle_target_name, find_legacy_cosign_pairs, is_legacy_cosign_pair
from .results import ArtifactRef, ReleaseRef, VerificationResult, make_result
from .signer_policy import SignerPolicy, certificate_identities, certificate_issuer
from .trust_roots import TrustRootError, TrustRootSpec, verifier_for

__all__ = [
    "BundleVerdict",
    "InTotoSubject",
    "bundle_result",
    "bundle_target_name",
    "find_legacy_cosign_pairs",
    "is_legacy_cosign_pair",
    "legacy_cosign_result",
    "verify_bundle",
]

_IN_TOTO = "application/vnd.in-toto+json"

Outcome = Literal["verified", "rejected", "malformed"]

# sigstore's messages are precise but terse; say what they usually mean for a release.
_HINTS = (
    (
        "failed to build timestamp certificate chain",
        "the signing certificate does not chain to this Sigstore root at signing time "
        "(signed on another instance, e.g. staging vs production, or signed after it expired)",
    ),
    (
        "not enough sources of verified time",
        "no timestamp or log entry from this trust root vouches for the signing time "
        "(signed on another instance?)",
    ),
    (
        "inconsistent with other materials",
        "the log entry is for a different signature or artifact: the bundle was tampered with",
    ),
    (
        "Signature is invalid for input",
        "the bundle does not sign this artifact (wrong file or digest)",
    ),
    ("digest mismatch", "the bundle does not sign this artifact (wrong file or digest)"),
)


@dataclass(frozen=True)
class InTotoSubject:
    name: str
    digest: dict[str, str]


@dataclass(frozen=True)
class BundleVerdict:
    """`outcome` separates a bad signature (rejected) from a file we could not read (malformed)."""

    verified: bool
    reason: str
    outcome: Outcome = "rejected"
    signer_identity: str | None = None
    issuer: str | None = None
    log_index: int | None = None
    media_type: str | None = None
    dsse: bool = False
    predicate_type: str | None = None
    subjects: tuple[InTotoSubject, ...] = field(default=())
    subject_matches: bool | None = None
    expected_digest: str | None = None

    @property
    def status(self) -> Literal["passed", "failed", "error"]:
        return {"verified": "passed", "rejected": "failed", "malformed": "error"}[self.outcome]  # type: ignore[return-value]

    def evidence(self) -> dict[str, Any]:
        """The fields a person needs to audit the verdict, for VerificationResult.evidence."""
        out: dict[str, Any] = {
            "signer_identity": self.signer_identity,
            "issuer": self.issuer,
            "log_index": self.log_index,
            "bundle_media_type": self.media_type,
        }
        if self.dsse:
            out["predicate_type"] = self.predicate_type
            out["subjects"] = [{"name": s.name, "digest": s.digest} for s in self.subjects]
            out["subject_matches"] = self.subject_matches
        return out


class _RecordingPolicy(sigstore_policy.VerificationPolicy):
    """Remembers whether the identity policy (not the cryptography) is what failed."""

    def __init__(self, inner: sigstore_policy.VerificationPolicy) -> None:
        self._inner = inner
        self.failed = False

    def verify(self, cert: Certificate) -> None:
        try:
            self._inner.verify(cert)
        except SigstoreError:
            self.failed = True
            raise


def verify_bundle(
    bundle_bytes: bytes,
    *,
    digest: str | None = None,
    artifact: bytes | None = None,
    policy: SignerPolicy,
    trust_root: TrustRootSpec = "production",
    dsse: bool = False,
) -> BundleVerdict:
    """Verify `bundle_bytes` for the file given by `artifact` bytes or its `digest`.

    `dsse=True` verifies an attestation (in-toto statement in a DSSE envelope); the digest is
    then optional and, when given, must be one of the statement's subjects.
    """
    expected, problem = _expected_digest(digest, artifact)
    if problem:
        return BundleVerdict(False, problem, "malformed", dsse=dsse)
    if expected is None and not dsse:
        return BundleVerdict(
            False, "no artifact or digest given to verify the signature against", "malformed"
        )
    raw, problem = _load_json(bundle_bytes)
    if problem or raw is None:
        return BundleVerdict(False, problem or "empty bundle", "malformed", dsse=dsse)
    facts = _raw_facts(raw)
    try:
        bundle = Bundle.from_json(bundle_bytes)
        cert = bundle.signing_certificate
        facts["signer_identity"] = next(iter(certificate_identities(cert)), None)
        facts["issuer"] = certificate_issuer(cert)
    except Exception as exc:  # pydantic, sigstore and cryptography errors: hostile input
        return BundleVerdict(
            False,
            f"not a valid sigstore bundle: {_first_line(exc)}",
            "malformed",
            dsse=dsse,
            **facts,
        )
    has_dsse = "dsseEnvelope" in raw
    if has_dsse != dsse:
        kind = "a DSSE attestation" if has_dsse else "a plain signature"
        return BundleVerdict(
            False,
            f"bundle holds {kind}; verify it with dsse={has_dsse}",
            "rejected",
            dsse=dsse,
            expected_digest=expected,
            **facts,
        )
    try:
        verifier = verifier_for(trust_root if isinstance(trust_root, str) else Path(trust_root))
    except TrustRootError as exc:
        return BundleVerdict(False, str(exc), "malformed", dsse=dsse, **facts)
    recorder = _RecordingPolicy(policy.to_sigstore())
    try:
        if dsse:
            return _verify_attestation(verifier, bundle, recorder, expected, facts)
        verifier.verify_artifact(_input(artifact, expected), bundle, recorder)
    except SigstoreError as exc:
        return _rejected(exc, recorder, policy, trust_root, dsse, expected, facts)
    except Exception as exc:  # malformed certificates or entries surface as assorted errors
        return BundleVerdict(
            False,
            f"bundle could not be verified: {_first_line(exc)}",
            "malformed",
            dsse=dsse,
            expected_digest=expected,
            **facts,
        )
    return BundleVerdict(
        True,
        f"signed by {facts['signer_identity']} ({facts['issuer']})",
        "verified",
        expected_digest=expected,
        **facts,
    )


def _verify_attestation(
    verifier: Verifier,
    bundle: Bundle,
    recorder: _RecordingPolicy,
    expected: str | None,
    facts: dict[str, Any],
) -> BundleVerdict:
    payload_type, payload = verifier.verify_dsse(bundle, recorder)
    if payload_type != _IN_TOTO:
        return BundleVerdict(
            False,
            f"DSSE payload type {payload_type!r} is not an in-toto statement",
            "rejected",
            dsse=True,
            **facts,
        )
    try:
        statement = json.loads(payload)
        subjects = tuple(
            InTotoSubject(
                str(s.get("name", "")), {str(k): str(v).lower() for k, v in s["digest"].items()}
            )
            for s in statement.get("subject", [])
        )
        predicate_type = str(statement.get("predicateType", "")) or None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return BundleVerdict(
            False, f"signed in-toto statement is malformed: {exc}", "malformed", dsse=True, **facts
        )
    common = {
        "dsse": True,
        "predicate_type": predicate_type,
        "subjects": subjects,
        "expected_digest": expected,
        **facts,
    }
    if expected is None:
        return BundleVerdict(
            True,
            f"attestation signed by {facts['signer_identity']}; "
            "no digest given, subjects not checked",
            "verified",
            **common,
        )
    hex_ = expected.split(":", 1)[1]
    if any(s.digest.get("sha256") == hex_ for s in subjects):
        return BundleVerdict(
            True,
            f"attestation signed by {facts['signer_identity']} names {expected}",
            "verified",
            subject_matches=True,
            **common,
        )
    names = ", ".join(s.name for s in subjects) or "nothing"
    return BundleVerdict(
        False,
        f"attestation is validly signed but is about {names}, not {expected}",
        "rejected",
        subject_matches=False,
        **common,
    )


def _rejected(
    exc: Exception,
    recorder: _RecordingPolicy,
    signer: SignerPolicy,
    trust_root: TrustRootSpec,
    dsse: bool,
    expected: str | None,
    facts: dict[str, Any],
) -> BundleVerdict:
    if recorder.failed:
        reason = (
            f"signer {facts['signer_identity']} (issuer {facts['issuer']}) is not allowed: "
            f"policy requires {signer.describe()}"
        )
    else:
        reason = f"{_first_line(exc)} (trust root: {trust_root})"
        for needle, hint in _HINTS:
            if needle in reason:
                reason += f": {hint}"
                break
    return BundleVerdict(False, reason, "rejected", dsse=dsse, expected_digest=expected, **facts)


def _expected_digest(digest: str | None, artifact: bytes | None) -> tuple[str | None, str | None]:
    """The sha256 the bundle must be about, as "sha256:<hex>", or a reason it is unusable."""
    from_bytes = f"sha256:{hashlib.sha256(artifact).hexdigest()}" if artifact is not None else None
    if digest is None:
        return from_bytes, None
    parsed = parse_digest(digest)
    if parsed is None or parsed.algorithm != "sha256":
        return None, f"digest {digest!r} is not a well-formed sha256 digest"
    if from_bytes is not None and from_bytes != str(parsed):
        return None, f"artifact bytes hash to {from_bytes}, not the given {parsed}"
    return str(parsed), None


def _input(artifact: bytes | None, expected: str | None) -> bytes | Hashed:
    if artifact is not None:
        return artifact
    assert expected is not None  # checked by the caller
    return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(expected.split(":", 1)[1]))


def _load_json(data: bytes) -> tuple[dict[str, Any] | None, str | None]:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"bundle is not JSON (truncated or corrupted?): {exc}"
    if not isinstance(raw, dict):
        return None, "bundle is JSON but not an object"
    return raw, None


def _raw_facts(raw: dict[str, Any]) -> dict[str, Any]:
    """Evidence read from the JSON itself, so even a rejected bundle says what it claimed."""
    facts: dict[str, Any] = {"media_type": raw.get("mediaType")}
    try:
        facts["log_index"] = int(raw["verificationMaterial"]["tlogEntries"][0]["logIndex"])
    except (KeyError, IndexError, TypeError, ValueError):
        facts["log_index"] = None
    return facts


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = text.splitlines()
    # pydantic puts the useful part on the lines after its summary
    return " ".join(line.strip() for line in lines[:3])


def bundle_result(
    verdict: BundleVerdict,
    *,
    release: ReleaseRef | None,
    artifact: ArtifactRef | None,
    bundle_name: str,
) -> VerificationResult:
    """The `signature` (or, for DSSE, `attestation`) row for the artifact a bundle covers."""
    return make_result(
        release,
        artifact,
        "attestation" if verdict.dsse else "signature",
        verdict.status,
        verdict.reason,
        evidence={"bundle": bundle_name, **verdict.evidence()},
        subject_digest=verdict.expected_digest,
    )


def legacy_cosign_result(
    pair: CosignPair, *, release: ReleaseRef | None, artifact: ArtifactRef | None
) -> VerificationResult:
    """A `.sig` + certificate without a bundle: reported, never counted as passed."""
    return make_result(
        release,
        artifact,
        "signature",
        "not_applicable",
        f"{pair.signature} + {pair.certificate} is a legacy cosign pair without a sigstore bundle "
        "(no transparency-log proof): it cannot be verified offline; publish a .sigstore.json bundle",
        evidence={"signature": pair.signature, "certificate": pair.certificate},
    )
