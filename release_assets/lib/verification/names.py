"""File-name rules: which release artifacts are manifests, signatures and bundles, and what for.

Names are the only signal before anything is downloaded, so these rules decide what gets
fetched. Matching is case-insensitive because release tooling is inconsistent about case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from release_assets.lib.classify import (
    CERTIFICATE_SUFFIXES,
    DETACHED_SIGNATURE_SUFFIXES,
    PROVENANCE_SUFFIXES,
    SIGSTORE_BUNDLE_SUFFIXES,
)

# Whole-release manifests (goreleaser, coreutils, Debian/Ubuntu style, release-please...).
_RELEASE_MANIFEST = re.compile(
    r"^(?:(?:.*[._-])?checksums?|(?:.*[_-])?sha(?:1|256|384|512)sums?)(?:\.txt)?$", re.I
)
# Per-file manifests: `X.sha256` covers only X.
_FILE_MANIFEST = re.compile(r"^(?P<target>.+)\.(?:sha(?:1|256|384|512)(?:sums?)?|md5)$", re.I)
_BUNDLE_SUFFIXES = SIGSTORE_BUNDLE_SUFFIXES
_SIGNATURE_SUFFIXES = DETACHED_SIGNATURE_SUFFIXES
_CERTIFICATE_SUFFIXES = CERTIFICATE_SUFFIXES
_ATTESTATION_SUFFIXES = (*PROVENANCE_SUFFIXES, ".att")


def manifest_scope(name: str) -> str | None:
    """For `X.sha256` (and `.sha512`, `.sha256sum`, ...) return X; None for whole-release manifests."""
    m = _FILE_MANIFEST.match(name)
    # `checksums.sha256` names the format, not a target: it covers the whole release.
    if m is None or _RELEASE_MANIFEST.match(m.group("target")):
        return None
    return m.group("target")


def is_checksum_manifest(name: str) -> bool:
    """`SHA256SUMS`, `checksums.txt`, `sha256sum.txt`, `foo_checksums.txt`, `X.sha256`, ...

    A signature over a manifest (`SHA256SUMS.asc`) is a signature, not a manifest.
    """
    lowered = name.lower()
    if lowered.endswith(_SIGNATURE_SUFFIXES + _CERTIFICATE_SUFFIXES + _BUNDLE_SUFFIXES):
        return False
    return bool(_RELEASE_MANIFEST.match(name) or _FILE_MANIFEST.match(name))


def bundle_target_name(name: str) -> str | None:
    """`X.sigstore.json` / `X.sigstore` / `X.bundle` -> X (the artifact the bundle signs)."""
    lowered = name.lower()
    for suffix in _BUNDLE_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def is_verification_metadata(name: str) -> bool:
    """Manifests, signatures, certificates, bundles and attestations: files *about* artifacts.

    They are not expected in a checksum manifest, so they do not count against its coverage.
    """
    lowered = name.lower()
    suffixes = (
        _SIGNATURE_SUFFIXES + _CERTIFICATE_SUFFIXES + _BUNDLE_SUFFIXES + _ATTESTATION_SUFFIXES
    )
    return is_checksum_manifest(name) or lowered.endswith(suffixes)


@dataclass(frozen=True)
class CosignPair:
    target: str
    signature: str
    certificate: str


def find_legacy_cosign_pairs(names: Iterable[str]) -> list[CosignPair]:
    """`X.sig` + `X.pem`/`X.cert`/`X.crt` with no sigstore bundle for X.

    Such a pair lacks the transparency-log proof a bundle carries, so it cannot be verified
    offline; callers report it as not_applicable rather than pretending it passed.
    """
    present = set(names)
    lowered = {n.lower(): n for n in present}
    bundled = {t for n in present if (t := bundle_target_name(n))}
    pairs: list[CosignPair] = []
    for name in sorted(present):
        if not name.lower().endswith(".sig"):
            continue
        target = name[: -len(".sig")]
        if target in bundled:
            continue
        cert = next(
            (lowered[k] for s in _CERTIFICATE_SUFFIXES if (k := (target + s).lower()) in lowered),
            None,
        )
        if cert is not None:
            pairs.append(CosignPair(target, name, cert))
    return pairs


def is_legacy_cosign_pair(names: Iterable[str]) -> bool:
    """True when the names hold at least one `.sig` + certificate pair without a bundle."""
    return bool(find_legacy_cosign_pairs(names))
