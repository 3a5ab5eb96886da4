"""Which Sigstore instance signed a bundle, read from its certificate before verifying it.

GitHub signs attestations of private repositories on its own Sigstore instance, whose root the
`sigstore` package does not ship. Verifying those against the public-good root would "fail" for
a reason that says nothing about the artifact, so they are reported as not verifiable offline.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

GITHUB_INSTANCE_ORG = "GitHub, Inc."


def signing_certificate_org(raw: dict[str, Any]) -> str | None:
    """The organisation (O=) of the leaf certificate's issuer, e.g. 'sigstore.dev'."""
    material = raw.get("verificationMaterial")
    if not isinstance(material, dict):
        return None
    try:
        if "certificate" in material:
            der = material["certificate"]["rawBytes"]
        else:
            der = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
        cert = x509.load_der_x509_certificate(base64.b64decode(der))
        orgs = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return str(orgs[0].value) if orgs else None


def offline_unverifiable_reason(raw: dict[str, Any], *, private_repository: bool) -> str | None:
    """Why this bundle cannot be checked with the shipped roots, or None when it can."""
    org = signing_certificate_org(raw)
    tlog = (
        (raw.get("verificationMaterial") or {}).get("tlogEntries")
        if isinstance(raw, dict)
        else None
    )
    if org == GITHUB_INSTANCE_ORG or (private_repository and not tlog):
        return (
            "signed on GitHub's private Sigstore instance (private repository): the public-good "
            "trust root shipped with sigstore does not cover it, so it cannot be verified offline; "
            "verify it with `gh attestation verify` or supply GitHub's trust root"
        )
    return None
