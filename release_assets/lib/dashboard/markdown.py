"""`release-dashboard.md`: the original script's summary report, line for line.

Same headings, table, detail blocks and ✅/❌ marks, and the same quirks users may parse (a
missing score prints `N/A/100`), so existing readers of the file keep working.
"""

from __future__ import annotations

from typing import Any

from release_assets.lib.dashboard.jsontext import RawJSON


def _mark(value: Any) -> str:
    return "✅" if value else "❌"


def _value(value: Any) -> Any:
    # A cadence without a mean (every release but one is a draft) prints like a missing key.
    return "N/A" if value is None else value


def render_markdown(dashboard: dict[str, Any]) -> str:
    lines = ["# Release Dashboard Summary\n\n", f"**Generated**: {dashboard['generated_at']}\n\n"]
    lines.append("## Repository Overview\n\n")
    lines.append("| Repository | Releases | Total Downloads | Avg Days Between | Quality Score |\n")
    lines.append("|------------|----------|-----------------|------------------|---------------|\n")
    for repo, data in dashboard["repositories"].items():
        summary = data["metrics"]["summary"]
        avg_days = _value(data["cadence"].get("average_days_between_releases", "N/A"))
        quality = data["latest_quality"]["quality_score"] if data["latest_quality"] else "N/A"
        lines.append(
            f"| {repo} | {summary['total_releases']} | {summary['total_downloads']} | "
            f"{avg_days} | {quality}/100 |\n"
        )
    lines.append("\n## Detailed Metrics\n\n")
    for repo, data in dashboard["repositories"].items():
        lines.append(f"### {repo}\n\n")
        latest = data["metrics"]["summary"].get("latest_release")
        if isinstance(latest, RawJSON):
            latest = latest.value()
        if latest:
            lines.append(
                f"**Latest Release**: {latest['tag']} (published {latest['published_at']})\n\n"
            )
        cadence = data["cadence"]
        breakdown = cadence.get("release_breakdown", {})
        lines.append("**Release Cadence**:\n")
        lines.append(
            f"- Average: {_value(cadence.get('average_days_between_releases', 'N/A'))} days\n"
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
    return "".join(lines)
