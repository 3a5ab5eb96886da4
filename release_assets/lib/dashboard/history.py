"""Release history on the dashboard: median time to release, change volume per release and the
release events timeline.

Added to the JSON as `history` keys (per repository and for the organisation; the original's
keys are untouched), to the Markdown after every line of the original, and to the HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any, TypedDict

import duckdb
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.dashboard.charts import bar_chart, timeline
from release_assets.lib.history import events

MAX_EVENTS = 200  # newest first, in the JSON and on the page
MAX_CHANGES_SHOWN = 30  # newest published releases across repositories, on the page


class ChangeEntry(TypedDict):
    tag: str
    base_tag: str | None
    commits: int | None
    contributors: int | None
    files_changed: int | None
    insertions: int | None
    deletions: int | None
    status: str
    published_at: str | None


class EventEntry(TypedDict):
    repository: str
    tag: str
    event: str
    observed_at: str
    security: bool


def _hours(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)


def add_history(con: duckdb.DuckDBPyConnection, dashboard: dict[str, Any],
                repos: Sequence[str], keys: Mapping[str, str]) -> None:
    """Add `history` to `dashboard` (per repository under its display key, and overall), when
    the history assets have run (the connection may be read-only: nothing is created)."""
    present = {name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN "
        "('release_changes', 'release_events', 'release_timing')").fetchall()}
    if len(present) < 3:
        return
    params = {"repos": list(repos)}
    scope = storage.in_repositories(param="$repos")
    medians = dict(con.execute(f"""
        SELECT repo, median(time_to_release_hours) FROM release_timing
        WHERE {scope} AND time_to_release_hours IS NOT NULL GROUP BY repo
    """, params).fetchall())
    overall = con.execute(f"""
        SELECT median(time_to_release_hours) FROM release_timing
        WHERE {scope} AND time_to_release_hours IS NOT NULL
    """, params).fetchall()[0][0]
    rows = con.execute(f"""
        SELECT c.repo, c.tag, c.base_tag, c.commits, c.contributors, c.files_changed,
               c.insertions, c.deletions, c.status, r.published_at
        FROM release_changes c JOIN releases r USING (release_id)
        WHERE {storage.in_repositories("c.repo", "$repos")} AND r.deleted_at IS NULL AND NOT r.draft
        ORDER BY c.repo, r.list_position
    """, params).fetchall()
    per_repo: dict[str, list[ChangeEntry]] = {}
    for repo, tag, base, commits, people, files, plus, minus, status, published in rows:
        per_repo.setdefault(repo, []).append(ChangeEntry(
            tag=tag, base_tag=base, commits=commits, contributors=people, files_changed=files,
            insertions=plus, deletions=minus, status=status,
            published_at=None if published is None else pd.Timestamp(published).isoformat()))
    recent = con.execute(f"""
        SELECT repo, tag, event, observed_at, detail FROM release_events WHERE {scope}
        ORDER BY observed_at DESC, repo, tag, event LIMIT {MAX_EVENTS}
    """, params).fetchall()
    timeline_rows = [EventEntry(
        repository=keys.get(repo, repo), tag=tag, event=event,
        observed_at=pd.Timestamp(observed).isoformat(),
        security=events.is_security_event(event, json.loads(detail)),
    ) for repo, tag, event, observed, detail in recent]
    for repo in repos:
        entry = dashboard["repositories"].get(keys[repo])
        if entry is not None:
            entry["history"] = {
                "time_to_release_median_hours": _hours(medians.get(repo)),
                "changes": per_repo.get(repo, []),
            }
    dashboard["history"] = {
        "time_to_release_median_hours": _hours(overall),
        "events": timeline_rows,
    }


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def history_markdown(dashboard: dict[str, Any], inert: Any) -> list[str]:
    """The Markdown section; `inert` makes GitHub's text literal (see markdown.py)."""
    history = dashboard.get("history")
    if history is None or not (history["events"] or history["time_to_release_median_hours"]
                               is not None):
        return []  # nothing measured yet: no empty section
    lines = ["\n## Release History\n\n",
             f"**Median time to release**: {_fmt_hours(history['time_to_release_median_hours'])}\n\n",
             "| Repository | Median Time to Release | Releases With Change Volume |\n",
             "|------------|------------------------|-----------------------------|\n"]
    for repo, data in dashboard["repositories"].items():
        mine = data.get("history") or {}
        counted = sum(1 for c in mine.get("changes", []) if c["status"] == "ok")
        lines.append(f"| {inert(repo)} | {_fmt_hours(mine.get('time_to_release_median_hours'))}"
                     f" | {counted} |\n")
    shown = history["events"][:20]
    lines.append(f"\n**Recent release events** ({len(history['events'])}):\n\n")
    if not shown:
        lines.append("None yet: the first refresh of a repository is its baseline.\n")
    for event in shown:
        mark = " ⚠️" if event["security"] else ""
        lines.append(f"- {event['observed_at'][:16]} {inert(event['repository'])} "
                     f"{inert(event['tag'])}: {event['event']}{mark}\n")
    return lines


def _fmt_hours(hours: float | None) -> str:
    if hours is None:
        return "—"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def history_html(dashboard: dict[str, Any]) -> list[str]:
    """The HTML sections: the events timeline, change volume per release, time to release."""
    history = dashboard.get("history")
    if history is None:
        return []
    marks: dict[str, list[tuple[date, str, bool, bool]]] = {}
    for event in history["events"]:
        marks.setdefault(event["repository"], []).append((
            pd.Timestamp(event["observed_at"]).date(), f"{event['tag']} {event['event']}",
            False, event["security"]))
    rows = "".join(
        f"<tr><td>{escape(e['observed_at'][:16])}</td><td>{escape(e['repository'])}</td>"
        f"<td>{escape(e['tag'])}</td><td class='{'fail' if e['security'] else ''}'>"
        f"{escape(e['event'])}</td></tr>" for e in history["events"][:50]
    )
    table = ("<table id=release-events><tr><th>Observed</th><th>Repository</th><th>Release</th>"
             f"<th>Event</th></tr>{rows}</table>" if rows else
             "<p class=note id=release-events>No release events yet: the first refresh of a "
             "repository is its baseline.</p>")
    volume = sorted(
        ((repo, c) for repo, data in dashboard["repositories"].items()
         for c in (data.get("history") or {}).get("changes", []) if c["status"] == "ok"),
        key=lambda item: item[1]["published_at"] or "", reverse=True)[:MAX_CHANGES_SHOWN]
    bars = [(f"{repo.split('/')[-1]} {c['tag']}", float(c["commits"] or 0), False)
            for repo, c in reversed(volume)]
    change_rows = "".join(
        f"<tr><td>{escape(repo)}</td><td>{escape(c['tag'])}</td>"
        f"<td>{escape(c['base_tag'] or '(root)')}</td><td class=num>{_number(c['commits'])}</td>"
        f"<td class=num>{_number(c['contributors'])}</td>"
        f"<td class=num>{_number(c['files_changed'])}</td>"
        f"<td class=num>+{_number(c['insertions'])} −{_number(c['deletions'])}</td></tr>"
        for repo, c in volume
    )
    ttr = "".join(
        f"<tr><td>{escape(repo)}</td><td class=num>"
        f"{_fmt_hours((data.get('history') or {}).get('time_to_release_median_hours'))}</td></tr>"
        for repo, data in dashboard["repositories"].items()
    )
    return [
        "<h2>Release events</h2><p class=note>Red ring: a security event (rollback, a file "
        "replaced or changed after publishing).</p>",
        timeline("release-events-timeline", "Release events per repository", marks),
        table,
        "<h2>Change volume per release</h2>",
        bar_chart("change-volume", "Commits per release (newest releases)", bars, "commits"),
        "<table id=change-volume-table><tr><th>Repository</th><th>Release</th><th>Since</th>"
        f"<th>Commits</th><th>Contributors</th><th>Files</th><th>Lines</th></tr>{change_rows}"
        "</table>",
        f"<h2>Time to release</h2><p id=time-to-release>Median "
        f"<b>{_fmt_hours(history['time_to_release_median_hours'])}</b> from the tagged commit "
        "to publication with every file uploaded.</p>"
        f"<table id=time-to-release-table><tr><th>Repository</th><th>Median</th></tr>{ttr}</table>",
    ]
