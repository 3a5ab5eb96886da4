"""The GitHub client against a local server speaking GitHub's protocol: cost, 304s, faults."""

from __future__ import annotations

import http.server
import math
import threading

import pytest

from release_assets.lib.github_client import GitHubClient, GitHubError, NotFound, RateLimited
from release_assets.lib.ingest import fetch_releases
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World


def test_release_list_costs_one_request_per_100_releases(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=250, artifacts=3)
    fetched = fetch_releases(client, repo, {})
    assert len(fetched.pages) == math.ceil(250 / 100)
    assert sum(len(p.items or []) for p in fetched.pages) == 250
    assert github_server.stats.requests == 3
    assert github_server.stats.by_route.get("release_assets", 0) == 0  # never per-release assets


def test_second_fetch_is_all_304_and_free(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=150, artifacts=2)
    first = fetch_releases(client, repo, {})
    validators = {p.key: p.validator for p in first.pages}
    points_before = client.stats.rate_limit_points
    second = fetch_releases(client, repo, validators)
    assert [p.not_modified for p in second.pages] == [True, True]
    assert client.stats.rate_limit_points == points_before
    assert second.release_ids() == first.release_ids()


def test_5xx_is_retried_with_backoff(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=5, artifacts=1)
    github_server.inject(r"/releases", status=502, times=2)
    fetched = fetch_releases(client, repo, {})
    assert len(fetched.pages[0].items or []) == 5
    assert client.stats.retries == 2


def test_persistent_5xx_gives_a_clear_error(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=5, artifacts=1)
    github_server.inject(r"/releases", status=503, times=10)
    with pytest.raises(GitHubError, match="HTTP 503"):
        fetch_releases(client, repo, {})


def test_secondary_rate_limit_waits_retry_after(world: World, github_server: GitHubServer) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=5, artifacts=1)
    waits: list[float] = []
    # the clock is injected: the wait GitHub asked for is the point, not the seconds spent
    client = GitHubClient(github_server.url, TEST_TOKEN, sleep=waits.append)
    github_server.inject(
        r"/releases", status=403, times=1, headers={"Retry-After": "3"},
        body={"message": "You have exceeded a secondary rate limit."},
    )
    fetch_releases(client, repo, {})
    assert 3.0 in waits


def test_rate_limit_beyond_the_cap_fails_clearly(
    world: World, github_server: GitHubServer
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=5, artifacts=1)
    client = GitHubClient(github_server.url, TEST_TOKEN, max_rate_limit_wait=1, backoff_seconds=0)
    github_server.inject(r"/releases", status=429, times=5, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited, match="rate limited"):
        fetch_releases(client, repo, {})


def test_truncated_json_is_retried_then_reported(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=5, artifacts=1)
    github_server.inject(r"/releases", truncate=True, times=10)
    with pytest.raises(GitHubError, match="not valid JSON"):
        fetch_releases(client, repo, {})


def test_missing_repository_is_not_found(github_server: GitHubServer, client: GitHubClient) -> None:
    with pytest.raises(NotFound, match="404"):
        fetch_releases(client, "acme/nothing-here", {})


def test_token_never_leaves_the_api_host(github_server: GitHubServer) -> None:
    client = GitHubClient(github_server.url, TEST_TOKEN)
    with pytest.raises(GitHubError, match="refusing to send API credentials"):
        client.get("http://example.invalid/repos/a/b")


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that answers every request itself, remembering what it was asked."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        body = b"via proxy"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_downloads_follow_the_proxy_settings_of_the_environment(
    world: World, github_server: GitHubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_repo("acme/app")
    world.add_file("acme/app", "v1", "notes.txt", b"direct")
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
    try:
        client = GitHubClient(github_server.url, TEST_TOKEN)
        elsewhere = "http://files.example.test/acme/app/notes.txt"
        assert b"".join(client.download(elsewhere, max_bytes=100)) == b"via proxy"
        assert _Proxy.seen == [(elsewhere, None)]  # through the proxy, without the token
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = f"{github_server.url}/download/acme/app/v1/notes.txt"
        assert b"".join(GitHubClient(github_server.url, TEST_TOKEN).download(
            direct, max_bytes=100)) == b"direct"
        assert len(_Proxy.seen) == 1
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_errors_and_stats_never_contain_the_token(
    world: World, github_server: GitHubServer, client: GitHubClient
) -> None:
    github_server.inject(r"/releases", status=500, times=10)
    with pytest.raises(GitHubError) as error:
        fetch_releases(client, "acme/x", {})
    assert TEST_TOKEN not in str(error.value)
    assert TEST_TOKEN not in repr(client.stats) and TEST_TOKEN not in client.token_identity


def test_requests_are_spaced_by_their_secondary_limit_points(
    world: World, github_server: GitHubServer
) -> None:
    """GitHub counts 1 point per GET and 5 per POST against ~900 a minute: a POST that reads
    (the bulk attestation listing) holds the next request back five times as long."""
    world.add_org("acme")
    waits: list[float] = []
    client = GitHubClient(
        github_server.url, TEST_TOKEN, min_seconds_between_requests=60.0, sleep=waits.append
    )
    client.get("/orgs/acme")
    client.post("/orgs/acme/attestations/bulk-list", {"subject_digests": ["sha256:" + "0" * 64]})
    client.get("/orgs/acme")
    client.get("/orgs/acme")
    # The injected sleep does not advance the clock, so the slots accumulate: after the first
    # GET one interval, after the POST five more, after the next GET one more.
    assert len(waits) == 3
    assert [round(w / 60) for w in waits] == [1, 6, 7]
