"""Fixtures for the automation tests: a Dagster instance, sensor resources, a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from release_assets.defs.resources import GitHubResource, ReleaseAssetsConfig
from release_assets_tests.automation.receiver import Receiver
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.github_server import GitHubServer


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def github_resource(github_server: GitHubServer) -> GitHubResource:
    return GitHubResource(api_url=github_server.url, token=TEST_TOKEN)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def config_resource(tmp_path, text: str) -> ReleaseAssetsConfig:
    path = tmp_path / "release_assets.yaml"
    path.write_text(text)
    return ReleaseAssetsConfig(path=str(path))


def release(tag: str, *names: str, body: str = "## Changes\n- things") -> dict:
    return {
        "tag_name": tag, "body": body,
        "assets": [{"name": n, "size": 10, "download_count": 0, "content_type": "application/octet-stream"} for n in names],
    }
