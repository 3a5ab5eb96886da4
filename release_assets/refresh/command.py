"""`release-assets refresh` and `demo`: settings in, runs launched, a summary and an exit code out."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from release_assets.lib.settings import Settings
from release_assets.refresh.home import INSTANCE_ENV, open_instance
from release_assets.refresh.launcher import CodeServer, LaunchError
from release_assets.refresh.locks import LockBusy, exclusive_lock
from release_assets.refresh.orchestrate import RefreshSummary, run_refresh
from release_assets.refresh.recovery import recover_dead_runs

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_CHECKS_FAILED = 0, 1, 2, 3
DEFAULT_LOCK_WAIT_SECONDS = 60.0


def child_environment(settings: Settings, base: Mapping[str, str]) -> dict[str, str]:
    """What the code server and the runs see: `base` with these settings in place, secrets only
    inherited while `settings` holds them (the demo's holds no token)."""
    return {**settings.child_environ(base), **INSTANCE_ENV, "PYTHONUNBUFFERED": "1"}


def refresh(
    settings: Settings,
    environ: Mapping[str, str],
    *,
    only: Sequence[str] = (),
    fail_on_checks: bool = False,
    lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
) -> int:
    """One whole refresh with `settings` (dagster_home and db_path resolved by the caller)."""
    assert settings.dagster_home is not None and settings.db_path is not None
    db_path, home = settings.db_path, settings.dagster_home
    lock = db_path.with_name(db_path.name + ".lock")
    try:
        with exclusive_lock(
            lock, timeout=lock_wait,
            busy_message=f"another refresh is writing {db_path} (waited {lock_wait:.0f} s)",
            on_wait=lambda: print(f"Waiting up to {lock_wait:.0f} s: another refresh is writing "
                                  f"{db_path}", file=sys.stderr),
        ):
            instance = open_instance(home)
            env = child_environment(settings, environ)
            with instance, CodeServer(env, home / "logs") as server:
                for run_id in recover_dead_runs(instance):
                    print(f"Run {run_id} had no process left (killed?): marked failed, its "
                          "duckdb slot freed", file=sys.stderr)
                summary = run_refresh(server, instance, settings, only=only)
    except LockBusy as exc:
        print(f"{exc}; try again when it has finished", file=sys.stderr)
        return EXIT_RUN_FAILED
    except LaunchError as exc:
        print(f"Run failed: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    return report(summary, settings, db_path, fail_on_checks=fail_on_checks)


def report(summary: RefreshSummary, settings: Settings, db_path: Path, *, fail_on_checks: bool) -> int:
    """Print the summary; the exit code says whether anything could be refreshed."""
    ok = sum(1 for _, status, _ in summary.repositories if status != "failed")
    failed = [(repo, why) for repo, status, why in summary.repositories if status == "failed"]
    totals = summary.totals
    print(
        f"\nRepositories: {ok} ok, {len(failed)} failed · releases {totals.get('releases', 0)} · "
        f"artifacts {totals.get('artifacts', 0)} · new snapshots {totals.get('snapshots', 0)} · "
        f"requests {totals.get('requests', 0)} ({totals.get('not_modified', 0)} × 304, "
        f"{totals.get('rate_limit_points', 0)} rate-limit points)"
    )
    for repo, why in failed:
        print(f"  failed: {repo}: {why}")
    for source, why in summary.source_errors:
        print(f"  failed: {source}: {why}")
    if summary.failed_checks:
        print(
            f"Asset checks that failed ({len(summary.failed_checks)}; details in the UI and the "
            "dashboard): " + ", ".join(summary.failed_checks)
        )
    print(f"DuckDB: {db_path}")
    reports = settings.reports_path(db_path)
    if (reports / "release-dashboard.json").exists():
        print(f"Dashboard: {reports / 'release-dashboard.html'} (+ .json, .md)")
    print(f"Runs: {', '.join(summary.run_ids)} in DAGSTER_HOME={settings.dagster_home}")
    if summary.run_failed:
        print(f"Run failed: {summary.run_failed}", file=sys.stderr)
        return EXIT_RUN_FAILED
    if summary.nothing_refreshed:
        causes = [f"{source}: {why}" for source, why in summary.source_errors]
        causes += [f"{repo}: {why}" for repo, why in failed]
        print("No repository could be refreshed:\n  " + "\n  ".join(causes), file=sys.stderr)
        return EXIT_RUN_FAILED
    if fail_on_checks and summary.failed_checks:
        return EXIT_CHECKS_FAILED
    return EXIT_OK
