"""`make test` on a fresh machine: .ci/system-deps finds chromium and PostgreSQL or installs them.

The detection runs for real against a PATH and a PostgreSQL root made up for each case; the
install itself is a dry run (it would change this machine), the command line it would run is
checked instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "system-deps"


def run_detection(tmp_path: Path, *, chromium: bool, postgres_versions: list[str],
                  postgres_url: str | None = None) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):  # what the script needs besides the programs it looks for
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    if chromium:
        fake = bin_dir / "chromium"
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    pg_root = tmp_path / "postgresql"
    for version in postgres_versions:
        initdb = pg_root / version / "bin" / "initdb"
        initdb.parent.mkdir(parents=True)
        initdb.write_text("#!/bin/sh\n")
    env = {"PATH": str(bin_dir), "RELEASE_ASSETS_PG_ROOT": str(pg_root),
           "RELEASE_ASSETS_SYSTEM_DEPS_DRY_RUN": "1"}
    if postgres_url:
        env["RELEASE_ASSETS_TEST_POSTGRES_URL"] = postgres_url
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30,
                          check=False)


def test_a_fresh_machine_gets_chromium_and_postgresql_in_one_line(tmp_path: Path) -> None:
    result = run_detection(tmp_path, chromium=False, postgres_versions=[])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Installing system packages for the tests: apt-get install -y chromium postgresql"
    ]


def test_only_what_is_missing_is_installed(tmp_path: Path) -> None:
    result = run_detection(tmp_path, chromium=False, postgres_versions=["17"])
    assert result.stdout.splitlines() == [
        "Installing system packages for the tests: apt-get install -y chromium"
    ]


def test_nothing_is_printed_when_everything_is_there(tmp_path: Path) -> None:
    result = run_detection(tmp_path, chromium=True, postgres_versions=["15"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_given_postgres_server_needs_no_binaries(tmp_path: Path) -> None:
    result = run_detection(tmp_path, chromium=True, postgres_versions=[],
                           postgres_url="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    assert (result.returncode, result.stdout) == (0, "")


def test_this_machine_has_what_the_tests_use() -> None:
    """After `make test`'s system-deps step: the browser test's chromium and the cluster's initdb."""
    from release_assets_tests.deployment import postgres
    from release_assets_tests.deployment.test_ui_browser import CHROMIUM

    assert os.access(CHROMIUM, os.X_OK), CHROMIUM
    if not os.environ.get(postgres.URL_ENV):
        assert (postgres.PG_BIN / "initdb").exists(), postgres.PG_BIN
