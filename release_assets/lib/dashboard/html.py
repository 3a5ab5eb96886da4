"""`release-dashboard.html`: one self-contained page a release manager opens from disk.

Charts: downloads over time per repository and per platform, the release timeline, the quality
score distribution, and the releases below the threshold, with the original summary table.
Everything is inline (SVG, CSS, a few lines of script to toggle series): no CDN, no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

import duckdb
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.dashboard.charts import Point, bar_chart, line_chart, timeline
from release_assets.lib.dashboard.history import history_html
from release_assets.lib.dashboard.verification import percent
from release_assets.lib.latest import latest_per_repo
from release_assets.lib.quality import below_threshold

MAX_SERIES = 10  # beyond this, the smaller repositories are summed as "other repositories"
MAX_TIMELINE_ROWS = 40

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#111827;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;width:100%;margin:.6rem 0}td,th{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}
th{background:#f9fafb}td.num{text-align:right;font-variant-numeric:tabular-nums}
.chart{border:1px solid #e5e7eb;border-radius:6px;background:#fff;margin:.5rem 0}
.grid{stroke:#e5e7eb}.tick{font-size:10px;fill:#4b5563}.axis{font-size:11px;fill:#374151}
.legend{cursor:pointer;font-size:11px}.legend.off{opacity:.35}.series.off{display:none}
.release{fill:#2563eb}.release.prerelease{fill:#f59e0b}.release.failing{stroke:#dc2626;stroke-width:2}
.bar{fill:#2563eb}.bar.failing{fill:#dc2626}.empty{fill:#6b7280;font-size:13px}
.fail{color:#b91c1c}.ok{color:#15803d}.note{color:#6b7280}
"""

SCRIPT = """
document.querySelectorAll('svg.chart .legend').forEach(function (item) {
  item.addEventListener('click', function () {
    var svg = item.closest('svg'), name = item.getAttribute('data-series');
    item.classList.toggle('off');
    svg.querySelectorAll('.series').forEach(function (g) {
      if (g.getAttribute('data-series') === name) { g.classList.toggle('off'); }
    });
  });
});
"""


@dataclass(frozen=True)
class PageData:
    per_repo: dict[str, list[Point]]
    per_os: dict[str, list[Point]]
    timeline: dict[str, list[tuple[date, str, bool, bool]]]
    scores: list[tuple[str, float, bool]]
    failing: pd.DataFrame
    threshold: int
    rubric: str
    shown_repos: int
    total_repos: int


def _cumulative(trends: pd.DataFrame, by: str) -> dict[str, list[Point]]:
    """Cumulative downloads (baseline + gains) at the end of each ISO week, per `by` value."""
    if trends.empty:
        return {}
    weekly = trends.assign(total=trends["downloads_gained"] + trends["baseline_downloads"])
    weekly = weekly.groupby([by, "week"], as_index=False)["total"].sum().sort_values("week")
    weekly["cumulative"] = weekly.groupby(by)["total"].cumsum()
    order = weekly.groupby(by)["cumulative"].max().sort_values(ascending=False).index.tolist()
    keep, rest = order[:MAX_SERIES], order[MAX_SERIES:]
    series: dict[str, list[Point]] = {}
    for name in keep:
        rows = weekly[weekly[by] == name]
        series[str(name)] = [Point(pd.Timestamp(w).date(), float(c)) for w, c in
                             zip(rows["week"], rows["cumulative"], strict=True)]
    if rest:
        others = weekly[weekly[by].isin(rest)].groupby("week")["total"].sum().cumsum()
        series[f"other ({len(rest)})"] = [Point(pd.Timestamp(w).date(), float(c))
                                          for w, c in others.items()]
    return series


def collect(con: duckdb.DuckDBPyConnection, repos: Sequence[str], threshold: int) -> PageData:
    params = {"repos": list(repos)}
    trends = con.execute(
        "SELECT repo, os, week, downloads_gained, baseline_downloads FROM download_trends "
        f"WHERE {storage.in_repositories(param='$repos')}", params
    ).df()
    quality = con.execute(f"""
        SELECT q.repo, q.tag, q.score, q.missing, q.rubric, q.prerelease, r.published_at,
               r.list_position, r.draft
        FROM release_quality q JOIN releases r USING (release_id)
        WHERE {storage.in_repositories("q.repo", "$repos")} AND r.deleted_at IS NULL
    """, params).df()
    published = quality[~quality["draft"].astype(bool) & quality["published_at"].notna()]
    busiest = published.groupby("repo").size().sort_values(ascending=False)
    shown = sorted(busiest.index[:MAX_TIMELINE_ROWS])
    rows: dict[str, list[tuple[date, str, bool, bool]]] = {}
    for repo in shown:
        part = published[published["repo"] == repo]
        rows[repo] = [
            (pd.Timestamp(p).date(), str(t), bool(pre), bool(below_threshold(int(s), threshold)))
            for p, t, pre, s in zip(part["published_at"], part["tag"], part["prerelease"],
                                    part["score"], strict=True)
        ]
    counts = published["score"].value_counts()
    scores = [(str(s), float(counts.get(s, 0)), bool(below_threshold(s, threshold)))
              for s in range(0, 101, 5) if counts.get(s, 0)]
    latest = latest_per_repo(published)
    failing = latest[below_threshold(latest["score"], threshold)][
        ["repo", "tag", "published_at", "score", "missing"]]
    return PageData(
        per_repo=_cumulative(trends, "repo"),
        per_os=_cumulative(trends, "os"),
        timeline=rows,
        scores=scores,
        failing=failing.sort_values(["score", "repo"]),
        threshold=threshold,
        rubric=str(quality["rubric"].iloc[0]) if len(quality) else "",
        shown_repos=len(shown),
        total_repos=len(busiest),
    )


def _summary_table(dashboard: dict[str, Any]) -> str:
    head = ("<tr><th>Repository</th><th>Releases</th><th>Total Downloads</th>"
            "<th>Avg Days Between</th><th>Quality Score</th></tr>")
    body = []
    for repo, data in dashboard["repositories"].items():
        summary = data["metrics"]["summary"]
        average = data["cadence"].get("average_days_between_releases")
        quality = data["latest_quality"]
        score = f"{quality['quality_score']}/100" if quality else "no release"
        body.append(
            f"<tr><td>{escape(repo)}</td><td class=num>{summary['total_releases']}</td>"
            f"<td class=num>{summary['total_downloads']:,}</td>"
            f"<td class=num>{'—' if average is None else average}</td>"
            f"<td class=num>{score}</td></tr>"
        )
    return f"<table id=summary>{head}{''.join(body)}</table>"


def _failing_table(data: PageData) -> str:
    if data.failing.empty:
        return f'<p class="ok" id="failing">Every latest release scores at least {data.threshold}.</p>'
    rows = "".join(
        f"<tr><td>{escape(r.repo)}</td><td>{escape(str(r.tag))}</td>"
        f"<td>{'' if pd.isna(r.published_at) else pd.Timestamp(r.published_at).date()}</td>"
        f"<td class='num fail'>{int(r.score)}</td><td>{escape(str(r.missing))}</td></tr>"
        for r in data.failing.itertuples(index=False)
    )
    return ("<table id=failing><tr><th>Repository</th><th>Latest release</th><th>Published</th>"
            f"<th>Score</th><th>Lacks</th></tr>{rows}</table>")


def _verification_table(dashboard: dict[str, Any]) -> str:
    organisation = dashboard["verification"]
    if not organisation["releases_verified"]:
        return '<p class="note" id="verification">No verification results yet.</p>'
    rows = "".join(
        f"<tr><td>{escape(repo)}</td><td class=num>{v['releases_verified']}</td>"
        f"<td class=num>{percent(v['pass_rate'])}</td>"
        f"<td class='num{' fail' if v['failed_results'] else ''}'>{v['failed_results']}</td>"
        f"<td class=num>{v['unverifiable_results']}</td></tr>"
        for repo, v in ((r, d["verification"]) for r, d in dashboard["repositories"].items())
    )
    return (
        f"<p id=pass-rate>Pass rate <b>{percent(organisation['pass_rate'])}</b>: "
        f"{organisation['releases_without_failures']} of {organisation['releases_verified']} "
        f"verified releases have no failed result · {organisation['unverifiable_results']} "
        "unverifiable results</p><table id=verification><tr><th>Repository</th>"
        "<th>Releases verified</th><th>Pass rate</th><th>Failed results</th>"
        f"<th>Unverifiable results</th></tr>{rows}</table>"
    )


def render_html(dashboard: dict[str, Any], data: PageData) -> str:
    generated = escape(dashboard["generated_at"])
    note = ("" if data.shown_repos == data.total_repos else
            f'<p class="note">Showing the {data.shown_repos} repositories with most releases of '
            f"{data.total_repos}.</p>")
    sections = [
        f"<h1>Release dashboard</h1><p class=note>Generated {generated} UTC · rubric "
        f"<b>{escape(data.rubric)}</b> · threshold {data.threshold}</p>",
        "<h2>Repositories</h2>", _summary_table(dashboard),
        f"<h2>Latest releases below the quality threshold ({len(data.failing)})</h2>",
        _failing_table(data),
        "<h2>Verification</h2>", _verification_table(dashboard),
        "<h2>Downloads over time per repository</h2>",
        line_chart("downloads-per-repository", "Cumulative downloads per repository",
                   data.per_repo, "downloads"),
        "<h2>Downloads over time per platform</h2>",
        line_chart("downloads-per-platform", "Cumulative downloads per operating system",
                   data.per_os, "downloads"),
        "<h2>Release timeline</h2><p class=note>Orange: pre-release · red ring: below the "
        "threshold.</p>" + note,
        timeline("release-timeline", "Published releases per repository", data.timeline),
        "<h2>Quality score distribution</h2>",
        bar_chart("quality-distribution", "Published releases per quality score", data.scores,
                  "quality score (red: below threshold)"),
        *history_html(dashboard),
    ]
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>Release dashboard</title><style>{STYLE}</style></head><body>"
        f"{''.join(sections)}<script>{SCRIPT}</script></body></html>\n"
    )
