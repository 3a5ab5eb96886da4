"""Run-log progress for an asset that works through many repositories in one run."""

from __future__ import annotations

import threading
from typing import Protocol

LINES = 20


class _Log(Protocol):
    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...


class RepositoryProgress:
    """Logs every failure, and about `LINES` progress lines in all: each log line is an event
    written to the instance, and one per repository costs minutes in a 2,000-repository run."""

    def __init__(self, log: _Log, total: int) -> None:
        self._log = log
        self._total = total
        self._every = max(1, total // LINES)
        self._done = 0
        self._failed = 0
        self._lock = threading.Lock()

    def __call__(self, repo: str, failure: str | None, detail: str) -> None:
        with self._lock:
            self._done += 1
            self._failed += failure is not None
            if failure is not None:
                self._log.warning(f"{repo}: {failure}")
            elif self._done % self._every == 0 or self._done == self._total:
                failed = f", {self._failed} failed" if self._failed else ""
                self._log.info(
                    f"{self._done}/{self._total} repositories done{failed} (last: {repo}, {detail})"
                )
