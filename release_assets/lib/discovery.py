"""Which repositories to track: the configured orgs' repositories plus explicit ones, filtered.

Org listings are conditional (an unchanged org costs no rate limit). Nothing is ever dropped:
a repository that is archived, excluded, or no longer listed keeps its row and history, with a
status and the reason.
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
from release_assets.lib.ingest import load_validators, store_validators


@dataclass
class Discovery:
    fresh: list[dict[str, Any]] = field(default_factory=list)  # repo JSON from 200 responses
    listed: dict[str, set[str]] = field(default_factory=dict)  # source -> keys seen this time
    pages: list[Page] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # source or repo -> reason
    missing: dict[str, str] = field(default_factory=dict)  # explicit repo -> reason


def fetch_repositories(
    client: GitHubClient, config: Config, validators: dict[str, Validator]
) -> Discovery:
    """List every configured org (conditionally) and look up every explicit repository."""
    found = Discovery()
    for org in config.orgs:
        source = f"org:{org}"
        keys: set[str] = set()
        try:
            for page in client.pages(
                client.org_repos_url(org), validators, item_key=lambda r: str(r["full_name"])
            ):
                found.pages.append(page)
                keys.update(page.validator.item_keys)
                for repo in page.items or []:
                    found.fresh.append({**repo, "_source": source})
            found.listed[source] = keys
        except GitHubError as exc:
            found.errors[source] = str(exc)
    for key in config.repos:
        url = client.repo_url(key)
        known = validators.get(url)
        try:
            response = client.get(url, validator=known)
        except NotFound:
            found.missing[key] = "GitHub answers 404: deleted, renamed away, private, or a typo"
            continue
        except GitHubError as exc:
            found.errors[key] = str(exc)
            continue
        found.listed.setdefault("config", set()).add(key)
        if response.status == 304 and known is not None:
            continue
        found.pages.append(
            Page(url, 0, False, [response.data], Validator(etag=response.etag, item_keys=(key,)))
        )
        found.fresh.append({**response.data, "_source": "config", "_key": key})
    return found


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


def write_repositories(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    found: Discovery,
    *,
    identity: str,
    now: datetime,
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
                    "repo": key, "owner": owner, "name": name, "repo_id": raw.get("id"),
                    "source": raw["_source"], "private": raw.get("private"),
                    "fork": bool(raw.get("fork")), "archived": bool(raw.get("archived")),
                    "default_branch": raw.get("default_branch"), "html_url": raw.get("html_url"),
                    "pushed_at": pd.Timestamp(raw["pushed_at"]) if raw.get("pushed_at") else None,
                    "status": "active", "status_reason": None, "first_seen_at": now,
                    "updated_at": now,
                }
            )
        if rows:
            frame = pd.DataFrame(rows)
            columns = [c for c in frame.columns if c != "first_seen_at"]
            con.register("incoming_rows", frame)
            con.execute(
                f"INSERT INTO repositories SELECT {', '.join(c for c, _ in storage.table_columns(con, 'repositories'))} "
                "FROM incoming_rows ON CONFLICT (repo) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "repo")
            )
            con.unregister("incoming_rows")
        for key, reason in found.missing.items():
            owner, name = key.split("/", 1)
            con.execute(
                "INSERT INTO repositories (repo, owner, name, source, status, status_reason, "
                "first_seen_at, updated_at) VALUES (?, ?, ?, 'config', 'missing', ?, ?, ?) "
                "ON CONFLICT (repo) DO UPDATE SET status = 'missing', status_reason = excluded.status_reason, "
                "updated_at = excluded.updated_at",
                [key, owner, name, reason, now, now],
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
            if listed_under is not None and repo not in listed_under and source != "config":
                status, reason = "missing", f"no longer listed by {source[4:]}"
            else:
                status, reason = repository_status(config, repo, source, fork, archived)
            con.execute(
                "UPDATE repositories SET status = ?, status_reason = ?, "
                "updated_at = CASE WHEN status = ? THEN updated_at ELSE ? END WHERE repo = ?",
                [status, reason, status, now, repo],
            )
        store_validators(con, identity, found.pages, now)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def refresh_repository_list(
    client: GitHubClient, db_path: str | Path, config: Config, *, now: datetime | None = None
) -> Discovery:
    now = now or datetime.now(UTC)
    with storage.connect(db_path) as con:
        validators = load_validators(con, client.token_identity)
    found = fetch_repositories(client, config, validators)
    with storage.connect(db_path) as con:
        write_repositories(con, config, found, identity=client.token_identity, now=now)
    return found


def active_repositories(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r for (r,) in con.execute(
            "SELECT repo FROM repositories WHERE status = 'active' ORDER BY repo"
        ).fetchall()
    ]
