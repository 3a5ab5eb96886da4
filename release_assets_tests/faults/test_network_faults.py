"""Transport faults: bodies cut short are retried like 5xx, a trickling server cannot hold a run
past the repository deadline, an HTML 502 is reported as HTTP 502. The other repositories are
stored either way, and the faulty one keeps what it had."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from release_assets.lib.github_client import DeadlineExceeded
from release_assets_tests.faults.helpers import DAY1, DAY2, fast_client, refresh, rows, stored_state
from release_assets_tests.faults.test_hostile_payloads import bump_downloads
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World


def test_a_body_closed_early_is_retried_and_counted(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=3, artifacts=2)
    github_server.inject(r"/releases", kind="close_early", repo=repo, times=2)
    client = fast_client(github_server.url)
    result = refresh(client, db_path, [repo], DAY1, "run-1")[repo]
    assert result.status == "ok" and result.releases == 3 and result.artifacts == 6
    assert result.requests == 3 == github_server.stats.requests  # both cut attempts counted
    assert client.stats.retries == 2


def test_persistent_faults_fail_one_repository_with_the_reason(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    cut, html, good = generate_org(world, "acme", repos=3, releases=2, artifacts=1)
    client = fast_client(github_server.url)
    refresh(client, db_path, [cut, html, good], DAY1, "run-1")
    kept = {repo: stored_state(db_path, repo) for repo in (cut, html)}
    for repo in (cut, html, good):
        bump_downloads(world, repo)
    github_server.inject(r"/releases", kind="close_early", repo=cut, times=None)
    github_server.inject(r"/releases", kind="html_502", repo=html, times=None)
    results = refresh(client, db_path, [cut, html, good], DAY2, "run-2")

    assert results[good].status == "ok" and results[good].snapshots == 2
    assert results[cut].status == "failed"
    assert "response cut off (connection closed before the whole body arrived) after 4 attempts" \
        in (results[cut].error or "")
    assert results[html].status == "failed"
    assert (results[html].error or "").endswith("HTTP 502") and "JSON" not in (results[html].error or "")
    assert results[cut].requests == results[html].requests == 4  # every retry counted
    for repo in (cut, html):  # what was stored stays, and no snapshot claims today's counts
        assert stored_state(db_path, repo) == kept[repo]
    assert rows(db_path, "SELECT repo, error FROM repository_fetches WHERE run_id = 'run-2' "
                         "AND status = 'failed' ORDER BY repo") == sorted(
        [(cut, results[cut].error), (html, results[html].error)])


def test_a_trickling_server_is_cut_off_at_the_repository_deadline(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    slow, good = generate_org(world, "acme", repos=2, releases=2, artifacts=1)
    github_server.inject(r"/releases", kind="trickle", repo=slow, times=None, trickle=0.2)
    client = fast_client(github_server.url, repository_deadline_seconds=1.5)
    started = time.monotonic()
    results = refresh(client, db_path, [slow, good], DAY1, "run-1")
    assert time.monotonic() - started < 10  # the full body would take minutes at 5 bytes/s
    assert results[good].status == "ok" and results[good].releases == 2
    assert results[slow].status == "failed"
    assert f"repository {slow} took longer than its 2s deadline" in (results[slow].error or "")
    assert results[slow].requests == 1
    assert rows(db_path, "SELECT count(*) FROM releases WHERE repo = ?", [slow]) == [(0,)]


def test_a_secondary_limit_waits_as_asked_then_stores(
    world: World, github_server: GitHubServer, db_path: Path
) -> None:
    [repo] = generate_org(world, "acme", repos=1, releases=2, artifacts=1)
    waits: list[float] = []
    github_server.inject(r"/releases", kind="secondary_rate_limit", repo=repo,
                         headers={"Retry-After": "3"})
    client = fast_client(github_server.url, sleep=waits.append)
    result = refresh(client, db_path, [repo], DAY1, "run-1")[repo]
    assert waits == [3.0]
    assert result.status == "ok" and result.releases == 2
    assert (result.requests, result.rate_limit_points) == (2, 1)  # the refusal cost no point


def test_a_trickling_download_is_cut_off_at_the_download_deadline(
    world: World, github_server: GitHubServer
) -> None:
    world.add_repo("acme/app")
    world.add_file("acme/app", "v1", "SHA256SUMS", b"0" * 64 + b"  app.tar.gz\n")
    github_server.inject(r"^/download/", kind="trickle", trickle=0.2, times=None)
    client = fast_client(github_server.url, download_deadline_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="longer than its 1s deadline"):
        b"".join(client.download(f"{github_server.url}/download/acme/app/v1/SHA256SUMS",
                                 max_bytes=1 << 20))
    assert time.monotonic() - started < 5  # 78 bytes at 5 a second would take 16 s
