"""Complete a repository past GitHub's 1,000-release REST ceiling through GraphQL.

The REST list (`GET /repos/{o}/{r}/releases`) stops after 1,000 releases; GraphQL's
`repository.releases` connection does not. The REST pages already hold the newest `known`
releases, so only the older remainder is needed: the connection is ordered newest first
(`CREATED_AT DESC`, the REST list's order) and read from its far end backwards (`last`/`before`),
which costs one point per 100 missing releases instead of re-reading the first 1,000 (cursors
are opaque, so there is no way to jump to position 1,000 going forwards).

Nodes are converted to the REST JSON shape the ingestion reads, so one code path stores both.
A release with more than 100 artifacts pages its `releaseAssets` connection separately.
"""

from __future__ import annotations

from typing import Any

from release_assets.lib.github_client import GitHubClient, GitHubError

PAGE = 100  # GitHub's maximum for `first`/`last`

_ASSET_FIELDS = """
  totalCount
  pageInfo { hasNextPage endCursor }
  nodes { databaseId name contentType size downloadCount digest downloadUrl createdAt updatedAt }
"""

# One page of 100 releases with up to 100 artifacts each: 1 + 100 connections = 1 point.
RELEASES_QUERY = (
    """
query($owner: String!, $name: String!, $last: Int!, $before: String) {
  rateLimit { cost remaining }
  repository(owner: $owner, name: $name) {
    releases(last: $last, before: $before, orderBy: {field: CREATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasPreviousPage startCursor }
      nodes {
        databaseId tagName name description isDraft isPrerelease createdAt publishedAt url
        author { login }
        releaseAssets(first: 100) {"""
    + _ASSET_FIELDS
    + """}
      }
    }
  }
}
"""
)

ASSETS_QUERY = (
    """
query($owner: String!, $name: String!, $tag: String!, $after: String) {
  rateLimit { cost remaining }
  repository(owner: $owner, name: $name) {
    release(tagName: $tag) {
      releaseAssets(first: 100, after: $after) {"""
    + _ASSET_FIELDS
    + """}
    }
  }
}
"""
)


def _artifact(node: dict[str, Any]) -> dict[str, Any]:
    """A `ReleaseAsset` node in the REST `assets[]` shape."""
    return {
        "id": node["databaseId"],
        "name": node["name"],
        "content_type": node.get("contentType"),
        "size": node.get("size"),
        "download_count": node.get("downloadCount") or 0,
        "digest": node.get("digest"),
        "browser_download_url": node.get("downloadUrl"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
    }


def release_from_node(node: dict[str, Any], artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    """A `Release` node in the REST list shape (`body` may be null, `published_at` too)."""
    author = node.get("author") or None
    return {
        "id": node["databaseId"],
        "tag_name": node["tagName"],
        "name": node.get("name"),
        "body": node.get("description"),
        "draft": bool(node.get("isDraft")),
        "prerelease": bool(node.get("isPrerelease")),
        "created_at": node.get("createdAt"),
        "published_at": node.get("publishedAt"),
        "html_url": node.get("url"),
        "author": {"login": author["login"]} if author and author.get("login") else None,
        "assets": [_artifact(a) for a in artifacts],
    }


def _split(repo: str) -> tuple[str, str]:
    owner, _, name = repo.partition("/")
    if not owner or not name:
        raise GitHubError(f"not a repository key: {repo!r}")
    return owner, name


def _repository(data: dict[str, Any], repo: str) -> dict[str, Any]:
    found = data.get("repository")
    if not isinstance(found, dict):
        raise GitHubError(f"GraphQL: no repository {repo}")
    return found


def _remaining_artifacts(
    client: GitHubClient, repo: str, tag: str, connection: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every artifact of a release whose first 100 did not hold them all."""
    owner, name = _split(repo)
    nodes = list(connection.get("nodes") or [])
    info = connection.get("pageInfo") or {}
    while info.get("hasNextPage"):
        data = client.graphql(
            ASSETS_QUERY,
            {"owner": owner, "name": name, "tag": tag, "after": info.get("endCursor")},
        )
        release = _repository(data, repo).get("release")
        if not isinstance(release, dict):
            break  # deleted meanwhile: keep what was read
        connection = release["releaseAssets"]
        nodes.extend(connection.get("nodes") or [])
        info = connection.get("pageInfo") or {}
    return nodes


def complete_with_graphql(client: GitHubClient, repo: str, known: int) -> list[dict[str, Any]]:
    """The releases of `repo` after the newest `known` ones, newest first, in REST shape.

    The hook `fetch_releases(..., complete_beyond_ceiling=)` calls when the REST list stopped
    at its ceiling. The caller drops any release the REST pages already returned (a release
    published between the two reads shifts positions by one, so pages may overlap).
    """
    owner, name = _split(repo)
    collected: list[list[dict[str, Any]]] = []  # in reading order: oldest page first
    fetched = 0
    before: str | None = None
    while True:
        data = client.graphql(
            RELEASES_QUERY, {"owner": owner, "name": name, "last": PAGE, "before": before}
        )
        connection = _repository(data, repo)["releases"]
        total = int(connection.get("totalCount") or 0)
        nodes = [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
        page = []
        for node in nodes:
            assets = node.get("releaseAssets") or {}
            artifacts = list(assets.get("nodes") or [])
            if (assets.get("pageInfo") or {}).get("hasNextPage"):
                artifacts = _remaining_artifacts(client, repo, str(node["tagName"]), assets)
            page.append(release_from_node(node, artifacts))
        collected.append(page)
        fetched += len(nodes)
        info = connection.get("pageInfo") or {}
        # Stop once everything past the REST pages is read (or the list has no older end).
        if fetched >= total - known or not info.get("hasPreviousPage") or not nodes:
            break
        before = info.get("startCursor")
    # Pages were read from the oldest end backwards; each page is itself newest first. The
    # first page read may reach into the REST pages' releases: the caller drops those by id.
    return [release for page in reversed(collected) for release in page]


__all__ = ["ASSETS_QUERY", "RELEASES_QUERY", "complete_with_graphql", "release_from_node"]
