"""`release-assets verify-bundle`: check one sigstore bundle by hand, offline, with one verdict.

The same policy as the pipeline: GitHub Actions' issuer (unless `--issuer`), the repository's
own workflows plus any `--identity`, every one bound to `--repository` (and its ids when given)
through the certificate's Source Repository. The artifact file is hashed in chunks (a
multi-gigabyte binary is never read into memory) and verified through its digest.

Every outcome, usage errors and `--help` included, is exactly one JSON object on stdout:
exit 0 verified, 1 rejected, 2 usage, 3 unverifiable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .hashing import MIB, parse_digest

if TYPE_CHECKING:  # sigstore takes seconds to import: only when a bundle is verified
    from .signer_policy import SignerPolicy
    from .trust_roots import TrustRootSpec

EXIT_VERIFIED, EXIT_REJECTED, EXIT_USAGE, EXIT_UNVERIFIABLE = 0, 1, 2, 3
COMMAND = "verify-bundle"
_EXIT_BY_OUTCOME = {
    "verified": EXIT_VERIFIED,
    "rejected": EXIT_REJECTED,
    "malformed": EXIT_REJECTED,
    "unverifiable": EXIT_UNVERIFIABLE,
}


class UsageError(ValueError):
    """Input the user has to fix (exit 2), as opposed to a bundle that does not verify (exit 1)."""


class _JsonUsageParser(argparse.ArgumentParser):
    """argparse, with its errors raised (to become the JSON verdict) instead of printed."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        # only --help exits without an error: the help goes to stderr, stdout stays JSON
        raise UsageError("help requested (printed on stderr); no bundle was verified")


def build_parser() -> argparse.ArgumentParser:
    parser = _JsonUsageParser(
        prog=f"release-assets {COMMAND}",
        description="Verify one sigstore bundle offline against a repository-bound policy. "
        "Prints one JSON verdict; exit 0 verified, 1 rejected, 2 usage, 3 unverifiable.",
    )
    parser.print_help = lambda file=None: argparse.ArgumentParser.print_help(  # type: ignore[method-assign]
        parser, sys.stderr
    )
    parser.add_argument("--bundle", type=Path, required=True, metavar="FILE")
    subject = parser.add_mutually_exclusive_group(required=True)
    subject.add_argument("--artifact", type=Path, metavar="FILE", help="the signed file (hashed)")
    subject.add_argument("--digest", metavar="sha256:HEX", help="the signed file's sha256")
    parser.add_argument(
        "--repository",
        required=True,
        metavar="OWNER/NAME",
        help="the repository the signature must have been made for (the certificate's "
        "Source Repository; case-insensitive)",
    )
    parser.add_argument("--repository-id", type=int, metavar="N", help="its GitHub id")
    parser.add_argument("--owner-id", type=int, metavar="N", help="its owner's GitHub id")
    parser.add_argument(
        "--identity",
        action="append",
        default=[],
        metavar="URI",
        help="also accept this signer (repeatable): an exact identity, or a prefix ending in "
        "'/' such as a reusable workflow's .github/workflows/; the repository's own "
        "workflows are always accepted",
    )
    parser.add_argument("--issuer", metavar="URL", help="the OIDC issuer (default: GitHub Actions)")
    parser.add_argument("--trust-root", default="production", metavar="production|staging|PATH")
    parser.add_argument("--dsse", action="store_true", help="the bundle is an attestation (DSSE)")
    return parser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `verify-bundle` to the `release-assets` parser.

    Its arguments are handed through unparsed (no prefix character is one the top-level parser
    knows) and parsed by `build_parser`, so that a usage error is a JSON verdict too.
    """
    command = subparsers.add_parser(
        COMMAND,
        help="verify one sigstore bundle offline (one JSON verdict)",
        add_help=False,
        prefix_chars="\x01",
    )
    command.add_argument("bundle_argv", nargs="*")
    command.set_defaults(func=lambda args: main(args.bundle_argv))


def main(argv: Sequence[str]) -> int:
    """Parse, verify, print the one JSON verdict, and return the exit code."""
    try:
        args = build_parser().parse_args(list(argv))
    except UsageError as exc:
        code, report = EXIT_USAGE, _usage_report(str(exc))
    else:
        code, report = verify_bundle_file(
            bundle=args.bundle,
            artifact=args.artifact,
            digest=args.digest,
            repository=args.repository,
            repository_id=args.repository_id,
            owner_id=args.owner_id,
            identities=tuple(args.identity),
            issuer=args.issuer,
            trust_root=args.trust_root,
            dsse=args.dsse,
        )
    print(json.dumps(report, indent=2, default=str))
    return code


def _usage_report(reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "verified": False,
        "outcome": "usage_error",
        "usage_error": True,
        "reason": reason,
        **extra,
    }


def hash_file(path: Path, *, algorithm: str = "sha256", chunk_size: int = MIB) -> str:
    """`algorithm:hex` of a file, read a chunk at a time."""
    h = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            h.update(chunk)
    return f"{algorithm}:{h.hexdigest()}"


def build_policy(
    repository: str,
    *,
    identities: tuple[str, ...],
    repository_id: int | None,
    owner_id: int | None,
    issuer: str | None,
) -> SignerPolicy:
    """The pipeline's policy for `repository`, with `identities` as its per-repository ones."""
    from .signer_policy import policy_for_repository

    try:
        return policy_for_repository(
            repository,
            identities=identities,
            repository_id=repository_id,
            owner_id=owner_id,
            issuer=issuer,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def trust_root_spec(value: str) -> TrustRootSpec:
    from .trust_roots import TrustRootError, load_trusted_root

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


def _subject_digest(artifact: Path | None, digest: str | None) -> str:
    if (artifact is None) == (digest is None):
        raise UsageError("give exactly one of --artifact FILE or --digest sha256:HEX")
    if digest is not None:
        parsed = parse_digest(digest)
        if parsed is None or parsed.algorithm != "sha256" or not digest.startswith("sha256:"):
            raise UsageError(f"--digest must be sha256:<64 hex digits>, not {digest!r}")
        return str(parsed)
    assert artifact is not None
    if not artifact.is_file():
        raise UsageError(f"cannot read artifact {artifact}: no such file")
    try:
        return hash_file(artifact)
    except OSError as exc:
        raise UsageError(f"cannot read artifact {artifact}: {exc.strerror or exc}") from None


def verify_bundle_file(
    *,
    bundle: Path,
    artifact: Path | None,
    digest: str | None,
    repository: str,
    repository_id: int | None = None,
    owner_id: int | None = None,
    identities: tuple[str, ...] = (),
    issuer: str | None = None,
    trust_root: str = "production",
    dsse: bool = False,
) -> tuple[int, dict[str, Any]]:
    """(exit code, the JSON object to print)."""
    report: dict[str, Any] = {
        "verified": False,
        "bundle": str(bundle),
        "repository": repository,
        "trust_root": trust_root,
    }
    try:
        subject = _subject_digest(artifact, digest)
        policy = build_policy(
            repository,
            identities=identities,
            repository_id=repository_id,
            owner_id=owner_id,
            issuer=issuer,
        )
        spec = trust_root_spec(trust_root)
        data = _read(bundle, "bundle")
    except UsageError as exc:
        return EXIT_USAGE, {**report, **_usage_report(str(exc))}
    from .sigstore_bundles import verify_bundle

    verdict = verify_bundle(data, digest=subject, policy=policy, trust_root=spec, dsse=dsse)
    if "sha512" in verdict.missing_algorithms and artifact is not None:
        # subjects in sha512 only (npm provenance): hash the file a second time, only then
        sha512 = hash_file(artifact, algorithm="sha512").split(":", 1)[1]
        verdict = verify_bundle(
            data,
            digest=subject,
            policy=policy,
            trust_root=spec,
            dsse=dsse,
            other_digests={"sha512": sha512},
        )
    report.update(
        verified=verdict.verified,
        outcome=verdict.outcome,
        status=verdict.status,
        reason=verdict.reason,
        digest=subject,
        policy=policy.describe(),
        **verdict.evidence(),
    )
    if dsse:
        report["subject_matches"] = verdict.subject_matches
    return _EXIT_BY_OUTCOME[verdict.outcome], report
