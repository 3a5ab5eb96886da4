"""Security events (rollbacks, files changed after publishing) for `check_alert_sensor`.

`release_events` lists each run's security events in its materialization metadata; this reads
the materializations newer than the sensor's cursor and turns every event into one alert. A
multi-repository run repeats the list on each partition's materialization, so events are
deduplicated by key, across ticks too (recent keys ride in the cursor).
"""

from typing import Any

import dagster as dg

from release_assets.lib.automation.alerts import Links, security_event_payload

EVENTS_ASSET = dg.AssetKey("release_events")
_RECENT_KEYS = 500
_PAGE = 100


def security_alerts(
    instance: dg.DagsterInstance, state: dict[str, Any] | None, links: Links
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(new cursor state, alert payloads) for the security events recorded since `state`."""
    if state is None:
        # First tick: start from now; earlier events are history, visible in release_events.
        latest = instance.fetch_materializations(EVENTS_ASSET, limit=1)
        return {"cursor": latest.cursor, "recent": []}, []
    cursor: str | None = state.get("cursor")
    recent: list[str] = list(state.get("recent") or [])
    seen = set(recent)
    payloads: list[dict[str, Any]] = []
    while True:
        page = instance.fetch_materializations(EVENTS_ASSET, limit=_PAGE, cursor=cursor,
                                               ascending=True)
        for record in page.records:
            materialization = record.asset_materialization
            listed = materialization.metadata.get("security_events") if materialization else None
            for event in getattr(listed, "value", None) or []:
                payload = security_event_payload(event, run_id=record.run_id,
                                                 timestamp=record.timestamp, links=links)
                if payload["dedupe_key"] not in seen:
                    seen.add(payload["dedupe_key"])
                    recent.append(payload["dedupe_key"])
                    payloads.append(payload)
        cursor = page.cursor or cursor
        if not page.has_more:
            break
    return {"cursor": cursor, "recent": recent[-_RECENT_KEYS:]}, payloads
