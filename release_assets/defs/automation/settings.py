"""What the automation reads when the code location loads: intervals, cron, alert channels.

Schedule and sensor intervals are part of a definition, so they come from the config file's
`schedule:` section at load time (restart the daemon/code server after changing them). Secrets
(Slack token, webhook URL) come from the environment only, read at each tick.
"""

import logging
import os

import dagster as dg

from release_assets.lib.config import ConfigError, ScheduleConfig, config_path_from_env, load_config

AUTOMATION_ENV = "RELEASE_ASSETS_AUTOMATION"  # "off": schedule and sensors start stopped
ALERT_INTERVAL_ENV = "RELEASE_ASSETS_ALERT_INTERVAL_SECONDS"
TRIGGER_TAG = "release_assets/trigger"  # who asked for a run: weekly, discovery, new_release
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITIONS = "repositories"  # the DynamicPartitionsDefinition's name

# A sensor tick may take 60 s (Dagster's default gRPC timeout); polling stops well before.
POLL_TIME_BUDGET_SECONDS = 40.0


def schedule_config() -> ScheduleConfig:
    try:
        return load_config(config_path_from_env()).schedule
    except ConfigError as exc:
        # The runs report the config error loudly; the code location must still load.
        logging.getLogger(__name__).warning("automation uses default intervals: %s", exc)
        return ScheduleConfig()


def sensor_status() -> dg.DefaultSensorStatus:
    off = os.environ.get(AUTOMATION_ENV, "on").lower() in ("off", "0", "false", "no")
    return dg.DefaultSensorStatus.STOPPED if off else dg.DefaultSensorStatus.RUNNING


def schedule_status() -> dg.DefaultScheduleStatus:
    running = sensor_status() == dg.DefaultSensorStatus.RUNNING
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def alert_interval_seconds() -> int:
    try:
        return max(1, int(os.environ.get(ALERT_INTERVAL_ENV, "30")))
    except ValueError:
        return 30


SCHEDULE = schedule_config()
