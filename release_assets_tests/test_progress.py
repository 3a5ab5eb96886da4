"""Run-log progress of assets that work through many repositories in one run."""

from __future__ import annotations

from release_assets.defs.progress import LINES, RepositoryProgress


class _Log:
    def __init__(self) -> None:
        self.info_lines: list[str] = []
        self.warnings: list[str] = []

    def info(self, msg: str) -> None:
        self.info_lines.append(msg)

    def warning(self, msg: str) -> None:
        self.warnings.append(msg)


def test_a_large_run_logs_about_twenty_lines_and_every_failure() -> None:
    log = _Log()
    progress = RepositoryProgress(log, 2000)
    for n in range(2000):
        failure = "failed (HTTP 500)" if n in (7, 1500) else None
        progress(f"acme/repo-{n}", failure, "ok, 50 releases")
    assert log.warnings == ["acme/repo-7: failed (HTTP 500)", "acme/repo-1500: failed (HTTP 500)"]
    assert len(log.info_lines) <= LINES + 1
    assert log.info_lines[-1].startswith("2000/2000 repositories done, 2 failed (last: acme/repo-1999")


def test_a_small_run_logs_every_repository() -> None:
    log = _Log()
    progress = RepositoryProgress(log, 3)
    for n in range(3):
        progress(f"acme/repo-{n}", None, f"{n} rows")
    assert log.info_lines == [
        "1/3 repositories done (last: acme/repo-0, 0 rows)",
        "2/3 repositories done (last: acme/repo-1, 1 rows)",
        "3/3 repositories done (last: acme/repo-2, 2 rows)",
    ]
