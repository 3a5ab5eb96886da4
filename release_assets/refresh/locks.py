"""Advisory file locks: one refresh writes a DuckDB file at a time; one process sets up a home."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class LockBusy(Exception):
    """Another process held the lock for longer than we were willing to wait."""


@contextmanager
def exclusive_lock(
    path: Path,
    *,
    timeout: float,
    busy_message: str,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if missing) while the block runs.

    The kernel drops the lock when the holder dies, even by SIGKILL, so a killed refresh never
    leaves a stale lock behind. Child processes do not inherit it (close-on-exec).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(busy_message) from None
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
        yield
    finally:
        os.close(fd)  # releases the lock
