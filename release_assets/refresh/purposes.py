"""One Dagster instance and one DuckDB file per purpose: real use, and the offline demo.

Real use: `DAGSTER_HOME` (default `./.dagster_home`) and `RELEASE_ASSETS_DB` (default
`$DAGSTER_HOME/release_assets.duckdb`); `refresh` and `dev` both use this pair. The demo: its own
folder (default `./data/demo`) holding its instance, its DuckDB file and its reports, so demo
runs never mix with real ones. Every path is made absolute here: the code server and the runs
start in the project folder, not the caller's.
"""

from __future__ import annotations

from pathlib import Path

from release_assets.demo.git import bundled_git_url
from release_assets.demo.replay import DemoServer, start_demo_server
from release_assets.demo.snapshot import demo_config_yaml
from release_assets.lib.config import resolve_config_path
from release_assets.lib.settings import DEFAULT_DB_NAME, Settings
from release_assets.refresh.home import DEFAULT_HOME

DEFAULT_DEMO_DIR = Path("data/demo")


def real_settings(settings: Settings, config: Path | None = None) -> Settings:
    """`settings` with the real instance/database pair filled in."""
    home = (settings.dagster_home or DEFAULT_HOME).resolve()
    update: dict[str, object] = {
        "dagster_home": home,
        "db_path": (settings.db_path or home / DEFAULT_DB_NAME).resolve(),
    }
    config_path = resolve_config_path(config or settings.config_path)
    if config_path is not None:
        update["config_path"] = config_path.resolve()
    if settings.reports_dir is not None:
        update["reports_dir"] = settings.reports_dir.resolve()
    return settings.model_copy(update=update)


def demo_settings(settings: Settings, demo_dir: Path, api_url: str) -> Settings:
    """The demo's own instance, data and config, GitHub = the local replay server, no token."""
    folder = demo_dir.resolve()
    config = folder / "demo-config.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    config.write_text(demo_config_yaml())
    return settings.model_copy(update={
        "dagster_home": folder / "dagster_home",
        "db_path": folder / DEFAULT_DB_NAME,
        "reports_dir": folder / "reports",
        "config_path": config,
        "github_api_url": api_url,
        "github_token": None,  # the demo never needs, nor sends, a token
        "git_url": bundled_git_url(folder),  # jq's real history, from the bundled jq.bundle
    })


def demo_server(settings: Settings) -> DemoServer:
    """The recorded responses on the usual port, or any free one when it is taken (the demo's
    stored ETags do not depend on the port)."""
    return start_demo_server(settings.demo_port)
