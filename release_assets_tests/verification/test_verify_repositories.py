"""Verifying stored releases against the local GitHub server: real HTTP, real sigstore, DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from release_assets.lib.config import VerificationConfig
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets.lib.verification.run import VerificationRun, verify_repositories
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World

from . import worlds
from .worlds import RFC8785, WHEEL, WHEEL_DIGEST, artifact, sha256


@pytest.fixture(autouse=True)
def sigstore_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def verify(
    client: GitHubClient, db: Path, repos: list[str], settings: VerificationConfig | None = None
) -> VerificationRun:
    refresh_repositories(client, db, repos)
    return verify_repositories(db, client, settings or VerificationConfig(), repos)


def rows(db: Path, where: str = "true") -> dict[tuple[str, str | None, str], tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            f'SELECT tag, artifact_name, "check", status, reason FROM release_verification '
            f"WHERE {where}"
        ).fetchall()
    finally:
        con.close()
    return {(t, a, c): (s, r) for t, a, c, s, r in found}


def downloads(server: GitHubServer) -> list[str]:
    return [entry.path for entry in server.request_log if entry.route == "download"]


def test_signed_wheel_verifies_from_its_digest_without_downloading_it(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.signed_wheel(world)
    run = verify(client, db_path, [RFC8785])
    status, reason = rows(db_path)[("v0.1.2", WHEEL, "signature")]
    assert status == "passed", reason
    assert "rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2" in reason
    # only the bundle was fetched: the wheel itself never was
    assert downloads(github_server) == [f"/download/{RFC8785}/v0.1.2/{WHEEL}.sigstore"]
    assert run.bytes_downloaded == len(worlds.WHEEL_BUNDLE)
    # the attestations endpoint answered 404 for the wheel: "none", not a failure
    assert rows(db_path)[("v0.1.2", WHEEL, "attestation")] == (
        "not_applicable",
        "GitHub has no attestation for this digest",
    )
    assert run.failures() == [] and run.signed_but_unverified() == []


def test_wrong_signer_for_the_repository_fails(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    # the same real wheel and bundle re-published by another repository: signed by
    # trailofbits' workflow, so not by any workflow of mallory/rfc8785.py
    worlds.signed_wheel(world, repo="mallory/rfc8785.py")
    run = verify(client, db_path, ["mallory/rfc8785.py"])
    status, reason = rows(db_path)[("v0.1.2", WHEEL, "signature")]
    assert status == "failed"
    assert "not allowed" in reason and "https://github.com/mallory/rfc8785.py/" in reason
    assert [(f.result.repo, f.result.tag) for f in run.failures()] == [
        ("mallory/rfc8785.py", "v0.1.2")
    ]
    assert run.signed_but_unverified() == [("mallory/rfc8785.py", "v0.1.2", [f"{WHEEL}.sigstore"])]


def test_jq_checksum_coverage_is_reported_exactly(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.jq(world)
    # hashing off: the 2017 artifacts have no digest and the server has no binaries to hash
    verify(client, db_path, ["stedolan/jq"], VerificationConfig(max_download_bytes=0))
    manifests = rows(db_path, "artifact_name = 'sha256sum.txt' AND \"check\" = 'checksum'")
    coverage = {tag: reason.split(";")[0] for (tag, _, _), (_, reason) in manifests.items()}
    assert coverage == {
        "jq-1.3": "6 of 6 artifacts listed",
        "jq-1.4": "9 of 9 artifacts listed",
        "jq-1.5rc1": "4 of 5 artifacts listed",
        "jq-1.5rc2": "7 of 7 artifacts listed",
        "jq-1.5": "7 of 8 artifacts listed",
    }
    assert (
        "not listed: jq-linux32-no-oniguruma"
        in manifests[("jq-1.5", "sha256sum.txt", "checksum")][1]
    )
    found = rows(db_path, "tag = 'jq-1.5' AND \"check\" = 'checksum'")
    assert found[("jq-1.5", "jq-linux32-no-oniguruma", "checksum")][0] == "not_applicable"
    # a listed file whose digest cannot be had is not judged: unverifiable, never passed
    status, reason = found[("jq-1.5", "jq-linux64", "checksum")]
    assert status == "unverifiable" and "hashing is disabled" in reason
    # only the five manifests were downloaded
    assert len(downloads(github_server)) == 5


def test_digestless_artifact_is_hashed_and_a_mismatch_fails(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    good, tampered = b"good tool binary\n", b"tampered tool binary\n"
    manifest = (
        f"{sha256(good)[7:]}  tool-linux-amd64\n{sha256(good)[7:]}  tool-darwin-arm64\n"
    ).encode()
    world.add_repo("acme/tool")
    worlds.add_release(
        world,
        "acme/tool",
        "v1.0.0",
        [
            artifact("tool-linux-amd64", size=len(good), digest=None),  # pre-2025: no digest
            artifact("tool-darwin-arm64", size=len(tampered), digest=sha256(tampered)),
            artifact("checksums.txt", size=len(manifest), digest=sha256(manifest)),
        ],
        {"tool-linux-amd64": good, "checksums.txt": manifest},
    )
    run = verify(client, db_path, ["acme/tool"])
    found = rows(db_path)
    assert found[("v1.0.0", "tool-linux-amd64", "checksum")][0] == "passed"
    status, reason = found[("v1.0.0", "tool-darwin-arm64", "checksum")]
    assert status == "failed" and "replaced" in reason
    status, reason = found[("v1.0.0", "checksums.txt", "checksum")]
    assert status == "failed" and reason.startswith("mismatch for tool-darwin-arm64")
    assert "2 of 2 artifacts listed" in reason
    # the digest-less file was hashed (downloaded once); the one with a digest never was
    assert sorted(p.rsplit("/", 1)[1] for p in downloads(github_server)) == [
        "checksums.txt",
        "tool-linux-amd64",
    ]
    assert run.files_hashed == 1


def test_broken_bundle_is_an_error_for_its_artifact_only(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    broken = worlds.WHEEL_BUNDLE[: len(worlds.WHEEL_BUNDLE) // 2]  # truncated upload
    other = b"other artifact"
    worlds.signed_wheel(
        world,
        extra=[
            artifact("other.tar.gz", size=len(other), digest=sha256(other)),
            artifact("other.tar.gz.sigstore.json", size=len(broken), digest=sha256(broken)),
            artifact("legacy.tar.gz", size=3, digest=sha256(b"old")),
            artifact("legacy.tar.gz.sig", size=3, digest=None),
            artifact("legacy.tar.gz.pem", size=3, digest=None),
        ],
        files={"other.tar.gz.sigstore.json": broken},
    )
    verify(client, db_path, [RFC8785])
    found = rows(db_path)
    status, reason = found[("v0.1.2", "other.tar.gz", "signature")]
    assert status == "error" and "not JSON" in reason
    assert found[("v0.1.2", WHEEL, "signature")][0] == "passed"
    status, reason = found[("v0.1.2", "legacy.tar.gz", "signature")]
    assert status == "unverifiable" and "legacy cosign pair" in reason


def test_rerun_downloads_and_verifies_nothing_again(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.signed_wheel(world)
    worlds.jq(world)
    # jq's notes do not all mention their tags, so its CHANGELOG is looked for (none is there)
    world.set_file("stedolan/jq", "README.md", "jq is a command-line JSON processor\n")
    worlds.reusable_attestation(world)
    repos = [RFC8785, "stedolan/jq", worlds.REUSABLE_REPO]
    settings = VerificationConfig(trusted_workflows=(worlds.REUSABLE,), max_download_bytes=0)
    first = verify(client, db_path, repos, settings)
    before = rows(db_path)
    # 1 bundle + 5 manifests; lookups: 2 wheels, README, 5 manifests (they carry digests)
    assert first.files_downloaded == 6 and first.attestation_lookups == 8
    github_server.reset_stats()
    second = verify_repositories(db_path, client, settings, repos)
    # no download, no attestation lookup: only jq's root listing, revalidated for free (304)
    assert [(e.route, e.status) for e in github_server.request_log] == [("contents", 304)]
    assert github_server.stats.rate_limit_points == 0
    assert second.bytes_downloaded == 0 and second.cache_written == 0
    assert rows(db_path) == before
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        cached = con.execute(
            'SELECT bool_and(cached) FROM release_verification WHERE "check" IN '
            "('signature', 'attestation') AND tag = 'v0.1.2'"
        ).fetchall()[0][0]
        count = con.execute("SELECT count(*) FROM release_verification").fetchall()[0][0]
    finally:
        con.close()
    assert cached is True and count == second.rows_written


def test_github_attestation_verifies_only_with_the_allow_listed_workflow(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.reusable_attestation(world)
    repo = worlds.REUSABLE_REPO
    verify(client, db_path, [repo])
    status, reason = rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")]
    assert status == "failed" and "not allowed" in reason
    assert rows(db_path)[("v0.0.0", "README.txt", "attestation")][0] == "not_applicable"

    allowed = VerificationConfig(identities={repo: (worlds.REUSABLE,)})
    run = verify_repositories(db_path, client, allowed, [repo])
    status, reason = rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")]
    assert status == "passed", reason
    assert "artifact-attestations-workflows" in reason and worlds.REUSABLE_DIGEST in reason
    assert run.failures() == []
    lookups = [e for e in github_server.request_log if e.route == "attestations"]
    assert {e.status for e in lookups} == {200, 404}


def test_attestation_lookup_errors_are_retried_next_run_not_cached(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    worlds.reusable_attestation(world)
    repo = worlds.REUSABLE_REPO
    refresh_repositories(client, db_path, [repo])
    github_server.inject(r"/attestations/", status=502, times=100)
    settings = VerificationConfig(identities={repo: (worlds.REUSABLE,)})
    verify_repositories(db_path, client, settings, [repo])
    status, reason = rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")]
    assert status == "error" and "502" in reason
    github_server.clear_faults()
    verify_repositories(db_path, client, settings, [repo])
    assert rows(db_path)[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")][0] == "passed"


def test_sbom_and_docs_rows(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    sbom = (worlds.FIXTURES / "sbom" / "sbomqs-cdx-cgomod.json").read_bytes()
    world.add_repo("acme/app")
    worlds.add_release(
        world,
        "acme/app",
        "v1.0.0",
        [
            artifact("app.cdx.json", size=len(sbom), digest=sha256(sbom)),
            artifact("app.spdx.json", size=10, digest=sha256(b"{truncated")),
        ],
        {"app.cdx.json": sbom, "app.spdx.json": b"{truncated"},
        body="## v1.0.0\nFirst.",
    )
    worlds.add_release(world, "acme/app", "v2.0.0", [], {}, body="v2.0.0: faster")
    verify(client, db_path, ["acme/app"])
    found = rows(db_path)
    status, reason = found[("v1.0.0", "app.cdx.json", "sbom")]
    assert status == "passed" and "cyclonedx 1.4, 20 components" in reason
    assert found[("v1.0.0", "app.spdx.json", "sbom")][0] == "failed"
    status, reason = found[("v2.0.0", None, "docs")]
    assert status == "failed" and "breaking changes" in reason


def test_token_is_never_sent_to_the_download_host(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    # GitHub serves release files from another host than the API: play it with a second server
    downloads_world = World()
    downloads_world.add_repo(RFC8785)
    with GitHubServer(downloads_world) as files:
        bundle_url = f"{files.url}/download/{RFC8785}/v0.1.2/{WHEEL}.sigstore"
        downloads_world.add_file(RFC8785, "v0.1.2", f"{WHEEL}.sigstore", worlds.WHEEL_BUNDLE)
        world.add_repo(RFC8785)
        worlds.add_release(
            world,
            RFC8785,
            "v0.1.2",
            [
                artifact(WHEEL, size=9172, digest=WHEEL_DIGEST),
                artifact(
                    f"{WHEEL}.sigstore",
                    size=len(worlds.WHEEL_BUNDLE),
                    digest=None,
                    browser_download_url=bundle_url,
                ),
            ],
            {},
        )
        verify(client, db_path, [RFC8785])
        assert rows(db_path)[("v0.1.2", WHEEL, "signature")][0] == "passed"
        assert [e.route for e in files.request_log] == ["download"]
        assert not any(e.authorized for e in files.request_log)
    api = [e for e in github_server.request_log if e.route != "download"]
    assert api and all(e.authorized for e in api)
    assert TEST_TOKEN not in json.dumps([r.__dict__ for r in files.request_log])


def test_intoto_jsonl_lines_are_verified_and_matched_to_artifacts(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    bundle = json.loads((worlds.GH / "reusable-workflow-attestation.sigstore.json").read_text())
    envelope = bundle["dsseEnvelope"]  # the same statement without its sigstore bundle around it
    jsonl = (json.dumps(bundle) + "\n" + json.dumps(envelope) + "\n").encode()
    repo = worlds.REUSABLE_REPO
    world.add_repo(repo)
    worlds.add_release(
        world,
        repo,
        "v0.0.0",
        [
            artifact(worlds.REUSABLE_WHEEL, size=1500, digest=worlds.REUSABLE_DIGEST),
            artifact("provenance.intoto.jsonl", size=len(jsonl), digest=sha256(jsonl)),
        ],
        {"provenance.intoto.jsonl": jsonl},
    )
    settings = VerificationConfig(trusted_workflows=(worlds.REUSABLE,), attestations=False)
    run = verify(client, db_path, [repo], settings)
    found = rows(db_path)
    status, reason = found[("v0.0.0", worlds.REUSABLE_WHEEL, "attestation")]
    assert status == "passed" and "named in provenance.intoto.jsonl line 1" in reason
    status, reason = found[("v0.0.0", "provenance.intoto.jsonl", "attestation")]
    # line 2 is a bare envelope: reported as not verifiable offline, never as passed
    assert status == "passed" and reason.startswith("2 attestation(s), 1 naming artifacts")
    assert run.signed_but_unverified() == [] and run.attestation_lookups == 0


def test_only_the_newest_releases_are_reverified_and_older_rows_are_kept(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    repo = "acme/windowed"
    world.add_repo(repo)
    for n in range(1, 26):  # v1.0.1 oldest … v1.0.25 newest (GitHub lists newest first)
        worlds.add_release(world, repo, f"v1.0.{n}", [], {})
    everything = verify(client, db_path, [repo], VerificationConfig(recent_releases=0))
    assert everything.releases == 25 and everything.older_releases_kept == 0
    before = rows(db_path, "tag = 'v1.0.1'")
    assert before, "the oldest release was verified when the window covered every release"

    verified: list = []
    windowed = verify_repositories(
        db_path,
        client,
        VerificationConfig(recent_releases=20),
        [repo],
        on_repo=lambda _, rows, __: verified.extend(rows),
    )
    assert windowed.releases == 20 and windowed.older_releases_kept == 5
    assert {r.result.tag for r in verified} == {f"v1.0.{n}" for n in range(6, 26)}
    # the five oldest were not re-verified, and their earlier rows are still there
    assert rows(db_path, "tag = 'v1.0.1'") == before
    assert len({t for t, _, _ in rows(db_path)}) == 25

    # a release deleted on GitHub loses its rows, even when it is outside the window
    oldest = next(r for r in world.releases(repo) if r["tag_name"] == "v1.0.1")
    world.delete_release(repo, oldest["id"])
    verify(client, db_path, [repo], VerificationConfig(recent_releases=20))
    assert rows(db_path, "tag = 'v1.0.1'") == {}
    assert len({t for t, _, _ in rows(db_path)}) == 24


def test_generated_organisation_serves_metadata_files_that_verify(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    # benchmarks verify generated organisations: their checksums, SBOMs and provenance files
    # must download and judge like a goreleaser project's, or a benchmark times 404s
    keys = generate_org(world, "acme", repos=2, releases=3, artifacts=10)
    run = verify(client, db_path, keys)
    assert run.errors == {} and run.files_downloaded == 2 * 3 * 3
    statuses = {(c, s) for (_, _, c), (s, _) in rows(db_path).items()}
    assert ("checksum", "passed") in statuses and ("sbom", "passed") in statuses
    assert not {s for c, s in statuses if c in ("checksum", "sbom", "attestation")} & {
        "failed",
        "error",
    }
    provenance = rows(db_path, "artifact_name LIKE '%.intoto.jsonl'")
    assert {s for s, _ in provenance.values()} == {"unverifiable"}
    assert all("bare DSSE envelope" in r for _, r in provenance.values())


def test_rows_are_written_batch_by_batch_and_a_failed_repository_keeps_its_rows(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    """A large organisation's rows never pile up in memory: every `write_every` repositories are
    written as soon as they are verified. A repository that cannot be verified keeps its rows."""
    keys = generate_org(world, "acme", repos=5, releases=2, artifacts=10)
    refresh_repositories(client, db_path, keys)

    def stored_repos() -> list[str]:
        con = duckdb.connect(str(db_path), read_only=True)
        try:
            return [
                r
                for (r,) in con.execute(
                    "SELECT DISTINCT repo FROM release_verification ORDER BY repo"
                ).fetchall()
            ]
        except duckdb.CatalogException:  # the table is made by the first write
            return []
        finally:
            con.close()

    stored_when_done: list[list[str]] = []
    first = verify_repositories(
        db_path,
        client,
        VerificationConfig(),
        keys,
        write_every=2,
        on_repo=lambda *_: stored_when_done.append(stored_repos()),
    )
    ordered = sorted(keys)
    assert stored_when_done == [[], [], ordered[:2], ordered[:2], ordered[:4]]
    assert stored_repos() == ordered
    before = {repo: rows(db_path, f"repo = '{repo}'") for repo in keys}
    assert first.rows_written == sum(len(r) for r in before.values())

    broken = ordered[2]
    second = verify_repositories(
        db_path, client, VerificationConfig(identities={broken: ("  ",)}), keys, write_every=2
    )
    assert list(second.errors) == [broken] and "empty identity" in second.errors[broken]
    assert {repo: rows(db_path, f"repo = '{repo}'") for repo in keys} == before
    assert second.rows_written == first.rows_written - len(before[broken])
