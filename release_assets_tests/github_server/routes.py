"""REST routes of the test server: the route table and the handlers over the World (repositories,
releases with `Link` pagination and the 1,000-result ceiling, artifacts and their 302 downloads,
org and user listings, repository contents, raw files, `/rate_limit`)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlencode

from release_assets_tests.github_server.common import (
    CONTENTS_DOCS,
    JSON,
    LIST_RELEASES_DOCS,
    PLACEHOLDER,
    REST_DOCS,
    Reply,
    Request,
    int_param,
    json_reply,
    latest_release,
    not_found,
    user_json,
)
from release_assets_tests.github_server.limits import RateLimits
from release_assets_tests.github_server.world import Repo, World

MAX_INLINE_CONTENT = 1024 * 1024  # GitHub inlines base64 `content` up to 1 MB; above, "none"

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


def route_of(path: str) -> tuple[str, dict[str, str]]:
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


class RestRoutes:
    """The REST handlers, mixed into GitHubServer: `_get_{route}` answers GET `route`."""

    world: World
    url: str
    rest_ceiling: int
    limits: RateLimits

    def _lookup(self, params: dict[str, str]) -> Repo | None:
        if "rid" in params:
            return self.world._repos_by_id.get(int(params["rid"]))
        if "owner" in params and "name" in params:
            return self.world._find_repo(f"{params['owner']}/{params['name']}")
        return None

    def _dispatch(self, request: Request, route: str, params: dict[str, str]) -> Reply:
        if request.method not in ("GET", "HEAD") and route != "graphql":
            return json_reply(404, {"message": "Not Found", "documentation_url": REST_DOCS})
        handler = getattr(self, f"_get_{route}", None)
        if handler is None:
            return json_reply(404, {"message": "Not Found", "documentation_url": REST_DOCS,
                                     "status": "404"})
        with self.world.lock:
            return handler(request, params)

    def _body(self, payload: Any) -> bytes:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        return text.replace(PLACEHOLDER, self.url).encode()

    def _ok(self, payload: Any, repo: Repo | None = None, links: str = "") -> Reply:
        headers = {"Link": links} if links else {}
        return Reply(200, self._body(payload), headers, etag=True,
                      modified=repo.modified if repo else None)

    def _page(self, request: Request, items: list[Any], link_path: str,
              default: int = 30) -> tuple[list[Any], str, int, int]:
        """One page of a list and its `Link` header (absolute URLs on this server)."""
        per_page = min(100, max(1, int_param(request.param("per_page"), default)))
        page = max(1, int_param(request.param("page"), 1))
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

    def _repo_or_reply(self, request: Request, params: dict[str, str]) -> Repo | Reply:
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
                reply = json_reply(301, {"message": "Moved Permanently", "url": location,
                                          "documentation_url": REST_DOCS})
                reply.headers["Location"] = location
                return reply
        if repo is None or (repo.data["private"] and request.identity == "anonymous"):
            return not_found("https://docs.github.com/rest/repos/repos#get-a-repository")
        return repo

    def _visible(self, request: Request, repo: Repo) -> list[JSON]:
        # Drafts are listed only for tokens with push access: here, any token.
        if request.identity != "anonymous":
            return repo.releases
        return [r for r in repo.releases if not r["draft"]]

    def _get_repo(self, request: Request, params: dict[str, str]) -> Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        return self._ok(repo.data, repo)

    def _get_releases(self, request: Request, params: dict[str, str]) -> Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        per_page = min(100, max(1, int_param(request.param("per_page"), 30)))
        page = max(1, int_param(request.param("page"), 1))
        if (page - 1) * per_page >= self.rest_ceiling:
            return json_reply(422, {
                "message": f"Only the first {self.rest_ceiling} results are available.",
                "documentation_url": LIST_RELEASES_DOCS, "status": "422"})
        items, links, _, _ = self._page(request, self._visible(request, repo),
                                        f"/repositories/{repo.data['id']}/releases")
        return self._ok([self.world.render_release(repo, r) for r in items], repo, links)

    def _one_release(self, request: Request, params: dict[str, str],
                     pick: Callable[[list[JSON]], JSON | None]) -> Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        found = pick(self._visible(request, repo))
        if found is None:
            return not_found("https://docs.github.com/rest/releases/releases")
        return self._ok(self.world.render_release(repo, found), repo)

    def _get_release(self, request: Request, params: dict[str, str]) -> Reply:
        wanted = int(params["id"])
        return self._one_release(request, params,
                                 lambda rs: next((r for r in rs if r["id"] == wanted), None))

    def _get_release_tag(self, request: Request, params: dict[str, str]) -> Reply:
        tag = params["tag"]
        return self._one_release(request, params,
                                 lambda rs: next((r for r in rs if r["tag_name"] == tag), None))

    def _get_release_latest(self, request: Request, params: dict[str, str]) -> Reply:
        return self._one_release(request, params, latest_release)

    def _get_release_assets(self, request: Request, params: dict[str, str]) -> Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        wanted = int(params["id"])
        rel = next((r for r in self._visible(request, repo) if r["id"] == wanted), None)
        if rel is None:
            return not_found()
        items, links, _, _ = self._page(
            request, rel["assets"], f"/repositories/{repo.data['id']}/releases/{wanted}/assets")
        return self._ok([self.world.render_artifact(repo, rel, a) for a in items], repo, links)

    def _get_asset(self, request: Request, params: dict[str, str]) -> Reply:
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        found = self.world._artifacts.get(int(params["id"]))
        if found is None or found[0] is not repo:
            return not_found()
        rel = found[1]
        artifact = self.world.render_artifact(
            repo, rel, next(a for a in rel["assets"] if a["id"] == int(params["id"])))
        if "application/octet-stream" in request.headers.get("Accept", ""):
            location = artifact["browser_download_url"].replace(PLACEHOLDER, self.url)
            return Reply(302, b"", {"Location": location})
        return self._ok(artifact, repo)


    def _get_contents(self, request: Request, params: dict[str, str]) -> Reply:
        """`GET /repos/{o}/{r}/contents/{path}` on the default branch (`?ref=` may name it)."""
        repo = self._repo_or_reply(request, params)
        if isinstance(repo, Reply):
            return repo
        if not repo.files:
            return json_reply(404, {"message": "This repository is empty.",
                                     "documentation_url": CONTENTS_DOCS, "status": "404"})
        ref = request.param("ref")
        if ref and ref != repo.data["default_branch"]:
            return json_reply(404, {"message": f"No commit found for the ref {ref}",
                                     "documentation_url": CONTENTS_DOCS, "status": "404"})
        found = render_contents(repo, params.get("path", ""))
        if found is None:
            return not_found(CONTENTS_DOCS)
        return self._ok(found, repo)


    def _listing(self, request: Request, owner: str, kind: str) -> Reply:
        world = self.world
        if owner.lower() not in world._orgs:
            return not_found()
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

    def _get_org_repos(self, request: Request, params: dict[str, str]) -> Reply:
        if "oid" in params:
            wanted = int(params["oid"])
            login = next((o["login"] for o in self.world._orgs.values() if o["id"] == wanted), "")
            return self._listing(request, login, "all")
        return self._listing(request, params["org"], "all")

    def _get_org(self, request: Request, params: dict[str, str]) -> Reply:
        org = self.world._orgs.get(params["org"].lower())
        if org is None:
            return not_found()
        count = sum(1 for r in self.world._owned(org["login"]) if not r.data["private"])
        return self._ok({**org, "public_repos": count})

    def _get_user_repos(self, request: Request, params: dict[str, str]) -> Reply:
        return self._listing(request, params["user"], "owner")

    def _get_user(self, request: Request, params: dict[str, str]) -> Reply:
        if request.identity == "anonymous":
            return json_reply(401, {"message": "Requires authentication",
                                     "documentation_url": REST_DOCS, "status": "401"})
        return self._ok(user_json("release-assets-test", 1))

    def _get_rate_limit(self, request: Request, params: dict[str, str]) -> Reply:
        core = self.limits.snapshot(request.identity, "core")
        graphql = self.limits.snapshot(request.identity, "graphql")
        reply = json_reply(200, {"resources": {"core": core, "graphql": graphql}, "rate": core})
        reply.points = 0
        return reply

    def _get_download(self, request: Request, params: dict[str, str]) -> Reply:
        content = self.world.file(f"{params['owner']}/{params['name']}", params["tag"],
                                  params["file"])
        if content is None:
            return Reply(404, b"Not Found", {"Content-Type": "text/plain"}, resource=None)
        return Reply(200, content, {"Content-Type": "application/octet-stream"}, resource=None)

    def _get_raw(self, request: Request, params: dict[str, str]) -> Reply:
        """A repository file's `download_url` (raw.githubusercontent.com): bytes, no rate limit."""
        repo = self.world._find_repo(f"{params['owner']}/{params['name']}")
        content = None
        if repo is not None and params["ref"] == repo.data["default_branch"]:
            content = repo.files.get(params["path"])
        if content is None:
            return Reply(404, b"404: Not Found", {"Content-Type": "text/plain"}, resource=None)
        return Reply(200, content, {"Content-Type": "text/plain; charset=utf-8"}, resource=None)


def render_contents(repo: Repo, path: str) -> JSON | list[JSON] | None:
    """`GET /repos/{o}/{r}/contents/{path}`: a file (with base64 content), a directory
    listing, or None when nothing is there."""
    path = path.strip("/")
    if path in repo.files:
        data = repo.files[path]
        out = _content_entry(repo, path, "file", data)
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
    return [_content_entry(repo, prefix + name, "dir" if data is None else "file", data)
            for name, data in sorted(children.items())]

def _content_entry(repo: Repo, path: str, kind: str, data: bytes | None) -> JSON:
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
