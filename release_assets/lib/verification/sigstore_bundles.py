"""Verify one sigstore bundle offline against a repository-bound signer policy.

For a plain signature, GitHub's sha256 digest stands in for the file (`Hashed`), so a 2 GB
binary verifies without being downloaded. For a DSSE attestation the envelope is verified and
then its in-toto subjects are checked against the digests known for the file (sha256, and
sha512 when known): a valid attestation about some *other* file proves nothing about this one.

Four outcomes: verified; rejected (cryptography or the policy says no); unverifiable (the
bundle may be valid but this verifier cannot judge it, with the reason); malformed (unreadable).
Every failure becomes a verdict with a reason; nothing raised by a hostile bundle escapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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
from .instances import envelope_signature_problem, leaf_certificate, unverifiable_reason
from .results import ArtifactRef, ReleaseRef, VerificationResult, make_result
from .signer_policy import (
    SignerPolicy,
    SourceRepository,
    certificate_identities,
    certificate_issuer,
    certificate_source,
)
from .statements import InTotoSubject, match_subjects, parse_statement
from .trust_roots import TrustRootError, TrustRootSpec, verifier_for

__all__ = ["BundleVerdict", "InTotoSubject", "bundle_result", "verify_bundle"]

_IN_TOTO = "application/vnd.in-toto+json"

Outcome = Literal["verified", "rejected", "malformed", "unverifiable"]
VerdictStatus = Literal["passed", "failed", "error", "unverifiable"]
_STATUS: dict[str, VerdictStatus] = {
    "verified": "passed",
    "rejected": "failed",
    "malformed": "error",
    "unverifiable": "unverifiable",
}
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
class BundleVerdict:
    """`outcome`: verified, rejected (a bad signature or signer), unverifiable (cannot judge), or
    malformed (could not read). `repository_bound` is False when the signer was accepted without
    a Source Repository to bind it to (an explicit identity, a signer outside GitHub Actions)."""

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
    source: SourceRepository | None = None
    repository_bound: bool | None = None
    # Digest algorithms the subjects use that we lack (e.g. sha512): hashing the file would help.
    missing_algorithms: tuple[str, ...] = ()

    @property
    def status(self) -> VerdictStatus:
        return _STATUS[self.outcome]

    def evidence(self) -> dict[str, Any]:
        """The fields a person needs to audit the verdict, for VerificationResult.evidence."""
        out: dict[str, Any] = {
            "signer_identity": self.signer_identity,
            "issuer": self.issuer,
            "log_index": self.log_index,
            "bundle_media_type": self.media_type,
            **(self.source.evidence() if self.source else {}),
        }
        if self.repository_bound is not None:
            out["repository_bound"] = self.repository_bound
        if self.dsse:
            out["predicate_type"] = self.predicate_type
            out["subjects"] = [{"name": s.name, "digest": s.digest} for s in self.subjects]
            out["subject_matches"] = self.subject_matches
        if self.missing_algorithms:
            out["missing_algorithms"] = list(self.missing_algorithms)
        return out


class _RecordingPolicy(sigstore_policy.VerificationPolicy):
    """Remembers why the signer policy (not the cryptography) refused, when it did."""

    def __init__(self, inner: sigstore_policy.VerificationPolicy) -> None:
        self._inner = inner
        self.failure: str | None = None

    def verify(self, cert: Certificate) -> None:
        try:
            self._inner.verify(cert)
        except SigstoreError as exc:
            self.failure = str(exc)
            raise


def verify_bundle(
    bundle_bytes: bytes,
    *,
    digest: str | None = None,
    artifact: bytes | None = None,
    policy: SignerPolicy,
    trust_root: TrustRootSpec = "production",
    dsse: bool = False,
    other_digests: Mapping[str, str] | None = None,
    private_repository: bool = False,
) -> BundleVerdict:
    """Verify `bundle_bytes` for the file given by `artifact` bytes or its sha256 `digest`.

    `dsse=True` verifies an attestation (in-toto statement in a DSSE envelope); the digest is
    then optional and, when given, one of the statement's subjects must name the file, in
    sha256 or in any algorithm of `other_digests` ({"sha512": hex}). `private_repository`: the
    bundle comes from a private repository (GitHub's own Sigstore instance may have signed it).
    """
    expected, problem = _expected_digest(digest, artifact)
    if problem:
        return BundleVerdict(False, problem, "malformed", dsse=dsse)
    if expected is None and not dsse:
        return BundleVerdict(
            False, "no artifact or digest given to verify the signature against", "malformed"
        )
    known = _known_digests(expected, artifact, other_digests)
    raw, problem = _load_json(bundle_bytes)
    if problem or raw is None:
        return BundleVerdict(False, problem or "empty bundle", "malformed", dsse=dsse)
    facts = _raw_facts(raw)
    cannot_judge = unverifiable_reason(
        raw, named_root=isinstance(trust_root, str), private_repository=private_repository
    )
    if cannot_judge is not None:
        if (broken := envelope_signature_problem(raw)) is not None:
            return BundleVerdict(False, broken, "rejected", dsse=dsse, **facts)
        return BundleVerdict(
            False,
            cannot_judge,
            "unverifiable",
            dsse="dsseEnvelope" in raw,
            expected_digest=expected,
            **facts,
        )
    try:
        bundle = Bundle.from_json(bundle_bytes)
        cert = bundle.signing_certificate
        facts.update(_cert_facts(cert))
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
    bound = facts["source"].uri is not None
    note = _binding_note(bound, policy)
    try:
        if dsse:
            return _verify_attestation(verifier, bundle, recorder, expected, known, note, facts)
        verifier.verify_artifact(_input(artifact, expected), bundle, recorder)
    except SigstoreError as exc:
        return _rejected(exc, recorder, trust_root, dsse, expected, facts)
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
        f"signed by {facts['signer_identity']} ({facts['issuer']}){note}",
        "verified",
        expected_digest=expected,
        repository_bound=bound,
        **facts,
    )


def _binding_note(bound: bool, policy: SignerPolicy) -> str:
    if bound:
        return f" for {policy.binding.describe()}"
    return (
        f"; the repository could not be bound (the certificate names no source repository): "
        f"accepted through an identity configured for {policy.binding.repository}"
    )


def _cert_facts(cert: Certificate) -> dict[str, Any]:
    return {
        "signer_identity": next(iter(certificate_identities(cert)), None),
        "issuer": certificate_issuer(cert),
        "source": certificate_source(cert),
    }


def _verify_attestation(
    verifier: Verifier,
    bundle: Bundle,
    recorder: _RecordingPolicy,
    expected: str | None,
    known: dict[str, str],
    note: str,
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
        subjects, predicate_type = parse_statement(payload)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return BundleVerdict(
            False, f"signed in-toto statement is malformed: {exc}", "malformed", dsse=True, **facts
        )
    common: dict[str, Any] = {
        "dsse": True,
        "predicate_type": predicate_type,
        "subjects": subjects,
        "expected_digest": expected,
        "repository_bound": facts["source"].uri is not None,
        **facts,
    }
    signer = f"attestation signed by {facts['signer_identity']}"
    if not known:
        return BundleVerdict(
            True, f"{signer}{note}; no digest given, subjects not checked", "verified", **common
        )
    match = match_subjects(subjects, known)
    if match.matched is not None:
        return BundleVerdict(
            True,
            f"{signer} names {match.matched}{note}",
            "verified",
            subject_matches=True,
            **common,
        )
    if match.missing:
        return BundleVerdict(
            False,
            f"{signer} is valid, but its subjects name only {', '.join(match.missing)} digests, "
            f"and this file's {' or '.join(sorted(known))} is all that is known: the subject "
            "cannot be matched",
            "unverifiable",
            missing_algorithms=match.missing,
            **common,
        )
    names = ", ".join(s.name for s in subjects) or "nothing"
    return BundleVerdict(
        False,
        f"attestation is validly signed but is about {names}, not {expected or _first(known)}",
        "rejected",
        subject_matches=False,
        **common,
    )


def _first(known: Mapping[str, str]) -> str:
    algorithm = sorted(known)[0]
    return f"{algorithm}:{known[algorithm]}"


def _rejected(
    exc: Exception,
    recorder: _RecordingPolicy,
    trust_root: TrustRootSpec,
    dsse: bool,
    expected: str | None,
    facts: dict[str, Any],
) -> BundleVerdict:
    if recorder.failure is not None:
        reason = recorder.failure
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


def _known_digests(
    expected: str | None, artifact: bytes | None, other: Mapping[str, str] | None
) -> dict[str, str]:
    """Every digest of the file we have, algorithm -> hex (sha512 is cheap when bytes are here)."""
    known = {k.lower(): v.lower() for k, v in (other or {}).items()}
    if expected is not None:
        known["sha256"] = expected.split(":", 1)[1]
    if artifact is not None:
        known.setdefault("sha512", hashlib.sha512(artifact).hexdigest())
    return known


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
    cert = leaf_certificate(raw)
    facts.update(
        _cert_facts(cert)
        if cert is not None
        else {"signer_identity": None, "issuer": None, "source": None}
    )
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
