"""The code location: every Dagster object under `defs/`, plus the resources, registered once."""

import os
from pathlib import Path

import dagster as dg

import release_assets.defs
from release_assets.defs.resources import resource_defs
from release_assets.lib.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    project_root = Path(__file__).resolve().parent.parent
    settings = Settings.from_environ(os.environ)  # read once per load; resources come from it
    loaded = dg.load_defs(defs_root=release_assets.defs, project_root=project_root)
    return dg.Definitions.merge(loaded, dg.Definitions(resources=resource_defs(settings)))
