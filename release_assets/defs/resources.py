"""Resources, defined once: the DuckDB warehouse, GitHub, and the project's config file."""

from __future__ import annotations

import os
from dataclasses import replace

import dagster as dg
from dagster_duckdb import DuckDBResource

from release_assets.lib import storage
from release_assets.lib.config import Config, config_path_from_env, load_config
from release_assets.lib.github_client import DEFAULT_API_URL, GitHubClient


class GitHubResource(dg.ConfigurableResource):
    """GitHub (or GitHub Enterprise) through PyGithub; the token comes from `GITHUB_TOKEN`."""

    api_url: str = DEFAULT_API_URL
    token: str | None = None
    max_retries: int = 4
    backoff_seconds: float = 1.0  # before the first retry of a 5xx; doubles each time
    max_rate_limit_wait_seconds: int = 900
    concurrency: int = 8

    def client(self) -> GitHubClient:
        return GitHubClient(
            api_url=self.api_url,
            token=self.token or None,
            max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
        )


class ReleaseAssetsConfig(dg.ConfigurableResource):
    """The YAML config (`RELEASE_ASSETS_CONFIG`): repositories, quality rubric, policies."""

    path: str | None = None
    extra_repos: list[str] = []  # repositories named on the command line for one refresh

    def load(self) -> Config:
        config = load_config(config_path_from_env(self.path))
        if not self.extra_repos:
            return config
        return replace(config, repos=tuple(dict.fromkeys([*config.repos, *self.extra_repos])))


def resource_defs() -> dict[str, object]:
    return {
        "duckdb": DuckDBResource(database=str(storage.default_db_path())),
        "github": GitHubResource(
            api_url=os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            token=dg.EnvVar("GITHUB_TOKEN") if os.environ.get("GITHUB_TOKEN") else None,
            backoff_seconds=float(os.environ.get("RELEASE_ASSETS_RETRY_BACKOFF_SECONDS", "1.0")),
        ),
        "release_config": ReleaseAssetsConfig(path=os.environ.get("RELEASE_ASSETS_CONFIG")),
    }
