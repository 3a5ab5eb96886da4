"""Who may sign a repository's artifacts, expressed with sigstore's policy classes.

The original workflow accepted any signer (`--certificate-identity-regexp=".*"`), which proves
only that *someone* signed. Here the default binds the signature to the repository: GitHub
Actions' issuer and a workflow of that repository. Reusable workflows sign under their own
repository's path, so they are accepted only when allow-listed *and* the certificate says the
workflow ran for this repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography.hazmat import asn1
from cryptography.x509 import (
    Certificate,
    ExtensionNotFound,
    ObjectIdentifier,
    OtherName,
    RFC822Name,
    SubjectAlternativeName,
    UniformResourceIdentifier,
)
from sigstore.errors import VerificationError
from sigstore.verify import policy

GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"

_OTHERNAME_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
_ISSUER_V1_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
# A prefix must pin at least scheme://host/owner/name/ and end at a path boundary, so that
# "https://github.com/" or "https://github.com/org/repo" (matching "repo-evil") are refused.
_SAFE_PREFIX = re.compile(r"^https://[^/\s]+/[^/\s]+/[^/\s]+/(?:\S*/)?$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def certificate_identities(cert: Certificate) -> list[str]:
    """The certificate's SANs: workflow URIs, e-mail addresses, sigstore "other names"."""
    try:
        san = cert.extensions.get_extension_for_class(SubjectAlternativeName).value
    except ExtensionNotFound:
        return []
    names = list(san.get_values_for_type(UniformResourceIdentifier))
    names += san.get_values_for_type(RFC822Name)
    names += [
        o.value.decode(errors="replace")
        for o in san.get_values_for_type(OtherName)
        if o.type_id == _OTHERNAME_OID
    ]
    return names


def certificate_issuer(cert: Certificate) -> str | None:
    """The OIDC issuer Fulcio recorded (v2 extension preferred, v1 for older certificates)."""
    for oid in (_ISSUER_V2_OID, _ISSUER_V1_OID):
        try:
            raw: bytes = cert.extensions.get_extension_for_oid(oid).value.value  # type: ignore[attr-defined]
        except ExtensionNotFound:
            continue
        return asn1.decode_der(str, raw) if oid == _ISSUER_V2_OID else raw.decode()
    return None


class IdentityPrefix(policy.VerificationPolicy):
    """Passes when a SAN starts with `prefix` (sigstore ships only exact-match `Identity`)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def verify(self, cert: Certificate) -> None:
        sans = certificate_identities(cert)
        if not any(s.startswith(self._prefix) for s in sans):
            raise VerificationError(f"no identity starts with {self._prefix}; got {sans}")


@dataclass(frozen=True)
class SignerPolicy:
    """Accepted issuer plus identities: exact SANs, own-workflow prefixes, reusable workflows."""

    issuer: str
    identities: tuple[str, ...] = ()
    identity_prefixes: tuple[str, ...] = ()
    reusable_workflow_prefixes: tuple[str, ...] = ()
    # "https://github.com/OWNER/NAME": what a reusable workflow must have run for.
    source_repository: str | None = None

    def __post_init__(self) -> None:
        if not self.issuer.strip():
            raise ValueError("a signer policy needs an issuer")
        if not (self.identities or self.identity_prefixes or self.reusable_workflow_prefixes):
            raise ValueError("a signer policy needs at least one identity; 'any signer' is refused")
        if any(not i.strip() for i in self.identities):
            raise ValueError("empty identity in signer policy")
        for prefix in self.identity_prefixes + self.reusable_workflow_prefixes:
            if not _SAFE_PREFIX.match(prefix):
                raise ValueError(
                    f"identity prefix {prefix!r} is too broad: it must name https://host/owner/repo/ "
                    "and end with '/'"
                )
        if self.reusable_workflow_prefixes and not self.source_repository:
            raise ValueError("reusable workflows need source_repository to bind them to a repo")

    def to_sigstore(self) -> policy.VerificationPolicy:
        """AllOf(issuer, AnyOf(identity rules)), built from sigstore's policy classes."""
        rules: list[policy.VerificationPolicy] = [
            policy.Identity(identity=i) for i in self.identities
        ]
        rules += [IdentityPrefix(p) for p in self.identity_prefixes]
        if self.source_repository:
            source = policy.OIDCSourceRepositoryURI(self.source_repository)
            rules += [
                policy.AllOf([IdentityPrefix(p), source]) for p in self.reusable_workflow_prefixes
            ]
        issuer = policy.AnyOf([policy.OIDCIssuer(self.issuer), policy.OIDCIssuerV2(self.issuer)])
        return policy.AllOf([issuer, policy.AnyOf(rules)])

    def describe(self) -> str:
        accepted = [*self.identities, *(p + "*" for p in self.identity_prefixes)]
        accepted += [
            f"{p}* run for {self.source_repository}" for p in self.reusable_workflow_prefixes
        ]
        return f"issuer {self.issuer} and identity {' or '.join(accepted)}"


def policy_for_repository(
    repo: str,
    *,
    extra_identities: tuple[str, ...] | list[str] = (),
    issuer: str | None = None,
) -> SignerPolicy:
    """Default policy for `owner/name`: GitHub Actions, this repository's workflows.

    `extra_identities` ending in "/" are reusable-workflow prefixes (bound to this repository
    through the certificate's source-repository extension); others are exact identities.
    """
    if not _REPOSITORY.match(repo):
        raise ValueError(f"repository key must be owner/name, got {repo!r}")
    extras = tuple(extra_identities)
    return SignerPolicy(
        issuer=issuer or GITHUB_ACTIONS_ISSUER,
        identities=tuple(e for e in extras if not e.endswith("/")),
        identity_prefixes=(f"https://github.com/{repo}/.github/workflows/",),
        reusable_workflow_prefixes=tuple(e for e in extras if e.endswith("/")),
        source_repository=f"https://github.com/{repo}",
    )
