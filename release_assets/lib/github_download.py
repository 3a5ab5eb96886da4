"""The wire under the GitHub client.

- `pygithub`: a PyGithub client whose requester sends our API requests through a connection
  class of ours, on the client's session, reading each body piece by piece against the
  client's deadline.
- `stream_download`: a file (an artifact, a manifest, a bundle) in constant memory, under a size
  cap and an overall deadline, so a huge or trickling download cannot hold a run (not through
  PyGithub: it has no API for other hosts' files, and the token must never go there).
- `TrustEnvOnceSession`: the `requests` session both go through, one per thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from github import Auth, Github
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)

from release_assets.lib.github_http import (
    TRANSPORT_ERRORS,
    DeadlineExceeded,
    GitHubError,
    NotFound,
    connection_problem,
    header,
    path_of,
)


def stream_download(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    *,
    record: Callable[..., None],
    max_bytes: int,
    chunk_size: int,
    timeout: float,
    deadline_seconds: float,
) -> Iterator[bytes]:
    """The file's bytes, piece by piece as they arrive; `record` counts the response."""
    give_up = time.monotonic() + deadline_seconds
    try:
        response = session.get(
            url, headers=headers, stream=True, timeout=min(timeout, deadline_seconds)
        )
    except TRANSPORT_ERRORS as exc:
        raise GitHubError(f"GET {path_of(url)}: {connection_problem(exc)}", url=url) from None
    with response:
        record(response.status_code, dict(response.headers), points=0)
        if response.status_code >= 400:
            response.raw.read(64 * 1024)  # drain the (small) error body: keeps the connection
        if response.status_code == 404:
            raise NotFound(f"GET {path_of(url)}: not found (HTTP 404)", status=404, url=url)
        if response.status_code >= 400:
            raise GitHubError(
                f"GET {path_of(url)}: HTTP {response.status_code}",
                status=response.status_code, url=url,
            )
        total = 0
        while True:
            try:
                # read1: whatever has arrived (up to chunk_size), so the deadline is checked
                # between pieces even when the server sends a byte at a time
                chunk = response.raw.read1(chunk_size, decode_content=True)
            except TRANSPORT_ERRORS as exc:
                raise GitHubError(
                    f"GET {path_of(url)}: download cut off ({connection_problem(exc)})", url=url
                ) from None
            if not chunk:
                return
            total += len(chunk)
            if total > max_bytes:
                raise GitHubError(f"GET {path_of(url)}: larger than the {max_bytes}-byte cap", url=url)
            if time.monotonic() > give_up:
                raise DeadlineExceeded(
                    f"GET {path_of(url)}: download took longer than its {deadline_seconds:.0f}s "
                    "deadline", url=url,
                )
            yield chunk


class TrustEnvOnceSession(requests.Session):
    """Reads proxy and CA settings from the environment once per host, not on every request
    (requests re-reads the environment and looks for ~/.netrc each time: a fifth of a small
    download). Never uses ~/.netrc: the only credential sent is the API token, to the API host."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._by_host: dict[tuple[str, str], Mapping[str, Any]] = {}

    def _environment(self, url: str) -> Mapping[str, Any]:
        parts = urlsplit(url)
        host = (parts.scheme, parts.netloc)
        if host not in self._by_host:
            with requests.Session() as probe:  # trust_env: reads HTTPS_PROXY, NO_PROXY, CA bundle
                self._by_host[host] = probe.merge_environment_settings(url, {}, None, None, None)
        return self._by_host[host]

    def merge_environment_settings(  # type: ignore[override]
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Mapping[str, Any]:
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


# -- PyGithub's requester carries the API requests; the wire of each attempt is ours ------------
READ_SIZE = 1 << 16


class BodyCut(Exception):
    """The connection dropped after the headers, before the whole body arrived."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


@dataclass
class Exchange:
    """One attempt the client hands to PyGithub: how our connection class sends it, and what it
    saw that PyGithub must not act on (a redirect is the client's to follow and count)."""

    origin: str  # scheme://host[:port] of the API, spelled as the client was given it
    session: requests.Session
    timeout: float
    check_deadline: Callable[[], object]  # raises DeadlineExceeded once the deadline has passed
    abandoned: Callable[[int], None]  # counts a response given up on mid-body
    location: str | None = None


_CURRENT = threading.local()


@contextmanager
def exchange(current: Exchange) -> Iterator[Exchange]:
    previous = getattr(_CURRENT, "exchange", None)
    _CURRENT.exchange = current
    try:
        yield current
    finally:
        _CURRENT.exchange = previous


class _Answer(RequestsResponse):
    """What PyGithub reads: the body as text, surrogate-escaped so the client gets the exact
    bytes back (invalid UTF-8 stays invalid JSON)."""

    def __init__(self, response: requests.Response, headers: dict[str, str], body: bytes) -> None:
        self.status = response.status_code
        self.headers = headers  # type: ignore[assignment]
        self.response = response
        self._body = body

    def read(self) -> str:
        return self._body.decode("utf-8", "surrogateescape")


class _Streaming:
    """PyGithub's connection class for our client's requests (inside `exchange`): the client's
    session (proxies, keep-alive), a timeout within the deadline, the body read piece by piece
    against it. Outside `exchange` (not one of our client's requests) it is PyGithub's own."""

    stock: type[HTTPRequestsConnectionClass] | type[HTTPSRequestsConnectionClass]

    def __init__(self, host: str, port: int | None = None, strict: bool = False,
                 timeout: int | None = None, retry: Any = None, pool_size: int | None = None,
                 **kwargs: Any) -> None:
        self.host, self.port = host, port or 0  # unused here: requests go to the API origin
        self._args = (host, port, strict, timeout, retry, pool_size, kwargs)
        self._fallback: HTTPRequestsConnectionClass | HTTPSRequestsConnectionClass | None = None

    def request(self, verb: str, url: str, input: Any, headers: dict[str, str],
                stream: bool = False) -> None:
        self.verb, self.url, self.input, self.headers, self.stream = verb, url, input, headers, stream

    def getresponse(self) -> RequestsResponse:
        current: Exchange | None = getattr(_CURRENT, "exchange", None)
        if current is None:
            if self._fallback is None:
                host, port, strict, timeout, retry, pool_size, kwargs = self._args
                self._fallback = self.stock(host, port, strict, timeout, retry, pool_size, **kwargs)
            self._fallback.request(self.verb, self.url, self.input, self.headers, self.stream)
            return self._fallback.getresponse()
        response = current.session.request(
            self.verb, current.origin + self.url, headers=self.headers, data=self.input,
            stream=True, timeout=current.timeout, allow_redirects=False,
        )
        with response:
            chunks: list[bytes] = []
            try:
                while chunk := response.raw.read1(READ_SIZE, decode_content=True):
                    chunks.append(chunk)
                    current.check_deadline()
            except DeadlineExceeded:
                current.abandoned(response.status_code)  # it was sent: count it
                raise
            except TRANSPORT_ERRORS as exc:
                raise BodyCut(connection_problem(exc)) from None
        headers = dict(response.headers)
        if 300 <= response.status_code < 400:  # PyGithub would follow a 301 itself, uncounted
            current.location = header(headers, "location")
            headers = {k: v for k, v in headers.items() if k.lower() != "location"}
        return _Answer(response, headers, b"".join(chunks))

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()


class _StreamingHTTP(_Streaming, HTTPRequestsConnectionClass):
    stock = HTTPRequestsConnectionClass


class _StreamingHTTPS(_Streaming, HTTPSRequestsConnectionClass):
    stock = HTTPSRequestsConnectionClass


_INSTALL = threading.Lock()


def pygithub(base_url: str, token: str | None, *, timeout: float, user_agent: str) -> Github:
    """A PyGithub client whose requester sends through `_Streaming`, with no retries and no
    pacing of its own (the client's loop does both). PyGithub injects connection classes
    process-wide, but a Requester binds them when built: so they are injected only while ours
    is built, then PyGithub's own are put back for anyone else in the process."""
    with _INSTALL:
        Requester.injectConnectionClasses(_StreamingHTTP, _StreamingHTTPS)
        try:
            return Github(
                base_url=base_url, auth=Auth.Token(token) if token else None, per_page=100,
                retry=None, timeout=max(1, int(timeout + 0.999)), user_agent=user_agent,
                seconds_between_requests=None, seconds_between_writes=None,
            )
        finally:
            Requester.resetConnectionClasses()
