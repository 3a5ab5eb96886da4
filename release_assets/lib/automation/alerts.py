"""Alert decisions: which check results deserve a message, and what the message says.

Dagster has no asset-check alerts in open source, so the alert sensor reads every check
evaluation from the instance and passes it here. A failure is alerted once per *subject*
(asset, check, partition) and *failure identity* (the failing releases named in the check's
metadata): the same failure seen again by a later run stays quiet, a different set of failing
releases is a new alert, and a pass after a failure is announced as a recovery. The state is a
small dict kept in the sensor cursor, so the dedupe survives restarts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# Where checks name what failed (the releases, or the repositories): the first key holding text
# or a list is used. Counts are skipped (this project's checks put a count in "failures" and the
# table in "details"; `every_repository_fetched` puts the table in "failures").
FAILING_KEYS = ("failing_releases", "failed_releases", "details", "failures", "failing",
                "below_threshold")


@dataclass(frozen=True)
class CheckOutcome:
    asset: str  # user string, e.g. "release_quality"
    check: str
    partition: str | None
    passed: bool
    severity: str  # ERROR | WARN
    blocking: bool
    run_id: str | None  # None for evaluations reported outside a run (freshness)
    description: str | None
    metadata: dict[str, Any]  # plain JSON values
    timestamp: float


@dataclass(frozen=True)
class Links:
    webserver_url: str = "http://localhost:3000"

    def run(self, run_id: str | None) -> str | None:
        return f"{self.webserver_url.rstrip('/')}/runs/{run_id}" if run_id else None

    def asset(self, asset: str) -> str:
        return f"{self.webserver_url.rstrip('/')}/assets/{quote(asset)}"


def subject(outcome: CheckOutcome) -> str:
    return f"{outcome.asset}|{outcome.check}|{outcome.partition or ''}"


def failing_releases(metadata: dict[str, Any]) -> Any:
    for key in FAILING_KEYS:
        value = metadata.get(key)
        if isinstance(value, (list, dict)) and value:
            return value
        if isinstance(value, str) and value.strip() and value.strip().lower() != "none":
            return value
    return None


def failure_identity(outcome: CheckOutcome) -> str:
    """Stable across reruns of the same failure: numbers like row counts do not count."""
    failing = failing_releases(outcome.metadata)
    return hashlib.sha256(json.dumps(failing, sort_keys=True, default=str).encode()).hexdigest()[:16]


def evaluate(
    failing: dict[str, str], outcome: CheckOutcome, links: Links, *, announce_recoveries: bool = True
) -> dict[str, Any] | None:
    """Update `failing` (subject -> failure identity) and return an alert payload, if one is due."""
    key = subject(outcome)
    if outcome.passed:
        if failing.pop(key, None) is None or not announce_recoveries:
            return None
        return _payload("asset_check_recovered", outcome, links, f"{key}|recovered|{outcome.timestamp}")
    identity = failure_identity(outcome)
    if failing.get(key) == identity:
        return None  # already alerted: the same releases still fail
    failing[key] = identity
    return _payload("asset_check_failed", outcome, links, f"{key}|{identity}")


def _payload(kind: str, outcome: CheckOutcome, links: Links, dedupe_key: str) -> dict[str, Any]:
    return {
        "event": kind,
        "check": outcome.check,
        "asset": outcome.asset,
        "partition": outcome.partition,
        "severity": outcome.severity,
        "blocking": outcome.blocking,
        "passed": outcome.passed,
        "failing_releases": failing_releases(outcome.metadata),
        "description": outcome.description,
        "metadata": outcome.metadata,
        "run_id": outcome.run_id,
        "run_url": links.run(outcome.run_id),
        "asset_url": links.asset(outcome.asset),
        "evaluated_at": _iso(outcome.timestamp),
        "dedupe_key": dedupe_key,
    }


def run_failure_payload(
    *, job: str, run_id: str, message: str, partition: str | None, timestamp: float, links: Links
) -> dict[str, Any]:
    return {
        "event": "run_failed",
        "job": job,
        "partition": partition,
        "severity": "ERROR",
        "message": message,
        "run_id": run_id,
        "run_url": links.run(run_id),
        "evaluated_at": _iso(timestamp),
        "dedupe_key": f"run|{run_id}",
    }


def security_event_payload(
    event: dict[str, Any], *, run_id: str | None, timestamp: float, links: Links
) -> dict[str, Any]:
    """A release event that is a security signal (rollback, a file changed after publishing):
    sent apart from infrastructure failures, once per event."""
    return {
        "event": "security_event",
        "kind": event["event"],
        "repository": event["repo"],
        "tag": event["tag"],
        "release_id": event["release_id"],
        "detail": json.loads(event["detail"]) if isinstance(event["detail"], str) else event["detail"],
        "severity": "ERROR",
        "observed_at": event["observed_at"],
        "run_id": run_id,
        "run_url": links.run(run_id),
        "asset_url": links.asset("release_events"),
        "evaluated_at": _iso(timestamp),
        "dedupe_key": f"security|{event['repo']}|{event['release_id']}|{event['event']}|"
                      f"{event['observed_at']}",
    }


def render_text(payload: dict[str, Any]) -> str:
    """One Slack message (mrkdwn) for a payload."""
    link = payload.get("run_url") or payload.get("asset_url")
    where = f" [{payload['partition']}]" if payload.get("partition") else ""
    if payload["event"] == "run_failed":
        head = f":x: run of `{payload['job']}`{where} failed: {payload.get('message') or ''}"
    elif payload["event"] == "security_event":
        head = (f":rotating_light: security event `{payload['kind']}` on "
                f"{payload['repository']} {payload['tag']}: {json.dumps(payload['detail'])[:1500]}")
    elif payload["event"] == "asset_check_recovered":
        head = f":white_check_mark: check `{payload['check']}` on `{payload['asset']}`{where} passes again"
    else:
        icon = ":red_circle:" if payload.get("severity") == "ERROR" else ":warning:"
        head = (f"{icon} check `{payload['check']}` on `{payload['asset']}`{where} failed "
                f"({payload.get('severity')})")
        failing = payload.get("failing_releases")
        if failing:
            text = failing if isinstance(failing, str) else json.dumps(failing, default=str)
            head += "\n" + (text if len(text) <= 1500 else text[:1500] + " …")
        elif payload.get("description"):
            head += f": {payload['description']}"
    return head + (f"\n<{link}|Open in Dagster>" if link else "")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
