"""Placeholder until the analytics work lands: the rubric names the config accepts."""

RUBRICS = {"seed": None, "default": None}
