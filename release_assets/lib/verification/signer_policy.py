"""Who may sign a repository's artifacts, and for which repository the signing run was made.

The original workflow accepted any signer (`--certificate-identity-regexp=".*"`), which proves
only that *someone* signed. A certificate's identity (SAN) names the workflow file that signed;
for a reusable workflow that is the *called* workflow's repository, so the identity alone does
not say whose release was signed. Fulcio records that in the Source Repository extensions
(URI, id, owner id), and every rule here is bound to them: any repository's run may call a
public signing workflow, but its signatures then name that repository, not ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
GITHUB_SERVER = "https://github.com"

_OTHERNAME_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
_ISSUER_V1_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_SOURCE_REPOSITORY_URI_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.12")
_SOURCE_REPOSITORY_ID_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.15")
_SOURCE_REPOSITORY_OWNER_ID_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.17")
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


def _utf8_extension(cert: Certificate, oid: ObjectIdentifier) -> str | None:
    """A Fulcio v2 extension (a DER UTF8String), or None when absent or unreadable."""
    try:
        raw: bytes = cert.extensions.get_extension_for_oid(oid).value.value  # type: ignore[attr-defined]
    except ExtensionNotFound:
        return None
    try:
        return asn1.decode_der(str, raw)
    except ValueError:
        return None


def certificate_issuer(cert: Certificate) -> str | None:
    """The OIDC issuer Fulcio recorded (v2 extension preferred, v1 for older certificates)."""
    if (issuer := _utf8_extension(cert, _ISSUER_V2_OID)) is not None:
        return issuer
    try:
        raw: bytes = cert.extensions.get_extension_for_oid(_ISSUER_V1_OID).value.value  # type: ignore[attr-defined]
    except ExtensionNotFound:
        return None
    return raw.decode(errors="replace")


@dataclass(frozen=True)
class SourceRepository:
    """What the certificate says the signing run was for (all None outside GitHub Actions)."""

    uri: str | None
    repository_id: str | None
    owner_id: str | None

    def evidence(self) -> dict[str, Any]:
        return {
            "source_repository": self.uri,
            "source_repository_id": self.repository_id,
            "source_repository_owner_id": self.owner_id,
        }


def certificate_source(cert: Certificate) -> SourceRepository:
    return SourceRepository(
        _utf8_extension(cert, _SOURCE_REPOSITORY_URI_OID),
        _utf8_extension(cert, _SOURCE_REPOSITORY_ID_OID),
        _utf8_extension(cert, _SOURCE_REPOSITORY_OWNER_ID_OID),
    )


@dataclass(frozen=True)
class RepositoryBinding:
    """The repository being verified: `owner/name`, and GitHub's numeric ids when known.

    Names compare case-insensitively, as GitHub's do. The ids catch what names cannot: a
    repository deleted and recreated under the same name, or a name taken over after a rename
    or transfer, has new ids, so it does not inherit the old one's signatures.
    """

    repository: str
    repository_id: int | None = None
    owner_id: int | None = None
    server: str = GITHUB_SERVER

    def __post_init__(self) -> None:
        if not _REPOSITORY.match(self.repository):
            raise ValueError(f"repository must be owner/name, got {self.repository!r}")

    @property
    def uri(self) -> str:
        return f"{self.server.rstrip('/')}/{self.repository}"

    def mismatch(self, source: SourceRepository) -> str | None:
        """Why a certificate with Source Repository extensions was not made for this repository."""
        assert source.uri is not None
        if source.uri.rstrip("/").lower() != self.uri.lower():
            return f"the signing run was for {source.uri}, not {self.uri}"
        for what, expected, found in (
            ("repository id", self.repository_id, source.repository_id),
            ("owner id", self.owner_id, source.owner_id),
        ):
            if expected is None:
                continue
            if found is None:
                return f"the certificate carries no source {what}; {self.repository} has {expected}"
            if found.strip() != str(expected):
                return (
                    f"the signing run was for source {what} {found}, but {self.repository} "
                    f"has {what} {expected} (a deleted and recreated, or transferred, repository?)"
                )
        return None

    def describe(self) -> str:
        ids = [
            f"{what} {value}"
            for what, value in (("id", self.repository_id), ("owner id", self.owner_id))
            if value is not None
        ]
        return self.repository + (f" ({', '.join(ids)})" if ids else "")


@dataclass(frozen=True)
class SignerPolicy:
    """An issuer, accepted identities, and the repository every accepted signature must be for.

    `identities` (exact) and `identity_prefixes` are accepted only from certificates whose
    Source Repository is `binding`. `repository_identities` are exact identities configured for
    this one repository: they are bound the same way, and are also the only way to accept a
    certificate that has no Source Repository at all (a signer outside GitHub Actions); such a
    verdict says the repository could not be bound.
    """

    issuer: str
    binding: RepositoryBinding
    identities: tuple[str, ...] = ()
    identity_prefixes: tuple[str, ...] = ()
    repository_identities: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.issuer.strip():
            raise ValueError("a signer policy needs an issuer")
        if not (self.identities or self.identity_prefixes or self.repository_identities):
            raise ValueError("a signer policy needs at least one identity; 'any signer' is refused")
        if any(not i.strip() for i in self.identities + self.repository_identities):
            raise ValueError("empty identity in signer policy")
        for prefix in self.identity_prefixes:
            if not _SAFE_PREFIX.match(prefix):
                raise ValueError(
                    f"identity prefix {prefix!r} is too broad: it must name https://host/owner/repo/ "
                    "and end with '/'"
                )

    def to_sigstore(self) -> policy.VerificationPolicy:
        return BoundPolicy(self)

    def accepts_identity(self, sans: list[str]) -> str | None:
        """The first SAN an identity rule accepts, or None."""
        exact = set(self.identities) | set(self.repository_identities)
        return next((s for s in sans if s in exact or s.startswith(self.identity_prefixes)), None)

    def describe(self) -> str:
        accepted = [
            *self.repository_identities,
            *self.identities,
            *(p + "*" for p in self.identity_prefixes),
        ]
        return (
            f"issuer {self.issuer}, identity {' or '.join(accepted)}, "
            f"signed for {self.binding.describe()}"
        )


class BoundPolicy(policy.VerificationPolicy):
    """sigstore's policy hook: issuer, then identity, then the repository binding."""

    def __init__(self, signer: SignerPolicy) -> None:
        self.signer = signer

    def verify(self, cert: Certificate) -> None:
        problem = policy_problem(self.signer, cert)
        if problem is not None:
            raise VerificationError(problem)


def policy_problem(signer: SignerPolicy, cert: Certificate) -> str | None:
    """Why `signer` refuses this certificate, or None when it accepts it."""
    sans = certificate_identities(cert)
    issuer = certificate_issuer(cert)
    if issuer != signer.issuer:
        return f"issuer {issuer} is not allowed: policy requires {signer.describe()}"
    accepted = signer.accepts_identity(sans)
    if accepted is None:
        shown = ", ".join(sans) or "no identity"
        return (
            f"signer {shown} (issuer {issuer}) is not allowed: policy requires {signer.describe()}"
        )
    source = certificate_source(cert)
    if source.uri is None:
        if accepted in signer.repository_identities:
            return None
        return (
            f"signer {accepted} has no Source Repository in its certificate (signed outside "
            f"GitHub Actions?), so it cannot be bound to {signer.binding.repository}; only an exact "
            "identity configured for this repository may accept it"
        )
    mismatch = signer.binding.mismatch(source)
    if mismatch is not None:
        return f"signer {accepted} is not allowed for {signer.binding.repository}: {mismatch}"
    return None


def policy_for_repository(
    repo: str,
    *,
    trusted_workflows: tuple[str, ...] | list[str] = (),
    identities: tuple[str, ...] | list[str] = (),
    repository_id: int | None = None,
    owner_id: int | None = None,
    issuer: str | None = None,
) -> SignerPolicy:
    """Default policy for `owner/name`: GitHub Actions, this repository's own workflows.

    `trusted_workflows` (org-wide) and per-repository `identities` add identities; entries
    ending in "/" are prefixes (e.g. a reusable workflow's `.github/workflows/`). Every one of
    them is accepted only when the certificate says the run was for this repository.
    """
    binding = RepositoryBinding(repo, repository_id, owner_id)
    prefixes = [f"{GITHUB_SERVER}/{repo}/.github/workflows/"]
    prefixes += [e for e in (*trusted_workflows, *identities) if e.endswith("/")]
    return SignerPolicy(
        issuer=issuer or GITHUB_ACTIONS_ISSUER,
        binding=binding,
        identities=tuple(dict.fromkeys(e for e in trusted_workflows if not e.endswith("/"))),
        identity_prefixes=tuple(dict.fromkeys(prefixes)),
        repository_identities=tuple(dict.fromkeys(e for e in identities if not e.endswith("/"))),
    )
