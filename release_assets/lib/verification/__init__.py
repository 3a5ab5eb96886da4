"""Verification of what a release shipped: checksums, sigstore signatures and attestations,
SBOMs and docs. Plain Python (no Dagster); the `release_verification` asset calls into this.

Names are imported on first use (import the submodules for static types): `sigstore` takes
seconds to import, and `release-assets --help` (which registers `verify-bundle`) should not wait.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS: dict[str, str] = {
    "ChecksumCoverage": "checksums",
    "ChecksumEntry": "checksums",
    "ChecksumManifest": "checksums",
    "checksum_coverage": "checksums",
    "parse_checksum_manifest": "checksums",
    "verify_checksums": "checksums",
    "DocsReport": "docs",
    "check_docs": "docs",
    "docs_result": "docs",
    "ArtifactTooLargeError": "hashing",
    "Digest": "hashing",
    "hash_stream": "hashing",
    "parse_digest": "hashing",
    "stream_and_hash": "hashing",
    "CosignPair": "names",
    "bundle_target_name": "names",
    "find_legacy_cosign_pairs": "names",
    "is_checksum_manifest": "names",
    "is_legacy_cosign_pair": "names",
    "is_verification_metadata": "names",
    "manifest_scope": "names",
    "legacy_cosign_result": "release",
    "ArtifactRef": "results",
    "Check": "results",
    "ReleaseRef": "results",
    "STATUSES": "results",
    "Status": "results",
    "VerificationResult": "results",
    "SbomReport": "sbom",
    "parse_sbom": "sbom",
    "sbom_matches_release": "sbom",
    "sbom_result": "sbom",
    "GITHUB_ACTIONS_ISSUER": "signer_policy",
    "RepositoryBinding": "signer_policy",
    "SignerPolicy": "signer_policy",
    "policy_for_repository": "signer_policy",
    "BundleVerdict": "sigstore_bundles",
    "bundle_result": "sigstore_bundles",
    "verify_bundle": "sigstore_bundles",
    "InTotoSubject": "statements",
    "match_subjects": "statements",
    "TrustRootError": "trust_roots",
    "load_trusted_root": "trust_roots",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
