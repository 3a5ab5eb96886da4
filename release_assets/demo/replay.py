"""The demo's replay server: the recorded demo snapshot over GitHub's REST protocol on 127.0.0.1.

It answers what `release-assets demo` and `make dev` ask without a token: a repository
(`GET /repos/{o}/{r}`), its release list (`per_page`/`page` with a `Link` header), its contents
root (the recordings hold no repository files: GitHub's "This repository is empty." 404),
`POST /orgs/{org}/attestations/bulk-list` (nothing attested) and downloads of the demo's files.
JSON answers carry an ETag and honour `If-None-Match` (a 304 costs no rate limit) and the
`X-RateLimit-*` headers. Each ETag is a hash of the body before this server's URL is put in,
so stored ETags stay valid when the demo runs on another port.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from release_assets.demo.snapshot import PLACEHOLDER, DemoRepository, load_demo_snapshot

JSON = dict[str, Any]
DEFAULT_DEMO_PORT = 47117
RATE_LIMIT = 5000  # an authenticated user's hourly limit; the demo never gets near it
REST_DOCS = "https://docs.github.com/rest"
CONTENTS_DOCS = "https://docs.github.com/rest/repos/contents#get-repository-content"
BULK_DOCS = "https://docs.github.com/rest/orgs/attestations#list-attestations-by-bulk-subject-digests"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    api: bool = True  # counted against the rate limit, and JSON
    etag: bool = False  # a cacheable GET: ETag / If-None-Match
    placeholder_body: bytes = b""  # the body before the server URL is put in (hashed for the ETag)


def _json(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode())


def _not_found(docs: str = REST_DOCS) -> Reply:
    return _json(404, {"message": "Not Found", "documentation_url": docs, "status": "404"})


def download_url(full_name: str, tag: str, name: str) -> str:
    return f"{PLACEHOLDER}/download/{full_name}/{quote(tag, safe='')}/{quote(name, safe='')}"


def render_release(repo: DemoRepository, rel: JSON) -> JSON:
    """A stored release as GitHub lists it, with API URLs on `PLACEHOLDER`."""
    full, tag = repo.full_name, str(rel["tag_name"])
    api = f"{PLACEHOLDER}/repos/{full}/releases/{rel['id']}"
    out: JSON = {
        "url": api, "assets_url": f"{api}/assets",
        "upload_url": f"{PLACEHOLDER}/uploads/repos/{full}/releases/{rel['id']}/assets{{?name,label}}",
        "html_url": f"{PLACEHOLDER}/{full}/releases/tag/{quote(tag, safe='')}",
    }
    out.update(rel)
    out["assets"] = [{
        "url": f"{PLACEHOLDER}/repos/{full}/releases/assets/{a['id']}", "id": a["id"],
        "name": a["name"], "digest": None,  # the 2017 recordings predate the field
        "browser_download_url": download_url(full, tag, str(a["name"])), **a,
    } for a in rel["assets"]]
    out.setdefault("tarball_url", f"{PLACEHOLDER}/repos/{full}/tarball/{quote(tag, safe='')}")
    out.setdefault("zipball_url", f"{PLACEHOLDER}/repos/{full}/zipball/{quote(tag, safe='')}")
    return out


class DemoServer:
    """Serves a demo snapshot over HTTP on `host:port`; `.url`, `.stop()`, a context manager."""

    def __init__(self, repos: Mapping[str, DemoRepository], host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.repos = {name.lower(): repo for name, repo in repos.items()}
        self.requests = 0
        self.not_modified = 0
        self._lock = threading.Lock()
        self._used: dict[str, int] = {}  # rate-limit points per token identity this hour
        self._reset_at = time.time() + 3600
        self._httpd = _HTTPServer((host, port), _handler(self))
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering --------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query))
        headers = {k.lower(): v for k, v in headers.items()}
        auth = headers.get("authorization")
        identity = hashlib.sha256(auth.encode()).hexdigest()[:16] if auth else "anonymous"
        with self._lock:
            if time.time() >= self._reset_at:
                self._used, self._reset_at = {}, time.time() + 3600
            exhausted = self._used.get(identity, 0) >= RATE_LIMIT
        if exhausted and not path.startswith("/download/"):  # downloads are not rate limited
            reply = _json(403, {"message": "API rate limit exceeded", "documentation_url": REST_DOCS})
        else:
            reply = self._route(method, path, query, body)
        if reply.etag and reply.status == 200:
            tag = hashlib.sha256(identity.encode() + reply.placeholder_body).hexdigest()[:40]
            reply.headers["ETag"] = f'"{tag}"'
            wanted = {t.strip().removeprefix("W/") for t in
                      (headers.get("if-none-match") or "").split(",")}
            if reply.headers["ETag"] in wanted:
                reply.status, reply.body = 304, b""
        with self._lock:
            self.requests += 1
            self.not_modified += reply.status == 304
            if reply.api:
                spent = int(reply.status != 304 and reply.status < 500 and not exhausted)
                used = self._used[identity] = self._used.get(identity, 0) + spent
                reply.headers.update({
                    "X-RateLimit-Limit": str(RATE_LIMIT),
                    "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - used)),
                    "X-RateLimit-Used": str(used),
                    "X-RateLimit-Reset": str(math.ceil(self._reset_at)),
                    "X-RateLimit-Resource": "core",
                })
        return reply

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        for pattern, verb, answer in self._routes():
            if (match := pattern.match(path)) and method in (verb, "HEAD" if verb == "GET" else verb):
                return answer({k: unquote(v) for k, v in match.groupdict().items()}, query, body)
        return _not_found()

    def _routes(self) -> list[tuple[re.Pattern[str], str, Callable[..., Reply]]]:
        return [
            (_REPO, "GET", self._repository),
            (_RELEASES, "GET", self._releases),
            (_RELEASES_BY_ID, "GET", self._releases),
            (_CONTENTS, "GET", self._contents),
            (_BULK, "POST", self._attestations_bulk),
            (_DOWNLOAD, "GET", self._download),
        ]

    def _ok(self, payload: Any, links: str = "") -> Reply:
        stored = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        served = stored.replace(PLACEHOLDER.encode(), self.url.encode())
        return Reply(200, served, {"Link": links} if links else {}, etag=True,
                     placeholder_body=stored)

    def _repository(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Reply:
        repo = self.repos.get(f"{params['owner']}/{params['name']}".lower())
        return self._ok(repo.data) if repo else _not_found()

    def _releases(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Reply:
        if "rid" in params:  # where GitHub's `Link` header points
            repo = next((r for r in self.repos.values() if str(r.data["id"]) == params["rid"]), None)
        else:
            repo = self.repos.get(f"{params['owner']}/{params['name']}".lower())
        if repo is None:
            return _not_found()
        per_page = min(100, max(1, _int(query.get("per_page"), 30)))
        page = max(1, _int(query.get("page"), 1))
        visible = [r for r in repo.releases if not r.get("draft")]  # drafts need push access
        last = max(1, math.ceil(len(visible) / per_page))
        base = f"{self.url}/repositories/{repo.data['id']}/releases"

        def link(number: int, rel: str) -> str:
            return f'<{base}?{urlencode({"per_page": per_page, "page": number})}>; rel="{rel}"'

        rels = []
        if visible and page > 1:
            rels.append(link(min(page - 1, last), "prev"))
        if visible and page < last:
            rels += [link(page + 1, "next"), link(last, "last")]
        if visible and page > 1:
            rels.append(link(1, "first"))
        window = visible[(page - 1) * per_page: page * per_page]
        return self._ok([render_release(repo, r) for r in window], ", ".join(rels))

    def _contents(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Reply:
        if f"{params['owner']}/{params['name']}".lower() not in self.repos:
            return _not_found(CONTENTS_DOCS)
        # The recordings hold no repository files.
        return _json(404, {"message": "This repository is empty.",
                           "documentation_url": CONTENTS_DOCS, "status": "404"})

    def _attestations_bulk(self, params: dict[str, str], query: dict[str, str],
                           body: bytes) -> Reply:
        owners = {repo.data["owner"]["login"].lower() for repo in self.repos.values()}
        if params["org"].lower() not in owners:
            return _not_found(BULK_DOCS)
        try:
            digests = json.loads(body or b"null")["subject_digests"]
        except (ValueError, KeyError, TypeError):
            digests = None
        if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
            return _json(422, {"message": "Invalid request.\n\n\"subject_digests\" wasn't supplied.",
                               "documentation_url": BULK_DOCS, "status": "422"})
        # The demo records no attestations: every digest is listed once, with none.
        return _json(200, {"attestations_subject_digests": dict.fromkeys(digests),
                           "page_info": {"has_next": False, "has_previous": False,
                                         "next": "", "previous": ""}})

    def _download(self, params: dict[str, str], query: dict[str, str], body: bytes) -> Reply:
        repo = self.repos.get(f"{params['owner']}/{params['name']}".lower())
        content = repo.files.get((params["tag"], params["file"])) if repo else None
        if content is None:
            return Reply(404, b"Not Found", {"Content-Type": "text/plain"}, api=False)
        return Reply(200, content, {"Content-Type": "application/octet-stream"}, api=False)


_REPO = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)$")
_RELEASES = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/releases$")
_RELEASES_BY_ID = re.compile(r"^/repositories/(?P<rid>\d+)/releases$")
_CONTENTS = re.compile(r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/contents(?:/.*)?$")
_BULK = re.compile(r"^/(?:orgs|users)/(?P<org>[^/]+)/attestations/bulk-list$")
_DOWNLOAD = re.compile(
    r"^/download/(?P<owner>[^/]+)/(?P<name>[^/]+)/(?P<tag>.+)/(?P<file>[^/]+)$")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True


def _handler(server: DemoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client reuses one session

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            reply = server.handle(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(reply.status)
            if reply.api:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)

        do_GET = do_POST = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the demo prints its own summary

    return Handler


def start_demo_server(port: int | None = DEFAULT_DEMO_PORT, host: str = "127.0.0.1") -> DemoServer:
    """The demo snapshot served on `port`, or on any free port when that one is taken (or None)."""
    repos = load_demo_snapshot()
    if port:
        try:
            return DemoServer(repos, host, port)
        except OSError:  # taken (say, by a running `make dev`): any free port will do
            pass
    return DemoServer(repos, host, 0)


__all__ = ["DEFAULT_DEMO_PORT", "DemoServer", "render_release", "start_demo_server"]
