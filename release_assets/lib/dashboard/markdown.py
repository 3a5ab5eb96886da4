"""`release-dashboard.md`: the original script's summary report, line for line, then our additions.

Same headings, table, detail blocks and ✅/❌ marks, and the same quirks users may parse (a
missing score prints `N/A/100`), so existing readers of the file keep working. Sections the
original did not have (verification) come after all of its lines.

Text from GitHub (repository keys, tags) is made inert: it can never start a line, split a
table cell or open an HTML tag, so a hostile tag cannot add headings, rows or markup.
`clean=True` renders the same report for the Dagster UI, without the original's `N/A` quirks.
"""

from __future__ import annotations

import re
from typing import Any

from release_assets.lib.dashboard.history import history_markdown
from release_assets.lib.dashboard.jsontext import RawJSON
from release_assets.lib.dashboard.verification import percent

# Any line break Markdown or a browser may honour.
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
_ESCAPES = {"\\": "\\\\", "|": "\\|", "&": "&amp;", "<": "&lt;", ">": "&gt;", "#": "&#35;"}


def inert(text: object) -> str:
    """One line of literal text, whatever GitHub sent; ordinary tags and names are unchanged."""
    flat = _LINE_BREAKS.sub(" ", str(text))
    return "".join(_ESCAPES.get(c, c) for c in flat)


def _mark(value: Any) -> str:
    return "✅" if value else "❌"


def render_markdown(dashboard: dict[str, Any], *, clean: bool = False) -> str:
    missing = "—" if clean else "N/A"

    def value(data: Any) -> Any:
        # A cadence without a mean (every release but one is a draft) prints like a missing key.
        return missing if data is None or data == "N/A" else data

    lines = ["# Release Dashboard Summary\n\n", f"**Generated**: {dashboard['generated_at']}\n\n"]
    lines.append("## Repository Overview\n\n")
    lines.append("| Repository | Releases | Total Downloads | Avg Days Between | Quality Score |\n")
    lines.append("|------------|----------|-----------------|------------------|---------------|\n")
    for repo, data in dashboard["repositories"].items():
        summary = data["metrics"]["summary"]
        avg_days = value(data["cadence"].get("average_days_between_releases", "N/A"))
        quality = data["latest_quality"]
        score = f"{quality['quality_score']}/100" if quality else (
            "no release" if clean else "N/A/100")
        lines.append(
            f"| {inert(repo)} | {summary['total_releases']} | {summary['total_downloads']} | "
            f"{avg_days} | {score} |\n"
        )
    lines.append("\n## Detailed Metrics\n\n")
    for repo, data in dashboard["repositories"].items():
        lines.append(f"### {inert(repo)}\n\n")
        latest = data["metrics"]["summary"].get("latest_release")
        if isinstance(latest, RawJSON):
            latest = latest.value()
        if latest:
            lines.append(
                f"**Latest Release**: {inert(latest['tag'])} "
                f"(published {inert(value(latest['published_at']))})\n\n"
            )
        cadence = data["cadence"]
        breakdown = cadence.get("release_breakdown", {})
        lines.append("**Release Cadence**:\n")
        lines.append(
            f"- Average: {value(cadence.get('average_days_between_releases', 'N/A'))} days\n"
        )
        lines.append(f"- Major releases: {breakdown.get('major', 0)}\n")
        lines.append(f"- Minor releases: {breakdown.get('minor', 0)}\n")
        lines.append(f"- Patch releases: {breakdown.get('patch', 0)}\n\n")
        quality = data["latest_quality"]
        if quality:
            checks = quality["checks"]
            lines.append(f"**Latest Release Quality** ({quality['quality_score']}/100):\n")
            lines.append(f"- Changelog: {_mark(checks['has_changelog'])}\n")
            lines.append(f"- Binaries: {_mark(checks['has_binaries'])}\n")
            lines.append(f"- Checksums: {_mark(checks['has_checksums'])}\n")
            lines.append(f"- Signatures: {_mark(checks['has_signatures'])}\n")
            lines.append(f"- SBOM: {_mark(checks['has_sbom'])}\n\n")
    lines.extend(_verification(dashboard))
    lines.extend(history_markdown(dashboard, inert))
    return "".join(lines)


def _verification(dashboard: dict[str, Any]) -> list[str]:
    organisation = dashboard.get("verification")
    if organisation is None:
        return []
    lines = ["## Verification\n\n"]
    if not organisation["releases_verified"]:
        return [*lines, "No verification results yet.\n"]
    lines.append(
        f"**Pass rate**: {percent(organisation['pass_rate'])} "
        f"({organisation['releases_without_failures']} of {organisation['releases_verified']} "
        f"verified releases have no failed result) · "
        f"**Unverifiable results**: {organisation['unverifiable_results']}\n\n"
    )
    lines.append("| Repository | Releases Verified | Pass Rate | Failed Results | "
                 "Unverifiable Results |\n")
    lines.append("|------------|-------------------|-----------|----------------|"
                 "----------------------|\n")
    for repo, data in dashboard["repositories"].items():
        mine = data.get("verification") or {}
        lines.append(
            f"| {inert(repo)} | {mine.get('releases_verified', 0)} | "
            f"{percent(mine.get('pass_rate'))} | {mine.get('failed_results', 0)} | "
            f"{mine.get('unverifiable_results', 0)} |\n"
        )
    return lines
