"""GitHub attestations listed in bulk (100 digests a request), with the per-digest fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from release_assets.lib.config import Config, VerificationConfig
from release_assets.lib.discovery import refresh_repository_list
from release_assets.lib.github_client import GitHubClient, GitHubError, NotFound
from release_assets.lib.ingest import refresh_repositories
from release_assets.lib.verification.fetch import Fetcher
from release_assets.lib.verification.run import verify_repositories
from release_assets_tests.github_server import GitHubServer, World

from . import worlds
from .test_verify_repositories import rows
from .worlds import add_release, artifact, sha256

ALLOWED = VerificationConfig(identities={worlds.REUSABLE_REPO: (worlds.REUSABLE,)})


@pytest.fixture(autouse=True)
def sigstore_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def ingest(client: GitHubClient, db: Path, repo: str) -> None:
    """Discovery (which records the repository's GitHub id) and ingestion, as a refresh does."""
    refresh_repository_list(client, db, Config(repos=(repo,)))
    refresh_repositories(client, db, [repo])


def bundle() -> dict:
    return json.loads((worlds.GH / "reusable-workflow-attestation.sigstore.json").read_text())


def attestation_routes(server: GitHubServer) -> list[tuple[str, str, int]]:
    return [(e.method, e.route, e.status) for e in server.request_log if "attestations" in e.route]


def test_a_repository_of_250_artifacts_costs_three_listings_not_250(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.reusable_attestation(world)
    repo = worlds.REUSABLE_REPO
    for number in range(1, 6):
        names = [f"tool-{number}-{i}.tar.gz" for i in range(50)]
        add_release(
            world,
            repo,
            f"v1.{number}.0",
            [artifact(n, size=10, digest=sha256(n.encode())) for n in names],
            {},
        )
    ingest(client, db_path, repo)
    github_server.reset_stats()
    run = verify_repositories(db_path, client, ALLOWED, [repo])
    # 252 digests: three POSTs of at most 100, no per-digest GET
    assert attestation_routes(github_server) == [("POST", "attestations_bulk", 200)] * 3
    assert run.attestation_lookups == 3
    status, reason = rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")]
    assert status == "passed", reason
    assert rows(db_path)[("v1.3.0", "tool-3-7.tar.gz", "attestation")] == (
        "not_applicable",
        "GitHub has no attestation for this digest",
    )


def test_pages_of_the_bulk_listing_are_followed(world: World, client: GitHubClient) -> None:
    world.add_repo("acme/many")
    digest = sha256(b"popular")
    world.add_attestations("acme/many", digest, [bundle()] * 130)
    fetcher = Fetcher(client)
    found = fetcher.bulk_attestations("acme", [digest, sha256(b"nothing")])
    assert found is not None
    assert len(found[digest]) == 130 and found[sha256(b"nothing")] == []
    assert fetcher.attestation_lookups == 2  # 100 + 30 attestations, two pages


def test_other_repositories_attestations_of_the_same_bytes_are_not_counted(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.reusable_attestation(world)
    # a second repository of the same owner attests the README's bytes; ours does not
    world.add_repo("malancas/other")
    world.add_attestations("malancas/other", sha256(b"hello"), [bundle()])
    ingest(client, db_path, worlds.REUSABLE_REPO)
    verify_repositories(db_path, client, ALLOWED, [worlds.REUSABLE_REPO])
    assert rows(db_path)[("v0.0.0", "README.txt", "attestation")][0] == "not_applicable"
    assert rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")][0] == "passed"


def test_a_repository_not_discovered_is_asked_per_digest(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.reusable_attestation(world)
    refresh_repositories(client, db_path, [worlds.REUSABLE_REPO])  # no `repositories` row
    github_server.reset_stats()
    verify_repositories(db_path, client, ALLOWED, [worlds.REUSABLE_REPO])
    assert sorted(attestation_routes(github_server)) == [
        ("GET", "attestations", 200),
        ("GET", "attestations", 404),
    ]
    assert rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")][0] == "passed"


def test_without_a_bulk_endpoint_each_digest_is_asked_and_the_verdicts_are_the_same(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.reusable_attestation(world)
    repo = worlds.REUSABLE_REPO
    ingest(client, db_path, repo)
    # an older GitHub Enterprise: no bulk listing for orgs or users
    github_server.inject(r"/attestations/bulk-list", status=404, times=2)
    github_server.reset_stats()
    verify_repositories(db_path, client, ALLOWED, [repo])
    assert sorted(attestation_routes(github_server)) == [
        ("GET", "attestations", 200),
        ("GET", "attestations", 404),
        ("POST", "attestations_bulk", 404),  # /orgs/…
        ("POST", "attestations_bulk", 404),  # then /users/…
    ]
    assert rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")][0] == "passed"
    assert rows(db_path)[("v0.0.0", "README.txt", "attestation")][0] == "not_applicable"


def test_the_server_rejects_a_bulk_listing_without_digests(
    client: GitHubClient, world: World
) -> None:
    world.add_org("acme")
    with pytest.raises(GitHubError) as rejected:
        client.post("/orgs/acme/attestations/bulk-list", {"digests": []})
    assert rejected.value.status == 422 and "subject_digests" in str(rejected.value)
    with pytest.raises(NotFound):
        client.get("/orgs/acme/attestations/bulk-list")
