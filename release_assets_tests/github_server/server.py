"""`GitHubServer`: the World over HTTP on 127.0.0.1, with rate limits, faults and a page cache.

The REST handlers live in routes.py, GraphQL in graphql.py, attestations in attestations.py,
rate limits and faults in limits.py; the package docstring is the user's guide.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from release_assets_tests.github_server.attestations import AttestationRoutes
from release_assets_tests.github_server.common import (
    PLACEHOLDER,
    REST_DOCS,
    LoggedRequest,
    Reply,
    Request,
    ServerStats,
    fingerprint,
    json_reply,
    token_from,
)
from release_assets_tests.github_server.graphql import GraphQLRoutes
from release_assets_tests.github_server.limits import (
    Fault,
    Faults,
    RateLimits,
    fault_kind,
    org_scope,
    repository_scope,
)
from release_assets_tests.github_server.routes import RestRoutes, route_of
from release_assets_tests.github_server.world import World

CACHE_BYTES = 256 << 20  # serialised pages kept; stale versions age out first


class GitHubServer(RestRoutes, AttestationRoutes, GraphQLRoutes):
    """Serves a World over HTTP on 127.0.0.1 (an ephemeral port); a context manager."""

    def __init__(
        self, world: World | None = None, *, token: str | None = None, rate_limit: int = 5000,
        graphql_rate_limit: int | None = None, rate_limit_reset_seconds: float = 3600.0,
        rest_ceiling: int = 1000, host: str = "127.0.0.1", port: int = 0,
    ) -> None:
        self.world = world if world is not None else World()
        self.token = token
        self.rest_ceiling = rest_ceiling
        self.limits = RateLimits(
            rate_limit, graphql_rate_limit if graphql_rate_limit is not None else rate_limit,
            rate_limit_reset_seconds)
        self.faults = Faults()
        self.request_log: list[LoggedRequest] = []
        self.stats = ServerStats()
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], tuple[bytes, str]] = {}
        self._cache_bytes = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # ends trickling answers
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> GitHubServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self._host, self._port), _make_handler(self))
        self._httpd = httpd
        self.stopping.clear()
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
        self.stopping.set()
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
        self, path_regex: str | None = None, status: int | None = None, times: int | None = 1,
        headers: dict[str, str] | None = None, body: Any = None, truncate: bool = False,
        delay: float = 0.0, *, kind: str | None = None, repo: str | None = None,
        org: str | None = None, close_early: bool = False, trickle: float = 0.0,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        """The next `times` matching requests (None: all, until `clear_faults`) get a fault.

        A request matches when its path+query matches `path_regex` (a `re.search`) and, if
        given, is about `repo` (`owner/name`: its API by name or id, downloads, raw files) or
        `org`. `kind` names a canned fault (`limits.FAULT_KINDS`, see the package docstring);
        the other arguments add to or override it. `status=None` keeps the normal answer, with
        `truncate` (half the body), `close_early`, `trickle`, `transform` or `delay` applied.
        """
        spec: dict[str, Any] = fault_kind(kind) if kind else {}
        scope = None
        if repo is not None:
            known = self.world._find_repo(repo)
            scope = repository_scope(repo, int(known.data["id"]) if known else None)
        elif org is not None:
            found = self.world._orgs.get(org.lower())
            scope = org_scope(org, int(found["id"]) if found else None)
        self.faults.add(Fault(
            re.compile(path_regex or ""), status if status is not None else spec.get("status"),
            times, {**spec.get("headers", {}), **(headers or {})},
            body if body is not None else spec.get("body"), truncate, delay,
            close_early or bool(spec.get("close_early")), trickle or spec.get("trickle", 0.0),
            transform or spec.get("transform"), spec.get("points"), scope,
        ))

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = ServerStats()
            self.request_log = []

    def reset_rate_limits(self) -> None:
        self.limits.reset()

    # -- request handling ------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        route, params = route_of(path)
        token = token_from(headers.get("Authorization"))
        request = Request(
            method, path, parse_qsl(parts.query, keep_blank_values=True), headers, body,
            "anonymous" if token is None else fingerprint(token),
            headers.get("Authorization") is not None,
        )
        reply = self._answer(request, route, params, raw_path)
        self._finish(request, reply, route, raw_path)
        return reply

    def _answer(self, request: Request, route: str, params: dict[str, str], raw: str) -> Reply:
        api = route not in ("download", "raw")
        if api and self.token is not None and request.identity != fingerprint(self.token):
            return json_reply(401, {"message": "Bad credentials", "documentation_url": REST_DOCS,
                                    "status": "401"})
        fault = self.faults.take(raw)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            payload = fault.body if fault.body is not None else {
                "message": HTTPStatus(fault.status).phrase}
            reply = json_reply(fault.status, payload, points=fault.points)
            reply.headers.update(fault.headers)
            reply.resource = "graphql" if route == "graphql" else "core" if api else None
        elif route in ("rate_limit", "download") or not api:
            reply = self._dispatch(request, route, params)
        elif route == "graphql":
            reply = self._graphql(request)
        elif self.limits.exhausted(request.identity, "core"):
            reply = self.limits.limited_reply(request)
        elif route == "attestations_bulk":  # a POST: its answer depends on the body, never cached
            with self.world.lock:
                reply = self._attestations_bulk(request, params)
        else:
            reply = self._cached_dispatch(request, route, params)
        if fault is not None:
            _disturb(reply, fault, self.url)
        return reply

    def _finish(self, request: Request, reply: Reply, route: str, raw: str) -> None:
        if reply.etag and reply.status == 200:
            # Hashed as stored (with the placeholder host), so ETags survive a change of port.
            stored = reply.body.replace(self.url.encode(), PLACEHOLDER.encode())
            digest = hashlib.sha256(stored + request.identity.encode()).hexdigest()[:40]
            reply.headers["ETag"] = f'"{digest}"'
            reply.headers["Last-Modified"] = formatdate(reply.modified or time.time(), usegmt=True)
            wanted = request.headers.get("If-None-Match")
            if wanted and reply.headers["ETag"] in {t.strip().removeprefix("W/")
                                                     for t in wanted.split(",")}:
                reply.status, reply.body = 304, b""
        if reply.resource is not None and reply.status != 401:
            points = reply.points if reply.points is not None else int(
                reply.status != 304 and reply.status < 500)
            if route == "rate_limit":
                points = 0
            self.limits.charge(request.identity, reply.resource, points)
            if reply.status < 500:  # an injected fault's own rate-limit headers win
                reply.headers = {**self.limits.headers(request.identity, reply.resource),
                                 **reply.headers}
        else:
            points = 0
        with self._lock:
            self.stats.rate_limit_points += points
            by_token = self.stats.points_by_token
            by_token[request.identity] = by_token.get(request.identity, 0) + points
            self.stats.requests += 1
            self.stats.not_modified += reply.status == 304
            self.stats.bytes_sent += len(reply.body)
            self.stats.by_route[route] = self.stats.by_route.get(route, 0) + 1
            self.stats.by_status[reply.status] = self.stats.by_status.get(reply.status, 0) + 1
            self.request_log.append(LoggedRequest(request.method, raw, reply.status,
                                                  request.authorized, len(reply.body), route))

    def _cached_dispatch(self, request: Request, route: str, params: dict[str, str]) -> Reply:
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
                return Reply(200, cached[0], headers, etag=True,
                             modified=repo.modified if repo else None)
            reply = self._dispatch(request, route, params)
            if reply.status == 200 and reply.etag:
                self._cache[key] = (reply.body, json.dumps(reply.headers))
                self._cache_bytes += len(reply.body)
                while self._cache_bytes > CACHE_BYTES:  # oldest first: dicts keep order
                    evicted = self._cache.pop(next(iter(self._cache)))
                    self._cache_bytes -= len(evicted[0])
            return reply


def _disturb(reply: Reply, fault: Fault, url: str) -> None:
    """A fault that keeps the normal answer changes its body or how it goes on the wire."""
    if fault.transform is not None and reply.status == 200 and reply.body:
        try:
            data = json.loads(reply.body)
        except ValueError:
            data = None
        if data is not None:
            text = json.dumps(fault.transform(data), separators=(",", ":"), ensure_ascii=False)
            reply.body = text.encode()
    if fault.truncate and reply.body:
        reply.body = reply.body[: len(reply.body) // 2]
        reply.etag = False
    reply.close_early = reply.close_early or fault.close_early
    reply.trickle = reply.trickle or fault.trickle
    if reply.close_early or reply.trickle:
        reply.etag = False  # a body never delivered whole must not be answered with a 304


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
                reply = json_reply(500, {"message": f"server error: {type(exc).__name__}: {exc}"})
            self.send_response(reply.status)
            if reply.resource is not None or reply.status >= 300:
                headers = {"Content-Type": "application/json; charset=utf-8", **_COMMON_HEADERS}
            else:
                headers = {}
            for key, value in {**headers, **reply.headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command == "HEAD" or not reply.body:
                return
            if reply.close_early:
                self._close_after(reply.body[: len(reply.body) // 2])
            elif reply.trickle:
                self._trickle(reply.body, reply.trickle)
            else:
                self.wfile.write(reply.body)

        def _close_after(self, part: bytes) -> None:
            """Send `part` of a body whose full length was announced, then hang up."""
            self.wfile.write(part)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _trickle(self, body: bytes, seconds: float) -> None:
            """One byte every `seconds`, until done, the client leaves or the server stops."""
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    if i + 1 < len(body) and server.stopping.wait(seconds):
                        break
            except OSError:  # the client gave up
                pass
            self.close_connection = True

        do_GET = do_POST = do_HEAD = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the request_log is the log

    return Handler


__all__ = ["GitHubServer"]
