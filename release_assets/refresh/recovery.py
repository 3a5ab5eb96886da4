"""Runs whose process is gone: marked failed, their `duckdb` pool slots freed.

A refresh killed with SIGKILL (with its code server and run worker) leaves its run STARTED for
ever, holding the one `duckdb` slot, and the next run would wait on that slot indefinitely. Before
it launches anything, a refresh ends such runs; the daemon's run monitoring does the same for
deployments (`dagster.yaml`: `run_monitoring`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path

import dagster as dg

GRPC_INFO_TAG = ".dagster/grpc_info"  # set by the run launcher: where the run was started
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
              dg.DagsterRunStatus.CANCELING]


def _started_at(path: Path) -> float | None:
    """When the process behind /proc/PID started (seconds since the epoch), where Linux says."""
    try:
        fields = (path / "stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of stat(5), counted after "pid (comm)"
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _pid_alive(pid: int, not_after: float) -> bool:
    """Whether `pid` runs and is the process that started by `not_after` (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if sys.platform.startswith("linux"):
        started = _started_at(Path(f"/proc/{pid}"))
        return started is None or started <= not_after + 2.0
    return True


def _server_answers(info: dict[str, object]) -> bool:
    port, path = info.get("port"), info.get("socket")
    with contextlib.suppress(OSError, TypeError, ValueError):
        if path:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(str(path))
            return True
        if port:
            with socket.create_connection(("127.0.0.1", int(str(port))), timeout=0.5):
                return True
    return False


def process_gone(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """True only when this machine launched `run` and nothing of it is left running: its run
    worker exited, or (before the worker started) the code server that was to start it did."""
    if run.is_finished:
        return False
    try:
        info = json.loads(run.tags.get(GRPC_INFO_TAG) or "{}")
    except ValueError:
        return False
    if not isinstance(info, dict) or info.get("host") not in LOCAL_HOSTS:
        return False  # launched elsewhere (a deployment): the daemon's run monitoring decides
    starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_START)
    worker = next((e for e in starts if e.dagster_event and e.dagster_event.pid), None)
    if worker is not None and worker.dagster_event is not None and worker.dagster_event.pid:
        return not _pid_alive(worker.dagster_event.pid, worker.timestamp)
    return not _server_answers(info)


def fail_dead_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    instance.report_run_failed(
        run, message="The run's process is gone (killed or crashed); marked failed by "
        "`release-assets refresh` so that its duckdb pool slot is freed.",
    )
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def recover_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """End every local run whose process is gone and free slots held by finished runs; returns
    the ids of the runs marked failed."""
    failed: list[str] = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if process_gone(instance, run):
            fail_dead_run(instance, run)
            failed.append(run.run_id)
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        if holders:
            for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=list(holders))):
                if record.dagster_run.is_finished:
                    storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
    return failed
