"""The release dashboard: the original JSON and Markdown reports, plus an offline HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from release_assets.lib import derived, storage
from release_assets.lib.dashboard import jsontext
from release_assets.lib.dashboard.html import collect, render_html
from release_assets.lib.dashboard.markdown import render_markdown
from release_assets.lib.dashboard.model import build_dashboard, tracked_repositories
from release_assets.lib.dashboard.verification import percent

FILES = ("release-dashboard.json", "release-dashboard.md", "release-dashboard.html")


@dataclass(frozen=True)
class Reports:
    folder: Path
    json_path: Path
    markdown_path: Path
    html_path: Path
    markdown: str  # the file's text
    summary: str  # the same report for the UI, without the original's N/A quirks
    repositories: int
    failing: int
    pass_rate: str  # the organisation's verification pass rate, e.g. "97.5%"


def write_reports(
    con: duckdb.DuckDBPyConnection, folder: Path, *, threshold: int,
    repos: Sequence[str] | None = None, now: datetime | None = None,
) -> Reports:
    """Write the three files into `folder` (each replaced atomically) and return what was written."""
    storage.ensure_schema(con)
    derived.ensure_schema(con)
    moment = now or datetime.now(UTC)
    repos = list(repos) if repos is not None else tracked_repositories(con)
    dashboard = build_dashboard(con, repos, now=moment)
    markdown = render_markdown(dashboard)
    page = collect(con, repos, threshold)
    html = render_html(dashboard, page)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path, html_path = (folder / name for name in FILES)
    for path, text in ((json_path, jsontext.dumps(dashboard)), (markdown_path, markdown),
                       (html_path, html)):
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)  # a reader never sees half a report
    return Reports(
        folder, json_path, markdown_path, html_path, markdown=markdown,
        summary=render_markdown(dashboard, clean=True), repositories=len(repos),
        failing=len(page.failing), pass_rate=percent(dashboard["verification"]["pass_rate"]),
    )
