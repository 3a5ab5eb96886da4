"""The bundled demo: real recorded GitHub responses (see `recordings/README.md`) as plain data.

Recorded ids, names, sizes, download counts, dates and bodies are kept exactly; only the API
URLs (`url`, `assets_url`, `upload_url`, `tarball_url`, `zipball_url`, an artifact's `url` and
`browser_download_url`) are dropped, so a server derives them on its own host; otherwise a
client would follow them to api.github.com. One repository is composed, not recorded: see
`COMPOSED_REPOSITORIES`. `release_assets.demo.replay` serves this snapshot.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from release_assets.demo import verification_demo

JSON = dict[str, Any]
RECORDINGS = Path(__file__).parent / "recordings"
# Stored JSON uses this base for API URLs; a server substitutes its own URL when serving.
PLACEHOLDER = "http://github.invalid"

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
# GitHub's ids of trailofbits/rfc8785.py and its owner, as the bundle's Fulcio certificate names
# them (source repository id / owner id): verification binds the signature to them.
RFC8785_REPOSITORY_ID = 768213997
RFC8785_OWNER_ID = 2314423

# Ids and creation times of what the recordings do not carry (owners, repositories, composed
# releases and files) follow the test server's World, so the demo's stored rows stay the same
# whichever of the two serves it.
_FIRST_ID = 1_000_000
_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: `2020-01-01T00:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(prefix: str, number: int) -> str:
    """A GitHub-style global node id for a database id."""
    return prefix + base64.b64encode(number.to_bytes(8, "big")).decode().rstrip("=")


def replay_exchanges(text: str) -> list[JSON]:
    """PyGithub's replay format: 11 lines per exchange (scheme, verb, host, port, path,
    request headers, request body, status, response headers, response body, blank)."""
    lines = text.split("\n")
    return [
        {"method": lines[i + 1], "path": lines[i + 4], "status": int(lines[i + 7]),
         "body": json.loads(lines[i + 9])}
        for i in range(0, len(lines) - 9, 11)
    ]


def recorded_releases(repo: str) -> list[JSON]:
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


def recorded_repository(repo: str) -> JSON | None:
    """The recorded `GET /repos/{repo}` body, where the recording has one."""
    if repo not in _REPLAYS:
        return None
    exchanges = replay_exchanges((RECORDINGS / _REPLAYS[repo]).read_text())
    return next((e["body"] for e in exchanges if e["path"] == f"/repos/{repo}"), None)


def without_api_urls(release: JSON) -> JSON:
    """A release as stored: the host-derived API URLs of it and its artifacts dropped."""
    out = {k: v for k, v in release.items() if k not in _API_URL_FIELDS}
    out["assets"] = [{k: v for k, v in a.items() if k not in _ARTIFACT_URL_FIELDS}
                     for a in release.get("assets") or []]
    return out


@dataclass
class DemoRepository:
    """One demo repository as a server holds it (API URLs on `PLACEHOLDER`)."""

    data: JSON  # the `GET /repos/{owner}/{name}` body
    releases: list[JSON] = field(default_factory=list)  # list order, newest first
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (tag, name) -> bytes

    @property
    def full_name(self) -> str:
        return str(self.data["full_name"])


class _Ids:
    """The World's id rule: recorded ids are kept, new ones count up past every id seen."""

    def __init__(self) -> None:
        self.next = _FIRST_ID

    def take(self, wanted: Any = None) -> int:
        if isinstance(wanted, int) and wanted > 0:
            self.next = max(self.next, wanted + 1)
            return wanted
        self.next += 1
        return self.next - 1


class _Builder:
    def __init__(self) -> None:
        self.ids = _Ids()
        self.owners: dict[str, JSON] = {}
        self.repos: dict[str, DemoRepository] = {}
        self.clock = _EPOCH

    def owner(self, login: str, given_id: int | None = None) -> JSON:
        if login.lower() not in self.owners:
            number = self.ids.take()
            number = given_id if given_id is not None else number
            self.owners[login.lower()] = {
                "login": login, "id": number, "node_id": node_id("O_", number),
                "url": f"{PLACEHOLDER}/orgs/{login}", "html_url": f"{PLACEHOLDER}/{login}",
                "avatar_url": f"{PLACEHOLDER}/avatars/{login}", "type": "Organization",
                "site_admin": False,
            }
        return self.owners[login.lower()]

    def add_repo(self, full_name: str, *, fork: bool, default_branch: str,
                 pushed_at: str | None, given_id: int | None = None,
                 owner_id: int | None = None) -> DemoRepository:
        """`given_id`/`owner_id`: GitHub's own ids. The counter advances all the same, so the
        ids composed after them stay what they were before the demo knew them."""
        login, _, name = full_name.partition("/")
        owner = self.owner(login, owner_id)
        self.clock += timedelta(hours=1)  # distinct, increasing creation times
        created = iso(self.clock)
        number = self.ids.take()
        number = given_id if given_id is not None else number
        repo = DemoRepository({
            "id": number, "node_id": node_id("R_", number), "name": name,
            "full_name": full_name, "private": False, "owner": dict(owner),
            "html_url": f"{PLACEHOLDER}/{full_name}", "description": None, "fork": fork,
            "url": f"{PLACEHOLDER}/repos/{full_name}",
            "releases_url": f"{PLACEHOLDER}/repos/{full_name}/releases{{/id}}",
            "created_at": created, "updated_at": created, "pushed_at": pushed_at or created,
            "homepage": None, "size": 0, "stargazers_count": 0, "watchers_count": 0,
            "language": None, "forks_count": 0, "archived": False, "disabled": False,
            "open_issues_count": 0, "license": None, "topics": [], "visibility": "public",
            "default_branch": default_branch,
        })
        self.repos[full_name] = repo
        return repo

    def store_release(self, repo: DemoRepository, release: JSON) -> JSON:
        """Missing fields filled the way the World fills them; ids taken in the same order."""
        rel = {k: v for k, v in release.items() if k != "assets"}
        rel["id"] = self.ids.take(rel.get("id"))
        owner = repo.data["owner"]
        author = {k: owner[k] for k in ("login", "id", "node_id", "url", "html_url", "type")}
        rel.setdefault("node_id", node_id("RE_", rel["id"]))
        rel.setdefault("author", author)
        rel.setdefault("target_commitish", repo.data["default_branch"])
        rel.setdefault("body", None)
        rel.setdefault("updated_at", rel.get("published_at") or rel["created_at"])
        artifacts = []
        for given in release.get("assets") or []:
            artifact = dict(given)
            artifact["id"] = self.ids.take(artifact.get("id"))
            artifact.setdefault("node_id", node_id("RA_", artifact["id"]))
            artifact.setdefault("label", None)
            artifact.setdefault("uploader", rel["author"])
            artifact.setdefault("state", "uploaded")
            artifacts.append(artifact)
        rel["assets"] = artifacts
        if str(rel["created_at"]) > str(repo.data["pushed_at"]):
            repo.data["pushed_at"] = repo.data["updated_at"] = rel["created_at"]
        return rel


def _rfc8785_release(bundle: bytes) -> JSON:
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


def load_demo_snapshot() -> dict[str, DemoRepository]:
    """Every demo repository with its releases and downloadable files, by `owner/name`."""
    build = _Builder()
    for name in DEMO_REPOSITORIES:
        recorded = recorded_repository(name) or {}
        releases = [] if name in COMPOSED_REPOSITORIES else recorded_releases(name)
        branch = recorded.get("default_branch") or next(
            (r["target_commitish"] for r in releases if r.get("target_commitish")), "main")
        ids = ((RFC8785_REPOSITORY_ID, RFC8785_OWNER_ID) if name == "trailofbits/rfc8785.py"
               else (None, None))
        repo = build.add_repo(name, fork=bool(recorded.get("fork")), default_branch=branch,
                              pushed_at=recorded.get("pushed_at"), given_id=ids[0],
                              owner_id=ids[1])
        repo.releases = [build.store_release(repo, without_api_urls(r)) for r in releases]
    bundle = RFC8785_BUNDLE.read_bytes()
    rfc8785 = build.repos["trailofbits/rfc8785.py"]
    rfc8785.releases.insert(0, build.store_release(rfc8785, _rfc8785_release(bundle)))
    rfc8785.files[("v0.1.2", f"{RFC8785_WHEEL}.sigstore")] = bundle
    # Composed, and labelled so: jq's real sha256sum.txt manifests attached to its releases.
    jq = build.repos[verification_demo.JQ]
    for position, release in enumerate(jq.releases):
        content = verification_demo.manifest(release["tag_name"])
        if content is None:
            continue
        jq.releases[position] = build.store_release(
            jq, verification_demo.with_manifest(release, content))
        jq.files[(release["tag_name"], verification_demo.JQ_MANIFEST)] = content
    return build.repos


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
    "PLACEHOLDER",
    "RECORDINGS",
    "DemoRepository",
    "demo_config_yaml",
    "iso",
    "load_demo_snapshot",
    "node_id",
    "recorded_releases",
    "recorded_repository",
    "replay_exchanges",
    "without_api_urls",
]
