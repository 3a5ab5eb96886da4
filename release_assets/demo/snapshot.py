"""The bundled demo world: real recorded GitHub responses (see `recordings/README.md`).

Recorded ids, names, sizes, download counts, dates and bodies are kept exactly; only the API
URLs (`url`, `assets_url`, `upload_url`, `tarball_url`, `zipball_url`, an artifact's `url` and
`browser_download_url`) are dropped so the server derives them on its own host — otherwise a
client would follow them to api.github.com. One repository is composed, not recorded: see
`COMPOSED_REPOSITORIES`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from release_assets_tests.github_server import World, iso

RECORDINGS = Path(__file__).parent / "recordings"

# Recorded repository -> (recording file, how its release JSON is read).
_CASSETTES: dict[str, str] = {
    "zeit/hyper": "zeit_hyper_releases.json",
    "stedolan/jq": "stedolan_jq_releases.json",
    "nlohmann/json": "nlohmann_json_releases_tags_v2.0.10.json",
    "jwodder/qypi": "jwodder_qypi_releases.json",
    "jwodder/ghutil": "jwodder_ghutil_releases.json",
    "TomasTomecek/sen": "TomasTomecek_sen_releases_tags_0.5.0.json",
    "jwodder/daemail": "jwodder_daemail_releases_tags_v0.5.0.json",
}
_REPLAYS: dict[str, str] = {
    # PyGithub's own test release lives in the EnricoMi/PyGithub fork, as recorded.
    "EnricoMi/PyGithub": "pygithub-replay/GitRelease.testGetReleaseByTag.txt",
    # the recording with a real 2025 `digest` on its artifact
    "stellarcarbon/sorocarbon": "pygithub-replay/PublicReleaseAsset.setUp.txt",
}
COMPOSED_REPOSITORIES: tuple[str, ...] = ("trailofbits/rfc8785.py",)
DEMO_REPOSITORIES: list[str] = [*_CASSETTES, *_REPLAYS, *COMPOSED_REPOSITORIES]

_API_URL_FIELDS = ("url", "assets_url", "upload_url", "tarball_url", "zipball_url")
_ARTIFACT_URL_FIELDS = ("url", "browser_download_url")

RFC8785_WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
RFC8785_WHEEL_DIGEST = "sha256:c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201"
RFC8785_WHEEL_SIZE = 9172
RFC8785_BUNDLE = RECORDINGS / "sigstore" / "bundle_v3_github.whl.sigstore"


def replay_exchanges(text: str) -> list[dict[str, Any]]:
    """PyGithub's replay format: 11 lines per exchange (scheme, verb, host, port, path,
    request headers, request body, status, response headers, response body, blank)."""
    lines = text.split("\n")
    return [
        {"method": lines[i + 1], "path": lines[i + 4], "status": int(lines[i + 7]),
         "body": json.loads(lines[i + 9])}
        for i in range(0, len(lines) - 9, 11)
    ]


def recorded_releases(repo: str) -> list[dict[str, Any]]:
    """The recorded release JSON for a demo repository, in recorded list order."""
    if repo in _CASSETTES:
        data = json.loads((RECORDINGS / _CASSETTES[repo]).read_text())
        body = data["body"] if isinstance(data, dict) and "body" in data else data
        return body if isinstance(body, list) else [body]
    if repo in _REPLAYS:
        exchanges = replay_exchanges((RECORDINGS / _REPLAYS[repo]).read_text())
        return [e["body"] for e in exchanges
                if isinstance(e["body"], dict) and "tag_name" in e["body"]]
    raise KeyError(f"{repo} is not a recorded demo repository")


def recorded_repository(repo: str) -> dict[str, Any] | None:
    """The recorded `GET /repos/{repo}` body, where the recording has one."""
    if repo not in _REPLAYS:
        return None
    exchanges = replay_exchanges((RECORDINGS / _REPLAYS[repo]).read_text())
    return next((e["body"] for e in exchanges if e["path"] == f"/repos/{repo}"), None)


def _served(release: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in release.items() if k not in _API_URL_FIELDS}
    out["assets"] = [{k: v for k, v in a.items() if k not in _ARTIFACT_URL_FIELDS}
                     for a in release.get("assets") or []]
    return out


def _rfc8785_release(bundle: bytes) -> dict[str, Any]:
    """Composed: the real wheel's digest and size, and its real sigstore bundle."""
    signed = json.loads(bundle)["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
    uploaded = datetime.fromtimestamp(int(signed), UTC)
    published = iso(uploaded + timedelta(minutes=1))
    return {
        "tag_name": "v0.1.2", "name": "v0.1.2", "target_commitish": "main",
        "draft": False, "prerelease": False,
        "created_at": iso(uploaded - timedelta(minutes=3)), "published_at": published,
        "body": "## What's Changed\n\nSee [CHANGELOG.md](https://github.com/trailofbits/"
                "rfc8785.py/blob/main/CHANGELOG.md) for the changes in this release.",
        "assets": [
            {"name": RFC8785_WHEEL, "content_type": "application/zip", "size": RFC8785_WHEEL_SIZE,
             "digest": RFC8785_WHEEL_DIGEST, "download_count": 0,
             "created_at": iso(uploaded), "updated_at": iso(uploaded)},
            {"name": f"{RFC8785_WHEEL}.sigstore", "content_type": "application/json",
             "size": len(bundle), "digest": "sha256:" + hashlib.sha256(bundle).hexdigest(),
             "download_count": 0, "created_at": iso(uploaded), "updated_at": iso(uploaded)},
        ],
    }


def load_demo_world() -> World:
    """A World holding every demo repository and its recorded releases."""
    world = World()
    for repo in DEMO_REPOSITORIES:
        recorded = recorded_repository(repo) or {}
        releases = [] if repo in COMPOSED_REPOSITORIES else recorded_releases(repo)
        branch = recorded.get("default_branch") or next(
            (r["target_commitish"] for r in releases if r.get("target_commitish")), "main")
        world.add_repo(repo, fork=bool(recorded.get("fork")), default_branch=branch,
                       pushed_at=recorded.get("pushed_at"))
        world.add_releases(repo, [_served(r) for r in releases])
    bundle = RFC8785_BUNDLE.read_bytes()
    world.add_release("trailofbits/rfc8785.py", _rfc8785_release(bundle))
    world.add_file("trailofbits/rfc8785.py", "v0.1.2", f"{RFC8785_WHEEL}.sigstore", bundle)
    # Composed, and labelled so: jq's real sha256sum.txt manifests attached to its releases.
    from release_assets.demo.verification_demo import compose_verification_demo

    compose_verification_demo(world)
    return world


def demo_config_yaml() -> str:
    """The demo's config: every demo repository, named explicitly."""
    lines = [
        "# The bundled demo: recorded real GitHub responses replayed by a local server.",
        "repos:",
        *(f"  - {repo}" for repo in DEMO_REPOSITORIES),
        "skip_forks: false  # EnricoMi/PyGithub, PyGithub's test fork, is a fork",
        "skip_archived: true",
        "quality:",
        "  rubric: default",
        "  threshold: 60",
        "verification:",
        "  # 2017's jq files carry no digest and the demo ships no binaries: compare manifests",
        "  # to what GitHub lists instead of downloading files that are not there.",
        "  max_download_bytes: 0",
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "COMPOSED_REPOSITORIES",
    "DEMO_REPOSITORIES",
    "RECORDINGS",
    "demo_config_yaml",
    "load_demo_world",
    "recorded_releases",
    "recorded_repository",
    "replay_exchanges",
]
