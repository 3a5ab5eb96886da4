"""Automation logic without Dagster: change detection, alert state, alert delivery, cursors."""
