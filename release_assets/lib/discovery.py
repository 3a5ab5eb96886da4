"""Which repositories to track: the configured orgs' repositories plus explicit ones, filtered.

Org listings are conditional (an unchanged org costs no rate limit). Nothing is ever dropped:
a repository that is archived, excluded, or no longer listed keeps its row and history, with a
status and the reason. Every source (an org listing, an explicit repository's lookup) gets a
`discovery_fetches` row per run: its status, the cause of a failure in words, and the requests
it made, so a refresh can say why nothing could be refreshed and count every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.config import Config
from release_assets.lib.github_client import GitHubClient, GitHubError, NotFound, Page, Validator
from release_assets.lib.github_http import repository_key_problem
from release_assets.lib.ingest.refresh import Connect, connector


@dataclass
class SourceFetch:
    """What one source cost and how it ended (a `discovery_fetches` row)."""

    source: str  # org:<login> | repo:<owner/name>
    status: str = "ok"  # ok | not_modified | missing | failed
    error: str | None = None
    requests: int = 0
    not_modified: int = 0
    rate_limit_points: int = 0


@dataclass
class Discovery:
    fresh: list[dict[str, Any]] = field(default_factory=list)  # repo JSON from 200 responses
    listed: dict[str, set[str]] = field(default_factory=dict)  # source -> keys seen this time
    pages: list[Page] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # source or repo -> reason
    missing: dict[str, str] = field(default_factory=dict)  # explicit repo -> reason
    sources: list[SourceFetch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # org-list entries skipped, and why


def _listed_key(item: object) -> str | None:
    """An org-list entry's repository key, or None for an entry without a valid `full_name`."""
    if not isinstance(item, dict):
        return None
    key = item.get("full_name")
    if repository_key_problem(key) is not None:
        return None
    if any(item.get(flag) not in (None, True, False) for flag in ("fork", "archived")):
        return None
    return str(key)


def _org_error(org: str, exc: GitHubError) -> str:
    if isinstance(exc, NotFound):
        return f"organisation {org} not found (404)"
    return str(exc)


def fetch_repositories(
    client: GitHubClient, config: Config, validators: dict[str, Validator]
) -> Discovery:
    """List every configured org (conditionally) and look up every explicit repository."""
    found = Discovery()
    for org in config.orgs:
        source = f"org:{org}"
        keys: set[str] = set()
        with client.tally() as counts:
            record = SourceFetch(source)
            try:
                fresh = False
                for page in client.pages(client.org_repos_url(org), validators, item_key=_listed_key):
                    found.pages.append(page)
                    keys.update(page.validator.item_keys)
                    fresh = fresh or not page.not_modified
                    for index, repo in enumerate(page.items or []):
                        if _listed_key(repo) is None:
                            found.problems.append(
                                f"{source}: entry {page.index * 100 + index + 1} skipped "
                                "(no valid full_name, or fork/archived not a boolean)")
                            continue
                        found.fresh.append({**repo, "_source": source})
                found.listed[source] = keys
                record.status = "ok" if fresh else "not_modified"
            except GitHubError as exc:
                found.errors[source] = record.error = _org_error(org, exc)
                record.status = "failed"
        found.sources.append(_counted(record, counts))
    for key in config.repos:
        with client.tally() as counts:
            record = SourceFetch(f"repo:{key}")
            _look_up(client, key, validators, found, record)
        found.sources.append(_counted(record, counts))
    return found


def _look_up(
    client: GitHubClient, key: str, validators: dict[str, Validator], found: Discovery,
    record: SourceFetch,
) -> None:
    try:
        url = client.repo_url(key)
        known = validators.get(client.cache_key(url))
        response = client.get(url, validator=known)
    except NotFound:
        found.missing[key] = record.error = (
            "GitHub answers 404: deleted, renamed away, private, or a typo")
        record.status = "missing"
        return
    except GitHubError as exc:
        found.errors[key] = record.error = str(exc)
        record.status = "failed"
        return
    if response.status == 304 and known is not None:
        found.listed.setdefault("config", set()).add(key)
        record.status = "not_modified"
        return
    if not isinstance(response.data, dict):
        found.errors[key] = record.error = f"GET /repos/{key}: expected a JSON object"
        record.status = "failed"
        return
    found.listed.setdefault("config", set()).add(key)
    page_key = client.cache_key(url)
    found.pages.append(Page(url, page_key, 0, False, [response.data],
                            Validator(etag=response.etag, item_keys=(key,))))
    found.fresh.append({**response.data, "_source": "config", "_key": key})


def _counted(record: SourceFetch, counts: dict[str, int]) -> SourceFetch:
    record.requests = counts["requests"]
    record.not_modified = counts["not_modified"]
    record.rate_limit_points = counts["rate_limit_points"]
    return record


def repository_status(
    config: Config, repo: str, source: str, fork: bool, archived: bool
) -> tuple[str, str | None]:
    """active, or archived/excluded with the reason, under the current config."""
    explicit = repo in config.repos
    if not explicit and not any(source == f"org:{org}" for org in config.orgs):
        return "excluded", "no longer in the configuration"
    if archived and config.skip_archived and not explicit:
        return "archived", "archived on GitHub (skip_archived)"
    if fork and config.skip_forks and not explicit:
        return "excluded", "a fork (skip_forks)"
    if not explicit and not config.selects(repo):
        return "excluded", "filtered out by include/exclude"
    return "active", None


def _int64(value: object) -> int | None:
    return value if type(value) is int and 0 < value < 2**63 else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def write_repositories(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    found: Discovery,
    *,
    identity: str,
    now: datetime,
    run_id: str | None = None,
) -> None:
    """Upsert what was fetched, then recompute every row's status under the current config."""
    con.execute("BEGIN TRANSACTION")
    try:
        rows = []
        for raw in found.fresh:
            key = raw.get("_key") or raw["full_name"]
            owner, name = key.split("/", 1)
            rows.append(
                {
                    "repo": key, "owner": owner, "name": name, "repo_id": _int64(raw.get("id")),
                    "owner_id": _int64(raw["owner"].get("id"))
                    if isinstance(raw.get("owner"), dict) else None,
                    "source": raw["_source"],
                    "private": raw.get("private") if isinstance(raw.get("private"), bool) else None,
                    "fork": raw.get("fork") is True, "archived": raw.get("archived") is True,
                    "default_branch": _text(raw.get("default_branch")),
                    "html_url": _text(raw.get("html_url")),
                    "clone_url": _text(raw.get("clone_url")),
                    "pushed_at": _text(raw.get("pushed_at")),
                    "status": "active", "status_reason": None, "first_seen_at": now,
                    "updated_at": now,
                }
            )
        if rows:
            frame = pd.DataFrame(rows).astype({"repo_id": "Int64", "owner_id": "Int64"})
            columns = [c for c in frame.columns if c != "first_seen_at"]
            selected = ", ".join(
                "TRY_CAST(pushed_at AS TIMESTAMPTZ)" if c == "pushed_at" else c
                for c, _ in storage.table_columns(con, "repositories")
            )
            con.register("incoming_rows", frame)
            con.execute(
                f"INSERT INTO repositories SELECT {selected} "
                "FROM incoming_rows ON CONFLICT (repo) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "repo")
            )
            con.unregister("incoming_rows")
        for key, why in found.missing.items():
            owner, name = key.split("/", 1)
            con.execute(
                "INSERT INTO repositories (repo, owner, name, source, status, status_reason, "
                "first_seen_at, updated_at) VALUES (?, ?, ?, 'config', 'missing', ?, ?, ?) "
                "ON CONFLICT (repo) DO UPDATE SET status = 'missing', status_reason = excluded.status_reason, "
                "updated_at = excluded.updated_at",
                [key, owner, name, why, now, now],
            )
        stored = con.execute(
            "SELECT repo, source, coalesce(fork, false), coalesce(archived, false) FROM repositories"
        ).fetchall()
        for repo, source, fork, archived in stored:
            if repo in found.missing:
                continue
            listed_under = found.listed.get(source)
            if source in found.errors or (source == "config" and repo in found.errors):
                continue  # could not look: keep what we knew
            reason: str | None
            status: str
            if listed_under is not None and repo not in listed_under and source != "config":
                status, reason = "missing", f"no longer listed by {source[4:]}"
            else:
                status, reason = repository_status(config, repo, source, fork, archived)
            con.execute(
                "UPDATE repositories SET status = ?, status_reason = ?, "
                "updated_at = CASE WHEN status = ? THEN updated_at ELSE ? END WHERE repo = ?",
                [status, reason, status, now, repo],
            )
        storage.store_validators(con, identity, found.pages, now)
        record_sources(con, found.sources, run_id, now)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def record_sources(
    con: duckdb.DuckDBPyConnection, sources: list[SourceFetch], run_id: str | None, now: datetime
) -> None:
    if sources:
        con.executemany(
            "INSERT INTO discovery_fetches (source, fetched_at, run_id, status, error, requests, "
            "not_modified, rate_limit_points) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[s.source, now, run_id, s.status, s.error, s.requests, s.not_modified,
              s.rate_limit_points] for s in sources],
        )


def refresh_repository_list(
    client: GitHubClient,
    db: str | Path | Connect,
    config: Config,
    *,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Discovery:
    """Discover into `db` (a path, or a connection factory such as `DuckDBResource.get_connection`)."""
    now = now or datetime.now(UTC)
    connect = connector(db)
    with connect() as con:
        validators = storage.load_validators(con, client.token_identity, client.api_base_path)
    found = fetch_repositories(client, config, validators)
    with connect() as con:
        write_repositories(
            con, config, found, identity=client.token_identity, now=now, run_id=run_id)
    return found


def active_repositories(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r for (r,) in con.execute(
            "SELECT repo FROM repositories WHERE status = 'active' ORDER BY repo"
        ).fetchall()
    ]
