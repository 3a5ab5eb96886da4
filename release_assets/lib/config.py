"""The project's one YAML configuration file: which repositories, and how to judge them.

Every key is known: an unknown key is an error naming the file and the key, so a typo never
silently widens or narrows what gets tracked. Secrets never live here (they come from the
environment).
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CONFIG_ENV = "RELEASE_ASSETS_CONFIG"
DEFAULT_CONFIG_PATH = Path("release_assets.yaml")
_REPO_KEY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


class ConfigError(Exception):
    """A configuration problem, naming the file, the key and what is wrong."""

    def __init__(self, path: str | Path | None, key: str, problem: str) -> None:
        self.path = str(path) if path is not None else "<config>"
        self.key = key
        self.problem = problem
        super().__init__(f"{self.path}: {key}: {problem}")


@dataclass(frozen=True)
class QualityConfig:
    rubric: str = "default"
    threshold: int = 60
    severity: str = "ERROR"  # of the latest_release_meets_quality_threshold check
    stale_after_days: int = 365  # cadence_not_stale warns past this


@dataclass(frozen=True)
class VerificationConfig:
    max_download_bytes: int = 50 * 1024 * 1024  # hashing cap for artifacts without a digest
    max_sbom_bytes: int = 20 * 1024 * 1024
    trusted_workflows: tuple[str, ...] = ()  # extra allowed identity prefixes (reusable workflows)
    identities: dict[str, tuple[str, ...]] = field(default_factory=dict)  # repo -> prefixes
    issuer: str = "https://token.actions.githubusercontent.com"
    attestations: bool = True
    # The newest N published releases of each repository are verified every run (0: all).
    # Older ones keep the rows they had: a large org's history is a one-off opt-in.
    recent_releases: int = 20


@dataclass(frozen=True)
class ScheduleConfig:
    cron: str = "0 6 * * 1"
    timezone: str = "UTC"
    discovery_interval_seconds: int = 3600
    new_release_interval_seconds: int = 300
    freshness_days: int = 8


@dataclass(frozen=True)
class Config:
    orgs: tuple[str, ...] = ()
    repos: tuple[str, ...] = ()
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    skip_forks: bool = True
    skip_archived: bool = True
    quality: QualityConfig = field(default_factory=QualityConfig)
    verification: VerificationConfig = field(default_factory=VerificationConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    path: str | None = None

    def selects(self, repo: str) -> bool:
        """Whether include/exclude globs (on `name` or `owner/name`) keep this repository."""
        name = repo.split("/", 1)[-1]

        def hit(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(repo, p) for p in patterns)

        return hit(self.include) and not hit(self.exclude)


_SECTIONS: dict[str, type] = {
    "quality": QualityConfig,
    "verification": VerificationConfig,
    "schedule": ScheduleConfig,
}
_TOP_KEYS = {"orgs", "repos", "include", "exclude", "skip_forks", "skip_archived", *_SECTIONS}


def config_path_from_env(explicit: str | Path | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def load_config(path: str | Path | None) -> Config:
    """Read and validate a config file; None gives the empty default config."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "(file)", f"cannot be read: {exc.strerror or exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(path, "(file)", f"is not valid YAML{line}") from None
    return parse_config(raw or {}, path=path)


def parse_config(raw: Any, *, path: str | Path | None = None) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(path, "(top level)", "must be a mapping of keys to values")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            path, ", ".join(map(str, unknown)), f"unknown key; known keys are {sorted(_TOP_KEYS)}"
        )
    orgs = _string_list(raw, "orgs", path)
    for org in orgs:
        if not _ORG.match(org):
            raise ConfigError(path, "orgs", f"{org!r} is not a GitHub organisation or user name")
    repos = _string_list(raw, "repos", path)
    for repo in repos:
        if not _REPO_KEY.match(repo):
            raise ConfigError(path, "repos", f"{repo!r} is not of the form owner/name")
    sections = {
        name: _section(raw.get(name), name, cls, path) for name, cls in _SECTIONS.items()
    }
    quality: QualityConfig = sections["quality"]
    if not 0 <= quality.threshold <= 100:
        raise ConfigError(path, "quality.threshold", "must be between 0 and 100")
    if quality.severity not in ("ERROR", "WARN"):
        raise ConfigError(path, "quality.severity", "must be ERROR or WARN")
    from release_assets.lib.quality import RUBRICS  # late: rubric data module

    if quality.rubric not in RUBRICS:
        raise ConfigError(path, "quality.rubric", f"must be one of {sorted(RUBRICS)}")
    return Config(
        orgs=tuple(orgs),
        repos=tuple(dict.fromkeys(repos)),
        include=tuple(_string_list(raw, "include", path) or ["*"]),
        exclude=tuple(_string_list(raw, "exclude", path)),
        skip_forks=_bool(raw, "skip_forks", True, path),
        skip_archived=_bool(raw, "skip_archived", True, path),
        path=str(path) if path is not None else None,
        **sections,
    )


def _string_list(raw: dict, key: str, path: str | Path | None) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(path, key, "must be a list of non-empty strings")
    return value


def _bool(raw: dict, key: str, default: bool, path: str | Path | None) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(path, key, f"must be true or false, not {value!r}")
    return value


def _section(value: Any, name: str, cls: type, path: str | Path | None) -> Any:
    if value is None:
        return cls()
    if not isinstance(value, dict):
        raise ConfigError(path, name, "must be a mapping")
    defaults = cls()
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            path, ", ".join(f"{name}.{k}" for k in unknown), f"unknown key; known: {sorted(known)}"
        )
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        expected = getattr(defaults, key)
        where = f"{name}.{key}"
        if isinstance(expected, bool):
            if not isinstance(item, bool):
                raise ConfigError(path, where, f"must be true or false, not {item!r}")
        elif isinstance(expected, int):
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise ConfigError(path, where, f"must be a non-negative whole number, not {item!r}")
        elif isinstance(expected, str):
            if not isinstance(item, str) or not item:
                raise ConfigError(path, where, "must be a non-empty string")
        elif isinstance(expected, tuple):
            if not isinstance(item, list) or not all(isinstance(v, str) for v in item):
                raise ConfigError(path, where, "must be a list of strings")
            item = tuple(item)
        elif isinstance(expected, dict):
            if not isinstance(item, dict) or not all(
                isinstance(k, str) and isinstance(v, list) for k, v in item.items()
            ):
                raise ConfigError(path, where, "must map owner/name to a list of identity prefixes")
            item = {k: tuple(v) for k, v in item.items()}
        kwargs[key] = item
    return cls(**kwargs)
