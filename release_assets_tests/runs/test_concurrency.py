"""Concurrent refreshes with clear outcomes: one writer per DuckDB file (the second exits 1
naming the file), and two refreshes on a brand-new Dagster home set it up once, without errors."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import dagster as dg

from release_assets_tests.github_server import GitHubServer
from release_assets_tests.runs.conftest import (
    REPOSITORIES,
    kill_group,
    new_place,
    run_cli,
    start_cli,
    wait_for,
)


def _locked(path: Path) -> bool:
    """Whether some process holds the advisory lock on `path`."""
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_second_refresh_of_the_same_duckdb_file_exits_1_naming_it(
    tmp_path: Path, org_github: GitHubServer
) -> None:
    first = new_place(tmp_path / "first", org_github)
    second = new_place(tmp_path / "second", org_github)  # its own DAGSTER_HOME, the same file
    org_github.inject(r"/releases", delay=2.0, times=None)  # keeps the first one writing a while
    process = start_cli(first, "refresh")
    try:
        wait_for("the first refresh to take the DuckDB file", lambda: _locked(
            first.db.with_name(first.db.name + ".lock")), timeout=120)
        done = run_cli(second, "refresh", "--wait", "1", env=second.env(
            RELEASE_ASSETS_DB=str(first.db)))
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"another refresh is writing {first.db}" in done.stderr
        assert "Traceback" not in done.stderr
        assert not second.home.exists()  # it started nothing
        out, err = process.communicate(timeout=420)
    except BaseException:
        kill_group(process)
        raise
    finally:
        org_github.clear_faults()
    assert process.returncode == 0, out + err
    assert f"Repositories: {REPOSITORIES} ok, 0 failed" in out


def test_two_refreshes_on_a_brand_new_home_set_it_up_once(
    tmp_path: Path, org_github: GitHubServer
) -> None:
    home = tmp_path / "new-home"  # does not exist yet
    places = [new_place(tmp_path / name, org_github) for name in ("a", "b")]
    processes = [start_cli(p, "refresh", env=p.env(DAGSTER_HOME=str(home))) for p in places]
    results = []
    try:
        for process in processes:
            results.append(process.communicate(timeout=600))
    finally:
        for process in processes:
            if process.returncode is None:
                kill_group(process)
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, out + err
        assert "already exists" not in err and "Traceback" not in err, err
    with dg.DagsterInstance.from_config(str(home)) as instance:  # both refreshes' runs, in the one instance
        assert len(instance.get_run_records()) == 6
    assert (home / "dagster.yaml").resolve() == Path(__file__).resolve().parents[2] / "dagster.yaml"
