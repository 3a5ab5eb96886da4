"""Rate limits and injected faults for the test server.

`RateLimits` keeps GitHub's per-token hourly buckets (REST "core" and "graphql") and their
`X-RateLimit-*` headers. `Faults` holds what `GitHubServer.inject` queued; `FAULT_KINDS` names the
canned faults (see the package docstring for the table) and `hostile_text_releases` gives
releases whose text tries to break the reports.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from release_assets_tests.github_server.common import (
    JSON,
    RATE_LIMIT_DOCS,
    REST_DOCS,
    SECONDARY_RATE_LIMIT_DOCS,
    Reply,
    Request,
    json_reply,
)


# -- rate limits ---------------------------------------------------------------------------------
@dataclass
class _Bucket:
    used: int = 0
    reset_at: float = 0.0


class RateLimits:
    """Per-token, per-resource hourly points, as GitHub counts them."""

    def __init__(self, rest: int, graphql: int, reset_seconds: float) -> None:
        self.limits = {"core": rest, "graphql": graphql}
        self.reset_seconds = reset_seconds
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, identity: str, resource: str) -> _Bucket:
        bucket = self._buckets.setdefault((identity, resource), _Bucket())
        now = time.time()
        if now >= bucket.reset_at:
            bucket.used, bucket.reset_at = 0, now + self.reset_seconds
        return bucket

    def exhausted(self, identity: str, resource: str, cost: int = 1) -> bool:
        with self._lock:
            return self._bucket(identity, resource).used + cost > self.limits[resource]

    def charge(self, identity: str, resource: str, points: int) -> None:
        with self._lock:
            self._bucket(identity, resource).used += points

    def headers(self, identity: str, resource: str) -> dict[str, str]:
        with self._lock:
            bucket = self._bucket(identity, resource)
            limit = self.limits[resource]
            return {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, limit - bucket.used)),
                "X-RateLimit-Used": str(bucket.used),
                "X-RateLimit-Reset": str(math.ceil(bucket.reset_at)),
                "X-RateLimit-Resource": resource,
            }

    def snapshot(self, identity: str, resource: str) -> JSON:
        headers = self.headers(identity, resource)
        return {"limit": int(headers["X-RateLimit-Limit"]),
                "remaining": int(headers["X-RateLimit-Remaining"]),
                "used": int(headers["X-RateLimit-Used"]),
                "reset": int(headers["X-RateLimit-Reset"]), "resource": resource}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    @staticmethod
    def limited_reply(request: Request) -> Reply:
        who = ("user ID 1." if request.identity != "anonymous" else
               "127.0.0.1. (But here's the good news: Authenticated requests get a higher rate "
               "limit. Check out the documentation for more details.)")
        return json_reply(403, {"message": f"API rate limit exceeded for {who}",
                                "documentation_url": RATE_LIMIT_DOCS}, points=0)


# -- faults --------------------------------------------------------------------------------------
@dataclass
class Fault:
    """One queued fault: requests whose path+query matches `pattern` (and `scope`, a repository
    or org) get it, `times` times (None: until `clear_faults`)."""

    pattern: re.Pattern[str]
    status: int | None  # None: the normal answer, changed by the fields below
    times: int | None
    headers: dict[str, str]
    body: Any
    truncate: bool  # half the body, with a matching Content-Length: not valid JSON
    delay: float  # seconds before answering
    close_early: bool = False  # full Content-Length announced, half sent, connection closed
    trickle: float = 0.0  # seconds between the body's bytes
    transform: Callable[[Any], Any] | None = None  # rewrites the normal JSON answer
    points: int | None = None  # rate-limit points the faulty answer costs (None: the usual)
    scope: re.Pattern[str] | None = None

    def matches(self, raw: str) -> bool:
        return bool(self.pattern.search(raw)) and (self.scope is None or bool(self.scope.search(raw)))


class Faults:
    """The queue `GitHubServer.inject` fills; the first matching fault answers a request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._queued.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()

    def take(self, raw: str) -> Fault | None:
        with self._lock:
            for fault in self._queued:
                if (fault.times is None or fault.times > 0) and fault.matches(raw):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._queued.remove(fault)
                    return fault
        return None


def repository_scope(full_name: str, repo_id: int | None) -> re.Pattern[str]:
    """Every path about one repository: its API (by name or id), downloads and raw files."""
    name = re.escape(full_name)
    by_id = rf"|^/repositories/{repo_id}(?:[/?]|$)" if repo_id is not None else ""
    return re.compile(rf"^/repos/{name}(?:[/?]|$)|^/(?:download|raw)/{name}/{by_id}", re.I)


def org_scope(login: str, org_id: int | None) -> re.Pattern[str]:
    """Every path about one organisation (or user): itself, its repository list, attestations."""
    name = re.escape(login)
    by_id = rf"|^/organizations/{org_id}(?:[/?]|$)" if org_id is not None else ""
    return re.compile(rf"^/(?:orgs|users)/{name}(?:[/?]|$){by_id}", re.I)


HTML_502 = (
    "<!DOCTYPE html>\n<html>\n<head>\n  <meta http-equiv=\"Content-type\" "
    "content=\"text/html; charset=utf-8\">\n  <title>Unicorn! &middot; GitHub</title>\n</head>\n"
    "<body>\n  <h1>502 Bad Gateway</h1>\n  <p>We had issues producing the response to your "
    "request. Sorry about that. Please try refreshing and contact us if the problem persists."
    "</p>\n</body>\n</html>\n"
)


def _first(items: Any, has: str) -> JSON | None:
    """The first JSON object of a list (or the object itself) holding key `has`."""
    candidates = items if isinstance(items, list) else [items]
    return next((i for i in candidates if isinstance(i, dict) and has in i), None)


def _first_artifact(releases: Any) -> JSON | None:
    candidates = releases if isinstance(releases, list) else [releases]
    return next((a for r in candidates if isinstance(r, dict)
                 for a in r.get("assets") or [] if isinstance(a, dict)), None)


def _set(find: Callable[[Any], JSON | None], key: str, value: Any) -> Callable[[Any], Any]:
    def transform(data: Any) -> Any:
        target = find(data)
        if target is not None:
            target[key] = value
        return data
    return transform


def _drop(key: str) -> Callable[[Any], Any]:
    def transform(data: Any) -> Any:
        target = _first(data, key)
        if target is not None:
            del target[key]
        return data
    return transform


def _non_object_items(data: Any) -> Any:
    if not isinstance(data, list):
        return data
    return [*data[:1], None, *data[1:], "not a release"]


def _kinds() -> dict[str, dict[str, Any]]:
    return {
        # transport
        "close_early": {"close_early": True},
        "trickle": {"trickle": 5.0},
        "html_502": {"status": 502, "body": HTML_502,
                     "headers": {"Content-Type": "text/html; charset=utf-8"}},
        # answers
        "bad_credentials": {"status": 401, "body": {
            "message": "Bad credentials", "documentation_url": REST_DOCS, "status": "401"}},
        "not_found": {"status": 404, "body": {
            "message": "Not Found", "documentation_url": REST_DOCS, "status": "404"}},
        "rate_limit_exhausted": {"status": 403, "points": 0, "body": {
            "message": "API rate limit exceeded for user ID 1.",
            "documentation_url": RATE_LIMIT_DOCS}, "headers": {
            "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": "5000", "X-RateLimit-Resource": "core",
            "X-RateLimit-Reset": str(int(time.time()) + 86_400)}},  # a day ahead
        "secondary_rate_limit": {"status": 403, "points": 0, "headers": {"Retry-After": "1"},
                                 "body": {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                       "before you try again.", "documentation_url": SECONDARY_RATE_LIMIT_DOCS}},
        # hostile payloads: the normal JSON answer, rewritten
        "non_object_item": {"transform": _non_object_items},
        "release_without_id": {"transform": _drop("id")},
        "entry_without_full_name": {"transform": _drop("full_name")},
        "huge_id": {"transform": _set(lambda d: _first(d, "id"), "id", 2**64)},
        "draft_string": {"transform": _set(lambda d: _first(d, "draft"), "draft", "false")},
        "huge_count": {"transform": _set(_first_artifact, "download_count", 2**64)},
        "float_count": {"transform": _set(_first_artifact, "download_count", 1e300)},
        "negative_download_count": {"transform": _set(_first_artifact, "download_count", -5)},
    }


FAULT_KINDS: tuple[str, ...] = tuple(_kinds())


def fault_kind(name: str) -> dict[str, Any]:
    """The `inject` arguments a canned fault stands for (fresh: the reset time is now + a day)."""
    kinds = _kinds()
    if name not in kinds:
        raise ValueError(f"unknown fault kind {name!r}; known: {', '.join(kinds)}")
    return kinds[name]


# -- hostile text --------------------------------------------------------------------------------
FIVE_THOUSAND_DIGIT_TAG = "9" * 5000


def hostile_text_releases() -> list[JSON]:
    """Releases (newest first) whose tags, names, bodies and artifact names carry `|`, newlines,
    `#`, HTML and a 5,000-digit tag: stored as given, they must stay inert in every report."""
    return [
        {"tag_name": "v1.0.0|evil", "name": "pipe | in | the name",
         "body": "| injected | table |\n|---|---|\n| a | row |",
         "assets": [{"name": "tool|linux_amd64.tar.gz", "size": 10, "download_count": 3}]},
        {"tag_name": "v0.9.0\n# Injected heading", "name": "two\nlines\n## and a heading",
         "body": "# Heading\n\n<script>alert('x')</script>\n\n- [ ] list"},
        {"tag_name": "v0.8.0#anchor", "name": "<img src=x onerror=alert(1)>",
         "body": "<b>bold</b> & <a href=\"javascript:alert(1)\">link</a> <!-- comment -->",
         "assets": [{"name": "<script>.zip", "size": 10, "download_count": 1}]},
        {"tag_name": FIVE_THOUSAND_DIGIT_TAG, "name": "a 5,000-digit tag", "body": None},
    ]


__all__ = [
    "FAULT_KINDS",
    "FIVE_THOUSAND_DIGIT_TAG",
    "HTML_502",
    "Fault",
    "Faults",
    "RateLimits",
    "fault_kind",
    "hostile_text_releases",
    "org_scope",
    "repository_scope",
]
