"""`release-assets dev`: the Dagster UI and daemon on one instance, quietly.

It starts `dagster-webserver` and `dagster-daemon run` on `workspace.yaml` (the two processes
`dagster dev` would start) rather than `dagster dev` itself, which Dagster 1.13 marks superseded
by `dg dev` (a SupersessionWarning at every start) and which warns that the project's root
`dagster.yaml` is unused; `dg` (dagster-dg-cli) is not a dependency of this project.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from release_assets.lib.settings import Settings
from release_assets.refresh.command import EXIT_OK, EXIT_RUN_FAILED, child_environment
from release_assets.refresh.home import PROJECT_ROOT, WORKSPACE_YAML, open_instance


def _console_script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def dev(settings: Settings, environ: Mapping[str, str], *, host: str, port: int) -> int:
    """Serve the UI on `settings`' instance until Ctrl-C or until either process exits."""
    assert settings.dagster_home is not None
    open_instance(settings.dagster_home).dispose()
    env = child_environment(settings, environ)
    workspace = ["-w", str(WORKSPACE_YAML)]
    commands = {
        "dagster-webserver": [_console_script("dagster-webserver"), *workspace, "-h", host,
                              "-p", str(port)],
        "dagster-daemon": [_console_script("dagster-daemon"), "run", *workspace],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    print(f"Dagster UI: http://{host}:{port}  (DAGSTER_HOME={settings.dagster_home}, "
          f"DuckDB {settings.db_path}); Ctrl-C stops it")
    try:
        for name, argv in commands.items():
            processes[name] = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT)  # noqa: S603
        while True:
            for name, process in processes.items():
                if process.poll() is None:
                    continue
                if process.returncode == 0:  # stopped by Ctrl-C along with this process
                    return EXIT_OK
                print(f"{name} exited with code {process.returncode}", file=sys.stderr)
                return EXIT_RUN_FAILED
            time.sleep(1.0)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
