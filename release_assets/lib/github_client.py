"""GitHub over PyGithub's requester, with the cost discipline this project promises.

- Lists are read 100 per page and followed by `Link` (the list response already embeds every
  artifact, so the per-release assets endpoint is never called).
- Every list page is a conditional request when a validator (ETag) is known: a 304 costs no
  rate limit. Validators are stored by the caller (DuckDB) under the page's path relative to
  the API base URL and a token fingerprint, so another host or port serving the same API
  (a replay server, a moved GitHub Enterprise) still gets 304s.
- 5xx, connection failures and bodies cut short are retried with exponential backoff; secondary
  limits (403/429 with `Retry-After`) and an exhausted primary limit (`X-RateLimit-Remaining:
  0`) wait as GitHub asks, up to a cap, then fail with a clear error. A host that refused every
  attempt is tried once per later request, not five times, so an unreachable API fails a whole
  refresh in seconds.
- Bodies are read in small pieces against an overall deadline (per repository, per download):
  a server trickling a byte at a time cannot hold a run.
- Requests, 304s and rate-limit points are counted, thread-safely, per attempt.
- The token is only ever sent to the API host.

PyGithub carries every API request (REST, GraphQL, bulk POSTs): its requester builds the URL
below `base_url`, authenticates, encodes, and sends through our connection class
(github_download.py), which streams the body against the deadline. Retries, counting, pacing,
redirects and deadlines are ours, in the loop below: PyGithub's `GithubRetry` retries inside
urllib3, so (1) its attempts never reach our counters, "requests" undercounting exactly when
GitHub pushes back; (2) each thread sleeps on its own, outside the shared pacing; (3) `Retry`
honours `Retry-After` only on 413/429/503, GitHub's secondary limits are 403s; (4) a body cut
short after the headers is never retried; (5) it knows no deadline; nor does it retry the
1,000-release ceiling (a 422), and it follows a 301 uncounted, dropping the query. Downloads
from other hosts go on plain `requests`, without the token.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from github import Github

from release_assets.lib import github_download as wire
from release_assets.lib.github_http import (
    TRANSPORT_ERRORS,
    DeadlineExceeded,
    GitHubError,
    InvalidRepositoryKey,
    NotFound,
    Page,
    RateLimited,
    RequestStats,
    Response,
    RestCeilingReached,
    Unauthorized,
    Unreachable,
    Validator,
    attempts,
    check_owner,
    check_repository_key,
    connection_problem,
    graphql_cost,
    header,
    http_error,
    origin_of,
    path_of,
    rate_limit_error,
    rate_limit_wait,
    token_identity,
)
from release_assets.lib.settings import DEFAULT_API_URL

REST_RESULT_CEILING = 1000
USER_AGENT = "release-assets"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class _Deadline:
    at: float  # time.monotonic() when the block gives up
    what: str  # "repository owner/name", for the error
    seconds: float


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
        repository_deadline_seconds: float = 300.0,
        download_deadline_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._api_host = urlsplit(self.api_url).netloc
        self._origin = origin_of(self.api_url)
        self.api_base_path = urlsplit(self.api_url).path
        self._token = token or None
        self.token_identity = token_identity(token)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_rate_limit_wait = max_rate_limit_wait
        self.timeout = timeout
        self.repository_deadline_seconds = repository_deadline_seconds
        self.download_deadline_seconds = download_deadline_seconds
        self.stats = RequestStats()
        self._sleep = sleep
        self._local = threading.local()
        self._unreachable: str | None = None  # why the last attempts could not connect
        self._exhausted: tuple[float, str] | None = None  # (reset epoch, message)
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

    @contextmanager
    def deadline(self, seconds: float | None, what: str) -> Iterator[None]:
        """Requests of this thread inside the block give up `seconds` from now (waits GitHub
        asked for extend it: they are not the server being slow)."""
        previous = getattr(self._local, "deadline", None)
        self._local.deadline = (
            None if seconds is None else _Deadline(time.monotonic() + seconds, what, seconds))
        try:
            yield
        finally:
            self._local.deadline = previous

    def _remaining(self, verb: str, url: str) -> float | None:
        state: _Deadline | None = getattr(self._local, "deadline", None)
        if state is None:
            return None
        remaining = state.at - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(
                f"{verb} {path_of(url)}: gave up, {state.what} took longer than its "
                f"{state.seconds:.0f}s deadline", url=url,
            )
        return remaining

    def _extend_deadline(self, seconds: float) -> None:
        state: _Deadline | None = getattr(self._local, "deadline", None)
        if state is not None:
            state.at += seconds

    # -- transport ---------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = wire.TrustEnvOnceSession()
        return session

    def _github(self) -> Github:
        """This thread's PyGithub client (a requester keeps per-request state: not shared)."""
        github = getattr(self._local, "github", None)
        if github is None:
            github = self._local.github = wire.pygithub(
                self.api_url, self._token, timeout=self.timeout, user_agent=USER_AGENT)
        return github

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

    def cache_key(self, url: str) -> str:
        """Where a page's validator is stored: its path + query below the API base URL."""
        if not url.startswith("http"):
            return url
        if not self._is_api_url(url):
            return url
        path = path_of(url)
        return path[len(self.api_base_path):] if path.startswith(self.api_base_path) else path

    def absolute(self, url: str) -> str:
        return url if url.startswith("http") else self.api_url + url

    def _api(self, url: str) -> str:
        url = self.absolute(url)
        if not self._is_api_url(url):
            raise GitHubError(f"refusing to send API credentials to {urlsplit(url).netloc}", url=url)
        return url

    def get(self, url: str, *, validator: Validator | None = None) -> Response:
        """GET an API URL (absolute or path), conditional when a validator is given."""
        url = self._api(url)
        headers = {"Accept": "application/vnd.github+json"}
        if validator is not None and validator.etag:
            headers["If-None-Match"] = validator.etag
        return self._request("GET", url, headers=headers)

    def post(self, url: str, body: dict[str, Any]) -> Response:
        """POST JSON to an API path (reads such as bulk listings; no ETags on POST)."""
        return self._request(
            "POST", self._api(url), headers={"Accept": "application/vnd.github+json"}, body=body)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self._github().requester.graphql_url  # GitHub Enterprise Server: /api/graphql
        response = self._request(
            "POST", url, headers={}, body={"query": query, "variables": variables or {}}
        )
        data = response.data if isinstance(response.data, dict) else {}
        if data.get("errors"):
            errors = data["errors"] if isinstance(data["errors"], list) else [data["errors"]]
            messages = "; ".join(
                str(e.get("message") if isinstance(e, dict) else e)[:200] for e in errors
            )
            raise GitHubError(f"GraphQL error: {messages}", url=url)
        result = data.get("data")
        return result if isinstance(result, dict) else {}

    def _send(
        self, verb: str, url: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        """One attempt through PyGithub's requester (only API URLs reach here); our connection
        class reads the body piece by piece, so the deadline is checked as it arrives."""
        remaining = self._remaining(verb, url)
        current = wire.Exchange(
            self._origin, self._session(),
            self.timeout if remaining is None else max(0.05, min(self.timeout, remaining)),
            check_deadline=lambda: self._remaining(verb, url),
            abandoned=lambda status: self._record(status, {}, points=0),
        )
        with wire.exchange(current):
            status, answer_headers, text = self._github().requester.requestJson(
                verb, url, headers=dict(headers), input=body)
        if current.location is not None:
            answer_headers["location"] = current.location
        return status, answer_headers, text.encode("utf-8", "surrogateescape")

    def _request(
        self, verb: str, url: str, *, headers: dict[str, str], body: Any = None
    ) -> Response:
        weight = 5 if verb != "GET" and not url.endswith("/graphql") else 1
        if self._exhausted is not None:
            reset, message = self._exhausted
            if time.time() < reset:
                raise RateLimited(message, status=403, url=url)  # asking again costs a request
        attempt = 0
        # Once the host refused every attempt of a request, later requests try once each.
        retries = 0 if self._unreachable is not None else self.max_retries
        while True:
            self._pace(weight)
            try:
                status, resp_headers, raw = self._send(verb, url, headers, body)
            except wire.BodyCut as cut:
                self._record(599, {})
                if attempt >= retries:
                    raise GitHubError(
                        f"{verb} {path_of(url)}: response cut off ({cut.problem}) "
                        f"after {attempts(attempt + 1)}", url=url,
                    ) from None
                self._backoff(attempt, verb, url)
                attempt += 1
                continue
            except TRANSPORT_ERRORS as exc:
                self._record(599, {})
                if attempt >= retries:
                    message = (f"cannot connect to {origin_of(url)}: {connection_problem(exc)}"
                               f" ({attempts(attempt + 1)})")
                    self._unreachable = message
                    raise Unreachable(message, url=url) from None
                self._backoff(attempt, verb, url)
                attempt += 1
                continue
            self._unreachable = None
            data: Any = None
            if status != 304 and raw:
                try:
                    data = json.loads(raw)
                except ValueError:
                    if status < 300:  # a cut or garbled JSON body: worth another try
                        self._record(status, resp_headers)
                        if attempt >= retries:
                            raise GitHubError(
                                f"{verb} {path_of(url)}: response is not valid JSON "
                                f"({len(raw)} bytes, truncated?)", status=status, url=url,
                            ) from None
                        self._backoff(attempt, verb, url)
                        attempt += 1
                        continue
                    # an HTML error page (a proxy's 502): the status says what happened
            wait = rate_limit_wait(status, resp_headers, data)
            # GitHub charges no point for a refused token or a rate-limit answer
            points = 0 if wait is not None or status == 401 else graphql_cost(url, data)
            self._record(status, resp_headers, points=points)
            if status in (200, 201, 304):
                return Response(status, data, resp_headers)
            if status in (301, 302, 307, 308) and (location := header(resp_headers, "location")):
                target = urljoin(url, location)
                if not self._is_api_url(target):
                    raise GitHubError(
                        f"{verb} {path_of(url)}: redirected off the API host", status=status, url=url
                    )
                url = target
                continue
            if wait is not None:
                if wait > self.max_rate_limit_wait or attempt >= self.max_retries:
                    raise self._rate_limited(verb, url, status, resp_headers, wait)
                self.stats.waited(wait)
                self._extend_deadline(wait)
                self._sleep(wait)
                attempt += 1
                continue
            if status >= 500 and attempt < retries:
                self._backoff(attempt, verb, url)
                attempt += 1
                continue
            raise http_error(verb, url, status, data)

    def _rate_limited(
        self, verb: str, url: str, status: int, headers: dict[str, str], wait: float
    ) -> RateLimited:
        error, reset = rate_limit_error(verb, url, status, headers, wait)
        if reset is not None:
            self._exhausted = (reset, str(error))
        return error

    def _backoff(self, attempt: int, verb: str, url: str) -> None:
        delay = self.backoff_seconds * (2**attempt)
        remaining = self._remaining(verb, url)
        if remaining is not None and delay >= remaining:
            self._local.deadline.at = time.monotonic()  # waiting would pass it: give up now
            self._remaining(verb, url)
        self.stats.waited(delay)
        self._sleep(delay)

    # -- lists -------------------------------------------------------------------------------
    def pages(
        self,
        first_url: str,
        validators: dict[str, Validator],
        *,
        item_key: Callable[[Any], str | None],
    ) -> Iterator[Page]:
        """Every page of a list, following `Link: rel=next`; 304 pages carry no items.

        A page answered 304 is byte-identical to the stored one, so its stored `next_url` is
        still the next page. `item_key` returns None for an item it cannot key (malformed):
        that page is not cached, so the next refresh reads and reports it again.
        """
        url: str | None = first_url
        index = 0
        seen: set[str] = set()
        while url:
            key = self.cache_key(url)
            if key in seen:
                raise GitHubError(f"pagination loops back to {path_of(url)}", url=url)
            seen.add(key)
            known = validators.get(key)
            response = self.get(url, validator=known)
            if response.status == 304 and known is not None:
                yield Page(url, key, index, True, None, known)
                url = self.absolute(known.next_url) if known.next_url else None
            else:
                items = response.data
                if not isinstance(items, list):
                    raise GitHubError(
                        f"GET {path_of(url)}: expected a JSON list, got {type(items).__name__}",
                        url=url,
                    )
                keys = [item_key(item) for item in items]
                next_url = response.links.get("next")
                validator = Validator(
                    etag=response.etag,
                    last_modified=header(response.headers, "last-modified"),
                    next_url=self.cache_key(next_url) if next_url else None,
                    item_keys=tuple(k for k in keys if k is not None),
                )
                yield Page(url, key, index, False, items, validator, cacheable=None not in keys)
                url = next_url
            index += 1

    def releases_url(self, repo: str) -> str:
        return f"{self.api_url}/repos/{check_repository_key(repo)}/releases?" + urlencode(
            {"per_page": 100})

    def org_repos_url(self, org: str) -> str:
        return f"{self.api_url}/orgs/{check_owner(org)}/repos?" + urlencode(
            {"per_page": 100, "type": "all"})

    def repo_url(self, repo: str) -> str:
        return f"{self.api_url}/repos/{check_repository_key(repo)}"

    # -- downloads ---------------------------------------------------------------------------
    def download(self, url: str, *, max_bytes: int, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream a file under the download deadline; the token goes only to the API host."""
        headers = {"Accept": "application/octet-stream", "User-Agent": USER_AGENT}
        if self._token and self._is_api_url(url):
            headers["Authorization"] = f"Bearer {self._token}"
        return wire.stream_download(
            self._session(), url, headers, record=self._record, max_bytes=max_bytes,
            chunk_size=min(chunk_size, 1 << 20), timeout=self.timeout,
            deadline_seconds=self.download_deadline_seconds,
        )


__all__ = [  # re-exported: callers import the client's vocabulary from here
    "DEFAULT_API_URL", "DeadlineExceeded", "GitHubClient", "GitHubError",
    "InvalidRepositoryKey", "NotFound", "Page", "RateLimited", "RequestStats",
    "RestCeilingReached", "Unauthorized", "Unreachable", "Validator", "token_identity",
]
