"""A whole refresh through Dagster, as the CLI runs it: discover, refresh partitions, report.

Three runs in the instance at `DAGSTER_HOME`, so they show in the UI like scheduled ones:
`discover_repositories`, then `repository_refresh` over the repository partitions (one run for
the whole key range), then `organisation_reports`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from release_assets.defs.partitions import repository_partitions
from release_assets.lib import storage
from release_assets.lib.discovery import active_repositories

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class RefreshSummary:
    run_ids: list[str] = field(default_factory=list)
    run_failed: str | None = None  # why a run failed (not a check, not a repository)
    repositories: list[tuple[str, str, str | None]] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def _execute(
    defs: dg.Definitions,
    job_name: str,
    instance: dg.DagsterInstance,
    *,
    tags: dict[str, str] | None = None,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult | None:
    job = defs.resolve_job_def(job_name)
    if not job.asset_layer.executable_asset_keys:
        return None
    # The CLI prints its own per-repository lines; Dagster's step logs stay in the run's log.
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    return job.execute_in_process(
        instance=instance, tags=tags or {}, run_config={**quiet, **(run_config or {})},
        raise_on_error=False,
    )


def _failures(result: dg.ExecuteInProcessResult) -> tuple[list[str], list[str]]:
    """(failed blocking checks, other step failures) of a run."""
    checks: list[str] = []
    errors: list[str] = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
        elif event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            if error is not None and error.cls_name != "DagsterAssetCheckFailedError":
                errors.append(f"{event.step_key}: {error.message.strip().splitlines()[0]}")
    return checks, errors


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
        elif start is not None:
            ranges.append((start, previous))  # type: ignore[arg-type]
            start = None
    if start is not None:
        ranges.append((start, previous))  # type: ignore[arg-type]
    return ranges


def run_refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    db_path: str,
    *,
    only: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> RefreshSummary:
    summary = RefreshSummary()
    extra = {"resources": {"release_config": {"config": {"extra_repos": list(only)}}}}
    discovered = _execute(defs, "discover_repositories", instance, run_config=extra)
    assert discovered is not None
    summary.run_ids.append(discovered.run_id)
    checks, errors = _failures(discovered)
    if not discovered.success and errors:
        summary.run_failed = "; ".join(errors)
        return summary

    with storage.connect(db_path, read_only=True) as con:
        active = active_repositories(con)
        missing = con.execute(
            "SELECT repo, status_reason FROM repositories WHERE status = 'missing'"
        ).fetchall()
    for repo, reason in missing:
        if not only or repo in only:
            summary.repositories.append((repo, "failed", reason))
            say(f"  {repo:<40} failed: {reason}")
    targets = [r for r in active if not only or r in only]
    if not targets:
        say("No repositories to refresh (check the config's orgs/repos and include/exclude).")
    else:
        known = instance.get_dynamic_partitions(repository_partitions.name)
        instance.add_dynamic_partitions(
            repository_partitions.name, [r for r in targets if r not in known]
        )
        ordered = instance.get_dynamic_partitions(repository_partitions.name)
        for start, end in contiguous_ranges(targets, ordered):
            selection = [k for k in ordered[ordered.index(start) : ordered.index(end) + 1]]
            if set(selection) - set(targets):
                continue  # not contiguous: covered by the narrower ranges
            say(f"Refreshing {len(selection)} repositories ({start} … {end})")
            result = _execute(
                defs, "repository_refresh", instance, tags={RANGE_START: start, RANGE_END: end}
            )
            assert result is not None
            summary.run_ids.append(result.run_id)
            checks, errors = _failures(result)
            summary.failed_checks += checks
            if errors:
                summary.run_failed = "; ".join(errors)
            _collect(summary, db_path, result.run_id, say)

    reports = _execute(defs, "organisation_reports", instance)
    if reports is not None:
        summary.run_ids.append(reports.run_id)
        checks, errors = _failures(reports)
        summary.failed_checks += checks
        if errors:
            summary.run_failed = "; ".join(errors)
    return summary


def _collect(summary: RefreshSummary, db_path: str, run_id: str, say: Callable[[str], None]) -> None:
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
        for key, value in (
            ("releases", releases), ("artifacts", artifacts), ("snapshots", snapshots),
            ("requests", requests), ("not_modified", not_modified), ("rate_limit_points", points),
        ):
            summary.totals[key] = summary.totals.get(key, 0) + int(value or 0)
