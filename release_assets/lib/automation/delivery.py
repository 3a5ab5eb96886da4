"""Alert delivery that never loses an alert: a queue kept in the sensor cursor, retried with backoff.

Each queued alert remembers the channels it still has to reach (webhook, slack). A tick tries
what is due; a channel that fails keeps the alert queued with its attempt count and next try
time, and the failure is logged without secrets (a webhook URL can embed a token, so only its
scheme and host are ever shown).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

MAX_QUEUE = 1000  # bounds the cursor; beyond it the oldest alerts are dropped, loudly
MAX_BACKOFF_SECONDS = 3600.0
Sender = Callable[[dict[str, Any]], None]


class DeliveryError(Exception):
    """A channel could not take an alert; the message is safe to log."""


def safe_host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = 5.0,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST the payload as JSON; a few quick retries, then `DeliveryError` (queue retries later)."""
    problem = "not attempted"
    for attempt in range(attempts):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        try:
            response = requests.post(
                url, json=payload, timeout=timeout,
                headers={"User-Agent": "release-assets-alerts", "X-Release-Assets-Event": str(payload.get("event"))},
            )
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__} talking to {safe_host(url)}"  # never the full URL
            continue
        if 200 <= response.status_code < 300:
            return
        problem = f"{safe_host(url)} answered HTTP {response.status_code}"
    raise DeliveryError(problem)


def enqueue(queue: list[dict[str, Any]], payload: dict[str, Any], channels: list[str], now: float) -> None:
    if any(item["key"] == payload["dedupe_key"] for item in queue):
        return
    queue.append({"key": payload["dedupe_key"], "payload": payload, "channels": list(channels),
                  "attempts": 0, "next_at": now, "last_error": None})


def deliver(
    queue: list[dict[str, Any]],
    senders: dict[str, Sender],
    *,
    now: float,
    log: Callable[[str], None],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Try every due alert on its remaining channels; returns (still queued, delivered keys)."""
    delivered: list[str] = []
    kept: list[dict[str, Any]] = []
    unreachable: set[str] = set()  # a channel that just failed is not hammered again this tick
    for item in queue:
        item["channels"] = [c for c in item["channels"] if c in senders]  # unconfigured since
        if item["channels"] and item["next_at"] <= now:
            tried = False
            for channel in list(item["channels"]):
                if channel in unreachable:
                    continue
                tried = True
                try:
                    senders[channel](item["payload"])
                except DeliveryError as exc:
                    unreachable.add(channel)
                    item["last_error"] = f"{channel}: {exc}"
                else:
                    item["channels"].remove(channel)
            if item["channels"] and tried:
                item["attempts"] += 1
                item["next_at"] = now + min(MAX_BACKOFF_SECONDS, 15.0 * 2 ** (item["attempts"] - 1))
                log(f"alert {item['key']} not delivered yet (attempt {item['attempts']}, "
                    f"{item['last_error']}); retrying later")
        if item["channels"]:
            kept.append(item)
        else:
            delivered.append(item["key"])
    if len(kept) > MAX_QUEUE:
        dropped = kept[: len(kept) - MAX_QUEUE]
        log(f"alert queue over {MAX_QUEUE}: dropping the {len(dropped)} oldest undelivered alerts "
            f"({', '.join(i['key'] for i in dropped[:5])} …)")
        kept = kept[len(kept) - MAX_QUEUE :]
    return kept, delivered
