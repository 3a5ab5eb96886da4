"""The one partitioning of per-repository data: dynamic partitions keyed `owner/name`."""

import dagster as dg

repository_partitions = dg.DynamicPartitionsDefinition(name="repositories")

# A refresh of many repositories is one run reading `context.partition_keys`, not N runs.
single_run = dg.BackfillPolicy.single_run()

# The run tags that make one run cover a key range (Dagster exports no public constant for them).
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
