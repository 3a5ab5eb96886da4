"""Which repositories should be tracked right now, from conditional org listings.

The discovery sensor runs in the daemon, where the DuckDB file may be locked by a run, so the
answer is computed from GitHub alone: the org listings' ETags, the keys each page listed and
the last verdicts live in the sensor cursor. An unchanged org answers 304 (no rate limit) and the
verdicts of its repositories are reused. The tracking rules are the `repositories` asset's own
(`discovery.repository_status`), so the sensor and the asset never disagree.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from release_assets.lib.config import Config
from release_assets.lib.discovery import fetch_repositories, repository_status
from release_assets.lib.github_client import GitHubClient, Validator


@dataclass
class OrgPoll:
    active: set[str] = field(default_factory=set)
    inactive: dict[str, str] = field(default_factory=dict)  # repository -> why not tracked
    errors: dict[str, str] = field(default_factory=dict)  # source -> reason
    listings_changed: bool = False  # some listing answered 200
    requests: int = 0
    not_modified: int = 0
    rate_limit_points: int = 0

    @property
    def complete(self) -> bool:
        """Every source answered: only then may a repository be judged gone."""
        return not self.errors


def config_fingerprint(config: Config) -> str:
    """A change of the tracking rules invalidates the cached verdicts (not the history)."""
    rules = [list(config.orgs), list(config.repos), list(config.include), list(config.exclude),
             config.skip_forks, config.skip_archived]
    return hashlib.sha256(json.dumps(rules).encode()).hexdigest()[:16]


def poll_orgs(
    client: GitHubClient, config: Config, previous: dict[str, Any]
) -> tuple[OrgPoll, dict[str, Any]]:
    """List every configured source conditionally; returns the verdicts and the next state."""
    same_rules = previous.get("config") == config_fingerprint(config)
    same_token = previous.get("identity") == client.token_identity
    stored = previous.get("validators") if same_rules and same_token else None
    validators = {
        url: Validator(etag=v[0], next_url=v[1], item_keys=tuple(v[2]))
        for url, v in (stored or {}).items()
    }
    known_active = set(previous.get("active") or []) if same_rules else set()
    known_inactive = dict(previous.get("inactive") or {}) if same_rules else {}

    before = client.stats.snapshot()
    found = fetch_repositories(client, config, validators)
    after = client.stats.snapshot()
    result = OrgPoll(errors=dict(found.errors))
    result.requests = after["requests"] - before["requests"]
    result.not_modified = after["not_modified"] - before["not_modified"]
    result.rate_limit_points = after["rate_limit_points"] - before["rate_limit_points"]
    result.listings_changed = any(not page.not_modified for page in found.pages)

    fresh: dict[str, tuple[str, str | None]] = {}
    for raw in found.fresh:
        key = str(raw.get("_key") or raw["full_name"])
        verdict = repository_status(config, key, raw["_source"], bool(raw.get("fork")), bool(raw.get("archived")))
        if key not in fresh or verdict[0] == "active":  # listed twice: tracked wins
            fresh[key] = verdict
    listed: set[str] = set().union(*found.listed.values()) if found.listed else set()
    for key in listed:
        if key in config.repos and key not in found.missing:
            result.active.add(key)  # named explicitly: tracked even if archived or a fork
        elif key in fresh:
            status, reason = fresh[key]
            if status == "active":
                result.active.add(key)
            else:
                result.inactive[key] = reason or status
        elif key in known_inactive:
            result.inactive[key] = known_inactive[key]
        else:
            result.active.add(key)  # listed, unchanged page, judged active last time
    result.inactive.update(found.missing)
    if result.complete:
        for key in known_active - listed - set(found.missing):
            result.inactive[key] = "no longer listed by its organisation (deleted, moved or private?)"
    else:
        result.active |= known_active - set(result.inactive)  # could not look: keep them
    result.active -= set(result.inactive)

    # Keep the validators of what was asked this time (pages an org no longer has drop out).
    asked = {p.key for p in found.pages} | {client.cache_key(client.repo_url(r)) for r in config.repos}
    validators.update({p.key: p.validator for p in found.pages if not p.not_modified})
    validators = {url: v for url, v in validators.items() if url in asked}
    state = {
        "config": config_fingerprint(config),
        "identity": client.token_identity,
        "validators": {
            url: [v.etag, v.next_url, list(v.item_keys)] for url, v in sorted(validators.items())
        },
        "active": sorted(result.active),
        "inactive": dict(sorted(result.inactive.items())),
    }
    return result, state
