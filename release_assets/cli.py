"""`release-assets`: refresh through Dagster, the offline demo, the UI, and single-file checks.

Settings are read from the environment once (`Settings.from_environ`) and handed to child
processes as an explicit environment; this process's own environment is never changed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from release_assets.lib.config import CONFIG_ENV, ConfigError, load_config
from release_assets.lib.settings import Settings, SettingsError
from release_assets.lib.verification.bundle_cli import register as register_verify_bundle
from release_assets.refresh.command import (
    DEFAULT_LOCK_WAIT_SECONDS,
    EXIT_CHECKS_FAILED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_USAGE,
    refresh,
)
from release_assets.refresh.purposes import (
    DEFAULT_DEMO_DIR,
    demo_server,
    demo_settings,
    real_settings,
)

__all__ = ["EXIT_CHECKS_FAILED", "EXIT_OK", "EXIT_RUN_FAILED", "EXIT_USAGE", "build_parser", "main"]


def cmd_refresh(args: argparse.Namespace) -> int:
    settings = real_settings(Settings.from_environ(os.environ), args.config)
    load_config(settings.config_path)  # fail fast (exit 2) on a bad config, before Dagster starts
    if settings.config_path is None and not args.repo:
        raise ConfigError(None, "orgs/repos", f"no config: pass --config PATH, set {CONFIG_ENV}, or --repo")
    return refresh(settings, os.environ, only=args.repo or [], fail_on_checks=args.fail_on_checks,
                   lock_wait=args.wait)


def cmd_demo(args: argparse.Namespace) -> int:
    base = Settings.from_environ(os.environ)
    with demo_server(base) as server:
        settings = demo_settings(base, args.dir, server.url)
        print(f"Demo: recorded real GitHub responses replayed from {server.url} (no network, no "
              f"token); its own instance and data in {args.dir.resolve()}")
        code = refresh(settings, os.environ)
    print("Open the UI on the same data: make dev   (then http://127.0.0.1:3000)")
    return code


def cmd_dev(args: argparse.Namespace) -> int:
    """The UI: on the demo's instance and replay server without GitHub settings, else the real one."""
    from release_assets.refresh.dev import dev

    base = Settings.from_environ(os.environ)
    use_demo = args.demo or (not args.real and base.github_token is None
                             and "github_api_url" not in base.model_fields_set)
    if not use_demo:
        return dev(real_settings(base), os.environ, host=args.host, port=args.port)
    with demo_server(base) as server:
        print(f"Demo instance: materialisations replay the demo snapshot from {server.url} "
              "(--real for the real instance)")
        settings = demo_settings(base, args.dir, server.url)
        return dev(settings, os.environ, host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="release-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    refresh = sub.add_parser("refresh", help="refresh the configured repositories through Dagster")
    refresh.add_argument("--config", type=Path, help=f"config YAML (default: ${CONFIG_ENV})")
    refresh.add_argument("--repo", action="append", metavar="OWNER/NAME",
                         help="refresh only this repository (repeatable; added if not configured)")
    refresh.add_argument("--fail-on-checks", action="store_true",
                         help=f"exit {EXIT_CHECKS_FAILED} when an asset check fails")
    refresh.add_argument("--wait", type=float, default=DEFAULT_LOCK_WAIT_SECONDS, metavar="SECONDS",
                         help="how long to wait for another refresh writing the same DuckDB file")
    refresh.set_defaults(func=cmd_refresh)
    demo = sub.add_parser("demo", help="the whole graph on the bundled demo snapshot, offline")
    demo.add_argument("--dir", type=Path, default=DEFAULT_DEMO_DIR,
                      help="the demo's own instance, DuckDB file and reports")
    demo.set_defaults(func=cmd_demo)
    dev = sub.add_parser("dev", help="open the Dagster UI on this project")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    which = dev.add_mutually_exclusive_group()
    which.add_argument("--demo", action="store_true", help="the demo's instance (default without "
                       "GITHUB_TOKEN and GITHUB_API_URL)")
    which.add_argument("--real", action="store_true", help="the real instance at DAGSTER_HOME")
    dev.add_argument("--dir", type=Path, default=DEFAULT_DEMO_DIR, help="the demo's folder")
    dev.set_defaults(func=cmd_dev)
    register_verify_bundle(sub)  # parses its own arguments: usage errors print JSON
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, SettingsError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
