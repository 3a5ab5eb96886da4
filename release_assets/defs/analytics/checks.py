"""Asset check specs of the analytics group, and how a `lib.gates.Gate` becomes a check result."""

import dagster as dg

from release_assets.defs.metadata import markdown_table
from release_assets.lib.gates import Gate

LATEST_QUALITY = dg.AssetCheckSpec(
    "latest_release_meets_quality_threshold", asset="release_quality", blocking=True,
    description="Each repository's latest published release scores at least quality.threshold; "
    "failing releases are named with what each lacks.",
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
    spec: dg.AssetCheckSpec, gate: Gate, *, severity: dg.AssetCheckSeverity, limit_name: str
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=spec.name,
        asset_key=spec.asset_key,
        passed=gate.passed,
        severity=severity,
        metadata={
            "observed": gate.observed,
            limit_name: gate.limit,
            "failures": len(gate.rows),
            "details": dg.MetadataValue.md(
                markdown_table(gate.headers, gate.rows) if gate.rows else "none"
            ),
        },
    )
