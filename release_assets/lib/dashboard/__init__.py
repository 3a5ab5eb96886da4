"""The release dashboard: the original JSON and Markdown reports, plus an offline HTML page."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from release_assets.lib import derived
from release_assets.lib.dashboard import jsontext
from release_assets.lib.dashboard.html import collect, render_html
from release_assets.lib.dashboard.markdown import render_markdown
from release_assets.lib.dashboard.model import build_dashboard, tracked_repositories

REPORTS_ENV = "RELEASE_ASSETS_REPORTS"
FILES = ("release-dashboard.json", "release-dashboard.md", "release-dashboard.html")


@dataclass(frozen=True)
class Reports:
    folder: Path
    json_path: Path
    markdown_path: Path
    html_path: Path
    markdown: str
    repositories: int
    failing: int


def reports_folder(db_path: str | Path) -> Path:
    """`RELEASE_ASSETS_REPORTS`, else `reports/` beside the DuckDB file."""
    if explicit := os.environ.get(REPORTS_ENV):
        return Path(explicit)
    return Path(db_path).resolve().parent / "reports"


def write_reports(
    con: duckdb.DuckDBPyConnection, folder: Path, *, threshold: int,
    repos: Sequence[str] | None = None, now: datetime | None = None,
) -> Reports:
    """Write the three files into `folder` (each replaced atomically) and return what was written."""
    derived.ensure_schema(con)
    moment = now or datetime.now(UTC)
    repos = list(repos) if repos is not None else tracked_repositories(con)
    dashboard = build_dashboard(con, repos, now=moment)
    markdown = render_markdown(dashboard)
    page = collect(con, repos, threshold)
    html = render_html(dashboard, page)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in FILES]
    for path, text in zip(paths, (jsontext.dumps(dashboard), markdown, html), strict=True):
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # a reader never sees half a report
    return Reports(folder, *paths, markdown=markdown, repositories=len(repos),
                   failing=len(page.failing))
