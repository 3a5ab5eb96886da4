"""Runs launched as the code location's own, the way the UI and the schedule launch them.

A refresh starts one code server for the `release_assets` location (`dagster code-server start`,
with an explicit environment) and submits each job to it with `dagster job launch`, so every run
carries the location's origin and the UI can re-execute it. The run itself executes in a
subprocess of that code server (the instance's run launcher); the caller polls the instance.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import dagster as dg

from release_assets.refresh.home import LOCATION_NAME, PROJECT_ROOT
from release_assets.refresh.recovery import fail_dead_run, process_gone

DAGSTER = [sys.executable, "-m", "dagster"]
START_TIMEOUT_SECONDS = 180.0
LAUNCH_TIMEOUT_SECONDS = 300.0
QUEUED_HINT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0
LIVENESS_CHECK_SECONDS = 5.0


class LaunchError(Exception):
    """The code server or a run could not be started; says why (a log tail, no environment)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _tail(path: Path, chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class CodeServer:
    """The `release_assets` code location served over gRPC for the length of one command."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.port = _free_port()
        self.log_path = log_dir / f"code-server-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._serving = False
        self._scratch = tempfile.TemporaryDirectory(prefix="release-assets-")
        self.workspace = Path(self._scratch.name) / "workspace.yaml"

    def __enter__(self) -> CodeServer:
        """Start the server; it loads the code location while the caller does other work, and
        the first `launch` waits until it answers."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.workspace.write_text(
            "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
            f"      port: {self.port}\n      location_name: {LOCATION_NAME}\n"
        )
        argv = [*DAGSTER, "code-server", "start", "-m", "release_assets.definitions",
                "--location-name", LOCATION_NAME, "-h", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                argv, env=self.env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _port_open(self.port):
            if self._process is None or self._process.poll() is not None or time.monotonic() > deadline:
                raise LaunchError(
                    f"the code server did not start (log {self.log_path}):\n{_tail(self.log_path)}"
                )
            time.sleep(0.2)
        self._serving = True

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            # Every run launched here has ended by now, so a server slow to stop loses nothing.
            self._process.terminate()
            try:
                self._process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self._scratch.cleanup()

    def launch(
        self,
        job_name: str,
        *,
        tags: Mapping[str, str] | None = None,
        run_config: Mapping[str, object] | None = None,
    ) -> str:
        """Submit `job_name` to the instance's run launcher; returns the new run's id."""
        if not self._serving:
            self._wait_until_serving()
        run_id = str(uuid.uuid4())
        argv = [*DAGSTER, "job", "launch", "-w", str(self.workspace), "-j", job_name,
                "--run-id", run_id, "--tags", json.dumps(dict(tags or {}))]
        if run_config:
            argv += ["--config-json", json.dumps(run_config)]
        done = subprocess.run(  # noqa: S603 - our own argv, no shell
            argv, env=self.env, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=LAUNCH_TIMEOUT_SECONDS, check=False,
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise LaunchError(f"could not launch {job_name}: {output[-2000:]}")
        return run_id


def wait_for_run(
    instance: dg.DagsterInstance,
    run_id: str,
    *,
    say: Callable[[str], None],
    interval: float = 0.5,
) -> dg.DagsterRun:
    """Poll until the run ends. A run whose process died with nobody to record it (the code
    server killed too) is marked failed here rather than waited on for ever."""
    started = time.monotonic()
    next_liveness_check = started + LIVENESS_CHECK_SECONDS
    hinted = False
    while True:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise LaunchError(f"run {run_id} is not in the instance")
        if run.is_finished:
            return run
        elapsed = time.monotonic() - started
        if run.status == dg.DagsterRunStatus.QUEUED and elapsed > QUEUED_HINT_SECONDS and not hinted:
            say(f"Run {run_id} is queued: this instance's dagster.yaml uses a queued run "
                "coordinator, which needs `dagster-daemon run` to start it")
            hinted = True
        if time.monotonic() >= next_liveness_check:
            next_liveness_check += LIVENESS_CHECK_SECONDS
            if process_gone(instance, run):
                fail_dead_run(instance, run)
        time.sleep(interval)
