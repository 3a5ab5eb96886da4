"""The test server's state: an in-memory, thread-safe `World` of orgs, repositories, releases,
artifacts, their files, attestations and repository contents. Mutations bump versions the server
uses for its page cache and ETags."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from release_assets_tests.github_server.common import (
    JSON,
    PLACEHOLDER,
    content_type_for,
    iso,
    node_id,
    now_iso,
    user_json,
)


@dataclass
class Repo:
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
        self._repos: dict[str, Repo] = {}
        self._repos_by_id: dict[int, Repo] = {}
        self._releases: dict[int, tuple[Repo, JSON]] = {}
        self._artifacts: dict[int, tuple[Repo, JSON]] = {}
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

    def _repo(self, full_name: str) -> Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name!r}")
        return repo

    def _find_repo(self, full_name: str) -> Repo | None:
        return self._repos.get(full_name.lower())

    def _release(self, full_name: str, release_id: int) -> tuple[Repo, JSON]:
        repo = self._repo(full_name)
        found = self._releases.get(int(release_id))
        if found is None or found[0] is not repo:
            raise KeyError(f"no release {release_id} in {full_name}")
        return found

    def render_release(self, repo: Repo, rel: JSON) -> JSON:
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

    def render_artifact(self, repo: Repo, rel: JSON, artifact: JSON) -> JSON:
        number, name = int(artifact["id"]), str(artifact["name"])
        out: JSON = {
            "url": f"{PLACEHOLDER}/repos/{repo.full_name}/releases/assets/{number}",
            "id": number, "node_id": node_id("RA_", number), "name": name, "label": None,
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
                org = user_json(login, self._new_id(), "Organization")
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
        repo_id: int | None = None,
    ) -> JSON:
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} already exists")
            owner_login, _, name = full_name.partition("/")
            self.add_org(owner_login)
            owner = self._orgs[owner_login.lower()]
            self._clock += timedelta(hours=1)  # distinct, increasing creation times
            created = iso(self._clock)
            number = self._new_id(repo_id)  # GitHub's id when given (attestations name it)
            data: JSON = {
                "id": number, "node_id": node_id("R_", number), "name": name,
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
            repo = Repo(data)
            self._repos[full_name.lower()] = self._repos_by_id[number] = repo
            self.version += 1
            return self._public(data)

    def import_repo(self, data: Mapping[str, Any]) -> None:
        """Add a repository from its complete `GET /repos` body, ids and owner as given."""
        with self.lock:
            data = json.loads(json.dumps(data))
            full_name, owner = str(data["full_name"]), data["owner"]
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} already exists")
            if str(owner["login"]).lower() not in self._orgs:
                org = user_json(owner["login"], self._new_id(owner["id"]), str(owner["type"]))
                org.update(repos_url=f"{PLACEHOLDER}/orgs/{owner['login']}", description=None,
                           url=owner["url"])
                self._orgs[str(owner["login"]).lower()] = org
            repo = Repo(data)
            self._repos[full_name.lower()] = self._repos_by_id[self._new_id(data["id"])] = repo
            self.version += 1

    def archive_repo(self, full_name: str) -> None:
        with self.lock:
            repo = self._repo(full_name)
            repo.data.update(archived=True, updated_at=now_iso())
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
            repo.data.update(name=name, full_name=new, updated_at=now_iso())
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

    def _owned(self, owner: str) -> list[Repo]:
        owner = owner.lower()
        return [r for r in self._repos.values() if r.data["owner"]["login"].lower() == owner]

    # -- releases --------------------------------------------------------------------------------
    def _store_release(self, repo: Repo, release: Mapping[str, Any]) -> JSON:
        rel = {k: v for k, v in release.items() if k != "assets"}
        rel["id"] = self._new_id(rel.get("id"))
        rel.setdefault("node_id", node_id("RE_", rel["id"]))
        rel.setdefault("tag_name", f"v0.0.{rel['id']}")
        rel.setdefault("author", self._author(repo))
        rel.setdefault("target_commitish", repo.data["default_branch"])
        rel.setdefault("name", rel["tag_name"])
        rel.setdefault("draft", False)
        rel.setdefault("prerelease", False)
        rel.setdefault("created_at", rel.get("published_at") or now_iso())
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
    def _author(repo: Repo) -> JSON:
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
                rel["published_at"] = now_iso()  # publishing a draft
            rel["updated_at"] = now_iso()
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
    def _artifact(self, artifact_id: int) -> tuple[Repo, JSON, JSON]:
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
            rel["updated_at"] = now_iso()
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
            now = now_iso()
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
