"""`release_events`: what happened to releases between two refreshes, appended, never deleted.

Each run compares what ingestion now holds (`releases`, `release_artifacts`; drafts are not
releases yet and are left out) with the state this module observed last time (its own tables,
`release_event_state` and `artifact_event_state`), appends one row per change, and stores the
new state, all in one transaction: a rerun on unchanged data adds nothing, and a failed run
leaves both the events and the state as they were. A repository's first observation is its
baseline and records no events.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import duckdb
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS release_events (
    repo VARCHAR NOT NULL,
    release_id BIGINT NOT NULL,
    tag VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    detail JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS release_event_baselines (
    repo VARCHAR PRIMARY KEY,
    baseline_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS release_event_state (
    repo VARCHAR NOT NULL,
    release_id BIGINT NOT NULL,
    tag VARCHAR NOT NULL,
    name VARCHAR,
    body_sha256 VARCHAR NOT NULL,        -- of the body ('' when null): edits, without the text
    prerelease BOOLEAN NOT NULL,
    immutable BOOLEAN,
    published_at TIMESTAMPTZ,
    observed_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS artifact_event_state (
    repo VARCHAR NOT NULL,
    release_id BIGINT NOT NULL,
    artifact_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    digest VARCHAR,
    size BIGINT,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ
);
"""

EVENTS = (
    "published", "edited", "prerelease_on", "prerelease_off", "deleted", "artifact_added",
    "artifact_removed", "artifact_replaced", "artifact_modified_after_publish",
    "immutable_changed", "rollback",
)
DEFAULT_GRACE = timedelta(minutes=10)


class EventRow(NamedTuple):
    repo: str
    release_id: int
    tag: str
    event: str
    observed_at: datetime
    detail: str  # JSON text


def is_security_event(event: str, detail: dict[str, Any]) -> bool:
    """Rollbacks and tamper signals (a file changed after publishing), as the alerts send them."""
    if event in ("rollback", "artifact_modified_after_publish"):
        return True
    return event == "artifact_replaced" and bool(detail.get("after_grace"))


@dataclass
class EventsRefresh:
    events: list[EventRow] = field(default_factory=list)
    baselined: list[str] = field(default_factory=list)  # repositories observed for the first time

    def security_events(self) -> list[EventRow]:
        return [e for e in self.events if is_security_event(e.event, json.loads(e.detail))]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


class _Release(NamedTuple):
    repo: str
    release_id: int
    tag: str
    name: str | None
    body_sha256: str
    prerelease: bool
    immutable: bool | None
    published_at: datetime | None


class _Artifact(NamedTuple):
    repo: str
    release_id: int
    artifact_id: int
    name: str
    digest: str | None
    size: int | None
    created_at: datetime | None
    updated_at: datetime | None


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        [table, column],
    ).fetchall()
    return bool(rows[0][0])


def _current(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> tuple[
        list[_Release], list[_Artifact], dict[int, str]]:
    params = {"repos": list(repos)}
    immutable = "immutable" if _has_column(con, "releases", "immutable") else "NULL::BOOLEAN"
    releases = [_Release(*row) for row in con.execute(f"""
        SELECT repo, release_id, tag, name, sha256(coalesce(body, '')), prerelease,
               {immutable}, published_at
        FROM releases
        WHERE repo IN (SELECT unnest($repos::VARCHAR[])) AND deleted_at IS NULL AND NOT draft
    """, params).fetchall()]
    artifacts = [_Artifact(*row) for row in con.execute("""
        SELECT a.repo, a.release_id, a.artifact_id, a.name, a.digest, a.size, a.created_at,
               a.updated_at
        FROM release_artifacts a JOIN releases r USING (release_id)
        WHERE a.repo IN (SELECT unnest($repos::VARCHAR[])) AND a.deleted_at IS NULL
          AND r.deleted_at IS NULL AND NOT r.draft
    """, params).fetchall()]
    drafts = dict(con.execute("""
        SELECT release_id, tag FROM releases
        WHERE repo IN (SELECT unnest($repos::VARCHAR[])) AND deleted_at IS NULL AND draft
    """, params).fetchall())
    return releases, artifacts, drafts


def _previous(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> tuple[
        list[_Release], list[_Artifact], set[str]]:
    params = {"repos": list(repos)}
    releases = [_Release(*row) for row in con.execute("""
        SELECT repo, release_id, tag, name, body_sha256, prerelease, immutable, published_at
        FROM release_event_state WHERE repo IN (SELECT unnest($repos::VARCHAR[]))
    """, params).fetchall()]
    artifacts = [_Artifact(*row) for row in con.execute("""
        SELECT repo, release_id, artifact_id, name, digest, size, created_at, updated_at
        FROM artifact_event_state WHERE repo IN (SELECT unnest($repos::VARCHAR[]))
    """, params).fetchall()]
    baselines = {r for (r,) in con.execute(
        "SELECT repo FROM release_event_baselines WHERE repo IN (SELECT unnest($repos::VARCHAR[]))",
        params).fetchall()}
    return releases, artifacts, baselines


def _newest_final(releases: Sequence[_Release]) -> _Release | None:
    """The repository's newest published release that is not a pre-release."""
    final = [r for r in releases if not r.prerelease and r.published_at is not None]
    return max(final, key=lambda r: (r.published_at, r.release_id), default=None)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else pd.Timestamp(moment).tz_convert("UTC").isoformat()


class _Differ:
    def __init__(self, observed_at: datetime, grace: timedelta) -> None:
        self.observed_at, self.grace = observed_at, grace
        self.rows: list[EventRow] = []

    def add(self, release: _Release, event: str, **detail: Any) -> None:
        self.rows.append(EventRow(release.repo, release.release_id, release.tag, event,
                                  self.observed_at, json.dumps(detail, sort_keys=True, default=str)))

    def late(self, release: _Release, moment: datetime | None) -> bool:
        return bool(moment and release.published_at and moment > release.published_at + self.grace)

    def _late_detail(self, release: _Release, artifact: _Artifact) -> dict[str, Any]:
        stamp = max(d for d in (artifact.created_at, artifact.updated_at) if d is not None)
        return {"name": artifact.name, "artifact_id": artifact.artifact_id,
                "created_at": _iso(artifact.created_at), "updated_at": _iso(artifact.updated_at),
                "published_at": _iso(release.published_at),
                "minutes_after_publish": round((stamp - release.published_at).total_seconds() / 60, 1)
                if release.published_at else None}

    def release(self, old: _Release | None, new: _Release, old_files: dict[str, _Artifact],
                new_files: dict[str, _Artifact]) -> None:
        if old is None:
            self.add(new, "published", published_at=_iso(new.published_at),
                     prerelease=new.prerelease, artifacts=len(new_files))
        else:
            changed = [f for f, a, b in (("name", old.name, new.name),
                                         ("body", old.body_sha256, new.body_sha256)) if a != b]
            if changed:
                self.add(new, "edited", fields=changed, name_before=old.name, name_after=new.name)
            if old.prerelease != new.prerelease:
                self.add(new, "prerelease_on" if new.prerelease else "prerelease_off")
            if old.immutable is not None and new.immutable is not None \
                    and old.immutable != new.immutable:
                self.add(new, "immutable_changed", before=old.immutable, after=new.immutable)
        for name in sorted(old_files.keys() - new_files.keys()):
            gone = old_files[name]
            self.add(new, "artifact_removed", name=name, artifact_id=gone.artifact_id,
                     digest=gone.digest)
        for name in sorted(new_files):
            file, before = new_files[name], old_files.get(name)
            late = self.late(new, file.created_at) or self.late(new, file.updated_at)
            if old is not None and before is None:
                self.add(new, "artifact_added", name=name, artifact_id=file.artifact_id,
                         digest=file.digest, size=file.size)
            elif before is not None and before.artifact_id != file.artifact_id:
                # the count reset this causes is already flagged by download_trends
                self.add(new, "artifact_replaced", name=name, old_artifact_id=before.artifact_id,
                         new_artifact_id=file.artifact_id, old_digest=before.digest,
                         new_digest=file.digest, old_size=before.size, new_size=file.size,
                         uploaded_at=_iso(file.created_at), after_grace=late)
                continue  # the replacement is the signal; not also "modified after publish"
            elif before is not None and before.updated_at == file.updated_at \
                    and before.created_at == file.created_at:
                continue  # unchanged since last time: already judged
            if late:
                self.add(new, "artifact_modified_after_publish", **self._late_detail(new, file))


def diff_repository(
    previous: Sequence[_Release], previous_files: Sequence[_Artifact],
    current: Sequence[_Release], current_files: Sequence[_Artifact], drafts: dict[int, str],
    *, observed_at: datetime, grace: timedelta = DEFAULT_GRACE,
) -> list[EventRow]:
    """The events that turn `previous` into `current` for one repository."""
    differ = _Differ(observed_at, grace)
    before = {r.release_id: r for r in previous}
    now = {r.release_id: r for r in current}

    def files(artifacts: Sequence[_Artifact]) -> dict[int, dict[str, _Artifact]]:
        grouped: dict[int, dict[str, _Artifact]] = {}
        for artifact in artifacts:
            grouped.setdefault(artifact.release_id, {})[artifact.name] = artifact
        return grouped

    old_files, new_files = files(previous_files), files(current_files)
    for release_id in sorted(before.keys() - now.keys()):
        gone = before[release_id]
        differ.add(gone, "deleted", turned_into_draft=release_id in drafts)
    for release_id in sorted(now):
        differ.release(before.get(release_id), now[release_id], old_files.get(release_id, {}),
                       new_files.get(release_id, {}))
    newest = _newest_final(previous)
    if newest is not None:
        still = now.get(newest.release_id)
        if still is None or still.prerelease:
            successor = _newest_final(current)
            differ.add(newest, "rollback", reason="deleted" if still is None else "prerelease_on",
                       newest_release_now=successor.tag if successor else None)
    return differ.rows


def refresh_events(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str], *, observed_at: datetime,
    grace: timedelta = DEFAULT_GRACE,
) -> EventsRefresh:
    """Diff every repository in `repos` against its last observation, append the events and
    store the new observation, atomically."""
    ensure_schema(con)
    current, current_files, drafts = _current(con, repos)
    previous, previous_files, baselines = _previous(con, repos)
    result = EventsRefresh()

    def by_repo(rows: Sequence[Any]) -> dict[str, list[Any]]:
        grouped: dict[str, list[Any]] = {}
        for row in rows:
            grouped.setdefault(row.repo, []).append(row)
        return grouped

    cur, cur_files, prev, prev_files = (by_repo(x) for x in (current, current_files, previous,
                                                            previous_files))
    for repo in repos:
        if repo not in baselines:
            result.baselined.append(repo)
            continue
        result.events += diff_repository(
            prev.get(repo, []), prev_files.get(repo, []), cur.get(repo, []),
            cur_files.get(repo, []), drafts, observed_at=observed_at, grace=grace,
        )
    _store(con, repos, current, current_files, result, observed_at)
    return result


def _store(con: duckdb.DuckDBPyConnection, repos: Sequence[str], releases: list[_Release],
           artifacts: list[_Artifact], result: EventsRefresh, observed_at: datetime) -> None:
    params = {"repos": list(repos)}
    state = pd.DataFrame(releases, columns=list(_Release._fields)).assign(observed_at=observed_at)
    files = pd.DataFrame(artifacts, columns=list(_Artifact._fields))
    events = pd.DataFrame(result.events, columns=list(EventRow._fields))
    baselines = pd.DataFrame({"repo": result.baselined, "baseline_at": observed_at})
    con.execute("BEGIN TRANSACTION")
    try:
        for table, frame in (("release_event_state", state), ("artifact_event_state", files)):
            con.execute(f"DELETE FROM {table} WHERE repo IN (SELECT unnest($repos::VARCHAR[]))",
                        params)
            if len(frame):
                con.register("incoming_state", frame)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_state")
                con.unregister("incoming_state")
        for table, frame in (("release_events", events), ("release_event_baselines", baselines)):
            if len(frame):
                con.register("incoming_rows", frame)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming_rows")
                con.unregister("incoming_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise

