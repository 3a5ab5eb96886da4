"""`release-assets verify-bundle`: check one sigstore bundle by hand, offline, with one verdict.

The artifact file is hashed in chunks (a multi-gigabyte binary is never read into memory) and
verified through its digest, exactly as the `release_verification` asset does with GitHub's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .hashing import MIB, parse_digest
from .signer_policy import SignerPolicy
from .sigstore_bundles import verify_bundle
from .trust_roots import TrustRootError, TrustRootSpec, load_trusted_root

EXIT_VERIFIED, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """Input the user has to fix (exit 2), as opposed to a bundle that does not verify (exit 1)."""


def hash_file(path: Path, *, chunk_size: int = MIB) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            h.update(chunk)
    return f"sha256:{h.hexdigest()}"


def build_policy(identity: str, issuer: str) -> SignerPolicy:
    """An exact identity, or a prefix when it ends with '/' (e.g. a repository's workflows/)."""
    try:
        if identity.endswith("/"):
            return SignerPolicy(issuer=issuer, identity_prefixes=(identity,))
        return SignerPolicy(issuer=issuer, identities=(identity,))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def trust_root_spec(value: str) -> TrustRootSpec:
    spec: TrustRootSpec = value if value in ("production", "staging") else Path(value)  # type: ignore[assignment]
    try:
        load_trusted_root(spec)
    except TrustRootError as exc:
        raise UsageError(str(exc)) from None
    return spec


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def verify_bundle_file(
    *,
    bundle: Path,
    artifact: Path | None,
    digest: str | None,
    identity: str,
    issuer: str,
    trust_root: str = "production",
    dsse: bool = False,
) -> tuple[int, dict[str, Any]]:
    """(exit code, the JSON object to print)."""
    report: dict[str, Any] = {"verified": False, "bundle": str(bundle), "trust_root": trust_root}
    try:
        if (artifact is None) == (digest is None):
            raise UsageError("give exactly one of --artifact FILE or --digest sha256:HEX")
        if digest is not None:
            parsed = parse_digest(digest)
            if parsed is None or parsed.algorithm != "sha256" or not digest.startswith("sha256:"):
                raise UsageError(f"--digest must be sha256:<64 hex digits>, not {digest!r}")
            digest = str(parsed)
        else:
            assert artifact is not None
            if not artifact.is_file():
                raise UsageError(f"cannot read artifact {artifact}: no such file")
            try:
                digest = hash_file(artifact)
            except OSError as exc:
                raise UsageError(f"cannot read artifact {artifact}: {exc.strerror or exc}") from None
        policy = build_policy(identity, issuer)
        spec = trust_root_spec(trust_root)
        data = _read(bundle, "bundle")
    except UsageError as exc:
        return EXIT_USAGE, {**report, "reason": str(exc), "usage_error": True}
    verdict = verify_bundle(data, digest=digest, policy=policy, trust_root=spec, dsse=dsse)
    report.update(
        verified=verdict.verified,
        reason=verdict.reason,
        outcome=verdict.outcome,
        digest=digest,
        policy=policy.describe(),
        **verdict.evidence(),
    )
    if dsse:
        report["subject_matches"] = verdict.subject_matches
    return (EXIT_VERIFIED if verdict.verified else EXIT_REJECTED), report
