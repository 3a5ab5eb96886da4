"""The HTML dashboard opened offline in headless Debian Chromium: the charts are there, with data."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from release_assets.defs.analytics.assets import (
    download_trends,
    release_cadence,
    release_dashboard,
    release_quality,
)
from release_assets.defs.partitions import RANGE_END, RANGE_START
from release_assets.defs.resources import resource_defs
from release_assets.demo.snapshot import DEMO_REPOSITORIES
from release_assets.lib import storage
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets_tests.generated_org import generate_org
from release_assets_tests.github_server import GitHubServer, World, load_demo_world

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    world = load_demo_world()
    generate_org(world, "acme", repos=3, releases=12, artifacts=6, prerelease_every=5)
    return world


def grow_downloads(world: World, repos: list[str], factor: float) -> None:
    for repo in repos:
        for release in world.releases(repo):
            for artifact in release["assets"]:
                world.set_download_count(artifact["id"], int(artifact["download_count"] * factor) + 1)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed")
def test_html_dashboard_renders_charts_offline(
    project_env: Path, tmp_path: Path, world: World, github_server: GitHubServer,
    client: GitHubClient,
) -> None:
    from playwright.sync_api import sync_playwright

    repos = sorted([*DEMO_REPOSITORIES, *(f"acme/{r['name']}" for r in world.org_repos("acme"))])
    db = storage.default_db_path()
    for week in range(4):  # four weekly snapshots, downloads growing
        refresh_repositories(client, db, repos, observed_at=START + timedelta(weeks=week))
        grow_downloads(world, repos, 1.3)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("repositories", repos)
        resources = resource_defs()
        dg.materialize([release_cadence, release_quality, download_trends], instance=instance,
                       resources=resources, raise_on_error=False,
                       tags={RANGE_START: repos[0], RANGE_END: repos[-1]})
        assert dg.materialize([release_dashboard], instance=instance, resources=resources).success
    page_path = tmp_path / "reports" / "release-dashboard.html"
    html = page_path.read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_path.as_uri())
            charts = page.eval_on_selector_all(
                "svg.chart", "els => els.map(e => e.getAttribute('data-chart'))")
            assert charts == ["downloads-per-repository", "downloads-per-platform",
                              "release-timeline", "quality-distribution"]
            per_repo = page.locator("svg[data-chart=downloads-per-repository] .series")
            with_files = [r for r in repos if any(rel["assets"] for rel in world.releases(r))]
            assert per_repo.count() == len(with_files) == 9  # one line per repository
            first = per_repo.first.locator("circle")
            assert first.count() == 4  # one point per week
            values = [float(v) for v in first.evaluate_all("cs => cs.map(c => c.dataset.y)")]
            assert values == sorted(values) and values[-1] > values[0]  # cumulative, growing
            platforms = page.eval_on_selector_all(
                "svg[data-chart=downloads-per-platform] .series",
                "els => els.map(e => e.getAttribute('data-series'))")
            assert {"linux", "windows", "macos"} <= set(platforms)
            published = sum(
                1 for r in repos for rel in world.releases(r) if not rel["draft"])
            assert page.locator("svg[data-chart=release-timeline] circle.release").count() == published
            assert page.locator("svg[data-chart=release-timeline] circle.prerelease").count() > 0
            bars = page.locator("svg[data-chart=quality-distribution] rect.bar")
            total = sum(float(v) for v in bars.evaluate_all("bs => bs.map(b => b.dataset.y)"))
            assert total == published
            failing = page.locator("#failing tr")
            assert failing.count() > 1 and "zeit/hyper" in page.locator("#failing").inner_text()
            # the legend toggles a series
            page.locator("svg[data-chart=downloads-per-repository] .legend").first.click()
            assert "off" in (per_repo.first.get_attribute("class") or "")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "release-dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert all(url.startswith("file://") for url in requests), requests
    summary = json.loads((tmp_path / "reports" / "release-dashboard.json").read_text())
    assert "stedolan/jq" in summary["repositories"]  # several owners: full keys
    shutil.copy(page_path, ARTIFACTS / "release-dashboard.html")
