"""`check_alert_sensor`: failed asset checks and failed runs become Slack / webhook alerts.

Open-source Dagster has no asset-check alerts, so this sensor reads the instance: every check's
executions (blocking failures, which fail their run, and WARN failures, which do not; freshness
checks evaluated outside runs included) and every run failure. What to say and when is decided in
`lib/automation/alerts.py`; undelivered alerts wait in the cursor and are retried with backoff.

Cursor (JSON, no secrets): per-check watermarks, the currently failing subjects (dedupe across
ticks and restarts), the run-failure event cursor, and the undelivered queue.
"""

import json
import time
from collections.abc import Mapping
from typing import Any

import dagster as dg

from release_assets.defs.automation.alert_channels import configured_senders, links
from release_assets.defs.automation.settings import (
    alert_interval_seconds,
    sensor_status,
)
from release_assets.defs.history.alerts import security_alerts
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.lib.automation import cursor as cursors
from release_assets.lib.automation.alerts import CheckOutcome, evaluate, run_failure_payload
from release_assets.lib.automation.delivery import deliver, enqueue

_HISTORY = 100  # executions read per check and tick
_CHECK_FAILED = "DagsterAssetCheckFailedError"
# An execution record's status before its result is in; compared by value because Dagster does
# not export the status enum publicly.
_PLANNED = "PLANNED"


@dg.sensor(
    name="check_alert_sensor",
    minimum_interval_seconds=alert_interval_seconds(),
    default_status=sensor_status(),
    description="Alerts (Slack, webhook) once per failed asset check or failed run; announces recoveries.",
)
def check_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    state = cursors.decode(context.cursor)
    marks: dict[str, int] = state.get("marks") or {}
    failing: dict[str, str] = state.get("failing") or {}
    queue: list[dict[str, Any]] = state.get("queue") or []
    senders = configured_senders()
    now = time.time()
    found: list[dict[str, Any]] = []

    check_keys = sorted(context.repository_def.asset_graph.asset_check_keys, key=str) if context.repository_def else []
    for key in check_keys:
        for outcome in _new_outcomes(context, key, marks):
            payload = evaluate(failing, outcome, links())
            if payload is not None:
                found.append(payload)

    run_cursor, run_payloads = _run_failures(context, state.get("runs"))
    found += run_payloads
    security_state, security_payloads = security_alerts(context.instance, state.get("security"), links())
    found += security_payloads
    for payload in found:
        context.log.info(f"alert: {payload['event']} {payload['dedupe_key']}")
        if senders:
            enqueue(queue, payload, sorted(senders), now)
    queue, delivered = deliver(queue, senders, now=now, log=context.log.warning)
    cursor = cursors.encode({"marks": marks, "failing": failing, "runs": run_cursor, "queue": queue,
                             "security": security_state})
    summary = (
        f"{len(found)} new alert(s), {len(delivered)} delivered, {len(queue)} waiting"
        + ("" if senders else " (no channel configured: set RELEASE_ASSETS_ALERT_WEBHOOK or Slack)")
    )
    return dg.SensorResult(skip_reason=summary, cursor=cursor)


def _new_outcomes(
    context: dg.SensorEvaluationContext, key: dg.AssetCheckKey, marks: dict[str, int]
) -> list[CheckOutcome]:
    """Completed executions newer than the check's watermark; the newest per partition only."""
    name = key.to_user_string()
    mark = marks.get(name, 0)
    records = context.instance.event_log_storage.get_asset_check_execution_history(key, limit=_HISTORY)
    fresh = [r for r in records if r.id > mark]
    if not fresh:
        return []
    pending = [r.id for r in fresh if r.status.value == _PLANNED and _running(context, r.run_id)]
    # An execution still running pins the watermark below it; outcomes above it may be read
    # again next tick, which `evaluate` ignores (same failure, already announced recovery).
    marks[name] = min(pending) - 1 if pending else max(r.id for r in fresh)
    latest: dict[str | None, CheckOutcome] = {}
    for record in sorted(fresh, key=lambda r: r.id):
        if record.status.value == _PLANNED or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation):
            continue
        latest[record.partition] = CheckOutcome(
            asset=key.asset_key.to_user_string(),
            check=key.name,
            partition=evaluation.partition or record.partition or _run_partition(context, record.run_id),
            passed=evaluation.passed,
            severity=evaluation.severity.value,
            blocking=bool(evaluation.blocking),
            run_id=record.run_id or None,
            description=evaluation.description,
            metadata=_plain(evaluation.metadata),
            timestamp=record.event.timestamp,
        )
    return list(latest.values())


def _running(context: dg.SensorEvaluationContext, run_id: str) -> bool:
    run = context.instance.get_run_by_id(run_id) if run_id else None
    return run is not None and not run.is_finished


def _run_partition(context: dg.SensorEvaluationContext, run_id: str | None) -> str | None:
    run = context.instance.get_run_by_id(run_id) if run_id else None
    if run is None:
        return None
    if run.tags.get("dagster/partition"):
        return run.tags["dagster/partition"]
    start, end = run.tags.get(RANGE_START), run.tags.get(RANGE_END)
    return f"{start}…{end}" if start and end else None


def _plain(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Check metadata as JSON values (tables become lists of rows)."""
    plain: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, dg.TableMetadataValue):
            raw: Any = [dict(record.data) for record in value.records]
        else:
            raw = getattr(value, "value", value)
        plain[key] = json.loads(json.dumps(raw, default=str))
    return plain


def _run_failures(context: dg.SensorEvaluationContext, since: str | None) -> tuple[str | None, list[dict[str, Any]]]:
    instance = context.instance
    if since is None:
        # First tick: start from now. A past run failure is history; a failing check is state,
        # and the check scan above reports it.
        latest = instance.fetch_run_status_changes(dg.DagsterEventType.RUN_FAILURE, limit=1)
        return latest.cursor, []
    result = instance.fetch_run_status_changes(
        dg.DagsterEventType.RUN_FAILURE, limit=100, cursor=since, ascending=True
    )
    payloads = []
    for record in result.records:
        run = instance.get_run_by_id(record.run_id)
        if run is None:
            continue
        failures = [
            e.dagster_event.event_specific_data
            for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
            if e.dagster_event is not None
        ]
        errors: list[Any] = [
            error for f in failures if (error := getattr(f, "error", None)) is not None
        ]
        if errors and all(e.cls_name == _CHECK_FAILED for e in errors):
            continue  # failed only because a blocking check failed: that check has its own alert
        message = next((_root_message(e) for e in errors if e.cls_name != _CHECK_FAILED), None)
        if message is None:
            message = record.event_log_entry.message or "run failed"
        payloads.append(
            run_failure_payload(
                job=run.job_name, run_id=run.run_id, message=message,
                partition=run.tags.get("dagster/partition"),
                timestamp=record.event_log_entry.timestamp, links=links(),
            )
        )
    return result.cursor or since, payloads


def _root_message(error: Any) -> str:
    """The innermost cause ("RuntimeError: …"), not Dagster's step wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = (error.message or "").strip().splitlines()
    return lines[0] if lines else error.cls_name
