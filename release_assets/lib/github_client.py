"""GitHub over PyGithub's requester, with the cost discipline this project promises.

- Lists are read 100 per page and followed by `Link` (the list response already embeds every
  artifact, so the per-release assets endpoint is never called).
- Every list page is a conditional request when a validator (ETag) is known: a 304 costs no
  rate limit. Validators are stored by the caller (DuckDB), keyed by a token fingerprint.
- 5xx and connection errors are retried with exponential backoff; secondary limits (403/429
  with `Retry-After`) and an exhausted primary limit (`X-RateLimit-Remaining: 0`) wait as GitHub
  asks, up to a cap, then fail with a clear error.
- Requests, 304s and rate-limit points are counted, thread-safely.
- The token is only ever sent to the API host.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from github import Auth, Github, GithubException

DEFAULT_API_URL = "https://api.github.com"
REST_RESULT_CEILING = 1000
_LINK = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


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


class RestCeilingReached(GitHubError):
    """GitHub's REST list stops at 1,000 results."""


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
            remaining = _header(headers, "x-ratelimit-remaining")
            if remaining is not None and remaining.isdigit():
                self.rate_limit_remaining = int(remaining)
            reset = _header(headers, "x-ratelimit-reset")
            if reset is not None and reset.isdigit():
                self.rate_limit_reset = int(reset)
        return cost

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
    """What a previous 200 told us about a URL, so the next request can be conditional."""

    etag: str | None
    last_modified: str | None = None
    next_url: str | None = None
    item_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    url: str
    index: int
    not_modified: bool
    items: list[dict[str, Any]] | None  # None when not modified
    validator: Validator


@dataclass
class Response:
    status: int
    data: Any
    headers: dict[str, str]

    @property
    def etag(self) -> str | None:
        return _header(self.headers, "etag")

    @property
    def links(self) -> dict[str, str]:
        return {rel: url for url, rel in _LINK.findall(_header(self.headers, "link") or "")}


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def token_identity(token: str | None) -> str:
    """A stable fingerprint of the token (ETags differ per token); never the token itself."""
    if not token:
        return "anonymous"
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class GitHubClient:
    """One client per refresh; safe to share across worker threads."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        token: str | None = None,
        *,
        max_retries: int = 4,
        backoff_seconds: float = 1.0,
        max_rate_limit_wait: float = 900.0,
        min_seconds_between_requests: float | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._api_host = urlsplit(self.api_url).netloc
        self._token = token or None
        self.token_identity = token_identity(token)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_rate_limit_wait = max_rate_limit_wait
        self.timeout = timeout
        self.stats = RequestStats()
        self._sleep = sleep
        self._local = threading.local()
        # GitHub asks for at most ~900 points a minute per endpoint: pace shared by all threads.
        loopback = urlsplit(self.api_url).hostname in _LOOPBACK
        self._min_interval = (
            min_seconds_between_requests
            if min_seconds_between_requests is not None
            else (0.0 if loopback else 0.07)
        )
        self._pace_lock = threading.Lock()
        self._next_slot = 0.0

    # -- accounting ----------------------------------------------------------------------------
    @contextmanager
    def tally(self) -> Iterator[dict[str, int]]:
        """Count what the requests made by this thread inside the block cost."""
        counts = {"requests": 0, "not_modified": 0, "rate_limit_points": 0}
        previous = getattr(self._local, "tally", None)
        self._local.tally = counts
        try:
            yield counts
        finally:
            self._local.tally = previous

    def _record(self, status: int, headers: dict[str, str], *, points: int | None = None) -> None:
        cost = self.stats.record(status, headers, points=points)
        counts = getattr(self._local, "tally", None)
        if counts is not None:
            counts["requests"] += 1
            counts["not_modified"] += status == 304
            counts["rate_limit_points"] += cost

    # -- transport ---------------------------------------------------------------------------
    def _github(self) -> Github:
        gh = getattr(self._local, "github", None)
        if gh is None:
            gh = Github(
                base_url=self.api_url,
                auth=Auth.Token(self._token) if self._token else None,
                per_page=100,
                timeout=int(self.timeout),
                retry=None,  # retries are ours: they must be counted and capped
                seconds_between_requests=None,
                seconds_between_writes=None,  # paced by `_pace`, which knows a POST that reads
            )
            self._local.github = gh
        return gh

    def _pace(self, weight: int = 1) -> None:
        """Space requests by their secondary-limit points: 1 for GET and GraphQL, 5 for REST POST."""
        if self._min_interval <= 0:
            return
        with self._pace_lock:
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._min_interval * weight
        if wait > 0:
            self._sleep(wait)

    def _is_api_url(self, url: str) -> bool:
        return urlsplit(url).netloc == self._api_host

    def get(self, url: str, *, validator: Validator | None = None) -> Response:
        """GET an API URL (absolute or path), conditional when a validator is given."""
        if not url.startswith("http"):
            url = self.api_url + url
        if not self._is_api_url(url):
            raise GitHubError(f"refusing to send API credentials to {urlsplit(url).netloc}", url=url)
        headers = {"Accept": "application/vnd.github+json"}
        if validator is not None and validator.etag:
            headers["If-None-Match"] = validator.etag
        return self._request("GET", url, headers=headers)

    def post(self, url: str, body: dict[str, Any]) -> Response:
        """POST JSON to an API path (reads such as bulk listings; no ETags on POST)."""
        if not url.startswith("http"):
            url = self.api_url + url
        if not self._is_api_url(url):
            raise GitHubError(f"refusing to send API credentials to {urlsplit(url).netloc}", url=url)
        return self._request(
            "POST", url, headers={"Accept": "application/vnd.github+json"}, body=body
        )

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.api_url + "/graphql"
        if self.api_url.endswith("/api/v3"):  # GitHub Enterprise Server
            url = self.api_url[: -len("/v3")] + "/graphql"
        response = self._request(
            "POST", url, headers={}, body={"query": query, "variables": variables or {}}
        )
        data = response.data or {}
        if data.get("errors"):
            messages = "; ".join(str(e.get("message")) for e in data["errors"])
            raise GitHubError(f"GraphQL error: {messages}", url=url)
        return data.get("data") or {}

    def _request(
        self, verb: str, url: str, *, headers: dict[str, str], body: Any = None
    ) -> Response:
        requester = self._github().requester
        weight = 5 if verb != "GET" and not url.endswith("/graphql") else 1
        attempt = 0
        while True:
            self._pace(weight)
            try:
                status, resp_headers, text = requester.requestJson(verb, url, None, headers, body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._record(599, {})
                if attempt >= self.max_retries:
                    raise GitHubError(
                        f"{verb} {_path(url)}: connection failed after {attempt + 1} attempts "
                        f"({type(exc).__name__})",
                        url=url,
                    ) from None
                self._backoff(attempt)
                attempt += 1
                continue
            points = None
            data: Any = None
            if status != 304 and text:
                try:
                    data = _json_loads(text)
                except ValueError:
                    self._record(status, resp_headers)
                    if attempt >= self.max_retries:
                        raise GitHubError(
                            f"{verb} {_path(url)}: response is not valid JSON "
                            f"({len(text)} bytes, truncated?)",
                            status=status,
                            url=url,
                        ) from None
                    self._backoff(attempt)
                    attempt += 1
                    continue
            if url.endswith("/graphql") and isinstance(data, dict):
                cost = ((data.get("data") or {}).get("rateLimit") or {}).get("cost")
                points = int(cost) if isinstance(cost, int) else 1
            self._record(status, resp_headers, points=points)
            if status in (200, 201, 304):
                return Response(status, data, resp_headers)
            if status in (301, 302, 307, 308) and (location := _header(resp_headers, "location")):
                target = urljoin(url, location)
                if not self._is_api_url(target):
                    raise GitHubError(
                        f"{verb} {_path(url)}: redirected off the API host", status=status, url=url
                    )
                url = target
                continue
            wait = self._rate_limit_wait(status, resp_headers, data)
            if wait is not None:
                if wait > self.max_rate_limit_wait or attempt >= self.max_retries:
                    raise RateLimited(
                        f"{verb} {_path(url)}: rate limited by GitHub (HTTP {status}); "
                        f"would need to wait {wait:.0f}s, more than allowed",
                        status=status,
                        url=url,
                    )
                with self.stats._lock:
                    self.stats.retries += 1
                    self.stats.waited_seconds += wait
                self._sleep(wait)
                attempt += 1
                continue
            if status >= 500 and attempt < self.max_retries:
                self._backoff(attempt)
                attempt += 1
                continue
            raise _error_for(verb, url, status, data)

    def _backoff(self, attempt: int) -> None:
        with self.stats._lock:
            self.stats.retries += 1
        delay = self.backoff_seconds * (2**attempt)
        self.stats.waited_seconds += delay
        self._sleep(delay)

    @staticmethod
    def _rate_limit_wait(status: int, headers: dict[str, str], data: Any) -> float | None:
        """Seconds GitHub asks us to wait, or None when this is not a rate limit."""
        if status not in (403, 429):
            return None
        retry_after = _header(headers, "retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return 60.0
        if _header(headers, "x-ratelimit-remaining") == "0":
            reset = _header(headers, "x-ratelimit-reset")
            if reset and reset.isdigit():
                return max(0.0, int(reset) - time.time()) + 1.0
            return 60.0
        message = str((data or {}).get("message", "")).lower() if isinstance(data, dict) else ""
        if "secondary rate limit" in message or "abuse" in message or status == 429:
            return 60.0  # GitHub: without retry-after, wait at least a minute
        return None

    # -- lists -------------------------------------------------------------------------------
    def pages(
        self,
        first_url: str,
        validators: dict[str, Validator],
        *,
        item_key: Callable[[dict[str, Any]], str],
    ) -> Iterator[Page]:
        """Every page of a list, following `Link: rel=next`; 304 pages carry no items.

        A page answered 304 is byte-identical to the stored one, so its stored `next_url` is
        still the next page.
        """
        url: str | None = first_url
        index = 0
        seen: set[str] = set()
        while url:
            if url in seen:
                raise GitHubError(f"pagination loops back to {_path(url)}", url=url)
            seen.add(url)
            known = validators.get(url)
            response = self.get(url, validator=known)
            if response.status == 304 and known is not None:
                yield Page(url, index, True, None, known)
                url = known.next_url
            else:
                items = response.data
                if not isinstance(items, list):
                    raise GitHubError(
                        f"GET {_path(url)}: expected a JSON list, got {type(items).__name__}",
                        url=url,
                    )
                next_url = response.links.get("next")
                validator = Validator(
                    etag=response.etag,
                    last_modified=_header(response.headers, "last-modified"),
                    next_url=next_url,
                    item_keys=tuple(item_key(item) for item in items),
                )
                yield Page(url, index, False, items, validator)
                url = next_url
            index += 1

    def releases_url(self, repo: str) -> str:
        return f"{self.api_url}/repos/{repo}/releases?{urlencode({'per_page': 100})}"

    def org_repos_url(self, org: str) -> str:
        return f"{self.api_url}/orgs/{org}/repos?{urlencode({'per_page': 100, 'type': 'all'})}"

    def repo_url(self, repo: str) -> str:
        return f"{self.api_url}/repos/{repo}"

    # -- downloads ---------------------------------------------------------------------------
    def download(self, url: str, *, max_bytes: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream a file; the token goes only to the API host (never to download hosts)."""
        headers = {"Accept": "application/octet-stream"}
        if self._token and self._is_api_url(url):
            headers["Authorization"] = f"token {self._token}"
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _DownloadSession()
        with session.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            self._record(response.status_code, dict(response.headers), points=0)
            if response.status_code >= 400:
                response.raw.read(64 * 1024)  # drain the (small) error body: keeps the connection
            if response.status_code == 404:
                raise NotFound(f"GET {_path(url)}: not found (HTTP 404)", status=404, url=url)
            if response.status_code >= 400:
                raise GitHubError(
                    f"GET {_path(url)}: HTTP {response.status_code}",
                    status=response.status_code,
                    url=url,
                )
            total = 0
            for chunk in response.iter_content(chunk_size=chunk_size):
                total += len(chunk)
                if total > max_bytes:
                    raise GitHubError(
                        f"GET {_path(url)}: larger than the {max_bytes}-byte cap", url=url
                    )
                yield chunk


class _DownloadSession(requests.Session):
    """Reads proxy and CA settings from the environment once per host, not on every request
    (requests re-reads the environment and looks for ~/.netrc each time: a fifth of a small
    download). Never uses ~/.netrc: the only credential a download carries is the API token."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._by_host: dict[tuple[str, str], dict[str, Any]] = {}

    def _environment(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        host = (parts.scheme, parts.netloc)
        if host not in self._by_host:
            with requests.Session() as probe:  # trust_env: reads HTTPS_PROXY, NO_PROXY, CA bundle
                self._by_host[host] = probe.merge_environment_settings(url, {}, None, None, None)
        return self._by_host[host]

    def merge_environment_settings(  # type: ignore[override]
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        env = self._environment(url)
        return super().merge_environment_settings(
            url,
            proxies or dict(env["proxies"]),
            stream,
            env["verify"] if verify is None else verify,
            env["cert"] if cert is None else cert,
        )

    def rebuild_proxies(self, prepared_request: Any, proxies: Any) -> Any:
        # A redirect to another host (GitHub's download CDN) gets that host's proxy settings.
        return super().rebuild_proxies(
            prepared_request, dict(self._environment(prepared_request.url)["proxies"])
        )


def _json_loads(text: str) -> Any:
    import json

    return json.loads(text)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _error_for(verb: str, url: str, status: int, data: Any) -> GitHubError:
    message = data.get("message") if isinstance(data, dict) else None
    detail = f": {message}" if message else ""
    text = f"{verb} {_path(url)}: HTTP {status}{detail}"
    if status == 404:
        return NotFound(text, status=status, url=url)
    if status == 422 and message and "1000" in str(message):
        return RestCeilingReached(text, status=status, url=url)
    if status in (403, 429):
        return RateLimited(text, status=status, url=url) if "rate limit" in text.lower() else (
            GitHubError(text, status=status, url=url)
        )
    return GitHubError(text, status=status, url=url)


__all__ = [
    "DEFAULT_API_URL",
    "GitHubClient",
    "GitHubError",
    "GithubException",
    "NotFound",
    "Page",
    "RateLimited",
    "RequestStats",
    "RestCeilingReached",
    "Validator",
    "token_identity",
]
