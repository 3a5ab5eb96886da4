"""Resources, defined once from one `Settings`: the DuckDB warehouse, GitHub, and the config file."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.lib.config import Config, load_config, resolve_config_path
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.settings import (
    DEFAULT_API_URL,
    DEFAULT_DOWNLOAD_DEADLINE_SECONDS,
    DEFAULT_REPOSITORY_DEADLINE_SECONDS,
    Settings,
    reports_beside,
)


class GitHubResource(dg.ConfigurableResource):
    """GitHub (or GitHub Enterprise) through PyGithub; the token comes from `GITHUB_TOKEN`."""

    api_url: str = DEFAULT_API_URL
    token: str | None = None
    # RELEASE_ASSETS_GIT_URL: clone OWNER/NAME from {git_url}/OWNER/NAME.git instead of the
    # API's clone_url (None: the API's clone_url)
    git_url: str | None = None
    max_retries: int = 4
    backoff_seconds: float = 1.0  # before the first retry of a 5xx; doubles each time
    max_rate_limit_wait_seconds: int = 900
    concurrency: int = 8
    repository_deadline_seconds: float = DEFAULT_REPOSITORY_DEADLINE_SECONDS  # all of one repository
    download_deadline_seconds: float = DEFAULT_DOWNLOAD_DEADLINE_SECONDS  # one file download

    def client(self) -> GitHubClient:
        return GitHubClient(
            api_url=self.api_url,
            token=self.token or None,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
            repository_deadline_seconds=self.repository_deadline_seconds,
            download_deadline_seconds=self.download_deadline_seconds,
        )


class ReleaseAssetsConfig(dg.ConfigurableResource):
    """The YAML config (`RELEASE_ASSETS_CONFIG`): repositories, quality rubric, policies."""

    path: str | None = None
    extra_repos: list[str] = []  # repositories named on the command line for one refresh
    reports_dir: str | None = None  # where the dashboard goes; None: `reports/` beside the DuckDB file

    def load(self) -> Config:
        config = load_config(resolve_config_path(self.path))
        if not self.extra_repos:
            return config
        return replace(config, repos=tuple(dict.fromkeys([*config.repos, *self.extra_repos])))

    def reports_folder(self, db_path: str | Path) -> Path:
        return Path(self.reports_dir) if self.reports_dir else reports_beside(db_path)


def resource_defs(settings: Settings | None = None) -> dict[str, object]:
    """The resources for `settings` (default: read from this process's environment)."""
    settings = settings or Settings.from_environ(os.environ)
    return {
        "duckdb": DuckDBResource(database=str(settings.duckdb_path())),
        "github": GitHubResource(
            api_url=settings.github_api_url,
            # An EnvVar, not the value: the token never lands in run config or the UI.
            token=dg.EnvVar("GITHUB_TOKEN") if settings.github_token else None,
            git_url=settings.git_url,
            backoff_seconds=settings.retry_backoff_seconds,
            repository_deadline_seconds=settings.repository_deadline_seconds,
            download_deadline_seconds=settings.download_deadline_seconds,
        ),
        "release_config": ReleaseAssetsConfig(
            path=str(settings.config_path) if settings.config_path else None,
            reports_dir=str(settings.reports_dir) if settings.reports_dir else None,
        ),
    }
