"""What the automation reads when the code location loads: intervals, cron, alert channels.

Schedule and sensor intervals are part of a definition, so they come from the config file's
`schedule:` section at load time (restart the daemon/code server after changing them). Secrets
(Slack token, webhook URL) come from the environment only, read at each tick.
"""

import logging
import os

import dagster as dg

from release_assets.lib.config import ConfigError, ScheduleConfig, load_config, resolve_config_path
from release_assets.lib.settings import Settings

# Read once, when the code location loads (RELEASE_ASSETS_AUTOMATION, the alert interval, the config).
ENVIRONMENT = Settings.from_environ(os.environ)
TRIGGER_TAG = "release_assets/trigger"  # who asked for a run: weekly, discovery, new_release
PARTITIONS = "repositories"  # the DynamicPartitionsDefinition's name

# A sensor tick may take 60 s (Dagster's default gRPC timeout); polling stops well before.
POLL_TIME_BUDGET_SECONDS = 40.0


def schedule_config() -> ScheduleConfig:
    try:
        return load_config(resolve_config_path(ENVIRONMENT.config_path)).schedule
    except ConfigError as exc:
        # The runs report the config error loudly; the code location must still load.
        logging.getLogger(__name__).warning("automation uses default intervals: %s", exc)
        return ScheduleConfig()


def sensor_status() -> dg.DefaultSensorStatus:
    on = ENVIRONMENT.automation  # RELEASE_ASSETS_AUTOMATION=off: everything starts stopped
    return dg.DefaultSensorStatus.RUNNING if on else dg.DefaultSensorStatus.STOPPED


def schedule_status() -> dg.DefaultScheduleStatus:
    running = sensor_status() == dg.DefaultSensorStatus.RUNNING
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def alert_interval_seconds() -> int:
    return ENVIRONMENT.alert_interval_seconds


SCHEDULE = schedule_config()
