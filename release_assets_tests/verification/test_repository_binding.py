"""Every accepted signature is bound to the repository being verified, through the certificate's
Source Repository (URI, id, owner id), whatever identity rule accepted the signer."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from release_assets.lib.config import VerificationConfig
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.verification.run import (
    RepositoryIds,
    signer_policy_for,
    verify_repositories,
)
from release_assets.lib.verification.signer_policy import policy_for_repository
from release_assets.lib.verification.sigstore_bundles import BundleVerdict, verify_bundle
from release_assets_tests.github_server import GitHubServer, World

from . import worlds
from .test_attestation_bulk import ingest
from .test_verify_repositories import rows

REUSABLE_BUNDLE = (worlds.GH / "reusable-workflow-attestation.sigstore.json").read_bytes()
REUSABLE_SIGNER = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
REAL_IDS = RepositoryIds(worlds.REUSABLE_REPO_ID, worlds.REUSABLE_OWNER_ID)
OAUTH = "https://github.com/login/oauth"


@pytest.fixture(autouse=True)
def sigstore_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.mark.parametrize(
    ("repo", "settings", "ids", "verified", "reason"),
    [
        # the called workflow's own repository: its workflow signed, for someone else's run
        (
            "github/artifact-attestations-workflows",
            VerificationConfig(),
            RepositoryIds(1, 2),
            False,
            "the signing run was for https://github.com/malancas/attest-demo",
        ),
        (
            "malancas/attest-demo",
            VerificationConfig(identities={"malancas/attest-demo": (REUSABLE_SIGNER,)}),
            REAL_IDS,
            True,
            "for malancas/attest-demo (id 804070735, owner id 16248153)",
        ),
        (
            "Malancas/Attest-Demo",
            VerificationConfig(identities={"Malancas/Attest-Demo": (REUSABLE_SIGNER,)}),
            REAL_IDS,
            True,
            "names sha256:",
        ),
        (
            "malancas/other",
            VerificationConfig(identities={"malancas/other": (REUSABLE_SIGNER,)}),
            RepositoryIds(),
            False,
            "not https://github.com/malancas/other",
        ),
        (
            "malancas/attest",
            VerificationConfig(identities={"malancas/attest": (REUSABLE_SIGNER,)}),
            RepositoryIds(),
            False,
            "not https://github.com/malancas/attest",
        ),
        # the name matches, the id does not: a deleted and recreated repository
        (
            "malancas/attest-demo",
            VerificationConfig(identities={"malancas/attest-demo": (REUSABLE_SIGNER,)}),
            RepositoryIds(804070736, worlds.REUSABLE_OWNER_ID),
            False,
            "source repository id 804070735, but malancas/attest-demo has repository id 804070736",
        ),
        # ... or a name taken over by another owner
        (
            "malancas/attest-demo",
            VerificationConfig(trusted_workflows=(worlds.REUSABLE,)),
            RepositoryIds(worlds.REUSABLE_REPO_ID, 99),
            False,
            "source owner id 16248153, but malancas/attest-demo has owner id 99",
        ),
        # an org-wide trusted reusable workflow is bound the same way
        (
            "malancas/attest-demo",
            VerificationConfig(trusted_workflows=(worlds.REUSABLE,)),
            REAL_IDS,
            True,
            "names sha256:",
        ),
        (
            "malancas/other",
            VerificationConfig(trusted_workflows=(worlds.REUSABLE,)),
            RepositoryIds(),
            False,
            "the signing run was for",
        ),
    ],
)
def test_pipeline_policy_binds_the_reusable_workflow_bundle(
    repo: str, settings: VerificationConfig, ids: RepositoryIds, verified: bool, reason: str
) -> None:
    verdict = verify_bundle(
        REUSABLE_BUNDLE,
        digest=worlds.REUSABLE_DIGEST,
        dsse=True,
        policy=signer_policy_for(repo, settings, ids),
    )
    assert verdict.verified is verified and reason in verdict.reason, verdict.reason
    assert verdict.status == ("passed" if verified else "failed")
    assert verdict.evidence()["source_repository"] == "https://github.com/malancas/attest-demo"


def stored_ids(db: Path, repo: str) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            "SELECT repo_id, owner_id FROM repositories WHERE repo = ?", [repo]
        ).fetchall()
    finally:
        con.close()
    return found[0]


@pytest.mark.parametrize(
    ("repo_id", "status", "reason"),
    [
        (worlds.REUSABLE_REPO_ID, "passed", "for malancas/attest-demo (id 804070735"),
        (123456, "failed", "but malancas/attest-demo has repository id 123456"),
    ],
)
def test_a_recreated_repository_does_not_inherit_its_namesakes_attestations(
    world: World,
    github_server: GitHubServer,
    client: GitHubClient,
    db_path: Path,
    repo_id: int,
    status: str,
    reason: str,
) -> None:
    worlds.reusable_attestation(world, repo_id=repo_id)
    repo = worlds.REUSABLE_REPO
    ingest(client, db_path, repo)  # discovery records the ids GitHub gives
    assert stored_ids(db_path, repo) == (repo_id, worlds.REUSABLE_OWNER_ID)
    settings = VerificationConfig(identities={repo: (worlds.REUSABLE,)})
    run = verify_repositories(db_path, client, settings, [repo])
    got, why = rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")]
    assert got == status and reason in why, why
    assert [f.result.artifact_name for f in run.failures()] == (
        [worlds.REUSABLE_WHEEL] if status == "failed" else []
    )


def test_a_signer_outside_github_actions_needs_an_identity_of_this_repository() -> None:
    path = worlds.SP / "bundle.txt.sigstore"
    artifact = (worlds.SP / "bundle.txt").read_bytes()

    def check(settings: VerificationConfig) -> BundleVerdict:
        policy = signer_policy_for("acme/tool", settings)
        return verify_bundle(
            path.read_bytes(), artifact=artifact, policy=policy, trust_root="staging"
        )

    # its certificate names no source repository: an exact identity for this repository
    # accepts it, and says the repository could not be bound
    allowed = check(VerificationConfig(issuer=OAUTH, identities={"acme/tool": ("a@tny.town",)}))
    assert allowed.verified and allowed.repository_bound is False, allowed.reason
    assert "the repository could not be bound" in allowed.reason
    assert allowed.evidence()["repository_bound"] is False

    # the same identity trusted org-wide is not bound to this repository: refused
    org_wide = check(VerificationConfig(issuer=OAUTH, trusted_workflows=("a@tny.town",)))
    assert not org_wide.verified and org_wide.status == "failed"
    assert "cannot be bound to acme/tool" in org_wide.reason

    # nor does another repository's identity carry over
    other = check(VerificationConfig(issuer=OAUTH, identities={"acme/other": ("a@tny.town",)}))
    assert not other.verified and "not allowed" in other.reason


def test_an_exact_identity_is_bound_too() -> None:
    """The hole the binding closes: an exact identity used to pass for any repository."""
    policy = policy_for_repository("someone/else", identities=(REUSABLE_SIGNER,))
    verdict = verify_bundle(
        REUSABLE_BUNDLE, digest=worlds.REUSABLE_DIGEST, dsse=True, policy=policy
    )
    assert not verdict.verified and "the signing run was for" in verdict.reason
