"""Fetch: a repository's release list from GitHub, page by page, conditional on stored ETags.

No database here: the pages (and, past GitHub's 1,000-release REST ceiling, the releases a
completer read elsewhere) are handed to the row mapping as GitHub sent them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from release_assets.lib.github_client import (
    REST_RESULT_CEILING,
    GitHubClient,
    Page,
    RestCeilingReached,
    Validator,
)
from release_assets.lib.ingest.rows import release_key

# (client, repository, releases already listed) -> the older releases, in the REST JSON shape
Completer = Callable[[GitHubClient, str, int], list[dict[str, Any]]]


@dataclass
class FetchedReleases:
    repo: str
    pages: list[Page]
    truncated: bool = False
    completed_via: str = "rest"
    extra_releases: list[Any] = field(default_factory=list)  # beyond the REST ceiling

    @property
    def changed(self) -> bool:
        return any(not p.not_modified for p in self.pages) or bool(self.extra_releases)

    def release_ids(self) -> set[int]:
        """Every well-formed release id listed, including those of pages answered 304."""
        ids: set[int] = set()
        for page in self.pages:
            ids.update(int(k) for k in page.validator.item_keys)
        ids.update(int(k) for k in map(release_key, self.extra_releases) if k is not None)
        return ids


def fetch_releases(
    client: GitHubClient,
    repo: str,
    validators: dict[str, Validator],
    *,
    complete_beyond_ceiling: Completer | None = None,
) -> FetchedReleases:
    """Every page of a repository's release list; 304 pages are reused from storage."""
    pages: list[Page] = []
    result = FetchedReleases(repo=repo, pages=pages)
    listed = 0
    try:
        for page in client.pages(client.releases_url(repo), validators, item_key=release_key):
            pages.append(page)
            listed += len(page.items) if page.items is not None else len(page.validator.item_keys)
            if listed >= REST_RESULT_CEILING and page.validator.next_url:
                # The next page lies past GitHub's ceiling and would only answer 422: a
                # request (and a rate-limit point) spent to learn what is already known.
                result.truncated = True
                break
    except RestCeilingReached:
        # GitHub answers 422 past 1,000 results (reached here with another page size).
        result.truncated = True
    if result.truncated and complete_beyond_ceiling is not None:
        # Completed through GraphQL when a completer is available; reported either way.
        seen = {key for p in pages for key in p.validator.item_keys}
        malformed = sum(len(p.items) - len(p.validator.item_keys) for p in pages if p.items)
        extra = complete_beyond_ceiling(client, repo, len(seen) + malformed)
        # A completer may overlap the REST pages (a release published between the two
        # reads shifts positions): one row per release id, the REST copy first.
        unique: dict[str, Any] = {}
        for index, release in enumerate(extra):
            unique.setdefault(release_key(release) or f"malformed:{index}", release)
        result.extra_releases = [r for k, r in unique.items() if k not in seen]
        result.completed_via = "graphql"
    return result
