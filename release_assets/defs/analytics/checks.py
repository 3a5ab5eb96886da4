"""Asset check specs of the analytics group, and how a `lib.gates.Gate` becomes a check result.

None of them blocks: one repository's low score or stale cadence must never stop another
repository's data nor the organisation's reports. Failures still show red (ERROR) or yellow
(WARN) in the UI and reach the alert channels (see docs/ANALYTICS.md, "What blocks what").
"""

import dagster as dg

from release_assets.defs.metadata import markdown_table
from release_assets.lib.gates import Gate

LATEST_QUALITY = dg.AssetCheckSpec(
    "latest_release_meets_quality_threshold", asset="release_quality",
    description="Each repository's latest published release scores at least quality.threshold; "
    "failing releases are named with what each lacks. Alerts, never blocks.",
)
RELEASE_IDS_UNIQUE = dg.AssetCheckSpec(
    "release_ids_unique", asset="release_quality",
    description="Every release id appears once in releases and once in release_quality.",
)
COUNTS_NEVER_DECREASE = dg.AssetCheckSpec(
    "download_counts_never_decrease", asset="download_trends",
    description="No artifact's download count went down; re-uploads (new artifact id, counting "
    "from zero) are flagged resets and allowed.",
)
CADENCE_NOT_STALE = dg.AssetCheckSpec(
    "cadence_not_stale", asset="release_cadence",
    description="Every repository published a release within quality.stale_after_days (WARN).",
)


def gate_result(
    spec: dg.AssetCheckSpec, gate: Gate, *, severity: dg.AssetCheckSeverity, limit_name: str,
    observed_name: str = "observed", rows_name: str = "details",
) -> dg.AssetCheckResult:
    """`rows_name` holds the failing rows as a table ("none" when it passes): the alert sensor
    quotes it, and tells one failure from another by it."""
    return dg.AssetCheckResult(
        check_name=spec.name,
        asset_key=spec.asset_key,
        passed=gate.passed,
        severity=severity,
        metadata={
            limit_name: gate.limit,
            observed_name: gate.observed,
            "failures": len(gate.rows),
            rows_name: dg.MetadataValue.md(
                markdown_table(gate.headers, gate.rows) if gate.rows else "none"
            ),
        },
    )
