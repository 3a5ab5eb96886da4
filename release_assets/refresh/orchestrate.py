"""A whole refresh through Dagster: discover, refresh the repository partitions, report.

Three runs of the `release_assets` code location in the instance, launched like scheduled ones
so that the UI shows and can re-execute them: `discover_repositories`, then
`repository_refresh` over the repository partitions (one run per contiguous key range, usually
one), then `organisation_reports`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from release_assets.defs.partitions import RANGE_END, RANGE_START, repository_partitions
from release_assets.lib import storage
from release_assets.lib.discovery import active_repositories
from release_assets.lib.settings import Settings
from release_assets.refresh.launcher import CodeServer, wait_for_run

TOTAL_KEYS = ("releases", "artifacts", "snapshots", "requests", "not_modified", "rate_limit_points")


@dataclass
class RefreshSummary:
    run_ids: list[str] = field(default_factory=list)
    run_failed: str | None = None  # why a run failed (not a check, not a repository)
    repositories: list[tuple[str, str, str | None]] = field(default_factory=list)
    source_errors: list[tuple[str, str]] = field(default_factory=list)  # (org:x | repo:x, cause)
    selected: int = 0  # repositories the config selects that are active
    failed_checks: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def nothing_refreshed(self) -> bool:
        """Errors, not the config, left no repository refreshed."""
        if any(status != "failed" for _, status, _ in self.repositories):
            return False
        return bool(self.source_errors or self.repositories)

    def add(self, key: str, value: int | None) -> None:
        self.totals[key] = self.totals.get(key, 0) + int(value or 0)


def _failures(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[list[str], list[str]]:
    """(failed checks, step or run failures) of a finished run, from its event log."""
    checks: list[str] = []
    errors: list[str] = []
    kinds = {dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.STEP_FAILURE,
             dg.DagsterEventType.RUN_FAILURE}
    for entry in instance.all_logs(run.run_id, of_type=kinds):
        event = entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            if isinstance(data, dg.AssetCheckEvaluation) and not data.passed:
                checks.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = getattr(data, "error", None)
            if error is not None and error.cls_name != "DagsterAssetCheckFailedError":
                errors.append(f"{event.step_key}: {error.message.strip().splitlines()[0]}")
    if run.status == dg.DagsterRunStatus.FAILURE and not errors and not checks:
        errors.append(f"run {run.run_id}: {_run_failure_cause(instance, run.run_id)}")
    return checks, errors


def _run_failure_cause(instance: dg.DagsterInstance, run_id: str) -> str:
    """Why a run failed outside any step (its process could not start, crashed, was killed):
    the last error an engine event carries, else the failure message."""
    kinds = {dg.DagsterEventType.ENGINE_EVENT, dg.DagsterEventType.RUN_FAILURE}
    causes: list[str] = []
    for entry in instance.all_logs(run_id, of_type=kinds):
        event = entry.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event else None
        if error is not None:
            causes.append(f"{error.cls_name}: {error.message.strip().splitlines()[-1]}")
        elif event is not None and event.event_type == dg.DagsterEventType.RUN_FAILURE:
            causes.append(event.message or "failed")
    return causes[0] if causes else "failed"


def contiguous_ranges(keys: Sequence[str], ordered: Sequence[str]) -> list[tuple[str, str]]:
    """Cover `keys` with as few ranges of the partition order as possible."""
    wanted = set(keys)
    ranges: list[tuple[str, str]] = []
    start: str | None = None
    previous: str | None = None
    for key in ordered:
        if key in wanted:
            start = start or key
            previous = key
        elif start is not None and previous is not None:
            ranges.append((start, previous))
            start = None
    if start is not None and previous is not None:
        ranges.append((start, previous))
    return ranges


class Runner:
    """Launch a job on the code server, wait for it, fold its outcome into the summary."""

    def __init__(self, server: CodeServer, instance: dg.DagsterInstance, summary: RefreshSummary,
                 say: Callable[[str], None]) -> None:
        self.server, self.instance, self.summary, self.say = server, instance, summary, say

    def run(self, job_name: str, *, tags: Mapping[str, str] | None = None,
            run_config: Mapping[str, object] | None = None) -> tuple[str, bool]:
        run_id = self.server.launch(job_name, tags=tags, run_config=run_config)
        self.summary.run_ids.append(run_id)
        run = wait_for_run(self.instance, run_id, say=self.say)
        checks, errors = _failures(self.instance, run)
        self.summary.failed_checks += checks
        if errors:
            self.summary.run_failed = "; ".join(errors)
        return run_id, not errors


def _extra_repos_config(settings: Settings, only: Sequence[str]) -> dict[str, object] | None:
    """Run config adding `only` to the configured repositories. Run config replaces the
    resource's whole configuration, so the settings it was built from are repeated."""
    if not only:
        return None
    config = {"extra_repos": list(only), "path": settings.config_path, "reports_dir": settings.reports_dir}
    return {"resources": {"release_config": {"config": {
        key: str(value) if isinstance(value, Path) else value
        for key, value in config.items() if value is not None
    }}}}


def run_refresh(
    server: CodeServer,
    instance: dg.DagsterInstance,
    settings: Settings,
    *,
    only: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> RefreshSummary:
    assert settings.db_path is not None
    db_path = settings.db_path
    summary = RefreshSummary()
    runner = Runner(server, instance, summary, say)
    discovery_run, ok = runner.run("discover_repositories",
                                   run_config=_extra_repos_config(settings, only))
    if not ok:
        return summary

    with storage.connect(db_path, read_only=True) as con:
        active = active_repositories(con)
        missing = con.execute(
            "SELECT repo, status_reason FROM repositories WHERE status = 'missing'"
        ).fetchall()
        sources = con.execute(
            "SELECT source, status, error, requests, not_modified, rate_limit_points "
            "FROM discovery_fetches WHERE run_id = ? ORDER BY source", [discovery_run],
        ).fetchall()
    for source, status, error, requests, not_modified, points in sources:
        if status == "failed":
            summary.source_errors.append((source, error or "failed"))
        for key, value in (("requests", requests), ("not_modified", not_modified),
                           ("rate_limit_points", points)):
            summary.add(key, value)
    for repo, reason in missing:
        if not only or repo in only:
            summary.repositories.append((repo, "failed", reason))
            say(f"  {repo:<40} failed: {reason}")
    targets = [r for r in active if not only or r in only]
    summary.selected = len(targets)
    if not targets:
        if not summary.nothing_refreshed:
            say("No repositories to refresh (check the config's orgs/repos and include/exclude).")
        return summary  # the reports of a refresh that refreshed nothing would say nothing new

    partitions = repository_partitions.name or "repositories"  # it is a named definition
    known = instance.get_dynamic_partitions(partitions)
    instance.add_dynamic_partitions(partitions, [r for r in targets if r not in known])
    ordered = instance.get_dynamic_partitions(partitions)
    for start, end in contiguous_ranges(targets, ordered):
        selection = ordered[ordered.index(start) : ordered.index(end) + 1]
        say(f"Refreshing {len(selection)} repositories ({start} … {end})")
        run_id, _ = runner.run("repository_refresh", tags={RANGE_START: start, RANGE_END: end})
        _collect(summary, db_path, run_id, say)

    runner.run("organisation_reports")
    return summary


def _collect(summary: RefreshSummary, db_path: Path, run_id: str, say: Callable[[str], None]) -> None:
    with storage.connect(db_path, read_only=True) as con:
        rows = con.execute(
            "SELECT repo, status, error, releases, artifacts, snapshots, requests, not_modified, "
            "rate_limit_points, truncated FROM repository_fetches WHERE run_id = ? ORDER BY repo",
            [run_id],
        ).fetchall()
    for repo, status, error, releases, artifacts, snapshots, requests, not_modified, points, trunc in rows:
        summary.repositories.append((repo, status, error))
        if status == "failed":
            say(f"  {repo:<40} failed: {error}")
        else:
            note = " (more than 1,000 releases: REST list truncated)" if trunc else ""
            say(
                f"  {repo:<40} {status:<12} {releases:>5} releases {artifacts:>6} artifacts "
                f"{requests:>3} requests ({not_modified} × 304){note}"
            )
        for key, value in zip(TOTAL_KEYS, (releases, artifacts, snapshots, requests, not_modified,
                                           points), strict=True):
            summary.add(key, value)
