"""The Dagster instance a command uses: one home per purpose, the project's dagster.yaml in force.

A home's `dagster.yaml` is a symlink to the project's, so an edit to the project's file takes
effect at the next start, and the demo's home and the real one share the same settings while
keeping their runs apart.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from release_assets.refresh.locks import exclusive_lock

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_INSTANCE_YAML = PROJECT_ROOT / "dagster.yaml"
WORKSPACE_YAML = PROJECT_ROOT / "workspace.yaml"
LOCATION_NAME = "release_assets"  # the code location's name everywhere: workspace, runs, UI links
DEFAULT_HOME = Path(".dagster_home")  # real use; the demo's lives under its data folder
SETUP_TIMEOUT_SECONDS = 120.0
# The first line of the file earlier versions copied into a home (now replaced by the symlink).
_OLD_COPY_MARKER = "# Local instance (make demo / make dev / release-assets refresh copy this"
# One "materialisation planned" event per asset for a run over many repositories, instead of one
# per asset and repository: 14,000 event-log writes before a 2,000-repository run starts.
INSTANCE_ENV = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "1"}


def prepare_home(home: Path) -> Path:
    """Create `home` with the project's dagster.yaml linked in and the UI's first-visit pop-up
    dismissed (it would hide the asset graph from new users and browser tests)."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if PROJECT_INSTANCE_YAML.exists() and config.resolve() != PROJECT_INSTANCE_YAML:
        if config.is_symlink() or (config.exists() and _is_old_copy(config)):
            config.unlink()
        if not config.exists():
            config.symlink_to(PROJECT_INSTANCE_YAML)
        # else: the operator's own dagster.yaml in their own home, left as it is
    nux = home / ".nux" / "nux.yaml"
    if not nux.exists():
        nux.parent.mkdir(parents=True, exist_ok=True)
        nux.write_text("seen: 1\n")
    return home


def _is_old_copy(config: Path) -> bool:
    return config.read_text(errors="replace").startswith(_OLD_COPY_MARKER)


def open_instance(home: Path) -> dg.DagsterInstance:
    """The instance at `home`, its storage created by one process at a time: two commands on a
    brand-new home would otherwise race to create the same sqlite tables."""
    lock = home.resolve() / ".release_assets-setup.lock"
    with exclusive_lock(
        lock, timeout=SETUP_TIMEOUT_SECONDS,
        busy_message=f"another process is setting up {home} (waited {SETUP_TIMEOUT_SECONDS:.0f} s)",
    ):
        home = prepare_home(home)
        instance = dg.DagsterInstance.from_config(str(home))
        instance.get_runs(limit=1)  # touches every storage while the lock is held
    return instance
