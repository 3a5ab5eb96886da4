"""The code location: every Dagster object under `defs/`, plus the resources, registered once."""

from pathlib import Path

import dagster as dg

import release_assets.defs
from release_assets.defs.resources import resource_defs


@dg.definitions
def defs() -> dg.Definitions:
    project_root = Path(__file__).resolve().parent.parent
    loaded = dg.load_defs(defs_root=release_assets.defs, project_root=project_root)
    return dg.Definitions.merge(loaded, dg.Definitions(resources=resource_defs()))
