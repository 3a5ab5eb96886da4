"""Notice new, edited and deleted releases across many repositories at almost no API cost.

Two ways to ask, chosen per repository, because neither is cheapest everywhere:

- **REST, conditional** (every repository starts here): `GET …/releases?per_page=100` with the
  ETag from the last answer. An unchanged repository answers 304, which costs no rate limit, so a
  dormant organisation costs nothing at all.
- **GraphQL, batched**: any download changes the list's ETag (counts are in the body), so a busy
  repository would cost a point every cycle. After `BUSY_AFTER` answers in a row whose releases
  had not changed, a repository moves to one GraphQL query per 100 repositories asking only for
  the newest release, the release count and the newest release's artifact count (2 points per
  100 repositories, whatever the downloads do).

A repository's *fingerprint* hashes what a release refresh cares about and leaves download
counts out, so only real changes (a release added, edited, deleted, an artifact uploaded)
request a run. What the REST mode sees: the newest 100 releases. What the GraphQL mode sees: the
release count and the newest release. Older edits are left to the weekly refresh.

Work is spread over ticks: each call polls repositories in sorted order from `PollState.offset`
to the end of the list, or until a time budget is spent, so 1,000 repositories on a slow connection never exceed the
sensor time limit.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from release_assets.lib.github_client import (
    GitHubClient,
    GitHubError,
    NotFound,
    RateLimited,
    Validator,
)

REST = "r"
GRAPHQL = "g"
BUSY_AFTER = 2  # consecutive 200s with unchanged releases before a repository goes GraphQL
GRAPHQL_BATCH = 100  # aliased repositories per query (GitHub: cost ≈ connections / 100)
_UNRESOLVED = re.compile(r"Could not resolve to a Repository with the name '([^']+)'")


@dataclass
class RepoState:
    mode: str = REST
    etag: str | None = None  # REST validator: token-bound, so reset when the token changes
    fingerprint: str | None = None  # None: no baseline yet (the next answer sets one silently)
    busy: int = 0  # consecutive 200 answers whose releases had not changed

    def to_json(self) -> list[Any]:
        return [self.mode, self.etag, self.fingerprint, self.busy]

    @classmethod
    def from_json(cls, value: Any) -> RepoState:
        try:
            mode, etag, fingerprint, busy = value
            return cls(str(mode), etag, fingerprint, int(busy))
        except (TypeError, ValueError):
            return cls()


@dataclass
class PollState:
    identity: str = ""  # token fingerprint the ETags belong to (never the token)
    offset: int = 0  # where the next tick resumes, in sorted repository order
    cycles: int = 0  # complete passes over every repository
    repos: dict[str, RepoState] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity, "offset": self.offset, "cycles": self.cycles,
            "repos": {repo: state.to_json() for repo, state in sorted(self.repos.items())},
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> PollState:
        repos = value.get("repos") if isinstance(value.get("repos"), dict) else {}
        return cls(
            identity=str(value.get("identity") or ""),
            offset=int(value.get("offset") or 0),
            cycles=int(value.get("cycles") or 0),
            repos={str(k): RepoState.from_json(v) for k, v in (repos or {}).items()},
        )


@dataclass
class PollResult:
    changed: dict[str, str] = field(default_factory=dict)  # repository -> new fingerprint
    baselined: list[str] = field(default_factory=list)  # first answer: recorded, no run
    errors: dict[str, str] = field(default_factory=dict)  # repository -> reason
    polled: int = 0
    total: int = 0
    cycle_complete: bool = False
    to_graphql: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the tick ended before covering every repository
    requests: int = 0
    not_modified: int = 0
    rate_limit_points: int = 0


def rest_fingerprint(releases: list[dict[str, Any]]) -> str:
    """What a refresh cares about in a release list page; download counts left out."""
    parts = [
        [
            r.get("id"), r.get("tag_name"), r.get("name"), r.get("draft"), r.get("prerelease"),
            r.get("published_at"), r.get("body"),
            sorted([a.get("id"), a.get("name"), a.get("state")] for a in r.get("assets") or []),
        ]
        for r in releases
    ]
    return _digest(["rest", parts])


_GRAPHQL_RELEASES = (
    "releases(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount "
    "nodes { databaseId tagName name isDraft isPrerelease publishedAt description "
    "releaseAssets(first: 1) { totalCount } } }"
)


def graphql_fingerprint(connection: dict[str, Any]) -> str:
    nodes = connection.get("nodes") or []
    newest = nodes[0] if nodes else {}
    assets = (newest.get("releaseAssets") or {}).get("totalCount")
    fields = ("databaseId", "tagName", "name", "isDraft", "isPrerelease", "publishedAt",
              "description")
    return _digest(["graphql", connection.get("totalCount"), [newest.get(f) for f in fields], assets])


def graphql_query(repos: Sequence[str]) -> tuple[str, dict[str, str]]:
    """One query for many repositories; names travel as variables, never spliced into the text."""
    params, fields, variables = [], [], {}
    for i, repo in enumerate(repos):
        owner, name = repo.split("/", 1)
        params.append(f"$o{i}: String!, $n{i}: String!")
        fields.append(f"r{i}: repository(owner: $o{i}, name: $n{i}) {{ {_GRAPHQL_RELEASES} }}")
        variables[f"o{i}"], variables[f"n{i}"] = owner, name
    text = (
        f"query ReleasePoll({', '.join(params)}) {{ {' '.join(fields)} "
        "rateLimit { cost remaining } }"
    )
    return text, variables


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Stop(Exception):
    """GitHub asked us to slow down: end this tick, keep what was learned."""


def poll(
    client: GitHubClient,
    repos: Sequence[str],
    state: PollState,
    *,
    time_budget: float = 40.0,
    workers: int = 8,
    clock: Callable[[], float] = time.monotonic,
) -> PollResult:
    """Poll repositories round-robin until all were asked once or the time budget is spent."""
    started = clock()
    before = client.stats.snapshot()
    ordered = sorted(set(repos))
    result = PollResult(total=len(ordered))
    if state.identity != client.token_identity:
        for repo_state in state.repos.values():  # another token: its ETags would never match
            repo_state.etag = None
        state.identity = client.token_identity
    state.repos = {r: s for r, s in state.repos.items() if r in set(ordered)}
    if not ordered:
        result.cycle_complete = True
        return result

    start = state.offset % len(ordered)
    rotation = ordered[start:]  # a tick never runs past the end: one cycle is one pass
    slice_size = max(workers * 4, GRAPHQL_BATCH)
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="release-poll") as pool:
        try:
            while done < len(rotation):
                if done and clock() - started > time_budget:
                    result.stopped = f"time budget of {time_budget:.0f}s spent"
                    break
                chunk = rotation[done : done + slice_size]
                for repo in chunk:
                    state.repos.setdefault(repo, RepoState())
                rest = [r for r in chunk if state.repos[r].mode == REST]
                for repo, outcome in zip(rest, pool.map(lambda r: _rest_one(client, r, state.repos[r]), rest), strict=True):
                    _apply(result, state.repos[repo], repo, outcome)
                graph = [r for r in chunk if state.repos[r].mode == GRAPHQL]
                for i in range(0, len(graph), GRAPHQL_BATCH):
                    _graphql_batch(client, graph[i : i + GRAPHQL_BATCH], state, result)
                done += len(chunk)
        except _Stop as stop:
            result.stopped = str(stop)
    result.polled = done
    state.offset = (start + done) % len(ordered)
    if start + done == len(ordered):
        result.cycle_complete = True
        state.cycles += 1
    after = client.stats.snapshot()
    result.requests = after["requests"] - before["requests"]
    result.not_modified = after["not_modified"] - before["not_modified"]
    result.rate_limit_points = after["rate_limit_points"] - before["rate_limit_points"]
    return result


# An outcome is (status, etag, fingerprint | error message).
_Outcome = tuple[str, str | None, str | None]


def _rest_one(client: GitHubClient, repo: str, repo_state: RepoState) -> _Outcome:
    validator = Validator(etag=repo_state.etag) if repo_state.etag else None
    try:
        response = client.get(client.releases_url(repo), validator=validator)
    except NotFound:
        return "error", None, "not found on GitHub (deleted, renamed or private?)"
    except RateLimited as exc:
        return "stop", None, str(exc)
    except GitHubError as exc:
        return "error", None, str(exc)
    if response.status == 304:
        return "same", repo_state.etag, None
    if not isinstance(response.data, list):
        return "error", None, "release list is not a JSON list"
    return "fresh", response.etag, rest_fingerprint(response.data)


def _apply(result: PollResult, repo_state: RepoState, repo: str, outcome: _Outcome) -> None:
    status, etag, value = outcome
    if status == "stop":
        raise _Stop(value or "rate limited")
    if status == "error":
        result.errors[repo] = value or "unknown error"
        return
    if status == "same":
        repo_state.busy = 0
        return
    repo_state.etag = etag
    _compare(result, repo_state, repo, value or "")
    if repo not in result.changed and repo not in result.baselined:
        repo_state.busy += 1  # a 200 with the same releases: only download counts moved
        if repo_state.busy >= BUSY_AFTER:
            # Re-baselined by the GraphQL poll of this same chunk, so nothing slips between.
            repo_state.mode, repo_state.fingerprint, repo_state.etag = GRAPHQL, None, None
            result.to_graphql.append(repo)


def _compare(result: PollResult, repo_state: RepoState, repo: str, fingerprint: str) -> None:
    if repo_state.fingerprint is None:
        result.baselined.append(repo)
    elif repo_state.fingerprint != fingerprint:
        result.changed[repo] = fingerprint
        repo_state.busy = 0
    repo_state.fingerprint = fingerprint


def _graphql_batch(
    client: GitHubClient, repos: list[str], state: PollState, result: PollResult
) -> None:
    for _attempt in range(2):
        if not repos:
            return
        query, variables = graphql_query(repos)
        try:
            data = client.graphql(query, variables)
            break
        except RateLimited as exc:
            raise _Stop(str(exc)) from None
        except GitHubError as exc:
            # One deleted repository fails the whole answer: drop it (discovery's business) and
            # ask again once for the others.
            missing = set(_UNRESOLVED.findall(str(exc)))
            if not missing or _attempt:
                for repo in repos:
                    result.errors[repo] = str(exc)
                return
            for repo in missing & set(repos):
                result.errors[repo] = "not found on GitHub (deleted, renamed or private?)"
            repos = [r for r in repos if r not in missing]
    else:  # pragma: no cover - the loop always breaks or returns
        return
    for i, repo in enumerate(repos):
        node = data.get(f"r{i}") or {}
        connection = node.get("releases")
        if not isinstance(connection, dict):
            result.errors[repo] = "no releases connection in the GraphQL answer"
            continue
        repo_state = state.repos[repo]
        fingerprint = graphql_fingerprint(connection)
        if repo in result.to_graphql:
            repo_state.fingerprint = fingerprint  # the switch itself is not a change
            continue
        _compare(result, repo_state, repo, fingerprint)
