"""`release-assets`: refresh through Dagster, the offline demo, the UI, and single-file checks."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from release_assets.lib.config import CONFIG_ENV, ConfigError, config_path_from_env, load_config

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_CHECKS_FAILED = 0, 1, 2, 3
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _dagster_home() -> Path:
    """`DAGSTER_HOME`, defaulting to ./.dagster_home with the project's instance settings (and
    the environment Dagster reads them with)."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    template = PROJECT_ROOT / "dagster.yaml"
    if not (home / "dagster.yaml").exists() and template.exists():
        shutil.copy(template, home / "dagster.yaml")
    # One "materialisation planned" event per asset for a run over many repositories, instead
    # of one per asset and repository: 14,000 event-log writes before a 2,000-repository run
    # starts. (Dagster then marks the partitions of a run that crashed as missing, not failed;
    # the refresh records each repository's failure in DuckDB and prints it either way.)
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    # The UI's first-visit pop-up would hide the asset graph from new users and browser tests.
    nux = home / ".nux" / "nux.yaml"
    if not nux.exists():
        nux.parent.mkdir(parents=True, exist_ok=True)
        nux.write_text("seen: 1\n")
    return home


def _refresh(config_path: Path | None, only: list[str], *, fail_on_checks: bool) -> int:
    import dagster as dg

    from release_assets.lib import storage
    from release_assets.refresh import run_refresh

    _dagster_home()
    if config_path is not None:
        os.environ[CONFIG_ENV] = str(config_path.resolve())
    db_path = str(storage.default_db_path().resolve())
    os.environ["RELEASE_ASSETS_DB"] = db_path
    from release_assets.definitions import defs as load_defs

    with dg.DagsterInstance.get() as instance:
        summary = run_refresh(load_defs(), instance, db_path, only=only)
    ok = sum(1 for _, status, _ in summary.repositories if status != "failed")
    failed = [(repo, why) for repo, status, why in summary.repositories if status == "failed"]
    totals = summary.totals
    print(
        f"\nRepositories: {ok} ok, {len(failed)} failed · releases {totals.get('releases', 0)} · "
        f"artifacts {totals.get('artifacts', 0)} · new snapshots {totals.get('snapshots', 0)} · "
        f"requests {totals.get('requests', 0)} ({totals.get('not_modified', 0)} × 304, "
        f"{totals.get('rate_limit_points', 0)} rate-limit points)"
    )
    for repo, why in failed:
        print(f"  failed: {repo}: {why}")
    if summary.failed_checks:
        print(
            f"Asset checks that failed ({len(summary.failed_checks)}; details in the UI and the "
            "dashboard): " + ", ".join(summary.failed_checks)
        )
    print(f"DuckDB: {db_path}")
    reports = Path(os.environ.get("RELEASE_ASSETS_REPORTS") or Path(db_path).parent / "reports")
    if (reports / "release-dashboard.json").exists():
        print(f"Dashboard: {reports / 'release-dashboard.html'} (+ .json, .md)")
    print(f"Runs: {', '.join(summary.run_ids)} in DAGSTER_HOME={os.environ['DAGSTER_HOME']}")
    if summary.run_failed:
        print(f"Run failed: {summary.run_failed}", file=sys.stderr)
        return EXIT_RUN_FAILED
    if fail_on_checks and summary.failed_checks:
        return EXIT_CHECKS_FAILED
    return EXIT_OK


def _demo_environment(workdir: Path):
    """Start the demo replay server and point GitHub settings at it; returns the server."""
    from release_assets.demo.snapshot import demo_config_yaml, load_demo_world
    from release_assets_tests.github_server import GitHubServer

    # A stable port keeps the demo's URLs (and so its stored ETags) the same from run to run.
    port = int(os.environ.get("RELEASE_ASSETS_DEMO_PORT", "47117"))
    try:
        server = GitHubServer(load_demo_world(), port=port).start()
    except OSError:  # taken (say, by a running `make dev`): any free port will do
        server = GitHubServer(load_demo_world()).start()
    config = workdir / "demo-config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(demo_config_yaml())
    os.environ["GITHUB_API_URL"] = server.url
    os.environ.pop("GITHUB_TOKEN", None)  # the demo never needs, nor sends, a token
    os.environ[CONFIG_ENV] = str(config)
    return server, config


def cmd_refresh(args: argparse.Namespace) -> int:
    path = config_path_from_env(args.config)
    load_config(path)  # fail fast (exit 2) on a bad config, before Dagster starts
    if path is None and not args.repo:
        raise ConfigError(None, "orgs/repos", f"no config: pass --config PATH, set {CONFIG_ENV}, or --repo")
    return _refresh(path, args.repo or [], fail_on_checks=args.fail_on_checks)


def cmd_demo(args: argparse.Namespace) -> int:
    data = Path(os.environ.get("RELEASE_ASSETS_DB") or "data/demo/release_assets.duckdb").resolve()
    os.environ["RELEASE_ASSETS_DB"] = str(data)
    server, config = _demo_environment(data.parent)
    try:
        print(f"Demo: recorded real GitHub responses replayed from {server.url} (no network, no token)")
        code = _refresh(config, [], fail_on_checks=False)
    finally:
        server.stop()
    print("Open the UI on the same data: make dev   (then http://127.0.0.1:3000)")
    return code


def cmd_dev(args: argparse.Namespace) -> int:
    """`dagster dev` on this project; without GITHUB_TOKEN, on the demo replay server."""
    _dagster_home()
    server = None
    if not os.environ.get("GITHUB_TOKEN") and not os.environ.get("GITHUB_API_URL"):
        data = Path(os.environ.get("RELEASE_ASSETS_DB") or "data/demo/release_assets.duckdb").resolve()
        os.environ["RELEASE_ASSETS_DB"] = str(data)
        server, _ = _demo_environment(data.parent)
        print(f"No GITHUB_TOKEN: materialisations replay the demo snapshot from {server.url}")
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
               "-h", args.host, "-p", str(args.port)]
    try:
        return subprocess.call(command, cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        if server is not None:
            server.stop()


def cmd_verify_bundle(args: argparse.Namespace) -> int:
    """One sigstore bundle, offline: one JSON object; exit 0 verified, 1 rejected, 2 usage."""
    import json

    from release_assets.lib.verification.bundle_cli import verify_bundle_file

    code, report = verify_bundle_file(
        bundle=args.bundle, artifact=args.artifact, digest=args.digest, identity=args.identity,
        issuer=args.issuer, trust_root=args.trust_root, dsse=args.dsse,
    )
    print(json.dumps(report, indent=2, default=str))
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="release-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    refresh = sub.add_parser("refresh", help="refresh the configured repositories through Dagster")
    refresh.add_argument("--config", type=Path, help=f"config YAML (default: ${CONFIG_ENV})")
    refresh.add_argument("--repo", action="append", metavar="OWNER/NAME",
                         help="refresh only this repository (repeatable; added if not configured)")
    refresh.add_argument("--fail-on-checks", action="store_true",
                         help=f"exit {EXIT_CHECKS_FAILED} when an asset check fails")
    refresh.set_defaults(func=cmd_refresh)
    demo = sub.add_parser("demo", help="the whole graph on the bundled demo snapshot, offline")
    demo.set_defaults(func=cmd_demo)
    dev = sub.add_parser("dev", help="open the Dagster UI on this project")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)
    verify = sub.add_parser("verify-bundle", help="verify one sigstore bundle offline")
    verify.add_argument("--bundle", type=Path, required=True, metavar="FILE")
    subject = verify.add_mutually_exclusive_group(required=True)
    subject.add_argument("--artifact", type=Path, metavar="FILE", help="the signed file (hashed)")
    subject.add_argument("--digest", metavar="sha256:HEX", help="the signed file's sha256")
    verify.add_argument("--identity", required=True, metavar="URI",
                        help="the signer: an exact identity, or a prefix ending in '/'")
    verify.add_argument("--issuer", required=True, metavar="URL", help="the OIDC issuer")
    verify.add_argument("--trust-root", default="production", metavar="production|staging|PATH")
    verify.add_argument("--dsse", action="store_true", help="the bundle is an attestation (DSSE)")
    verify.set_defaults(func=cmd_verify_bundle)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
