"""What a bundle is, read from its JSON before verifying it: its claimed certificate, which
Sigstore instance signed it, and whether this verifier can judge it at all.

Some valid bundles cannot be checked here, and calling them "failed" would be a false alarm:
GitHub signs private repositories' attestations on its own Sigstore instance, whose root the
`sigstore` package does not ship; npm provenance (sigstore-js 1.x/2.x) is logged as Rekor
`intoto` entries, which sigstore-python cannot verify; key-based bundles need the key. Those are
`unverifiable`, always with the reason.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import Certificate
from cryptography.x509.oid import NameOID

GITHUB_INSTANCE_ORG = "GitHub, Inc."
# Rekor entry kinds sigstore-python can check a DSSE envelope or a message signature against.
_VERIFIABLE_ENTRY_KINDS = {"hashedrekord", "dsse"}
INTOTO_ENTRY_REASON = (
    "its transparency-log entry is of kind intoto {version} (npm provenance, sigstore-js 1.x/2.x), "
    "which sigstore-python cannot verify: the bundle may well be valid, but it is not judged here "
    "(`npm audit signatures` or cosign can check it)"
)
PRIVATE_INSTANCE_REASON = (
    "signed on GitHub's private Sigstore instance (private repository): the public-good trust "
    "root shipped with sigstore does not cover it, so it cannot be verified offline; verify it "
    "with `gh attestation verify` or supply GitHub's trust root"
)


def leaf_certificate(raw: dict[str, Any]) -> Certificate | None:
    """The signing certificate as the JSON holds it (not yet verified: evidence only)."""
    material = raw.get("verificationMaterial")
    if not isinstance(material, dict):
        return None
    try:
        if "certificate" in material:
            der = material["certificate"]["rawBytes"]
        else:
            der = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
        return x509.load_der_x509_certificate(base64.b64decode(der))
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def signing_certificate_org(raw: dict[str, Any]) -> str | None:
    """The organisation (O=) of the leaf certificate's issuer, e.g. 'sigstore.dev'."""
    cert = leaf_certificate(raw)
    if cert is None:
        return None
    try:
        orgs = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    except ValueError:
        return None
    return str(orgs[0].value) if orgs else None


def unverifiable_reason(
    raw: dict[str, Any], *, named_root: bool = True, private_repository: bool = False
) -> str | None:
    """Why this verifier cannot judge the bundle, or None when it can try.

    `named_root`: verifying against a shipped root (production/staging), not an operator's file
    (which may be GitHub's). `private_repository`: a bundle without log entries from a private
    repository is GitHub's instance too (it timestamps instead of logging).
    """
    material = raw.get("verificationMaterial")
    material = material if isinstance(material, dict) else {}
    if "publicKey" in material:
        return (
            "signed with a public key, not a Sigstore certificate, and no key is configured for "
            "it: the bundle cannot be verified here"
        )
    entries = material.get("tlogEntries")
    for entry in entries if isinstance(entries, list) else []:
        kind_version = entry.get("kindVersion") if isinstance(entry, dict) else None
        if not isinstance(kind_version, dict):
            continue
        kind = str(kind_version.get("kind", ""))
        if kind == "intoto":
            return INTOTO_ENTRY_REASON.format(version=kind_version.get("version", ""))
        if kind and kind not in _VERIFIABLE_ENTRY_KINDS:
            return f"its transparency-log entry kind {kind!r} is not supported by this verifier"
    if named_root and (
        signing_certificate_org(raw) == GITHUB_INSTANCE_ORG or (private_repository and not entries)
    ):
        return PRIVATE_INSTANCE_REASON
    return None


def envelope_signature_problem(raw: dict[str, Any]) -> str | None:
    """Why a DSSE envelope's signature does not verify with the bundle's own certificate key.

    Used where the bundle cannot be verified fully (an intoto entry): the certificate is not
    authenticated then, but a signature its own key does not make proves the bundle corrupt or
    tampered, whoever issued the certificate. None when it verifies or cannot be checked.
    """
    envelope = raw.get("dsseEnvelope")
    cert = leaf_certificate(raw)
    if not isinstance(envelope, dict) or cert is None:
        return None
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return None
    try:
        payload_type = str(envelope["payloadType"]).encode()
        payload = base64.b64decode(envelope["payload"])
        signatures = [base64.b64decode(s["sig"]) for s in envelope["signatures"]]
    except (KeyError, TypeError, ValueError):
        return "its DSSE envelope is malformed"
    # DSSE's pre-authentication encoding: what the signature is over.
    pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type, len(payload), payload)
    for signature in signatures:
        try:
            key.verify(signature, pae, ec.ECDSA(hashes.SHA256()))
            return None
        except InvalidSignature:
            continue
    return (
        "its DSSE signature does not verify with its own certificate's key: the bundle is "
        "corrupt or tampered"
    )
