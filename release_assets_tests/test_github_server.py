"""The local GitHub-compatible server, exercised over real HTTP with PyGithub and `requests`."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from github import Auth, Github, GithubException

import release_assets_tests.github_server as github_server_package
from release_assets.demo.snapshot import COMPOSED_REPOSITORIES, DEMO_REPOSITORIES, RECORDINGS
from release_assets_tests.generated_org import generate_big_repo, generate_org
from release_assets_tests.github_server import (
    FAULT_KINDS,
    FIVE_THOUSAND_DIGIT_TAG,
    GitHubServer,
    World,
    hostile_text_releases,
    load_demo_world,
)

TOKEN = "t"
AUTH = {"Authorization": f"token {TOKEN}"}
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"  # ../shared beside the clone


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def server(world: World) -> Iterator[GitHubServer]:
    with GitHubServer(world, token=TOKEN) as running:
        yield running


def github(server: GitHubServer, token: str | None = TOKEN) -> Github:
    return Github(base_url=server.url, auth=Auth.Token(token) if token else None, per_page=100,
                  seconds_between_requests=0, retry=None)


def links(response: requests.Response) -> dict[str, str]:
    return {rel: link["url"] for rel, link in response.links.items()}


# -- REST: pagination, conditional requests, rate limits -------------------------------------
@pytest.mark.parametrize("count", [0, 100, 250])
def test_pygithub_pages_by_link(world: World, server: GitHubServer, count: int) -> None:
    world.add_repo("acme/tool")
    world.add_releases("acme/tool", [{"tag_name": f"v1.{i}.0"} for i in range(count)][::-1])
    releases = list(github(server).get_repo("acme/tool").get_releases())
    assert [r.tag_name for r in releases] == [f"v1.{i}.0" for i in range(count)][::-1]
    assert server.stats.by_route["releases"] == max(1, math.ceil(count / 100))


def test_link_header_is_absolute_and_uses_repository_ids(world: World, server: GitHubServer) -> None:
    repo_id = world.add_repo("acme/tool")["id"]
    world.add_releases("acme/tool", [{"tag_name": f"v{i}"} for i in range(250)])
    first = requests.get(f"{server.url}/repos/acme/tool/releases?per_page=100", headers=AUTH)
    base = f"{server.url}/repositories/{repo_id}/releases?per_page=100"
    assert links(first) == {"next": f"{base}&page=2", "last": f"{base}&page=3"}
    middle = requests.get(links(first)["next"], headers=AUTH)
    assert set(links(middle)) == {"prev", "next", "last", "first"}
    last = requests.get(links(first)["last"], headers=AUTH)
    assert len(last.json()) == 50 and set(links(last)) == {"prev", "first"}
    default = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
    assert len(default.json()) == 30  # GitHub's default page size


def test_etag_304_costs_no_rate_limit(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    stored = world.add_release("acme/tool", {"tag_name": "v1", "assets": [{"name": "a.zip"}]})
    url = f"{server.url}/repos/acme/tool/releases?per_page=100"
    first = requests.get(url, headers=AUTH)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Last-Modified"]
    again = requests.get(url, headers={**AUTH, "If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["X-RateLimit-Remaining"] == first.headers["X-RateLimit-Remaining"]
    assert server.stats.not_modified == 1 and server.stats.rate_limit_points == 1
    world.set_download_count(stored["assets"][0]["id"], 7)  # a download changes the list
    changed = requests.get(url, headers={**AUTH, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()[0]["assets"][0]["download_count"] == 7
    assert changed.json()[0]["updated_at"] >= first.json()[0]["updated_at"]


def test_etags_differ_per_token(world: World) -> None:
    world.add_repo("acme/tool")
    with GitHubServer(world) as open_server:  # no token required: any token is accepted
        url = f"{open_server.url}/repos/acme/tool"
        one = requests.get(url, headers={"Authorization": "token one"}).headers["ETag"]
        two = requests.get(url, headers={"Authorization": "token two"}).headers["ETag"]
        assert one != two


def test_rate_limit_headers_count_down_and_rate_limit_is_free(
    world: World, server: GitHubServer
) -> None:
    world.add_repo("acme/tool")
    seen = [requests.get(f"{server.url}/repos/acme/tool", headers=AUTH) for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["4999", "4998", "4997"]
    assert seen[-1].headers["X-RateLimit-Used"] == "3"
    assert seen[-1].headers["X-RateLimit-Resource"] == "core"
    assert int(seen[-1].headers["X-RateLimit-Reset"]) > time.time()
    core = github(server).get_rate_limit().resources.core
    assert core.remaining == 4997


def test_exhausted_rate_limit_is_403_until_reset(world: World) -> None:
    world.add_repo("acme/tool")
    with GitHubServer(world, token=TOKEN, rate_limit=2, rate_limit_reset_seconds=0.5) as server:
        url = f"{server.url}/repos/acme/tool"
        assert [requests.get(url, headers=AUTH).status_code for _ in range(2)] == [200, 200]
        refused = requests.get(url, headers=AUTH)
        assert refused.status_code == 403
        assert refused.json()["message"].startswith("API rate limit exceeded for")
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        with pytest.raises(GithubException) as error:  # PyGithub sees the same
            github(server).get_repo("acme/tool")
        assert error.value.status == 403
        time.sleep(max(0.0, int(refused.headers["X-RateLimit-Reset"]) - time.time()) + 0.05)
        assert requests.get(url, headers=AUTH).status_code == 200


def test_release_list_stops_at_1000_results(world: World, server: GitHubServer) -> None:
    generate_big_repo(world, "acme/big", releases=1500)
    url = f"{server.url}/repos/acme/big/releases?per_page=100"
    tenth = requests.get(f"{url}&page=10", headers=AUTH)
    assert tenth.status_code == 200 and "next" in links(tenth)
    refused = requests.get(links(tenth)["next"], headers=AUTH)
    assert refused.status_code == 422
    assert refused.json()["message"] == "Only the first 1000 results are available."
    with pytest.raises(GithubException) as error:
        list(github(server).get_repo("acme/big").get_releases())
    assert error.value.status == 422


def test_single_release_routes(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    world.add_release("acme/tool", {"tag_name": "v1.0.0", "created_at": "2024-01-01T00:00:00Z"})
    world.add_release("acme/tool", {"tag_name": "v2.0.0-rc.1", "prerelease": True,
                                    "created_at": "2024-02-01T00:00:00Z"})
    draft = world.add_release("acme/tool", {"tag_name": "v2.0.0", "draft": True})
    repo = github(server).get_repo("acme/tool")
    assert repo.get_latest_release().tag_name == "v1.0.0"
    assert repo.get_release("v2.0.0-rc.1").prerelease
    assert repo.get_release(draft["id"]).draft
    assert draft["published_at"] is None
    with GitHubServer(world) as anonymous:  # drafts are listed only for tokens with push access
        tags = [r["tag_name"] for r in requests.get(f"{anonymous.url}/repos/acme/tool/releases").json()]
        assert tags == ["v2.0.0-rc.1", "v1.0.0"]


def test_artifact_download_redirects_and_token_stays_on_the_api(
    world: World, server: GitHubServer
) -> None:
    world.add_repo("acme/tool")
    stored = world.add_release("acme/tool", {"tag_name": "v1", "assets": [
        {"name": "checksums.txt"}, {"name": "tool.tar.gz", "size": 10}]})
    world.add_file("acme/tool", "v1", "checksums.txt", b"abc  tool.tar.gz\n")
    checksums, binary = stored["assets"]
    assert checksums["browser_download_url"] == f"{server.url}/download/acme/tool/v1/checksums.txt"
    assert requests.get(checksums["browser_download_url"]).content == b"abc  tool.tar.gz\n"
    assert requests.get(binary["browser_download_url"]).status_code == 404
    via_api = requests.get(checksums["url"], headers={**AUTH, "Accept": "application/octet-stream"},
                           allow_redirects=False)
    assert via_api.status_code == 302 and via_api.headers["Location"] == checksums["browser_download_url"]
    assert requests.get(checksums["url"], headers=AUTH).json()["name"] == "checksums.txt"
    downloads = [r for r in server.request_log if r.route == "download"]
    assert downloads and not any(r.authorized for r in downloads)


def test_mutations_replace_delete_archive_move(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    stored = world.add_release("acme/tool", {"tag_name": "v1", "assets": [
        {"name": "a.zip", "download_count": 5, "digest": "sha256:" + "1" * 64}]})
    new = world.replace_artifact("acme/tool", stored["id"], "a.zip", size=3)
    assert new["id"] != stored["assets"][0]["id"] and new["download_count"] == 0
    assert [a["id"] for a in world.releases("acme/tool")[0]["assets"]] == [new["id"]]
    world.edit_release("acme/tool", stored["id"], body="## Notes")
    assert world.release("acme/tool", stored["id"])["body"] == "## Notes"
    world.archive_repo("acme/tool")
    gh = github(server)
    assert gh.get_repo("acme/tool").archived
    world.move_repo("acme/tool", "acme/renamed")
    moved = requests.get(f"{server.url}/repos/acme/tool", headers=AUTH, allow_redirects=False)
    assert moved.status_code == 301 and "/repositories/" in moved.headers["Location"]
    assert requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH).json()[0]["id"] == stored["id"]
    world.delete_release("acme/renamed", stored["id"])
    assert requests.get(f"{server.url}/repos/acme/renamed/releases", headers=AUTH).json() == []
    world.delete_repo("acme/renamed")
    assert requests.get(f"{server.url}/repos/acme/renamed", headers=AUTH).status_code == 404


def test_org_listing_and_attestations(world: World, server: GitHubServer) -> None:
    names = generate_org(world, "acme", repos=45, releases=2, artifacts=3)
    world.add_repo("acme/old-fork", fork=True)
    listed = list(github(server).get_organization("acme").get_repos())
    assert len(listed) == 46 and server.stats.by_route["org_repos"] == 1
    sources = requests.get(f"{server.url}/orgs/acme/repos?type=sources&per_page=100", headers=AUTH)
    assert len(sources.json()) == 45
    digest = world.releases(names[0])[0]["assets"][0]["digest"]
    world.add_attestations(names[0], digest, [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}])
    found = requests.get(f"{server.url}/repos/{names[0]}/attestations/{digest}", headers=AUTH)
    assert found.json()["attestations"][0]["bundle_url"] is None
    none = requests.get(f"{server.url}/repos/{names[0]}/attestations/sha256:{'0' * 64}", headers=AUTH)
    assert none.status_code == 404


# -- faults and auth ----------------------------------------------------------------------------
def test_injected_500_once_then_ok(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    server.inject(r"/repos/acme/tool$", status=500)
    url = f"{server.url}/repos/acme/tool"
    assert [requests.get(url, headers=AUTH).status_code for _ in range(2)] == [500, 200]


def test_injected_truncation_headers_delay_and_clear(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    url = f"{server.url}/repos/acme/tool"
    server.inject(r"/repos/acme/tool", truncate=True)
    truncated = requests.get(url, headers=AUTH)
    assert truncated.status_code == 200
    with pytest.raises(ValueError):
        truncated.json()
    server.inject(r"/repos/acme/tool", status=403, headers={"Retry-After": "1"},
                  body={"message": "You have exceeded a secondary rate limit."})
    limited = requests.get(url, headers=AUTH)
    assert (limited.status_code, limited.headers["Retry-After"]) == (403, "1")
    server.inject(r"/repos/acme/tool", delay=0.2)
    started = time.monotonic()
    assert requests.get(url, headers=AUTH).status_code == 200
    assert time.monotonic() - started >= 0.2
    server.inject(r"/repos/acme/tool", status=502, times=5)
    server.clear_faults()
    assert requests.get(url, headers=AUTH).status_code == 200


def test_bad_or_missing_credentials_are_401(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    url = f"{server.url}/repos/acme/tool"
    assert requests.get(url).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "token nope"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    assert requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert [r.authorized for r in server.request_log] == [False, True, True]
    assert github(server).get_user().login


# -- GraphQL ------------------------------------------------------------------------------------
RELEASES_QUERY = """
query($owner: String!, $name: String!, $after: String) {
  rateLimit { cost limit remaining resetAt used }
  repository(owner: $owner, name: $name) {
    databaseId nameWithOwner isArchived
    releases(first: 100, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { databaseId tagName isLatest releaseAssets(first: 10) {
        totalCount nodes { databaseId name digest downloadUrl } } }
    }
  }
}"""


def graphql(server: GitHubServer, query: str, variables: dict | None = None) -> dict:
    response = requests.post(f"{server.url}/graphql", json={"query": query, "variables": variables or {}},
                             headers=AUTH)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Resource"] == "graphql"
    return response.json()


def test_graphql_pages_past_the_rest_ceiling_and_reports_cost(
    world: World, server: GitHubServer
) -> None:
    generate_big_repo(world, "acme/big", releases=1500)
    expected = [r["id"] for r in world.releases("acme/big")]
    seen: list[int] = []
    after = None
    costs = []
    while True:
        data = graphql(server, RELEASES_QUERY, {"owner": "acme", "name": "big", "after": after})["data"]
        releases = data["repository"]["releases"]
        assert releases["totalCount"] == 1500
        seen += [n["databaseId"] for n in releases["nodes"]]
        costs.append(data["rateLimit"]["cost"])
        if not releases["pageInfo"]["hasNextPage"]:
            break
        after = releases["pageInfo"]["endCursor"]
    assert seen == expected
    # 1 releases connection + 100 artifact connections = 101 requests -> 1 point
    assert costs == [1] * 15
    assert data["rateLimit"]["used"] == 15 and data["rateLimit"]["remaining"] == 4985
    assert server.stats.by_route["graphql"] == 15 and server.stats.rate_limit_points == 15


def test_graphql_cost_aliases_and_limits(world: World, server: GitHubServer) -> None:
    generate_org(world, "acme", repos=3, releases=4, artifacts=2)
    polled = graphql(server, """{ rateLimit { cost }
      a: repository(owner: "acme", name: "atlas") { releases(first: 1) { totalCount nodes { tagName } } }
      b: repository(owner: "acme", name: "beacon") { releases(first: 1) { totalCount } }
      missing: repository(owner: "acme", name: "nope") { databaseId } }""")
    assert polled["data"]["a"]["releases"]["totalCount"] == 4 and polled["data"]["missing"] is None
    assert polled["errors"][0]["type"] == "NOT_FOUND"
    assert polled["data"]["rateLimit"]["cost"] == 1
    # GitHub's documented example: 50 repositories x 20 releases x 50 artifacts = 1,051 -> 11
    big = graphql(server, """{ rateLimit { cost } organization(login: "acme") {
      repositories(first: 50) { totalCount nodes { releases(first: 20) {
        nodes { releaseAssets(first: 50) { nodes { name } } } } } } } }""")
    assert big["data"]["rateLimit"]["cost"] == 11
    assert big["data"]["organization"]["repositories"]["totalCount"] == 3
    too_many = graphql(server, '{ repository(owner: "acme", name: "atlas") { releases(first: 101) { totalCount } } }')
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION" and "data" not in too_many
    unbounded = graphql(server, '{ repository(owner: "acme", name: "atlas") { releases { totalCount } } }')
    assert "must provide a `first` or `last`" in unbounded["errors"][0]["message"]
    invalid = graphql(server, "{ repository(owner: 1) { nope } }")
    assert invalid["errors"]


# -- the demo world -----------------------------------------------------------------------------
def test_demo_world_serves_the_recorded_releases() -> None:
    world = load_demo_world()
    with GitHubServer(world) as server:
        gh = github(server, token=None)
        counts = {}
        for name in DEMO_REPOSITORIES:
            releases = list(gh.get_repo(name).get_releases())
            counts[name] = (len(releases), sum(len(r.assets) for r in releases))
        jq = requests.get(f"{server.url}/repos/stedolan/jq/releases/latest").json()
        sigstore_url = f"{server.url}/download/trailofbits/rfc8785.py/v0.1.2/rfc8785-0.1.2-py3-none-any.whl.sigstore"
        bundle = requests.get(sigstore_url).content
    assert counts["zeit/hyper"] == (11, 71)
    assert counts["stedolan/jq"] == (8, 40)  # 35 recorded + 5 composed sha256sum.txt
    assert counts["nlohmann/json"] == (1, 2)
    assert counts["jwodder/qypi"] == (6, 0) and counts["jwodder/ghutil"] == (0, 0)
    assert counts["trailofbits/rfc8785.py"] == (1, 2)
    assert jq["tag_name"] == "jq-1.5" and jq["id"] == 1678243
    assert bundle == (RECORDINGS / "sigstore" / "bundle_v3_github.whl.sigstore").read_bytes()
    assert COMPOSED_REPOSITORIES == ("trailofbits/rfc8785.py",)


def test_demo_keeps_recorded_values_exactly() -> None:
    world = load_demo_world()
    [hyper_first, *_] = world.releases("zeit/hyper")
    [pygithub] = world.releases("EnricoMi/PyGithub")
    [soro] = world.releases("stellarcarbon/sorocarbon")
    assert hyper_first["tag_name"] == "1.3.1"
    recorded = json.loads((RECORDINGS / "zeit_hyper_releases.json").read_text())
    fields = ("id", "name", "size", "download_count", "created_at", "updated_at", "content_type")

    def facts(releases: list[dict]) -> list[tuple]:
        return [(r["id"], r["tag_name"], r["body"], r["published_at"],
                 [tuple(a[f] for f in fields) for a in r["assets"]]) for r in releases]

    assert facts(world.releases("zeit/hyper")) == facts(recorded)
    assert (pygithub["tag_name"], pygithub["id"]) == ("v1.55", 197548596)
    assert [a["digest"] for a in pygithub["assets"]] == [None, None]  # uploaded before digests
    assert soro["assets"][0]["digest"].startswith("sha256:2e4ca075")


SHARED_DIGESTS = Path(__file__).parent / "fixtures" / "shared-recordings.sha256"


def test_recordings_are_byte_identical_to_the_fixtures() -> None:
    """The demo's recordings are the shared fixtures byte for byte: checked against the sha256 of
    each source file taken from ../shared/fixtures (kept in the repository, so a clone anywhere
    checks them), and against ../shared itself where it sits beside the clone."""
    expected = dict(
        reversed(line.split("  ", 1)) for line in SHARED_DIGESTS.read_text().splitlines()
    )
    recorded = {
        path for path in RECORDINGS.rglob("*") if path.is_file() and path.name != "README.md"
    }
    assert len(recorded) == len(expected)
    for path in recorded:
        relative = path.relative_to(RECORDINGS)
        source = {"sigstore": Path("sigstore/sigstore-python") / path.name,
                  "pygithub-replay": Path("github-api/pygithub-replay") / path.name,
                  ".": Path("github-api") / path.name}[str(relative.parent)]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == expected[str(source)], relative
        if (FIXTURES / source).exists():
            assert path.read_bytes() == (FIXTURES / source).read_bytes(), relative


# -- faults for the reliability suite (package docstring) ---------------------------------------
def two_repos(world: World) -> None:
    for name in ("acme/tool", "acme/other"):
        world.add_repo(name)
        world.add_releases(name, [
            {"tag_name": "v2", "assets": [{"name": "a.tar.gz", "download_count": 7},
                                          {"name": "b.zip", "download_count": 1}]},
            {"tag_name": "v1"},
        ])


def test_close_early_announces_the_whole_body_and_hangs_up(world: World, server: GitHubServer) -> None:
    two_repos(world)
    server.inject(repo="acme/tool", kind="close_early")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
    assert requests.get(f"{server.url}/repos/acme/other/releases", headers=AUTH).ok
    assert len(requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH).json()) == 2


def test_trickle_sends_one_byte_per_interval(world: World, server: GitHubServer) -> None:
    two_repos(world)
    full = requests.get(f"{server.url}/repos/acme/tool", headers=AUTH).content
    server.inject(r"/repos/acme/tool$", kind="trickle", trickle=0.2)
    started = time.monotonic()
    # A per-read timeout longer than the interval never fires: only an overall deadline helps.
    with requests.get(f"{server.url}/repos/acme/tool", headers=AUTH, stream=True,
                      timeout=(1, 0.5)) as response:
        assert int(response.headers["Content-Length"]) == len(full)
        first = response.raw.read(4)
    assert first == full[:4]
    assert time.monotonic() - started >= 0.55  # three intervals between four bytes


def test_html_502_page(world: World, server: GitHubServer) -> None:
    two_repos(world)
    server.inject(r"/releases", kind="html_502", times=2)
    for _ in range(2):
        response = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
        assert response.status_code == 502
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.text.startswith("<!DOCTYPE html>") and "502" in response.text
        with pytest.raises(ValueError):
            response.json()
    assert requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH).status_code == 200


def test_bad_credentials_and_a_missing_org(world: World, server: GitHubServer) -> None:
    two_repos(world)
    server.inject(kind="bad_credentials")
    refused = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
    assert (refused.status_code, refused.json()["message"]) == (401, "Bad credentials")
    assert requests.get(f"{server.url}/orgs/ghost/repos", headers=AUTH).status_code == 404
    server.inject(org="acme", kind="not_found", times=None)
    assert requests.get(f"{server.url}/orgs/acme/repos", headers=AUTH).status_code == 404
    assert requests.get(f"{server.url}/orgs/acme", headers=AUTH).status_code == 404
    assert requests.get(f"{server.url}/repos/acme/tool", headers=AUTH).status_code == 200


def test_primary_rate_limit_exhausted(world: World, server: GitHubServer) -> None:
    two_repos(world)
    server.inject(r"/releases", kind="rate_limit_exhausted", times=None)
    points = server.stats.rate_limit_points
    for _ in range(3):
        answer = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
        assert answer.status_code == 403 and "rate limit exceeded" in answer.json()["message"]
        assert answer.headers["X-RateLimit-Remaining"] == "0"
        assert int(answer.headers["X-RateLimit-Reset"]) > time.time() + 3600
    assert server.stats.rate_limit_points == points  # a refused request costs nothing
    server.clear_faults()
    assert requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH).status_code == 200


def test_secondary_rate_limit_with_retry_after(world: World, server: GitHubServer) -> None:
    two_repos(world)
    server.inject(repo="acme/tool", kind="secondary_rate_limit")
    server.inject(repo="acme/tool", kind="secondary_rate_limit", headers={"Retry-After": "7"})
    first = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
    second = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH)
    assert (first.status_code, second.status_code) == (403, 403)
    assert "secondary rate limit" in first.json()["message"]
    assert (first.headers["Retry-After"], second.headers["Retry-After"]) == ("1", "7")
    assert requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH).status_code == 200


@pytest.mark.parametrize(("kind", "expected"), [
    ("non_object_item", lambda rs: [type(r).__name__ for r in rs] == ["dict", "NoneType", "dict", "str"]),
    ("release_without_id", lambda rs: "id" not in rs[0] and "id" in rs[1]),
    ("huge_id", lambda rs: rs[0]["id"] == 2**64),
    ("draft_string", lambda rs: rs[0]["draft"] == "false" and rs[1]["draft"] is False),
    ("huge_count", lambda rs: rs[0]["assets"][0]["download_count"] == 2**64),
    ("float_count", lambda rs: rs[0]["assets"][0]["download_count"] == 1e300),
    ("negative_download_count", lambda rs: rs[0]["assets"][0]["download_count"] == -5),
])
def test_hostile_release_payloads(world: World, server: GitHubServer, kind: str, expected) -> None:
    two_repos(world)
    server.inject(repo="acme/tool", kind=kind, times=None)
    repo_id = world.repo("acme/tool")["id"]
    for path in ("/repos/acme/tool/releases", f"/repositories/{repo_id}/releases?per_page=100"):
        assert expected(requests.get(server.url + path, headers=AUTH).json()), path
    clean = requests.get(f"{server.url}/repos/acme/other/releases", headers=AUTH).json()
    assert [r["id"] for r in clean] == [r["id"] for r in world.releases("acme/other")]


def test_org_entry_without_full_name(world: World, server: GitHubServer) -> None:
    two_repos(world)
    server.inject(org="acme", kind="entry_without_full_name")
    listed = requests.get(f"{server.url}/orgs/acme/repos", headers=AUTH).json()
    assert "full_name" not in listed[0] and [r.get("full_name") for r in listed[1:]] == ["acme/tool"]


def test_hostile_text_is_stored_and_served_verbatim(world: World, server: GitHubServer) -> None:
    world.add_repo("acme/tool")
    world.add_releases("acme/tool", hostile_text_releases())
    served = requests.get(f"{server.url}/repos/acme/tool/releases", headers=AUTH).json()
    given = hostile_text_releases()
    assert [(r["tag_name"], r["name"], r["body"]) for r in served] == [
        (r["tag_name"], r["name"], r["body"]) for r in given]
    assert served[-1]["tag_name"] == FIVE_THOUSAND_DIGIT_TAG and len(FIVE_THOUSAND_DIGIT_TAG) == 5000
    text = "".join(f"{r['tag_name']}{r['name']}{r['body'] or ''}" for r in served)
    assert all(marker in text for marker in ("|", "\n", "#", "<script>"))
    world.add_file("acme/tool", "v1.0.0|evil", "tool|linux_amd64.tar.gz", b"bytes")
    assert requests.get(served[0]["assets"][0]["browser_download_url"]).content == b"bytes"


def test_fault_kinds_are_documented_and_unknown_ones_refused(server: GitHubServer) -> None:
    guide = github_server_package.__doc__ or ""
    assert [kind for kind in FAULT_KINDS if f"| `{kind}` |" not in guide] == []
    with pytest.raises(ValueError, match="unknown fault kind"):
        server.inject(kind="gremlins")


def test_etags_do_not_depend_on_the_port(world: World) -> None:
    two_repos(world)
    with GitHubServer(world, token=TOKEN) as one, GitHubServer(world, token=TOKEN) as two:
        tags = [requests.get(f"{s.url}/repos/acme/tool/releases", headers=AUTH).headers["ETag"]
                for s in (one, two)]
    assert tags[0] == tags[1]
