"""The HTTP vocabulary of the GitHub client: errors, counters, validators, pages, and the words
that say why a request failed (never the token)."""

from __future__ import annotations

import errno
import hashlib
import http.client
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.utils import parse_header_links

# What a dropped connection or a body closed before Content-Length raises, through requests,
# urllib3 (`ProtocolError`, `IncompleteRead`) or http.client.
TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError,
                    http.client.HTTPException, OSError)


class GitHubError(Exception):
    """A request GitHub would not answer, with a reason a person can act on (never the token)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None):
        self.status = status
        self.url = url
        super().__init__(message)


class NotFound(GitHubError):
    pass


class RateLimited(GitHubError):
    pass


class Unauthorized(GitHubError):
    """GitHub refused the token (401): every later request would be refused too."""


class Unreachable(GitHubError):
    """The API host could not be reached (refused, unresolvable, timed out)."""


class DeadlineExceeded(GitHubError):
    """A repository (or a download) took longer than its overall deadline."""


class RestCeilingReached(GitHubError):
    """GitHub's REST list stops at 1,000 results."""


class InvalidRepositoryKey(GitHubError):
    """A repository key that breaks GitHub's owner/name rules: never put into a URL."""


# GitHub's rules: a login is 1-39 alphanumerics or hyphens, not starting with one; a repository
# name is 1-100 of [A-Za-z0-9._-] and never "." or "..". Anything else (slashes, `..`,
# newlines, `%`, `?`) could steer the URL we build elsewhere.
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


def repository_key_problem(key: object) -> str | None:
    """Why `key` is not a valid `owner/name`, or None when it is."""
    if not isinstance(key, str):
        return f"repository key must be a string, got {type(key).__name__}"
    owner, slash, name = key.partition("/")
    if not slash:
        return f"repository key {key[:120]!r} is not owner/name"
    if not _OWNER.fullmatch(owner):
        return f"repository key {key[:120]!r}: owner breaks GitHub's login rules"
    if not _NAME.fullmatch(name) or name in (".", ".."):
        return f"repository key {key[:120]!r}: name breaks GitHub's repository-name rules"
    return None


def check_owner(login: str) -> str:
    if not isinstance(login, str) or not _OWNER.fullmatch(login):
        raise InvalidRepositoryKey(f"organisation {str(login)[:60]!r} breaks GitHub's login rules")
    return login


def check_repository_key(key: str) -> str:
    problem = repository_key_problem(key)
    if problem is not None:
        raise InvalidRepositoryKey(problem)
    return key


@dataclass
class RequestStats:
    requests: int = 0
    not_modified: int = 0
    rate_limit_points: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    rate_limit_remaining: int | None = None
    rate_limit_reset: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, status: int, headers: dict[str, str], *, points: int | None = None) -> int:
        """Count one response; returns the rate-limit points it cost."""
        cost = 0 if status == 304 else points if points is not None else int(status < 500)
        with self._lock:
            self.requests += 1
            self.not_modified += status == 304
            self.rate_limit_points += cost
            remaining = header(headers, "x-ratelimit-remaining")
            if remaining is not None and remaining.isdigit():
                self.rate_limit_remaining = int(remaining)
            reset = header(headers, "x-ratelimit-reset")
            if reset is not None and reset.isdigit():
                self.rate_limit_reset = int(reset)
        return cost

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.retries += 1
            self.waited_seconds += seconds

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "not_modified": self.not_modified,
                "rate_limit_points": self.rate_limit_points,
                "retries": self.retries,
            }


@dataclass(frozen=True)
class Validator:
    """What a previous 200 told us about a URL, so the next request can be conditional.

    `next_url` is stored relative to the API base URL, like the key it is stored under.
    """

    etag: str | None
    last_modified: str | None = None
    next_url: str | None = None
    item_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    url: str  # absolute, as requested
    key: str  # path + query relative to the API base URL: what its validator is stored under
    index: int
    not_modified: bool
    items: list[Any] | None  # None when not modified; items are unvalidated JSON
    validator: Validator
    cacheable: bool = True  # False when an item was malformed: re-read (and re-flag) next time


@dataclass
class Response:
    status: int
    data: Any
    headers: dict[str, str]

    @property
    def etag(self) -> str | None:
        return header(self.headers, "etag")

    @property
    def links(self) -> dict[str, str]:
        value = header(self.headers, "link")
        if not value:
            return {}
        return {
            str(link["rel"]): str(link["url"])
            for link in parse_header_links(value)
            if link.get("rel") and link.get("url")
        }


def header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def token_identity(token: str | None) -> str:
    """A stable fingerprint of the token (ETags differ per token); never the token itself."""
    if not token:
        return "anonymous"
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (requests and urllib3 nest them in args), and its causes."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [a for a in current.args if isinstance(a, BaseException)]
        todo += [c for c in (current.__cause__, current.__context__) if c is not None]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def connection_problem(exc: BaseException) -> str:
    """A few words for a transport failure: "connection refused", "timed out", …"""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not resolved"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
    for cause in _causes(exc):
        if isinstance(cause, (http.client.IncompleteRead, urllib3.exceptions.IncompleteRead)):
            return "connection closed before the whole body arrived"
        if isinstance(cause, (TimeoutError, socket.timeout, requests.Timeout)):
            return "timed out"
        if isinstance(cause, ConnectionResetError):
            return "connection reset"
        if "NameResolution" in type(cause).__name__:
            return "host name not resolved"
    if any(isinstance(c, urllib3.exceptions.ProtocolError) for c in _causes(exc)):
        return "connection closed before the whole body arrived"
    return type(exc).__name__


def http_error(verb: str, url: str, status: int, data: Any) -> GitHubError:
    """The error for a final non-2xx answer; an HTML error page says its status, no more."""
    message = data.get("message") if isinstance(data, dict) else None
    detail = f": {str(message)[:200]}" if message else ""
    text = f"{verb} {path_of(url)}: HTTP {status}{detail}"
    if status == 401:
        return Unauthorized(
            f"GitHub refused the token ({status} {str(message or 'Unauthorized')[:80]})",
            status=status, url=url,
        )
    if status == 404:
        return NotFound(text, status=status, url=url)
    if status == 422 and message and "1000" in str(message):
        return RestCeilingReached(text, status=status, url=url)
    if status in (403, 429) and "rate limit" in text.lower():
        return RateLimited(text, status=status, url=url)
    return GitHubError(text, status=status, url=url)


def rate_limit_wait(status: int, headers: dict[str, str], data: Any) -> float | None:
    """Seconds GitHub asks us to wait, or None when this is not a rate limit."""
    if status not in (403, 429):
        return None
    retry_after = header(headers, "retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            return 60.0
    if header(headers, "x-ratelimit-remaining") == "0":
        reset = header(headers, "x-ratelimit-reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - time.time()) + 1.0
        return 60.0
    message = str((data or {}).get("message", "")).lower() if isinstance(data, dict) else ""
    if "secondary rate limit" in message or "abuse" in message or status == 429:
        return 60.0  # GitHub: without retry-after, wait at least a minute
    return None


def rate_limit_error(
    verb: str, url: str, status: int, headers: dict[str, str], wait: float
) -> tuple[RateLimited, float | None]:
    """The error for a wait beyond the cap, and when an exhausted primary limit resets."""
    reset = header(headers, "x-ratelimit-reset")
    if header(headers, "x-ratelimit-remaining") == "0" and reset and reset.isdigit():
        message = (f"rate limit exhausted until {clock_time(int(reset))} "
                   f"({verb} {path_of(url)}: HTTP {status})")
        return RateLimited(message, status=status, url=url), float(reset)
    return RateLimited(
        f"{verb} {path_of(url)}: rate limited by GitHub (HTTP {status}); "
        f"would need to wait {wait:.0f}s, more than allowed", status=status, url=url,
    ), None


def attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


def graphql_cost(url: str, data: Any) -> int | None:
    """The points a GraphQL answer says it cost (None for REST: the usual one)."""
    if not url.endswith("/graphql"):
        return None
    inner = data.get("data") if isinstance(data, dict) else None
    rate = inner.get("rateLimit") if isinstance(inner, dict) else None
    cost = rate.get("cost") if isinstance(rate, dict) else None
    return cost if type(cost) is int and cost >= 0 else 1


def clock_time(epoch: float) -> str:
    """12:34 UTC (today) or 2026-01-02 12:34 UTC."""
    moment = datetime.fromtimestamp(epoch, UTC)
    if moment.date() == datetime.now(UTC).date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")

