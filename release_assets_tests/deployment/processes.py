"""Real Dagster processes for the deployment tests: a gRPC code server, the webserver, the daemon.

Each process starts in its own session (so its own process group): `dagster code-server start`
forks the actual gRPC server and that server forks run workers, and a stop must take all of them.
A process started with `&` from a shell script ignores SIGTERM here, hence `start_new_session` and
`os.killpg`. Output goes to a log file per process and start, whose tail is quoted whenever a wait
times out, so a failure in CI says why.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

BIN = Path(sys.executable).parent  # the venv's console scripts: dagster, dagster-webserver, ...
T = TypeVar("T")
# Every process started and not yet stopped: a test session that dies (Ctrl-C, an error in a
# fixture) must not leave a webserver or daemon behind, so they are stopped at interpreter exit.
_LIVE: list[ManagedProcess] = []


@atexit.register
def _stop_leftovers() -> None:
    for process in list(_LIVE):
        process.stop(grace=3.0)


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it; released before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


class WaitTimeout(AssertionError):
    """A condition did not come true in time; the message carries the processes' log tails."""


def wait_until(
    what: str,
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.5,
    processes: Sequence[ManagedProcess] = (),
) -> T:
    """Poll `condition` until it returns something truthy; fail early if a process died."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        dead = [p for p in processes if not p.running]
        if dead or time.monotonic() > deadline:
            reason = f"{', '.join(p.name for p in dead)} exited" if dead else f"{timeout:.0f} s passed"
            logs = "\n".join(p.describe() for p in processes)
            raise WaitTimeout(f"gave up waiting for {what}: {reason}\n{logs}")
        time.sleep(interval)


@dataclass
class ManagedProcess:
    """One command in its own process group, logging to `log_dir/<name>-<n>.log`."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    log_dir: Path
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)
    log_path: Path | None = field(default=None, init=False)
    starts: int = field(default=0, init=False)

    def start(self) -> ManagedProcess:
        if self.running:
            return self
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"{self.name}-{self.starts}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                self.argv, env=dict(self.env), cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        _LIVE.append(self)
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole group, SIGKILL whatever is left after `grace` seconds."""
        if self.popen is None:
            return
        pgid = self.popen.pid  # start_new_session: the leader's pid is the group id
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; children it forked (the gRPC server, run workers) may linger.
            if not _group_alive(pgid):
                break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.popen = None
        _LIVE[:] = [p for p in _LIVE if p is not self]

    def log_tail(self, chars: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def describe(self) -> str:
        state = "running" if self.running else f"exit code {self.popen.returncode if self.popen else '-'}"
        return f"--- {self.name} ({state}), {self.log_path} ---\n{self.log_tail()}"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class DagsterDeployment:
    """The production shape on one machine: code server on gRPC, webserver and daemon on
    `infra/dagster.yaml` + `infra/workspace.yaml` in `home`, against PostgreSQL."""

    home: Path
    workspace: Path
    env: dict[str, str]
    log_dir: Path
    code_server_port: int = field(default_factory=free_port)
    webserver_port: int = field(default_factory=free_port)
    processes: list[ManagedProcess] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.env = {
            **self.env,
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(self.code_server_port),
            "DAGSTER_WEBSERVER_URL": self.url,
            "PYTHONUNBUFFERED": "1",
        }
        workspace = ["-w", str(self.workspace)]
        self.code_server = ManagedProcess(
            "code-server",
            [str(BIN / "dagster"), "code-server", "start", "-m", "release_assets.definitions",
             "--location-name", "release_assets", "-h", "127.0.0.1", "-p", str(self.code_server_port)],
            self.env, self.log_dir,
        )
        self.webserver = ManagedProcess(
            "webserver",
            [str(BIN / "dagster-webserver"), *workspace, "-h", "127.0.0.1", "-p", str(self.webserver_port)],
            self.env, self.log_dir,
        )
        self.daemon = ManagedProcess(
            "daemon", [str(BIN / "dagster-daemon"), "run", *workspace], self.env, self.log_dir,
        )
        self.processes = [self.code_server, self.webserver, self.daemon]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def start(self, timeout: float = 90.0) -> None:
        """Code server first (the others load the code location from it), then the rest."""
        self.code_server.start()
        wait_until("the code server's gRPC port", lambda: port_open(self.code_server_port),
                   timeout=timeout, processes=[self.code_server])
        self.webserver.start()
        self.daemon.start()
        wait_until("the webserver", lambda: http_ok(f"{self.url}/server_info"),
                   timeout=timeout, processes=self.processes)

    def stop(self) -> None:
        # Reverse order: the daemon stops launching runs before the code server goes away.
        for process in reversed(self.processes):
            process.stop()

    def restart(self, timeout: float = 90.0) -> None:
        self.stop()
        self.start(timeout=timeout)

    def describe(self) -> str:
        return "\n".join(p.describe() for p in self.processes)

    @contextlib.contextmanager
    def running(self) -> Iterator[DagsterDeployment]:
        try:
            self.start()
            yield self
        finally:
            self.stop()
