"""Verification of what a release shipped: checksums, sigstore signatures and attestations,
SBOMs and docs. Plain Python (no Dagster); the `release_verification` asset calls into this.
"""

from .checksums import (
    ChecksumCoverage,
    ChecksumEntry,
    ChecksumManifest,
    checksum_coverage,
    parse_checksum_manifest,
    verify_checksums,
)
from .docs import DocsReport, check_docs, docs_result
from .hashing import ArtifactTooLargeError, Digest, hash_stream, parse_digest, stream_and_hash
from .names import (
    CosignPair,
    bundle_target_name,
    find_legacy_cosign_pairs,
    is_checksum_manifest,
    is_legacy_cosign_pair,
    is_verification_metadata,
    manifest_scope,
)
from .results import ArtifactRef, Check, ReleaseRef, Status, VerificationResult
from .sbom import SbomReport, parse_sbom, sbom_matches_release, sbom_result
from .signer_policy import GITHUB_ACTIONS_ISSUER, SignerPolicy, policy_for_repository
from .sigstore_bundles import (
    BundleVerdict,
    InTotoSubject,
    bundle_result,
    legacy_cosign_result,
    verify_bundle,
)
from .trust_roots import TrustRootError, load_trusted_root

__all__ = [
    "GITHUB_ACTIONS_ISSUER",
    "ArtifactRef",
    "ArtifactTooLargeError",
    "BundleVerdict",
    "Check",
    "ChecksumCoverage",
    "ChecksumEntry",
    "ChecksumManifest",
    "CosignPair",
    "Digest",
    "DocsReport",
    "InTotoSubject",
    "ReleaseRef",
    "SbomReport",
    "SignerPolicy",
    "Status",
    "TrustRootError",
    "VerificationResult",
    "bundle_result",
    "bundle_target_name",
    "check_docs",
    "checksum_coverage",
    "docs_result",
    "find_legacy_cosign_pairs",
    "hash_stream",
    "is_checksum_manifest",
    "is_legacy_cosign_pair",
    "is_verification_metadata",
    "legacy_cosign_result",
    "load_trusted_root",
    "manifest_scope",
    "parse_checksum_manifest",
    "parse_digest",
    "parse_sbom",
    "policy_for_repository",
    "sbom_matches_release",
    "sbom_result",
    "stream_and_hash",
    "verify_bundle",
    "verify_checksums",
]
