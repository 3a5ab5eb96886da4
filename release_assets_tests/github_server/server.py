"""A local GitHub-compatible HTTP server over an in-memory `World` of orgs, repositories, releases.

Tests, benchmarks and the demo point PyGithub at it (`Github(base_url=server.url)`). It speaks the
parts of GitHub's protocol this project depends on: JSON shapes, `Link` pagination, the REST
1,000-result ceiling, ETag/304, per-token rate limits and their headers, GraphQL with cost, 302
asset downloads, repository contents, attestations, and injected faults. Standard library + graphql-core only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import mimetypes
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from functools import lru_cache, partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    execute,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

# Stored JSON uses this base for API URLs; it becomes the server's own URL when served, so a
# World can be built before any server exists (the demo does) and served on any port.
PLACEHOLDER = "http://github.invalid"

REST_DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"
)
LIST_RELEASES_DOCS = "https://docs.github.com/rest/releases/releases#list-releases"
CONTENTS_DOCS = "https://docs.github.com/rest/repos/contents#get-repository-content"
MAX_INLINE_CONTENT = 1024 * 1024  # GitHub inlines base64 `content` up to 1 MB; above, "none"
BULK_ATTESTATIONS_DOCS = (
    "https://docs.github.com/rest/orgs/attestations#list-attestations-by-bulk-subject-digests")
MAX_BULK_DIGESTS = 1024

JSON = dict[str, Any]


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: `2020-01-01T00:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> str:
    return iso(datetime.now(UTC))


def _node_id(prefix: str, number: int) -> str:
    return prefix + base64.b64encode(number.to_bytes(8, "big")).decode().rstrip("=")


_CONTENT_TYPES = {
    ".gz": "application/gzip", ".tgz": "application/gzip", ".zip": "application/zip",
    ".exe": "application/x-msdownload", ".deb": "application/vnd.debian.binary-package",
    ".rpm": "application/x-rpm", ".json": "application/json", ".jsonl": "application/jsonl",
    ".txt": "text/plain", ".sig": "application/pgp-signature",
    ".asc": "application/pgp-signature", ".dmg": "application/x-apple-diskimage",
    ".whl": "application/zip", ".sigstore": "application/json",
}


@lru_cache(maxsize=4096)
def content_type_for(name: str) -> str:
    """The content type GitHub would most likely have recorded for an upload of this name."""
    for suffix, kind in _CONTENT_TYPES.items():
        if name.endswith(suffix):
            return kind
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _user(login: str, number: int, kind: str = "User") -> JSON:
    return {
        "login": login, "id": number, "node_id": _node_id("U_" if kind == "User" else "O_", number),
        "avatar_url": f"{PLACEHOLDER}/avatars/{login}", "gravatar_id": "",
        "url": f"{PLACEHOLDER}/users/{login}", "html_url": f"{PLACEHOLDER}/{login}",
        "type": kind, "site_admin": False,
    }


@dataclass
class _Repo:
    data: JSON
    releases: list[JSON] = field(default_factory=list)  # GitHub list order: newest first
    files: dict[str, bytes] = field(default_factory=dict)  # default branch: path -> bytes
    # (tag, artifact name) -> bytes, for artifacts not stored with add_file: generated orgs
    # derive their files on demand instead of holding hundreds of thousands of them
    artifact_source: Callable[[str, str], bytes | None] | None = None
    version: int = 0
    modified: float = field(default_factory=time.time)

    @property
    def full_name(self) -> str:
        return str(self.data["full_name"])

    def touch(self) -> None:
        self.version += 1
        self.modified = time.time()


class World:
    """Thread-safe in-memory GitHub state: orgs → repositories → releases → artifacts."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.base_url: str | None = None  # set by a running GitHubServer
        self.moved: dict[str, str] = {}  # old full name (lower) -> new full name
        self.version = 0  # bumps whenever an org listing could change
        self._orgs: dict[str, JSON] = {}
        self._repos: dict[str, _Repo] = {}
        self._repos_by_id: dict[int, _Repo] = {}
        self._releases: dict[int, tuple[_Repo, JSON]] = {}
        self._artifacts: dict[int, tuple[_Repo, JSON]] = {}
        self._files: dict[tuple[str, str, str], bytes] = {}
        self._attestations: dict[tuple[str, str], list[JSON]] = {}
        self._attested_in: dict[str, list[str]] = {}  # digest -> repositories (lower-case names)
        self._next_id = 1_000_000
        self._clock = datetime(2015, 1, 1, tzinfo=UTC)

    # -- ids and rendering ----------------------------------------------------------------------
    def _new_id(self, wanted: Any = None) -> int:
        if isinstance(wanted, int) and wanted > 0:
            self._next_id = max(self._next_id, wanted + 1)
            return wanted
        self._next_id += 1
        return self._next_id - 1

    def _public(self, obj: Any) -> Any:
        """A detached copy with URLs on the serving host (or the placeholder if none)."""
        text = json.dumps(obj)
        if self.base_url:
            text = text.replace(PLACEHOLDER, self.base_url)
        return json.loads(text)

    def _repo(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name!r}")
        return repo

    def _find_repo(self, full_name: str) -> _Repo | None:
        return self._repos.get(full_name.lower())

    def _release(self, full_name: str, release_id: int) -> tuple[_Repo, JSON]:
        repo = self._repo(full_name)
        found = self._releases.get(int(release_id))
        if found is None or found[0] is not repo:
            raise KeyError(f"no release {release_id} in {full_name}")
        return found

    def render_release(self, repo: _Repo, rel: JSON) -> JSON:
        full, tag = repo.full_name, str(rel["tag_name"])
        api = f"{PLACEHOLDER}/repos/{full}/releases/{rel['id']}"
        out: JSON = {
            "url": api, "assets_url": f"{api}/assets",
            "upload_url": f"{PLACEHOLDER}/uploads/repos/{full}/releases/{rel['id']}/assets{{?name,label}}",
            "html_url": f"{PLACEHOLDER}/{full}/releases/tag/{quote(tag, safe='')}",
        }
        out.update(rel)
        out["assets"] = [self.render_artifact(repo, rel, a) for a in rel["assets"]]
        out.setdefault("tarball_url", f"{PLACEHOLDER}/repos/{full}/tarball/{quote(tag, safe='')}")
        out.setdefault("zipball_url", f"{PLACEHOLDER}/repos/{full}/zipball/{quote(tag, safe='')}")
        return out

    def render_artifact(self, repo: _Repo, rel: JSON, artifact: JSON) -> JSON:
        number, name = int(artifact["id"]), str(artifact["name"])
        out: JSON = {
            "url": f"{PLACEHOLDER}/repos/{repo.full_name}/releases/assets/{number}",
            "id": number, "node_id": _node_id("RA_", number), "name": name, "label": None,
            "uploader": rel.get("author"), "content_type": content_type_for(name),
            "state": "uploaded", "size": 0, "digest": None, "download_count": 0,
            "created_at": rel["created_at"], "updated_at": rel["created_at"],
            "browser_download_url": self.download_url(repo.full_name, str(rel["tag_name"]), name),
        }
        out.update(artifact)
        return out

    @staticmethod
    def download_url(full_name: str, tag: str, name: str) -> str:
        return f"{PLACEHOLDER}/download/{full_name}/{quote(tag, safe='')}/{quote(name, safe='')}"

    # -- orgs and repositories -------------------------------------------------------------------
    def add_org(self, login: str) -> JSON:
        with self.lock:
            org = self._orgs.get(login.lower())
            if org is None:
                org = _user(login, self._new_id(), "Organization")
                org.update(
                    repos_url=f"{PLACEHOLDER}/orgs/{login}/repos", description=None,
                    url=f"{PLACEHOLDER}/orgs/{login}",
                )
                self._orgs[login.lower()] = org
                self.version += 1
            return self._public(org)

    def add_repo(
        self, full_name: str, *, archived: bool = False, fork: bool = False,
        private: bool = False, default_branch: str = "main", pushed_at: str | None = None,
    ) -> JSON:
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} already exists")
            owner_login, _, name = full_name.partition("/")
            self.add_org(owner_login)
            owner = self._orgs[owner_login.lower()]
            self._clock += timedelta(hours=1)  # distinct, increasing creation times
            created = iso(self._clock)
            number = self._new_id()
            data: JSON = {
                "id": number, "node_id": _node_id("R_", number), "name": name,
                "full_name": full_name, "private": private,
                "owner": {k: owner[k] for k in ("login", "id", "node_id", "url", "html_url",
                                                 "avatar_url", "type", "site_admin")},
                "html_url": f"{PLACEHOLDER}/{full_name}", "description": None, "fork": fork,
                "url": f"{PLACEHOLDER}/repos/{full_name}",
                "releases_url": f"{PLACEHOLDER}/repos/{full_name}/releases{{/id}}",
                "created_at": created, "updated_at": created, "pushed_at": pushed_at or created,
                "homepage": None, "size": 0, "stargazers_count": 0, "watchers_count": 0,
                "language": None, "forks_count": 0, "archived": archived, "disabled": False,
                "open_issues_count": 0, "license": None, "topics": [],
                "visibility": "private" if private else "public", "default_branch": default_branch,
            }
            repo = _Repo(data)
            self._repos[full_name.lower()] = self._repos_by_id[number] = repo
            self.version += 1
            return self._public(data)

    def archive_repo(self, full_name: str) -> None:
        with self.lock:
            repo = self._repo(full_name)
            repo.data.update(archived=True, updated_at=_now())
            repo.touch()
            self.version += 1

    def delete_repo(self, full_name: str) -> None:
        with self.lock:
            repo = self._repo(full_name)
            for rel in repo.releases:
                self._forget_release(rel)
            del self._repos[full_name.lower()], self._repos_by_id[int(repo.data["id"])]
            key = full_name.lower()
            self._files = {k: v for k, v in self._files.items() if k[0] != key}
            self.version += 1

    def move_repo(self, old: str, new: str) -> JSON:
        """Rename or transfer: the old name answers 301 to `/repositories/{id}` afterwards."""
        with self.lock:
            repo = self._repo(old)
            owner_login, _, name = new.partition("/")
            self.add_org(owner_login)
            owner = self._orgs[owner_login.lower()]
            text = json.dumps(repo.data).replace(f"/{repo.full_name}", f"/{new}")
            repo.data = json.loads(text)
            repo.data.update(name=name, full_name=new, updated_at=_now())
            repo.data["owner"] = {k: owner[k] for k in repo.data["owner"]}
            del self._repos[old.lower()]
            self._repos[new.lower()] = repo
            self.moved[old.lower()] = new
            self._files = {
                ((new.lower() if k[0] == old.lower() else k[0]), k[1], k[2]): v
                for k, v in self._files.items()
            }
            repo.touch()
            self.version += 1
            return self._public(repo.data)

    def repo(self, full_name: str) -> JSON:
        with self.lock:
            return self._public(self._repo(full_name).data)

    def org_repos(self, org: str) -> list[JSON]:
        """The org's repositories in creation order."""
        with self.lock:
            return self._public([r.data for r in self._owned(org)])

    def _owned(self, owner: str) -> list[_Repo]:
        owner = owner.lower()
        return [r for r in self._repos.values() if r.data["owner"]["login"].lower() == owner]

    # -- releases --------------------------------------------------------------------------------
    def _store_release(self, repo: _Repo, release: Mapping[str, Any]) -> JSON:
        rel = {k: v for k, v in release.items() if k != "assets"}
        rel["id"] = self._new_id(rel.get("id"))
        rel.setdefault("node_id", _node_id("RE_", rel["id"]))
        rel.setdefault("tag_name", f"v0.0.{rel['id']}")
        rel.setdefault("author", self._author(repo))
        rel.setdefault("target_commitish", repo.data["default_branch"])
        rel.setdefault("name", rel["tag_name"])
        rel.setdefault("draft", False)
        rel.setdefault("prerelease", False)
        rel.setdefault("created_at", rel.get("published_at") or _now())
        rel.setdefault("published_at", None if rel["draft"] else rel["created_at"])
        rel.setdefault("updated_at", rel["published_at"] or rel["created_at"])
        rel.setdefault("body", None)
        assets = []
        for given in release.get("assets") or []:
            artifact = dict(given)
            artifact["id"] = self._new_id(artifact.get("id"))
            assets.append(artifact)
            self._artifacts[artifact["id"]] = (repo, rel)
        rel["assets"] = assets
        self._releases[rel["id"]] = (repo, rel)
        if str(rel["created_at"]) > str(repo.data["pushed_at"]):
            repo.data["pushed_at"] = repo.data["updated_at"] = rel["created_at"]
            self.version += 1
        return rel

    @staticmethod
    def _author(repo: _Repo) -> JSON:
        owner = repo.data["owner"]
        return {k: owner[k] for k in ("login", "id", "node_id", "url", "html_url", "type")}

    def add_release(self, full_name: str, release: Mapping[str, Any], *, position: int = 0) -> JSON:
        """Store a release (missing fields filled) at `position` in list order, 0 = newest."""
        with self.lock:
            repo = self._repo(full_name)
            rel = self._store_release(repo, release)
            repo.releases.insert(position, rel)
            repo.touch()
            return self._public(self.render_release(repo, rel))

    def add_releases(self, full_name: str, releases: Iterable[Mapping[str, Any]]) -> None:
        """Bulk load, given newest first, appended after existing ones (fast: returns nothing)."""
        with self.lock:
            repo = self._repo(full_name)
            repo.releases.extend(self._store_release(repo, r) for r in releases)
            repo.touch()

    def releases(self, full_name: str) -> list[JSON]:
        with self.lock:
            repo = self._repo(full_name)
            return self._public([self.render_release(repo, r) for r in repo.releases])

    def release(self, full_name: str, release_id: int) -> JSON:
        with self.lock:
            return self._public(self.render_release(*self._release(full_name, release_id)))

    def edit_release(self, full_name: str, release_id: int, **fields: Any) -> JSON:
        with self.lock:
            repo, rel = self._release(full_name, release_id)
            old_tag = rel["tag_name"]
            rel.update((k, v) for k, v in fields.items() if k not in ("id", "assets"))
            if not rel["draft"] and rel.get("published_at") is None:
                rel["published_at"] = _now()  # publishing a draft
            rel["updated_at"] = _now()
            if rel["tag_name"] != old_tag:
                key = repo.full_name.lower()
                self._files = {
                    ((k[0], rel["tag_name"], k[2]) if k[:2] == (key, old_tag) else k): v
                    for k, v in self._files.items()
                }
            repo.touch()
            return self._public(self.render_release(repo, rel))

    def delete_release(self, full_name: str, release_id: int) -> None:
        with self.lock:
            repo, rel = self._release(full_name, release_id)
            repo.releases.remove(rel)
            self._forget_release(rel)
            repo.touch()

    def _forget_release(self, rel: JSON) -> None:
        self._releases.pop(int(rel["id"]), None)
        for artifact in rel["assets"]:
            self._artifacts.pop(int(artifact["id"]), None)

    # -- artifacts -------------------------------------------------------------------------------
    def _artifact(self, artifact_id: int) -> tuple[_Repo, JSON, JSON]:
        found = self._artifacts.get(int(artifact_id))
        if found is None:
            raise KeyError(f"no artifact {artifact_id}")
        repo, rel = found
        artifact = next(a for a in rel["assets"] if a["id"] == int(artifact_id))
        return repo, rel, artifact

    def artifact(self, artifact_id: int) -> JSON:
        with self.lock:
            return self._public(self.render_artifact(*self._artifact(artifact_id)))

    def set_download_count(self, artifact_id: int, count: int) -> None:
        with self.lock:
            repo, rel, artifact = self._artifact(artifact_id)
            artifact["download_count"] = count
            rel["updated_at"] = _now()
            repo.touch()

    def replace_artifact(
        self, full_name: str, release_id: int, name: str, *, size: int | None = None,
        digest: str | None = None,
    ) -> JSON:
        """GitHub's delete + re-upload under the same name: a new id, counting from zero.

        `size`/`digest` default to the old file's (an identical re-upload).
        """
        with self.lock:
            repo, rel = self._release(full_name, release_id)
            index, old = next(
                ((i, a) for i, a in enumerate(rel["assets"]) if a["name"] == name), (None, None)
            )
            if index is None or old is None:
                raise KeyError(f"no artifact {name!r} in release {release_id}")
            now = _now()
            new = {k: v for k, v in old.items() if k not in ("id", "node_id", "url",
                                                             "browser_download_url")}
            new.update(id=self._new_id(), download_count=0, created_at=now, updated_at=now)
            if size is not None:
                new["size"] = size
            if digest is not None:
                new["digest"] = digest
            rel["assets"][index] = new
            del self._artifacts[int(old["id"])]
            self._artifacts[new["id"]] = (repo, rel)
            rel["updated_at"] = now
            repo.touch()
            return self._public(self.render_artifact(repo, rel, new))

    def add_file(self, full_name: str, tag: str, name: str, content: bytes) -> None:
        """The bytes served at that artifact's `browser_download_url`."""
        with self.lock:
            self._files[(full_name.lower(), tag, name)] = bytes(content)

    def set_artifact_source(
        self, full_name: str, source: Callable[[str, str], bytes | None]
    ) -> None:
        """Serve `source(tag, name)` for that repository's artifacts not added with add_file."""
        with self.lock:
            self._repo(full_name).artifact_source = source

    def file(self, full_name: str, tag: str, name: str) -> bytes | None:
        with self.lock:
            content = self._files.get((full_name.lower(), tag, name))
            repo = self._find_repo(full_name) if content is None else None
        if repo is not None and repo.artifact_source is not None:
            return repo.artifact_source(tag, name)
        return content

    def add_attestations(self, full_name: str, digest: str, bundles: list[JSON]) -> None:
        with self.lock:
            self._repo(full_name)
            self._attestations.setdefault((full_name.lower(), digest), []).extend(bundles)
            names = self._attested_in.setdefault(digest, [])
            if full_name.lower() not in names:
                names.append(full_name.lower())

    def attestations(self, full_name: str, digest: str) -> list[JSON]:
        with self.lock:
            return list(self._attestations.get((full_name.lower(), digest), []))

    # -- repository contents (the default branch) ------------------------------------------------
    def set_file(self, full_name: str, path: str, content: str | bytes | None) -> None:
        """A file at `path` on the default branch (text is stored as UTF-8); None deletes it."""
        with self.lock:
            repo = self._repo(full_name)
            path = path.strip("/")
            if content is None:
                repo.files.pop(path, None)
            else:
                repo.files[path] = content.encode() if isinstance(content, str) else bytes(content)
            repo.touch()

    def render_contents(self, repo: _Repo, path: str) -> JSON | list[JSON] | None:
        """`GET /repos/{o}/{r}/contents/{path}`: a file (with base64 content), a directory
        listing, or None when nothing is there."""
        path = path.strip("/")
        if path in repo.files:
            data = repo.files[path]
            out = self._content_entry(repo, path, "file", data)
            inline = len(data) <= MAX_INLINE_CONTENT
            encoded = base64.b64encode(data).decode() if inline else ""
            out["content"] = "".join(encoded[i:i + 60] + "\n" for i in range(0, len(encoded), 60))
            out["encoding"] = "base64" if inline else "none"
            return out
        prefix = f"{path}/" if path else ""
        children: dict[str, bytes | None] = {}  # name -> bytes, or None for a directory
        for name, data in repo.files.items():
            if name.startswith(prefix):
                head, sep, _ = name[len(prefix):].partition("/")
                children[head] = None if sep else data
        if not children:
            return None
        return [self._content_entry(repo, prefix + name, "dir" if data is None else "file", data)
                for name, data in sorted(children.items())]

    @staticmethod
    def _content_entry(repo: _Repo, path: str, kind: str, data: bytes | None) -> JSON:
        full, branch = repo.full_name, str(repo.data["default_branch"])
        if data is None:  # a tree: its sha stands for everything under it
            under = sorted((p, v) for p, v in repo.files.items() if p.startswith(path + "/"))
            sha = hashlib.sha1(repr(under).encode()).hexdigest()
            git = f"{PLACEHOLDER}/repos/{full}/git/trees/{sha}"
        else:
            sha = hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
            git = f"{PLACEHOLDER}/repos/{full}/git/blobs/{sha}"
        url = f"{PLACEHOLDER}/repos/{full}/contents/{quote(path)}?ref={quote(branch)}"
        html = f"{PLACEHOLDER}/{full}/{'blob' if data is not None else 'tree'}/{branch}/{path}"
        return {
            "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha,
            "size": 0 if data is None else len(data), "url": url, "html_url": html,
            "git_url": git,
            "download_url": None if data is None else (
                f"{PLACEHOLDER}/raw/{full}/{quote(branch)}/{quote(path)}"),
            "type": kind, "_links": {"self": url, "git": git, "html": html},
        }


# ---------------------------------------------------------------------------------------------
# GraphQL
# ---------------------------------------------------------------------------------------------
SCHEMA_SDL = """
scalar DateTime
scalar URI
enum OrderDirection { ASC DESC }
enum ReleaseOrderField { CREATED_AT NAME }
input ReleaseOrder { field: ReleaseOrderField!, direction: OrderDirection! }
enum RepositoryPrivacy { PUBLIC PRIVATE }
type PageInfo { hasNextPage: Boolean!, hasPreviousPage: Boolean!, startCursor: String, endCursor: String }
type RateLimit { cost: Int!, limit: Int!, nodeCount: Int!, remaining: Int!, resetAt: DateTime!, used: Int! }
type Actor { login: String! }
type Ref { name: String! }
type ReleaseAsset {
  id: ID!, databaseId: Int, name: String!, contentType: String!, size: Int!, downloadCount: Int!,
  digest: String, downloadUrl: URI!, createdAt: DateTime!, updatedAt: DateTime!, url: URI!
}
type ReleaseAssetEdge { cursor: String!, node: ReleaseAsset }
type ReleaseAssetConnection {
  totalCount: Int!, pageInfo: PageInfo!, nodes: [ReleaseAsset], edges: [ReleaseAssetEdge]
}
type Release {
  id: ID!, databaseId: Int, tagName: String!, name: String, description: String,
  isDraft: Boolean!, isPrerelease: Boolean!, isLatest: Boolean!, createdAt: DateTime!,
  publishedAt: DateTime, updatedAt: DateTime!, url: URI!, author: Actor,
  releaseAssets(first: Int, after: String, last: Int, before: String, name: String): ReleaseAssetConnection!
}
type ReleaseEdge { cursor: String!, node: Release }
type ReleaseConnection { totalCount: Int!, pageInfo: PageInfo!, nodes: [Release], edges: [ReleaseEdge] }
type Repository {
  id: ID!, databaseId: Int, name: String!, nameWithOwner: String!, owner: Actor!, url: URI!,
  isArchived: Boolean!, isFork: Boolean!, isPrivate: Boolean!, isDisabled: Boolean!,
  createdAt: DateTime!, updatedAt: DateTime!, pushedAt: DateTime, defaultBranchRef: Ref,
  latestRelease: Release, release(tagName: String!): Release,
  releases(first: Int, after: String, last: Int, before: String, orderBy: ReleaseOrder): ReleaseConnection!
}
type RepositoryEdge { cursor: String!, node: Repository }
type RepositoryConnection { totalCount: Int!, pageInfo: PageInfo!, nodes: [Repository], edges: [RepositoryEdge] }
type Organization {
  id: ID!, databaseId: Int, login: String!, name: String, url: URI!,
  repositories(first: Int, after: String, last: Int, before: String, isFork: Boolean,
               isArchived: Boolean, privacy: RepositoryPrivacy): RepositoryConnection!
}
type User { login: String! }
type Query {
  repository(owner: String!, name: String!): Repository
  organization(login: String!): Organization
  rateLimit(dryRun: Boolean = false): RateLimit
  viewer: User!
}
"""
SCHEMA = build_schema(SCHEMA_SDL)
MAX_NODES = 500_000
CACHE_BYTES = 256 << 20  # serialised pages kept; stale versions age out first


class _GraphQLCostError(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _query_cost(document: Any, operation_name: str | None, variables: JSON) -> tuple[int, int]:
    """(points, nodes) by GitHub's rule; raises on a connection without a valid first/last."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (o for o in operations if operation_name is None or
         (o.name is not None and o.name.value == operation_name)), None,
    )
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition")}
    totals = [0, 0]  # requests, nodes

    def walk(selection_set: SelectionSetNode, parent: GraphQLObjectType, multiplier: int) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(fragment.selection_set, SCHEMA.get_type(fragment.type_condition.name.value),
                     multiplier)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = SCHEMA.get_type(selection.type_condition.name.value) if (
                    selection.type_condition) else parent
                walk(selection.selection_set, inner, multiplier)
                continue
            assert isinstance(selection, FieldNode)
            name = selection.name.value
            if name.startswith("__") or name not in parent.fields:
                continue
            named = get_named_type(parent.fields[name].type)
            child = multiplier
            if named.name.endswith("Connection"):
                args = {a.name.value: value_from_ast_untyped(a.value, variables)
                        for a in selection.arguments}
                count = args.get("first") if args.get("first") is not None else args.get("last")
                which = "first" if args.get("first") is not None else "last"
                if count is None:
                    raise _GraphQLCostError(
                        f"You must provide a `first` or `last` value to properly paginate the "
                        f"`{name}` connection.", "MISSING_PAGINATION_BOUNDARIES")
                if not 1 <= int(count) <= 100:
                    raise _GraphQLCostError(
                        f"Requesting {count} records on the `{name}` connection exceeds the "
                        f"`{which}` limit of 100 records." if count > 100 else
                        f"`{which}` on the `{name}` connection cannot be less than 1.",
                        "EXCESSIVE_PAGINATION")
                totals[0] += multiplier
                totals[1] += multiplier * int(count)
                child = multiplier * int(count)
            if selection.selection_set is not None and isinstance(named, GraphQLObjectType):
                walk(selection.selection_set, named, child)

    if operation is not None:
        walk(operation.selection_set, SCHEMA.query_type, 1)
    if totals[1] > MAX_NODES:
        raise _GraphQLCostError(
            f"This query requests up to {totals[1]:,} possible nodes which exceeds the maximum "
            f"limit of {MAX_NODES:,}.", "MAX_NODE_LIMIT_EXCEEDED")
    return max(1, math.floor(totals[0] / 100 + 0.5)), totals[1]


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _cursor_index(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, number = text.rpartition(":")
        if prefix != "cursor:v2":
            raise ValueError(text)
        return int(number)
    except ValueError:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def _connection(items: list[Any], render: Callable[[Any], JSON], first: int | None = None,
                after: str | None = None, last: int | None = None,
                before: str | None = None) -> JSON:
    start, end = 0, len(items)
    if after is not None:
        start = min(end, _cursor_index(after) + 1)
    if before is not None:
        end = max(start, min(end, _cursor_index(before)))
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    window = range(start, end)
    nodes = [render(items[i]) for i in window]
    return {
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items), "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if nodes else None,
            "endCursor": _cursor(end - 1) if nodes else None,
        },
        "nodes": nodes,
        "edges": [{"cursor": _cursor(i), "node": n} for i, n in zip(window, nodes, strict=True)],
    }


# ---------------------------------------------------------------------------------------------
# the HTTP server
# ---------------------------------------------------------------------------------------------
@dataclass
class LoggedRequest:
    method: str
    path: str  # path + query
    status: int
    authorized: bool  # an Authorization header was sent
    bytes_sent: int
    route: str


@dataclass
class ServerStats:
    requests: int = 0
    not_modified: int = 0
    bytes_sent: int = 0
    rate_limit_points: int = 0
    points_by_token: dict[str, int] = field(default_factory=dict)  # token identity -> points
    by_route: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int | None
    times: int
    headers: dict[str, str]
    body: Any
    truncate: bool
    delay: float


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    resource: str | None = "core"  # rate-limit bucket; None = not an API response
    points: int | None = None  # None: 1 for a non-304 answer below 500
    etag: bool = False  # a cacheable GET body: add ETag / honour If-None-Match
    modified: float | None = None


@dataclass
class _Bucket:
    used: int = 0
    reset_at: float = 0.0


@dataclass
class _Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes
    identity: str  # "anonymous" or a fingerprint of the token, never the token
    authorized: bool

    def param(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.query if k == name), default)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


_REPO_SUB = [
    ("repo", re.compile(r"^$")),
    ("releases", re.compile(r"^/releases$")),
    ("release_latest", re.compile(r"^/releases/latest$")),
    ("release_tag", re.compile(r"^/releases/tags/(?P<tag>.+)$")),
    ("release", re.compile(r"^/releases/(?P<id>\d+)$")),
    ("release_assets", re.compile(r"^/releases/(?P<id>\d+)/assets$")),
    ("asset", re.compile(r"^/releases/assets/(?P<id>\d+)$")),
    ("attestations", re.compile(r"^/attestations/(?P<digest>[^/]+)$")),
    ("contents", re.compile(r"^/contents(?P<path>(?:/.*)?)$")),
]
_REPO_PATH = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)(?P<sub>/.*)?$")
_REPO_ID_PATH = re.compile(r"^/repositories/(?P<rid>\d+)(?P<sub>/.*)?$")
_ORG_PATH = re.compile(r"^/(?:orgs/(?P<org>[^/]+)|organizations/(?P<oid>\d+))/repos$")
_USER_PATH = re.compile(r"^/users/(?P<user>[^/]+)/repos$")
_OWNER_PATH = re.compile(r"^/(?:orgs|users)/(?P<org>[^/]+)$")
_BULK_ATTESTATIONS_PATH = re.compile(
    r"^/(?P<kind>orgs|users)/(?P<org>[^/]+)/attestations/bulk-list$")
_DOWNLOAD_PATH = re.compile(r"^/download/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?P<tag>.+)/(?P<file>[^/]+)$")
# raw.githubusercontent.com's `/{owner}/{repo}/{ref}/{path}`, played under /raw on this host
_RAW_PATH = re.compile(r"^/raw/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?P<ref>[^/]+)/(?P<path>.+)$")


def _route(path: str) -> tuple[str, dict[str, str]]:
    """The route name (used for stats) and its path parameters."""
    for pattern in (_REPO_PATH, _REPO_ID_PATH):
        if match := pattern.match(path):
            params = {k: v for k, v in match.groupdict().items() if k != "sub" and v is not None}
            sub = match.group("sub") or ""
            for name, sub_pattern in _REPO_SUB:
                if sub_match := sub_pattern.match(sub):
                    return name, params | {k: unquote(v) for k, v in sub_match.groupdict().items()}
            return "unknown", params
    simple = {"/rate_limit": "rate_limit", "/user": "user", "/graphql": "graphql"}
    if path in simple:
        return simple[path], {}
    if match := _RAW_PATH.match(path):
        return "raw", {k: unquote(v) for k, v in match.groupdict().items()}
    for name, pattern in (("org_repos", _ORG_PATH), ("user_repos", _USER_PATH),
                          ("org", _OWNER_PATH), ("download", _DOWNLOAD_PATH),
                          ("attestations_bulk", _BULK_ATTESTATIONS_PATH)):
        if match := pattern.match(path):
            return name, {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
    return "unknown", {}


class GitHubServer:
    """Serves a World over HTTP on 127.0.0.1 (an ephemeral port); a context manager."""

    def __init__(
        self, world: World | None = None, *, token: str | None = None, rate_limit: int = 5000,
        graphql_rate_limit: int | None = None, rate_limit_reset_seconds: float = 3600.0,
        rest_ceiling: int = 1000, host: str = "127.0.0.1", port: int = 0,
    ) -> None:
        self.world = world if world is not None else World()
        self.token = token
        self.rate_limit = rate_limit
        self.graphql_rate_limit = graphql_rate_limit if graphql_rate_limit is not None else rate_limit
        self.rate_limit_reset_seconds = rate_limit_reset_seconds
        self.rest_ceiling = rest_ceiling
        self.request_log: list[LoggedRequest] = []
        self.stats = ServerStats()
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._cache: dict[tuple[Any, ...], tuple[bytes, str]] = {}
        self._cache_bytes = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> GitHubServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self._host, self._port), _make_handler(self))
        self._httpd = httpd
        self.url = f"http://{self._host}:{httpd.server_address[1]}"
        self.world.base_url = self.url
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"github-server-{httpd.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.world.base_url == self.url:
            self.world.base_url = None
        self._httpd = self._thread = None

    def __enter__(self) -> GitHubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls ---------------------------------------------------------------------------
    def inject(
        self, path_regex: str, status: int | None = None, times: int = 1,
        headers: dict[str, str] | None = None, body: Any = None, truncate: bool = False,
        delay: float = 0.0,
    ) -> None:
        """The next `times` requests whose path+query matches get this answer instead.

        `status=None` keeps the normal answer (with `truncate` cutting its body in half, or
        `delay` seconds of latency).
        """
        with self._lock:
            self._faults.append(Fault(re.compile(path_regex), status, times, dict(headers or {}),
                                      body, truncate, delay))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = ServerStats()
            self.request_log = []

    def reset_rate_limits(self) -> None:
        with self._lock:
            self._buckets.clear()

    # -- request handling ------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        route, params = _route(path)
        token = _token_from(headers.get("Authorization"))
        request = _Request(
            method, path, parse_qsl(parts.query, keep_blank_values=True), headers, body,
            "anonymous" if token is None else hashlib.sha256(token.encode()).hexdigest()[:16],
            headers.get("Authorization") is not None,
        )
        reply = self._answer(request, route, params, raw_path)
        self._finish(request, reply, route, raw_path)
        return reply

    def _answer(self, request: _Request, route: str, params: dict[str, str], raw: str) -> _Reply:
        api = route not in ("download", "raw")
        if api and self.token is not None and request.identity != _fingerprint(self.token):
            return _json_reply(401, {"message": "Bad credentials", "documentation_url": REST_DOCS,
                                     "status": "401"})
        fault = self._take_fault(raw)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            payload = fault.body if fault.body is not None else {
                "message": HTTPStatus(fault.status).phrase}
            reply = _json_reply(fault.status, payload)
            reply.headers.update(fault.headers)
            reply.resource = "graphql" if route == "graphql" else "core" if api else None
            return reply
        if route in ("rate_limit", "download") or not api:
            reply = self._dispatch(request, route, params)
        elif route == "graphql":
            reply = self._graphql(request)
        elif self._exhausted(request.identity, "core"):
            reply = self._rate_limited(request)
        elif route == "attestations_bulk":  # a POST: its answer depends on the body, never cached
            with self.world.lock:
                reply = self._attestations_bulk(request, params)
        else:
            reply = self._cached_dispatch(request, route, params)
        if fault is not None and fault.truncate and reply.body:
            reply.body = reply.body[: len(reply.body) // 2]
            reply.etag = False
        return reply

    def _finish(self, request: _Request, reply: _Reply, route: str, raw: str) -> None:
        if reply.etag and reply.status == 200:
            digest = hashlib.sha256(reply.body + request.identity.encode()).hexdigest()[:40]
            reply.headers["ETag"] = f'"{digest}"'
            reply.headers["Last-Modified"] = formatdate(reply.modified or time.time(), usegmt=True)
            wanted = request.headers.get("If-None-Match")
            if wanted and reply.headers["ETag"] in {t.strip().removeprefix("W/")
                                                     for t in wanted.split(",")}:
                reply.status, reply.body = 304, b""
        with self._lock:
            if reply.resource is not None and reply.status != 401:
                bucket = self._bucket(request.identity, reply.resource)
                points = reply.points if reply.points is not None else int(
                    reply.status != 304 and reply.status < 500)
                if route == "rate_limit":
                    points = 0
                bucket.used += points
                self.stats.rate_limit_points += points
                by_token = self.stats.points_by_token
                by_token[request.identity] = by_token.get(request.identity, 0) + points
                if reply.status < 500:
                    reply.headers.update(self._rate_headers(request.identity, reply.resource))
            self.stats.requests += 1
            self.stats.not_modified += reply.status == 304
            self.stats.bytes_sent += len(reply.body)
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            self.stats.by_status[reply.status] = self.stats.by_status.get(reply.status, 0) + 1
            self.request_log.append(LoggedRequest(request.method, raw, reply.status,
                                                  request.authorized, len(reply.body), route))

    def _take_fault(self, raw: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.pattern.search(raw):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- rate limits -----------------------------------------------------------------------------
    def _bucket(self, identity: str, resource: str) -> _Bucket:
        bucket = self._buckets.setdefault((identity, resource), _Bucket())
        now = time.time()
        if now >= bucket.reset_at:
            bucket.used, bucket.reset_at = 0, now + self.rate_limit_reset_seconds
        return bucket

    def _limit(self, resource: str) -> int:
        return self.graphql_rate_limit if resource == "graphql" else self.rate_limit

    def _exhausted(self, identity: str, resource: str, cost: int = 1) -> bool:
        with self._lock:
            bucket = self._bucket(identity, resource)
            return bucket.used + cost > self._limit(resource)

    def _rate_headers(self, identity: str, resource: str) -> dict[str, str]:
        bucket = self._bucket(identity, resource)
        limit = self._limit(resource)
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - bucket.used)),
            "X-RateLimit-Used": str(bucket.used),
            "X-RateLimit-Reset": str(math.ceil(bucket.reset_at)),
            "X-RateLimit-Resource": resource,
        }

    def _rate_snapshot(self, identity: str, resource: str) -> JSON:
        with self._lock:
            headers = self._rate_headers(identity, resource)
        return {"limit": int(headers["X-RateLimit-Limit"]),
                "remaining": int(headers["X-RateLimit-Remaining"]),
                "used": int(headers["X-RateLimit-Used"]),
                "reset": int(headers["X-RateLimit-Reset"]), "resource": resource}

    @staticmethod
    def _rate_limited(request: _Request) -> _Reply:
        who = ("user ID 1." if request.identity != "anonymous" else
               "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate "
               "limit. Check out the documentation for more details.)")
        return _json_reply(403, {"message": f"API rate limit exceeded for {who}",
                                 "documentation_url": RATE_LIMIT_DOCS}, points=0)

    # -- REST ------------------------------------------------------------------------------------
    def _cached_dispatch(self, request: _Request, route: str, params: dict[str, str]) -> _Reply:
        """Serialised 200 pages are reused until the repository (or org listing) changes."""
        world = self.world
        with world.lock:
            repo = self._lookup(params)
            version = (world.version,) if repo is None else (id(repo), repo.version)
            key = (request.method, request.path, tuple(request.query), route,
                   request.identity != "anonymous", request.headers.get("Accept", ""), version)
            cached = self._cache.get(key)
            if cached is not None:
                headers = json.loads(cached[1])
                return _Reply(200, cached[0], headers, etag=True,
                              modified=repo.modified if repo else None)
            reply = self._dispatch(request, route, params)
            if reply.status == 200 and reply.etag:
                self._cache[key] = (reply.body, json.dumps(reply.headers))
                self._cache_bytes += len(reply.body)
                while self._cache_bytes > CACHE_BYTES:  # oldest first: dicts keep order
                    evicted = self._cache.pop(next(iter(self._cache)))
                    self._cache_bytes -= len(evicted[0])
            return reply

    def _lookup(self, params: dict[str, str]) -> _Repo | None:
        if "rid" in params:
            return self.world._repos_by_id.get(int(params["rid"]))
        if "owner" in params and "name" in params:
            return self.world._find_repo(f"{params['owner']}/{params['name']}")
        return None

    def _dispatch(self, request: _Request, route: str, params: dict[str, str]) -> _Reply:
        if request.method not in ("GET", "HEAD") and route != "graphql":
            return _json_reply(404, {"message": "Not Found", "documentation_url": REST_DOCS})
        handler = getattr(self, f"_get_{route}", None)
        if handler is None:
            return _json_reply(404, {"message": "Not Found", "documentation_url": REST_DOCS,
                                     "status": "404"})
        with self.world.lock:
            return handler(request, params)

    def _body(self, payload: Any) -> bytes:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        return text.replace(PLACEHOLDER, self.url).encode()

    def _ok(self, payload: Any, repo: _Repo | None = None, links: str = "") -> _Reply:
        headers = {"Link": links} if links else {}
        return _Reply(200, self._body(payload), headers, etag=True,
                      modified=repo.modified if repo else None)

    def _page(self, request: _Request, items: list[Any], link_path: str,
              default: int = 30) -> tuple[list[Any], str, int, int]:
        """One page of a list and its `Link` header (absolute URLs on this server)."""
        per_page = min(100, max(1, _int(request.param("per_page"), default)))
        page = max(1, _int(request.param("page"), 1))
        last = max(1, math.ceil(len(items) / per_page))
        kept = [(k, v) for k, v in request.query if k not in ("page", "per_page")]
        if request.param("per_page") is not None:
            kept.append(("per_page", str(per_page)))

        def link(number: int, rel: str) -> str:
            return f'<{self.url}{link_path}?{urlencode([*kept, ("page", str(number))])}>; rel="{rel}"'

        rels = []
        if items:
            if page > 1:
                rels.append(link(min(page - 1, last), "prev"))
            if page < last:
                rels += [link(page + 1, "next"), link(last, "last")]
            if page > 1:
                rels.append(link(1, "first"))
        start = (page - 1) * per_page
        return items[start: start + per_page], ", ".join(rels), page, per_page

    def _not_found(self, docs: str = REST_DOCS) -> _Reply:
        return _json_reply(404, {"message": "Not Found", "documentation_url": docs,
                                 "status": "404"})

    def _repo_or_reply(self, request: _Request, params: dict[str, str]) -> _Repo | _Reply:
        world = self.world
        repo = self._lookup(params)
        if repo is None and "owner" in params:
            moved_to = world.moved.get(f"{params['owner']}/{params['name']}".lower())
            target = world._find_repo(moved_to) if moved_to else None
            if target is not None:
                old_prefix = f"/repos/{params['owner']}/{params['name']}"
                location = (f"{self.url}/repositories/{target.data['id']}"
                            f"{request.path[len(old_prefix):]}")
                if request.query:
                    location += "?" + urlencode(request.query)
                reply = _json_reply(301, {"message": "Moved Permanently", "url": location,
                                          "documentation_url": REST_DOCS})
                reply.headers["Location"] = location
                return reply
        if repo is None or (repo.data["private"] and request.identity == "anonymous"):
            return self._not_found("https://docs.github.com/rest/repos/repos#get-a-repository")
        return repo

    def _visible(self, request: _Request, repo: _Repo) -> list[JSON]:
        # Drafts are listed only for tokens with push access: here, any token.
        if request.identity != "anonymous":
            return repo.releases
        return [r for r in repo.releases if not r["draft"]]

    def _get_repo(self, request: _Request, params: dict[str, str]) -> _Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        return self._ok(repo.data, repo)

    def _get_releases(self, request: _Request, params: dict[str, str]) -> _Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        per_page = min(100, max(1, _int(request.param("per_page"), 30)))
        page = max(1, _int(request.param("page"), 1))
        if (page - 1) * per_page >= self.rest_ceiling:
            return _json_reply(422, {
                "message": f"Only the first {self.rest_ceiling} results are available.",
                "documentation_url": LIST_RELEASES_DOCS, "status": "422"})
        items, links, _, _ = self._page(request, self._visible(request, repo),
                                        f"/repositories/{repo.data['id']}/releases")
        return self._ok([self.world.render_release(repo, r) for r in items], repo, links)

    def _one_release(self, request: _Request, params: dict[str, str],
                     pick: Callable[[list[JSON]], JSON | None]) -> _Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        found = pick(self._visible(request, repo))
        if found is None:
            return self._not_found("https://docs.github.com/rest/releases/releases")
        return self._ok(self.world.render_release(repo, found), repo)

    def _get_release(self, request: _Request, params: dict[str, str]) -> _Reply:
        wanted = int(params["id"])
        return self._one_release(request, params,
                                 lambda rs: next((r for r in rs if r["id"] == wanted), None))

    def _get_release_tag(self, request: _Request, params: dict[str, str]) -> _Reply:
        tag = params["tag"]
        return self._one_release(request, params,
                                 lambda rs: next((r for r in rs if r["tag_name"] == tag), None))

    def _get_release_latest(self, request: _Request, params: dict[str, str]) -> _Reply:
        return self._one_release(request, params, _latest)

    def _get_release_assets(self, request: _Request, params: dict[str, str]) -> _Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        wanted = int(params["id"])
        rel = next((r for r in self._visible(request, repo) if r["id"] == wanted), None)
        if rel is None:
            return self._not_found()
        items, links, _, _ = self._page(
            request, rel["assets"], f"/repositories/{repo.data['id']}/releases/{wanted}/assets")
        return self._ok([self.world.render_artifact(repo, rel, a) for a in items], repo, links)

    def _get_asset(self, request: _Request, params: dict[str, str]) -> _Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        found = self.world._artifacts.get(int(params["id"]))
        if found is None or found[0] is not repo:
            return self._not_found()
        rel = found[1]
        artifact = self.world.render_artifact(
            repo, rel, next(a for a in rel["assets"] if a["id"] == int(params["id"])))
        if "application/octet-stream" in request.headers.get("Accept", ""):
            location = artifact["browser_download_url"].replace(PLACEHOLDER, self.url)
            return _Reply(302, b"", {"Location": location})
        return self._ok(artifact, repo)

    def _get_attestations(self, request: _Request, params: dict[str, str]) -> _Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        bundles = self.world._attestations.get((repo.full_name.lower(), params["digest"]))
        if not bundles:
            return self._not_found(
                "https://docs.github.com/rest/repos/repos#list-attestations")
        return self._ok({"attestations": [
            {"bundle": b, "repository_id": repo.data["id"], "bundle_url": None} for b in bundles
        ]}, repo)

    def _get_contents(self, request: _Request, params: dict[str, str]) -> _Reply:
        """`GET /repos/{o}/{r}/contents/{path}` on the default branch (`?ref=` may name it)."""
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, _Reply):
            return repo
        if not repo.files:
            return _json_reply(404, {"message": "This repository is empty.",
                                     "documentation_url": CONTENTS_DOCS, "status": "404"})
        ref = request.param("ref")
        if ref and ref != repo.data["default_branch"]:
            return _json_reply(404, {"message": f"No commit found for the ref {ref}",
                                     "documentation_url": CONTENTS_DOCS, "status": "404"})
        found = self.world.render_contents(repo, params.get("path", ""))
        if found is None:
            return self._not_found(CONTENTS_DOCS)
        return self._ok(found, repo)

    def _attestations_bulk(self, request: _Request, params: dict[str, str]) -> _Reply:
        """`POST /orgs/{org}/attestations/bulk-list`: attestations of many digests, paged by cursor."""
        world, docs = self.world, BULK_ATTESTATIONS_DOCS
        if request.method != "POST":
            return self._not_found(docs)
        if params["org"].lower() not in world._orgs:
            return self._not_found(docs)
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            return _json_reply(400, {"message": "Problems parsing JSON", "documentation_url": docs,
                                     "status": "400"})
        digests = payload.get("subject_digests") if isinstance(payload, dict) else None
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            return _json_reply(422, {
                "message": "Invalid request.\n\n\"subject_digests\" wasn't supplied.",
                "documentation_url": docs, "status": "422"})
        if len(digests) > MAX_BULK_DIGESTS:
            return _json_reply(422, {
                "message": f"Invalid request.\n\nNo more than {MAX_BULK_DIGESTS} items may be "
                           "provided for subject_digests.",
                "documentation_url": docs, "status": "422"})
        visible = {r.full_name.lower(): r for r in world._owned(params["org"])
                   if not (r.data["private"] and request.identity == "anonymous")}
        found = [(digest, {"bundle": bundle, "repository_id": visible[name].data["id"],
                           "bundle_url": None})
                 for digest in dict.fromkeys(digests)
                 for name in world._attested_in.get(digest, []) if name in visible
                 for bundle in world._attestations.get((name, digest), [])]
        per_page = min(100, max(1, _int(request.param("per_page"), 30)))
        try:
            start = _cursor_index(request.param("after") or _cursor(0))
        except GraphQLError:
            return _json_reply(422, {"message": "Invalid request.\n\n\"after\" is not a valid cursor.",
                                     "documentation_url": docs, "status": "422"})
        page = found[start:start + per_page]
        listed: dict[str, list[JSON] | None] = {}
        if start == 0:  # digests with nothing attested are named once, on the first page
            listed = {d: None for d in dict.fromkeys(digests)}
        for digest, attestation in page:
            listed[digest] = [*(listed.get(digest) or []), attestation]
        end = start + len(page)
        info = {"has_next": end < len(found), "has_previous": start > 0,
                "next": _cursor(end) if end < len(found) else "",
                "previous": _cursor(max(0, start - per_page)) if start > 0 else ""}
        return _json_reply(200, {"attestations_subject_digests": listed, "page_info": info})

    def _listing(self, request: _Request, owner: str, kind: str) -> _Reply:
        world = self.world
        if owner.lower() not in world._orgs:
            return self._not_found()
        repos = [r for r in world._owned(owner)
                 if not (r.data["private"] and request.identity == "anonymous")]
        kind = request.param("type", kind) or kind
        if kind == "forks":
            repos = [r for r in repos if r.data["fork"]]
        elif kind == "sources":
            repos = [r for r in repos if not r.data["fork"]]
        elif kind in ("public", "private"):
            repos = [r for r in repos if r.data["visibility"] == kind]
        sort = request.param("sort", "created") or "created"
        field_name = {"created": "created_at", "updated": "updated_at", "pushed": "pushed_at",
                      "full_name": "full_name"}.get(sort, "created_at")
        default_direction = "asc" if field_name == "full_name" else "desc"
        descending = (request.param("direction") or default_direction) == "desc"
        repos = sorted(repos, key=lambda r: str(r.data[field_name]).lower(), reverse=descending)
        org = world._orgs[owner.lower()]
        path = (f"/organizations/{org['id']}/repos" if org["type"] == "Organization"
                else f"/users/{owner}/repos")
        items, links, _, _ = self._page(request, repos, path)
        return self._ok([r.data for r in items], links=links)

    def _get_org_repos(self, request: _Request, params: dict[str, str]) -> _Reply:
        if "oid" in params:
            wanted = int(params["oid"])
            login = next((o["login"] for o in self.world._orgs.values() if o["id"] == wanted), "")
            return self._listing(request, login, "all")
        return self._listing(request, params["org"], "all")

    def _get_org(self, request: _Request, params: dict[str, str]) -> _Reply:
        org = self.world._orgs.get(params["org"].lower())
        if org is None:
            return self._not_found()
        count = sum(1 for r in self.world._owned(org["login"]) if not r.data["private"])
        return self._ok({**org, "public_repos": count})

    def _get_user_repos(self, request: _Request, params: dict[str, str]) -> _Reply:
        return self._listing(request, params["user"], "owner")

    def _get_user(self, request: _Request, params: dict[str, str]) -> _Reply:
        if request.identity == "anonymous":
            return _json_reply(401, {"message": "Requires authentication",
                                     "documentation_url": REST_DOCS, "status": "401"})
        return self._ok(_user("release-assets-test", 1))

    def _get_rate_limit(self, request: _Request, params: dict[str, str]) -> _Reply:
        core = self._rate_snapshot(request.identity, "core")
        graphql = self._rate_snapshot(request.identity, "graphql")
        reply = _json_reply(200, {"resources": {"core": core, "graphql": graphql}, "rate": core})
        reply.points = 0
        return reply

    def _get_download(self, request: _Request, params: dict[str, str]) -> _Reply:
        content = self.world.file(f"{params['owner']}/{params['name']}", params["tag"],
                                  params["file"])
        if content is None:
            return _Reply(404, b"Not Found", {"Content-Type": "text/plain"}, resource=None)
        return _Reply(200, content, {"Content-Type": "application/octet-stream"}, resource=None)

    def _get_raw(self, request: _Request, params: dict[str, str]) -> _Reply:
        """A repository file's `download_url` (raw.githubusercontent.com): bytes, no rate limit."""
        repo = self.world._find_repo(f"{params['owner']}/{params['name']}")
        content = None
        if repo is not None and params["ref"] == repo.data["default_branch"]:
            content = repo.files.get(params["path"])
        if content is None:
            return _Reply(404, b"404: Not Found", {"Content-Type": "text/plain"}, resource=None)
        return _Reply(200, content, {"Content-Type": "text/plain; charset=utf-8"}, resource=None)

    # -- GraphQL ---------------------------------------------------------------------------------
    def _graphql(self, request: _Request) -> _Reply:
        if request.method != "POST":
            return self._not_found()
        try:
            payload = json.loads(request.body or b"{}")
            query = payload["query"]
            variables = payload.get("variables") or {}
            operation = payload.get("operationName")
            document = parse(query)
        except (ValueError, KeyError, TypeError, GraphQLError) as exc:
            message = exc.message if isinstance(exc, GraphQLError) else "Problems parsing JSON"
            return _graphql_reply({"errors": [{"message": message}]}, points=0)
        problems = validate(SCHEMA, document)
        if problems:
            return _graphql_reply({"errors": [e.formatted for e in problems]}, points=0)
        try:
            cost, nodes = _query_cost(document, operation, variables)
        except _GraphQLCostError as exc:
            return _graphql_reply({"errors": [{"type": exc.kind, "message": str(exc)}]}, points=0)
        if self._exhausted(request.identity, "graphql", cost):
            reply = _graphql_reply({"errors": [{
                "type": "RATE_LIMITED",
                "message": "API rate limit exceeded for user ID 1."}]}, points=0)
            return reply
        with self._lock:  # charged before execution, so `rateLimit` reports this query
            bucket = self._bucket(request.identity, "graphql")
            bucket.used += cost
        context = {"request": request, "cost": cost, "nodes": nodes, "latest": {}}
        with self.world.lock:
            result = execute(SCHEMA, document, root_value=self._graphql_root(),
                             context_value=context, variable_values=variables,
                             operation_name=operation)
        out: JSON = {"data": result.data}
        if result.errors:
            out["errors"] = []
            for error in result.errors:
                formatted = dict(error.formatted)
                kind = (formatted.pop("extensions", None) or {}).get("type")
                if kind:
                    formatted["type"] = kind
                out["errors"].append(formatted)
        reply = _graphql_reply(out, points=0)
        with self._lock:  # recorded as spent points (the bucket was charged above)
            self.stats.rate_limit_points += cost
            by_token = self.stats.points_by_token
            by_token[request.identity] = by_token.get(request.identity, 0) + cost
        return reply

    def _graphql_root(self) -> JSON:
        return {"repository": self._gql_repository, "organization": self._gql_organization,
                "rateLimit": self._gql_rate_limit,
                "viewer": lambda info: {"login": "release-assets-test"}}

    def _gql_rate_limit(self, info: Any, dryRun: bool = False) -> JSON:  # noqa: N803
        context = info.context
        snapshot = self._rate_snapshot(context["request"].identity, "graphql")
        return {"cost": context["cost"], "limit": snapshot["limit"],
                "remaining": snapshot["remaining"], "used": snapshot["used"],
                "nodeCount": context["nodes"],
                "resetAt": iso(datetime.fromtimestamp(snapshot["reset"], UTC))}

    def _gql_repository(self, info: Any, owner: str, name: str) -> JSON:
        world = self.world
        full = f"{owner}/{name}"
        repo = world._find_repo(full) or world._find_repo(world.moved.get(full.lower(), ""))
        anonymous = info.context["request"].identity == "anonymous"
        if repo is None or (repo.data["private"] and anonymous):
            raise GraphQLError(f"Could not resolve to a Repository with the name '{full}'.",
                               extensions={"type": "NOT_FOUND"})
        return self._gql_repo_node(repo, info.context)

    def _gql_organization(self, info: Any, login: str) -> JSON:
        org = self.world._orgs.get(login.lower())
        if org is None:
            raise GraphQLError(
                f"Could not resolve to an Organization with the login of '{login}'.",
                extensions={"type": "NOT_FOUND"})
        context = info.context

        def repositories(info: Any, first: int | None = None, after: str | None = None,
                         last: int | None = None, before: str | None = None,
                         isFork: bool | None = None, isArchived: bool | None = None,  # noqa: N803
                         privacy: str | None = None) -> JSON:
            repos = [r for r in self.world._owned(login)
                     if (isFork is None or r.data["fork"] == isFork)
                     and (isArchived is None or r.data["archived"] == isArchived)
                     and (privacy is None or r.data["visibility"] == privacy.lower())]
            return _connection(repos, lambda r: self._gql_repo_node(r, context),
                               first, after, last, before)

        return {"id": org["node_id"], "databaseId": org["id"], "login": org["login"],
                "name": org["login"], "url": f"{self.url}/{org['login']}",
                "repositories": repositories}

    def _gql_repo_node(self, repo: _Repo, context: JSON) -> JSON:
        data = repo.data
        visible = self._visible(context["request"], repo)

        def releases(info: Any, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     orderBy: JSON | None = None) -> JSON:  # noqa: N803
            items = visible
            if orderBy is not None:
                key = "created_at" if orderBy["field"] == "CREATED_AT" else "tag_name"
                # stable: ties keep GitHub's list order
                items = sorted(items, key=lambda r: str(r[key]),
                               reverse=orderBy["direction"] == "DESC")
            return _connection(items, lambda r: self._gql_release(repo, r, context),
                               first, after, last, before)

        def release(info: Any, tagName: str) -> JSON | None:  # noqa: N803
            found = next((r for r in visible if r["tag_name"] == tagName), None)
            return self._gql_release(repo, found, context) if found else None

        latest = _latest(visible)
        return {
            "id": data["node_id"], "databaseId": data["id"], "name": data["name"],
            "nameWithOwner": data["full_name"], "owner": {"login": data["owner"]["login"]},
            "url": data["html_url"].replace(PLACEHOLDER, self.url),
            "isArchived": data["archived"], "isFork": data["fork"], "isPrivate": data["private"],
            "isDisabled": data["disabled"], "createdAt": data["created_at"],
            "updatedAt": data["updated_at"], "pushedAt": data["pushed_at"],
            "defaultBranchRef": {"name": data["default_branch"]},
            "latestRelease": self._gql_release(repo, latest, context) if latest else None,
            "release": release, "releases": releases,
        }

    def _gql_release(self, repo: _Repo, rel: JSON, context: JSON) -> JSON:
        latest = context["latest"]
        if repo.full_name not in latest:
            found = _latest(self._visible(context["request"], repo))
            latest[repo.full_name] = found["id"] if found else None
        html = f"{PLACEHOLDER}/{repo.full_name}/releases/tag/{quote(str(rel['tag_name']), safe='')}"

        def assets(info: Any, first: int | None = None, after: str | None = None,
                   last: int | None = None, before: str | None = None,
                   name: str | None = None) -> JSON:
            items = [a for a in rel["assets"] if name is None or a["name"] == name]
            return _connection(items, partial(self._gql_artifact, repo, rel),
                               first, after, last, before)

        author = rel.get("author") or {}
        return {
            "id": rel["node_id"], "databaseId": rel["id"], "tagName": rel["tag_name"],
            "name": rel.get("name"), "description": rel.get("body"), "isDraft": rel["draft"],
            "isPrerelease": rel["prerelease"], "isLatest": latest[repo.full_name] == rel["id"],
            "createdAt": rel["created_at"], "publishedAt": rel.get("published_at"),
            "updatedAt": rel["updated_at"],
            "url": str(rel.get("html_url") or html).replace(PLACEHOLDER, self.url),
            "author": {"login": author["login"]} if author.get("login") else None,
            "releaseAssets": assets,
        }

    def _gql_artifact(self, repo: _Repo, rel: JSON, artifact: JSON) -> JSON:
        full = self.world.render_artifact(repo, rel, artifact)
        return {
            "id": full["node_id"], "databaseId": full["id"], "name": full["name"],
            "contentType": full["content_type"], "size": full["size"],
            "downloadCount": full["download_count"], "digest": full["digest"],
            "downloadUrl": full["browser_download_url"].replace(PLACEHOLDER, self.url),
            "url": full["url"].replace(PLACEHOLDER, self.url),
            "createdAt": full["created_at"], "updatedAt": full["updated_at"],
        }


def _latest(releases: list[JSON]) -> JSON | None:
    """GitHub's latest: the most recently created non-draft, non-prerelease release."""
    candidates = [r for r in releases if not r["draft"] and not r["prerelease"]]
    # max() keeps the first of equal keys: ties go to the newer list position
    return max(candidates, key=lambda r: str(r["created_at"]), default=None)


def _json_reply(status: int, payload: Any, *, points: int | None = None) -> _Reply:
    body = payload if isinstance(payload, bytes) else (
        payload.encode() if isinstance(payload, str) else
        json.dumps(payload, separators=(",", ":")).encode())
    return _Reply(status, body, {}, points=points)


def _graphql_reply(payload: JSON, *, points: int) -> _Reply:
    reply = _json_reply(200, payload, points=points)
    reply.resource = "graphql"
    return reply


def _token_from(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else header


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


_COMMON_HEADERS = {
    "Cache-Control": "private, max-age=60, s-maxage=60",
    "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
    "X-GitHub-Media-Type": "github.v3; format=json",
    "X-GitHub-Api-Version-Selected": "2022-11-28",
}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmarks open many connections at once; 5 would reset some


def _make_handler(server: GitHubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: PyGithub reuses a requests session
        disable_nagle_algorithm = True  # small keep-alive responses would wait 40 ms otherwise
        def version_string(self) -> str:
            return "GitHub.com"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                reply = server.handle(self.command, self.path, self.headers, body)
            except Exception as exc:  # a server bug must surface as a 500, not a hung client
                reply = _json_reply(500, {"message": f"server error: {type(exc).__name__}: {exc}"})
            self.send_response(reply.status)
            if reply.resource is not None or reply.status >= 300:
                headers = {"Content-Type": "application/json; charset=utf-8", **_COMMON_HEADERS}
            else:
                headers = {}
            for key, value in {**headers, **reply.headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD" and reply.body:
                self.wfile.write(reply.body)

        do_GET = do_POST = do_HEAD = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the request_log is the log

    return Handler


__all__ = [
    "PLACEHOLDER",
    "SCHEMA_SDL",
    "Fault",
    "GitHubServer",
    "LoggedRequest",
    "ServerStats",
    "World",
    "content_type_for",
    "iso",
]
