"""The Dagster UI of the running deployment, in a real browser (Debian Chromium, headless).

What a user sees after a refresh: every asset of the code location on its group's lineage graph,
and an asset's page with its row count, its markdown preview and its check results. The expected
assets, groups and checks come from the loaded `Definitions`, never from a list written here.
Screenshots go to test-artifacts/deployment/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from release_assets.definitions import defs as load_defs
from release_assets_tests.deployment.conftest import ARTIFACTS, Deployment

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(240)]

# Debian's chromium, found on PATH as `make test` (.ci/system-deps) finds or installs it.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (containers run CI as root), no GPU, and no calls home: the test machine is offline.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
UI_TIMEOUT_MS = 30_000
# The asset whose page is checked: the heart of the github group, with a table and a check.
ASSET = "releases"
# A group's lineage graph draws its own assets as full nodes (name, latest event, checks) and
# neighbours from other groups as small links; the full nodes carry the name in this tooltip.
FULL_NODE_NAMES = '[class*="AssetNode_assetName"] [data-tooltip]'


def expected_groups() -> dict[str, set[str]]:
    """Group -> asset names, from the code location's Definitions."""
    graph = load_defs().resolve_asset_graph()
    groups: dict[str, set[str]] = defaultdict(set)
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            groups[node.group_name].add(key.to_user_string())
    return dict(groups)


def expected_checks(asset: str) -> set[str]:
    graph = load_defs().resolve_asset_graph()
    return {key.name for key in graph.asset_check_keys if key.asset_key.to_user_string() == asset}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: apt-get install -y chromium (make test does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, refreshed: Deployment) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=refreshed.processes.url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    # Nodes and panels fill in after the page: wait for their spinners so the picture is useful,
    # but a slow spinner is no failure - the assertions were made before the picture.
    with contextlib.suppress(AssertionError):
        expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0, timeout=15_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_asset_graph_shows_every_asset_in_its_group(page: Page, refreshed: Deployment) -> None:
    groups = expected_groups()
    # The UI's own list (from the code server) agrees with the Definitions we loaded.
    served = defaultdict(set)
    for node in refreshed.graphql.asset_nodes():
        served[node["groupName"]].add("/".join(node["assetKey"]["path"]))
    assert dict(served) == groups

    page.goto("/asset-groups")
    for group in groups:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    screenshot(page, "lineage-global")

    for group, assets in sorted(groups.items()):
        page.goto(f"/locations/release_assets/asset-groups/{group}")
        names = page.locator(FULL_NODE_NAMES)
        expect(names).to_have_count(len(assets))
        shown = set(names.evaluate_all("nodes => nodes.map(n => n.getAttribute('data-tooltip'))"))
        assert shown == assets, f"group {group}: the graph shows {sorted(shown)}, expected {sorted(assets)}"
        screenshot(page, f"lineage-group-{group}")


def test_asset_page_shows_metadata_and_check_results(page: Page, refreshed: Deployment) -> None:
    with duckdb.connect(str(refreshed.db_path), read_only=True) as con:
        count_row = con.execute("SELECT count(*) FROM releases WHERE deleted_at IS NULL").fetchone()
        known = {(repo, tag) for repo, tag in con.execute("SELECT repo, tag FROM releases").fetchall()}
    assert count_row is not None

    page.goto(f"/assets/{ASSET}")
    expect(page.get_by_text("Row count", exact=True)).to_be_visible()
    body = page.inner_text("body")
    match = re.search(r"Row count\s+([\d,]+)", body)
    assert match, "the asset page shows no row count"
    assert int(match.group(1).replace(",", "")) == count_row[0]

    # The markdown preview is rendered as a table, and its rows are releases in DuckDB.
    # (the innermost table: the metadata list around it is a table too)
    preview = page.locator("table:not(:has(table))").filter(
        has=page.get_by_role("columnheader", name="published_at", exact=True)
    )
    expect(preview).to_have_count(1)
    headers = preview.get_by_role("columnheader").all_inner_texts()
    assert headers[:3] == ["repo", "tag", "published_at"]
    first_row = preview.locator("tbody tr").first.locator("td").all_inner_texts()
    assert (first_row[0], first_row[1]) in known, f"preview row {first_row} is not a stored release"
    screenshot(page, f"asset-{ASSET}")

    page.goto(f"/assets/{ASSET}?view=checks")
    checks = expected_checks(ASSET)
    assert "every_repository_fetched" in checks
    for check in checks:
        expect(page.get_by_text(check, exact=True).first).to_be_visible()
    # The selected check's latest execution, as the refresh recorded it.
    page.get_by_text("every_repository_fetched", exact=True).first.click()
    expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
    screenshot(page, f"asset-{ASSET}-checks")
