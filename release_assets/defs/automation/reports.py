"""The organisation-wide reports rebuild themselves after refreshes (declarative automation).

A schedule or sensor targets one job, and the cross-repository assets must be built after the
repositories they summarise. `AutomationCondition.eager()` says exactly that: rebuild when any
repository's analytics were updated, once no run is still updating them. One change: a
repository never refreshed yet (a partition just added) does not hold the reports back.
"""

import dagster as dg

from release_assets.defs.automation.jobs import ORGANISATION_SCOPE
from release_assets.defs.automation.settings import TRIGGER_TAG, sensor_status

AFTER_ANY_REFRESH = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("after any refresh")
)

organisation_reports_automation = dg.AutomationConditionSensorDefinition(
    "organisation_reports_automation",
    target=ORGANISATION_SCOPE,
    default_status=sensor_status(),
    minimum_interval_seconds=30,  # one cheap evaluation of one asset per tick
    run_tags={TRIGGER_TAG: "refresh_finished"},
    emit_backfills=False,
    description="Rebuilds the cross-repository reports once refreshed repositories' analytics "
    "are in and no refresh is still running.",
)
