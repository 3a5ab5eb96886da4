"""Release worlds for verification tests, built from the real fixtures (nothing typed by hand
except the deliberately wrong files, which say so)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from release_assets_tests.github_server import World, compose_verification_demo

from .conftest import FIXTURES

SP = FIXTURES / "sigstore" / "sigstore-python"
GH = FIXTURES / "sigstore" / "gh-cli-attestation"
RFC8785 = "trailofbits/rfc8785.py"
WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
WHEEL_DIGEST = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
WHEEL_BUNDLE = (SP / "bundle_v3_github.whl.sigstore").read_bytes()
REUSABLE = "https://github.com/github/artifact-attestations-workflows/.github/workflows/"
REUSABLE_REPO = "malancas/attest-demo"
REUSABLE_WHEEL = "github_provenance_demo-0.0.0-py3-none-any.whl"
REUSABLE_DIGEST = "sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25"
# The ids Fulcio put in that bundle's certificate (Source Repository Identifier / Owner Identifier)
REUSABLE_REPO_ID = 804070735
REUSABLE_OWNER_ID = 16248153
PUBLISHED = "2024-03-01T12:00:00Z"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def artifact(name: str, *, size: int, digest: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "size": size,
        "digest": digest,
        "download_count": 3,
        "created_at": PUBLISHED,
        "updated_at": PUBLISHED,
        **extra,
    }


def add_release(
    world: World,
    repo: str,
    tag: str,
    artifacts: list[dict[str, Any]],
    files: dict[str, bytes],
    body: str | None = None,
) -> None:
    world.add_release(
        repo,
        {
            "tag_name": tag,
            "published_at": PUBLISHED,
            "body": body if body is not None else f"## {tag}\n\nRelease {tag}.",
            "assets": artifacts,
        },
    )
    for name, content in files.items():
        world.add_file(repo, tag, name, content)


def signed_wheel(
    world: World,
    repo: str = RFC8785,
    tag: str = "v0.1.2",
    extra: list[dict[str, Any]] | None = None,
    files: dict[str, bytes] | None = None,
) -> None:
    """The real rfc8785 wheel (digest only, never served) and its real bundle (served)."""
    world.add_repo(repo)
    add_release(
        world,
        repo,
        tag,
        [
            artifact(WHEEL, size=9172, digest=WHEEL_DIGEST),
            artifact(f"{WHEEL}.sigstore", size=len(WHEEL_BUNDLE), digest=sha256(WHEEL_BUNDLE)),
            *(extra or []),
        ],
        {f"{WHEEL}.sigstore": WHEEL_BUNDLE, **(files or {})},
    )


def jq(world: World) -> None:
    """The recorded stedolan/jq releases plus the demo composition of their real manifests."""
    recorded = json.loads((FIXTURES / "github-api" / "stedolan_jq_releases.json").read_text())
    world.add_repo("stedolan/jq")
    drop = ("url", "assets_url", "upload_url", "tarball_url", "zipball_url")
    world.add_releases(
        "stedolan/jq",
        [
            {
                **{k: v for k, v in r.items() if k not in drop},
                "assets": [
                    {k: v for k, v in a.items() if k not in ("url", "browser_download_url")}
                    for a in r["assets"]
                ],
            }
            for r in recorded["body"]
        ],
    )
    compose_verification_demo(world)


def repository_with_ids(world: World, full_name: str, repo_id: int, owner_id: int) -> None:
    """A repository served with the given GitHub ids for it and its owner (as on github.com)."""
    body = World().add_repo(full_name, repo_id=repo_id)
    body["owner"]["id"] = owner_id
    world.import_repo(body)


def reusable_attestation(
    world: World, *, repo_id: int = REUSABLE_REPO_ID, owner_id: int = REUSABLE_OWNER_ID
) -> None:
    """A release whose wheel GitHub attests through an allow-listed reusable workflow; the
    repository has its real ids unless told otherwise (a recreated one has new ids)."""
    bundle = json.loads((GH / "reusable-workflow-attestation.sigstore.json").read_text())
    repository_with_ids(world, REUSABLE_REPO, repo_id, owner_id)
    add_release(
        world,
        REUSABLE_REPO,
        "v0.0.0",
        [
            artifact(REUSABLE_WHEEL, size=1500, digest=REUSABLE_DIGEST),
            artifact("README.txt", size=5, digest=sha256(b"hello")),
        ],
        {},
    )
    world.add_attestations(REUSABLE_REPO, REUSABLE_DIGEST, [bundle])


NPM_BUNDLE = (GH / "sigstore-js-2.1.0-bundle.json").read_bytes()
NPM_TARBALL = "sigstore-2.1.0.tgz"
# The tarball itself is not in the fixtures and never fetched (its bundle cannot be judged):
# a stand-in digest, deliberately not the real file's.
NPM_TARBALL_DIGEST = sha256(b"stand-in for sigstore-2.1.0.tgz")


def npm_provenance(world: World, repo: str = "sigstore/sigstore-js") -> None:
    """A release shipping npm provenance (sigstore-js 2.1.0's real bundle, a Rekor intoto entry)
    beside its tarball, from the repository the bundle's certificate names (with its ids)."""
    repository_with_ids(world, repo, 495574555, 71096353)
    add_release(
        world,
        repo,
        "v2.1.0",
        [
            artifact(NPM_TARBALL, size=40_000, digest=NPM_TARBALL_DIGEST),
            artifact(
                f"{NPM_TARBALL}.sigstore.json", size=len(NPM_BUNDLE), digest=sha256(NPM_BUNDLE)
            ),
        ],
        {f"{NPM_TARBALL}.sigstore.json": NPM_BUNDLE},
    )
