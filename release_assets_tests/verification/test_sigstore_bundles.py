"""Real sigstore verification of real bundles, offline, with the roots shipped in `sigstore`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from release_assets.lib.verification import (
    ArtifactRef,
    ReleaseRef,
    RepositoryBinding,
    SignerPolicy,
    bundle_result,
    bundle_target_name,
    find_legacy_cosign_pairs,
    is_legacy_cosign_pair,
    legacy_cosign_result,
    policy_for_repository,
    verify_bundle,
)

from .conftest import FIXTURES

SP = FIXTURES / "sigstore" / "sigstore-python"
GH = FIXTURES / "sigstore" / "gh-cli-attestation"
GITHUB_OAUTH = "https://github.com/login/oauth"
RFC8785_WHEEL = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
REUSABLE = "https://github.com/github/artifact-attestations-workflows/.github/workflows/"
REUSABLE_SUBJECT = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
BEACON_REPO = "sigstore-conformance/extremely-dangerous-public-oidc-beacon"


def email(identity: str, issuer: str = GITHUB_OAUTH) -> SignerPolicy:
    """An e-mail signer (no Source Repository in its certificate) configured for one repository."""
    return SignerPolicy(
        issuer=issuer,
        binding=RepositoryBinding("sigstore/sigstore-python"),
        repository_identities=(identity,),
    )


def artifact_of(bundle: Path) -> bytes:
    name = bundle_target_name(bundle.name)
    assert name is not None
    return (bundle.parent / name).read_bytes()


# ---------------------------------------------------------------- positive cases


@pytest.mark.parametrize(
    ("bundle", "identity", "issuer"),
    [
        ("bundle.txt.sigstore", "a@tny.town", GITHUB_OAUTH),
        ("bundle_v3.txt.sigstore", "william@yossarian.net", GITHUB_OAUTH),
        ("bundle_v3_alt.txt.sigstore", "william@yossarian.net", GITHUB_OAUTH),
        ("staging-rekor-v2.txt.sigstore.json", "jku@goto.fi", GITHUB_OAUTH),
        (
            "tsa/bundle.txt.sigstore",
            "alexis.challande@trailofbits.com",
            "https://accounts.google.com",
        ),
    ],
)
def test_staging_bundles_verify_with_staging_root_and_signer(
    bundle: str, identity: str, issuer: str
) -> None:
    path = SP / bundle
    verdict = verify_bundle(
        path.read_bytes(),
        artifact=artifact_of(path),
        policy=email(identity, issuer),
        trust_root="staging",
    )
    assert verdict.verified, verdict.reason
    assert (verdict.signer_identity, verdict.issuer) == (identity, issuer)
    assert verdict.log_index is not None and verdict.status == "passed"


def test_staging_bundle_verifies_from_its_digest_alone() -> None:
    path = SP / "bundle.txt.sigstore"
    digest = "sha256:" + hashlib.sha256(artifact_of(path)).hexdigest()
    verdict = verify_bundle(
        path.read_bytes(), digest=digest, policy=email("a@tny.town"), trust_root="staging"
    )
    assert verdict.verified, verdict.reason


def test_real_release_wheel_verifies_from_github_digest_under_default_policy() -> None:
    verdict = verify_bundle(
        (SP / "bundle_v3_github.whl.sigstore").read_bytes(),
        digest=RFC8785_WHEEL,
        policy=policy_for_repository("trailofbits/rfc8785.py"),
        trust_root="production",
    )
    assert verdict.verified, verdict.reason
    assert verdict.signer_identity == (
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    )
    assert verdict.issuer == "https://token.actions.githubusercontent.com"
    assert verdict.log_index == 79605083


def test_staging_dsse_attestation_verifies_and_names_its_subject() -> None:
    path = SP / "a.dsse.staging-rekor-v2.txt.sigstore.json"
    subject = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
    verdict = verify_bundle(
        path.read_bytes(),
        digest=subject,
        policy=policy_for_repository(BEACON_REPO),
        trust_root="staging",
        dsse=True,
    )
    assert verdict.verified, verdict.reason
    assert verdict.predicate_type == "https://slsa.dev/provenance/v1"
    assert verdict.subject_matches is True
    assert [s.name for s in verdict.subjects] == ["a.txt"]


def test_dsse_attestation_about_another_file_is_rejected() -> None:
    path = SP / "a.dsse.staging-rekor-v2.txt.sigstore.json"
    verdict = verify_bundle(
        path.read_bytes(),
        digest="sha256:" + "0" * 64,
        policy=policy_for_repository(BEACON_REPO),
        trust_root="staging",
        dsse=True,
    )
    assert not verdict.verified and verdict.subject_matches is False
    assert "is about a.txt" in verdict.reason


def test_gh_attestation_with_custom_issuer_verifies_against_artifact_bytes() -> None:
    verdict = verify_bundle(
        (GH / "custom-issuer.sigstore.json").read_bytes(),
        artifact=(GH / "custom-issuer-artifact").read_bytes(),
        policy=policy_for_repository(
            "too-legit/attest", issuer="https://token.actions.githubusercontent.com/hammer-time"
        ),
        trust_root="production",
        dsse=True,
    )
    assert verdict.verified, verdict.reason
    assert verdict.subject_matches is True


def test_gh_attestation_custom_issuer_rejected_under_default_issuer() -> None:
    verdict = verify_bundle(
        (GH / "custom-issuer.sigstore.json").read_bytes(),
        artifact=(GH / "custom-issuer-artifact").read_bytes(),
        policy=policy_for_repository("too-legit/attest"),
        dsse=True,
    )
    assert not verdict.verified
    assert "hammer-time" in verdict.reason and "not allowed" in verdict.reason


def test_reusable_workflow_attestation_needs_its_prefix_allow_listed() -> None:
    data = (GH / "reusable-workflow-attestation.sigstore.json").read_bytes()
    allowed = verify_bundle(
        data,
        digest=REUSABLE_SUBJECT,
        dsse=True,
        policy=policy_for_repository("malancas/attest-demo", trusted_workflows=(REUSABLE,)),
    )
    assert allowed.verified, allowed.reason
    assert allowed.signer_identity is not None and allowed.signer_identity.startswith(REUSABLE)

    default = verify_bundle(
        data,
        digest=REUSABLE_SUBJECT,
        dsse=True,
        policy=policy_for_repository("malancas/attest-demo"),
    )
    assert not default.verified
    assert "not allowed" in default.reason and REUSABLE in default.reason


def test_allow_listed_reusable_workflow_still_bound_to_the_calling_repository() -> None:
    verdict = verify_bundle(
        (GH / "reusable-workflow-attestation.sigstore.json").read_bytes(),
        digest=REUSABLE_SUBJECT,
        dsse=True,
        policy=policy_for_repository("someone/else", trusted_workflows=(REUSABLE,)),
    )
    assert not verdict.verified and verdict.status == "failed"
    assert "the signing run was for https://github.com/malancas/attest-demo" in verdict.reason


# ---------------------------------------------------------------- negative cases


@pytest.mark.parametrize(
    ("bundle", "identity", "reason"),
    [
        (
            "bundle_cve_2022_36056.txt.sigstore",
            "william@yossarian.net",
            "inconsistent with other materials",
        ),
        ("bundle_invalid_version.txt.sigstore", "a@tny.town", "mediaType"),
        ("bundle_no_cert_v1.txt.sigstore", "a@tny.town", "certificate chain"),
        ("bundle_no_checkpoint.txt.sigstore", "a@tny.town", "checkpoint"),
        ("bundle_no_log_entry.txt.sigstore", "a@tny.town", "exactly one log entry"),
        (
            "bundle_v3_no_signed_time.txt.sigstore.json",
            "a@tny.town",
            "inclusion promise or signed timestamp",
        ),
        (
            "tsa/bundle.duplicate.sigstore",
            "alexis.challande@trailofbits.com",
            "duplicate timestamp",
        ),
        (
            "tsa/bundle.txt.late_timestamp.sigstore",
            "insecure-cloudtop-shared-user@cloudtop-prod-us-east.iam.gserviceaccount.com",
            "not valid at validation time",
        ),
    ],
)
def test_sigstore_python_negative_cases_are_rejected(
    bundle: str, identity: str, reason: str
) -> None:
    # The policy names the real signer so each case fails for its own defect, not identity.
    path = SP / bundle
    target = SP / "tsa" / "bundle.txt" if bundle.startswith("tsa/") else None
    artifact = target.read_bytes() if target else artifact_of(path)
    issuer = "https://accounts.google.com" if bundle.startswith("tsa/") else GITHUB_OAUTH
    verdict = verify_bundle(
        path.read_bytes(), artifact=artifact, policy=email(identity, issuer), trust_root="staging"
    )
    assert not verdict.verified
    assert reason in verdict.reason
    assert verdict.status in ("failed", "error")


def test_gh_cli_invalid_signature_bundle_is_rejected() -> None:
    verdict = verify_bundle(
        (GH / "sigstoreBundle-invalid-signature.json").read_bytes(),
        digest="sha256:" + "0" * 64,
        dsse=True,
        policy=email("brian@dehamer.com"),
        trust_root="production",
    )
    # sigstore 4.5 cannot verify its intoto/0.0.2 entry, but its envelope's signature does not
    # verify with its own certificate's key: broken whoever issued the certificate.
    assert not verdict.verified and verdict.status == "failed"
    assert "does not verify with its own certificate's key" in verdict.reason


def test_wrong_identity_is_rejected_with_both_identities_named() -> None:
    path = SP / "bundle.txt.sigstore"
    verdict = verify_bundle(
        path.read_bytes(),
        artifact=artifact_of(path),
        policy=email("mallory@example.com"),
        trust_root="staging",
    )
    assert not verdict.verified and verdict.status == "failed"
    assert "a@tny.town" in verdict.reason and "mallory@example.com" in verdict.reason


def test_wrong_issuer_for_right_identity_is_rejected() -> None:
    path = SP / "bundle.txt.sigstore"
    verdict = verify_bundle(
        path.read_bytes(),
        artifact=artifact_of(path),
        policy=email("a@tny.town", "https://accounts.google.com"),
        trust_root="staging",
    )
    assert not verdict.verified and "not allowed" in verdict.reason


def test_production_bundle_against_staging_root_is_rejected() -> None:
    verdict = verify_bundle(
        (SP / "bundle_v3_github.whl.sigstore").read_bytes(),
        digest=RFC8785_WHEEL,
        policy=policy_for_repository("trailofbits/rfc8785.py"),
        trust_root="staging",
    )
    assert not verdict.verified
    assert "does not chain to this Sigstore root" in verdict.reason


def test_staging_bundle_against_production_root_is_rejected() -> None:
    path = SP / "bundle.txt.sigstore"
    verdict = verify_bundle(
        path.read_bytes(), artifact=artifact_of(path), policy=email("a@tny.town")
    )
    assert not verdict.verified and "trust root: production" in verdict.reason


def test_bundle_against_wrong_digest_is_rejected() -> None:
    verdict = verify_bundle(
        (SP / "bundle_v3_github.whl.sigstore").read_bytes(),
        digest="sha256:" + hashlib.sha256(b"not the wheel").hexdigest(),
        policy=policy_for_repository("trailofbits/rfc8785.py"),
    )
    assert not verdict.verified and "does not sign this artifact" in verdict.reason


def test_bundle_against_wrong_artifact_bytes_is_rejected() -> None:
    verdict = verify_bundle(
        (SP / "bundle.txt.sigstore").read_bytes(),
        artifact=(SP / "bundle_v3.txt").read_bytes(),
        policy=email("a@tny.town"),
        trust_root="staging",
    )
    assert not verdict.verified and "does not sign this artifact" in verdict.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ((SP / "bundle.txt.sigstore").read_bytes()[:400], "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "not an object"),
        (
            b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
            "not a valid sigstore bundle",
        ),
        (b"\xff\xfe garbage", "not JSON"),
    ],
)
def test_malformed_bundles_give_a_verdict_not_an_exception(data: bytes, reason: str) -> None:
    verdict = verify_bundle(data, digest=RFC8785_WHEEL, policy=policy_for_repository("a/b"))
    assert not verdict.verified and verdict.status == "error"
    assert reason in verdict.reason


def test_missing_or_malformed_digest_is_reported() -> None:
    data = (SP / "bundle_v3_github.whl.sigstore").read_bytes()
    policy = policy_for_repository("trailofbits/rfc8785.py")
    assert "no artifact or digest" in verify_bundle(data, policy=policy).reason
    assert (
        "not a well-formed sha256"
        in verify_bundle(data, digest="sha256:abc123", policy=policy).reason
    )
    mixed = verify_bundle(data, digest=RFC8785_WHEEL, artifact=b"other", policy=policy)
    assert not mixed.verified and "not the given" in mixed.reason


def test_dsse_flag_mismatch_is_explained() -> None:
    verdict = verify_bundle(
        (SP / "bundle_v3_github.whl.sigstore").read_bytes(),
        digest=RFC8785_WHEEL,
        policy=policy_for_repository("trailofbits/rfc8785.py"),
        dsse=True,
    )
    assert not verdict.verified and "dsse=False" in verdict.reason


def test_unknown_trust_root_is_a_verdict() -> None:
    verdict = verify_bundle(
        (SP / "bundle_v3_github.whl.sigstore").read_bytes(),
        digest=RFC8785_WHEEL,
        policy=policy_for_repository("trailofbits/rfc8785.py"),
        trust_root=Path("/nonexistent/root.json"),
    )
    assert not verdict.verified and "cannot read trust root" in verdict.reason


# ---------------------------------------------------------------- policy and names


@pytest.mark.parametrize(
    "kwargs",
    [
        {"issuer": "https://token.actions.githubusercontent.com"},
        {"issuer": "", "identities": ("a@b.c",)},
        {"issuer": "x", "identity_prefixes": ("https://github.com/",)},
        {"issuer": "x", "identity_prefixes": ("https://github.com/org/repo",)},
        {"issuer": "x", "identity_prefixes": ("",)},
    ],
)
def test_signer_policy_refuses_accept_any_shapes(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SignerPolicy(binding=RepositoryBinding("owner/name"), **kwargs)  # type: ignore[arg-type]


def test_default_policy_is_bound_to_the_repository() -> None:
    p = policy_for_repository("owner/name", repository_id=7, owner_id=3)
    assert p.issuer == "https://token.actions.githubusercontent.com"
    assert p.identity_prefixes == ("https://github.com/owner/name/.github/workflows/",)
    assert p.identities == () and p.repository_identities == ()
    assert p.binding == RepositoryBinding("owner/name", 7, 3)
    with pytest.raises(ValueError):
        policy_for_repository("not-a-repo")


def test_bundle_target_names() -> None:
    assert bundle_target_name("x.whl.sigstore.json") == "x.whl"
    assert bundle_target_name("x.whl.sigstore") == "x.whl"
    assert bundle_target_name("app.tar.gz.bundle") == "app.tar.gz"
    assert bundle_target_name("app.tar.gz") is None
    assert bundle_target_name(".sigstore") is None


def test_legacy_cosign_pairs_are_unverifiable() -> None:
    names = [
        "app",
        "app.sig",
        "app.pem",
        "lib",
        "lib.sig",
        "lib.cert",
        "lib.sigstore.json",
        "doc.sig",
    ]
    assert is_legacy_cosign_pair(names)
    pairs = find_legacy_cosign_pairs(names)
    assert [(p.target, p.signature, p.certificate) for p in pairs] == [
        ("app", "app.sig", "app.pem")
    ]
    assert not is_legacy_cosign_pair(["lib", "lib.sig", "lib.cert", "lib.sigstore.json"])
    result = legacy_cosign_result(
        pairs[0], release=ReleaseRef("o/r", 1, "v1"), artifact=ArtifactRef(7, "app")
    )
    assert result.status == "unverifiable" and "cannot be verified offline" in result.reason


def test_verdict_becomes_a_result_row() -> None:
    verdict = verify_bundle(
        (SP / "bundle_v3_github.whl.sigstore").read_bytes(),
        digest=RFC8785_WHEEL,
        policy=policy_for_repository("trailofbits/rfc8785.py"),
    )
    row = bundle_result(
        verdict,
        release=ReleaseRef("trailofbits/rfc8785.py", 1, "v0.1.2"),
        artifact=ArtifactRef(2, "rfc8785-0.1.2-py3-none-any.whl", 9172, RFC8785_WHEEL),
        bundle_name="rfc8785-0.1.2-py3-none-any.whl.sigstore",
    )
    assert (row.check, row.status, row.subject_digest) == ("signature", "passed", RFC8785_WHEEL)
    assert row.evidence["log_index"] == 79605083
    assert row.evidence["issuer"] == "https://token.actions.githubusercontent.com"
