"""The project's one YAML configuration file: which repositories, and how to judge them.

Every key is known and every value checked: an unknown key or a bad value is an error naming the
file, the key and the problem, so a typo never silently widens or narrows what gets tracked or
what gets trusted. Secrets never live here (they come from the environment, `lib/settings.py`).

The sections are plain frozen dataclasses whose field types carry pydantic constraints: a file
is validated with `pydantic.TypeAdapter` (`extra="forbid"`, strict types), while code (and tests)
may still build one directly, including a deliberately broken policy.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from croniter import croniter
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    with_config,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from release_assets.lib.settings import ENV_NAMES

CONFIG_ENV = ENV_NAMES["config_path"]
DEFAULT_CONFIG_PATH = Path("release_assets.yaml")
_REPO_KEY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
# A trusted workflow names one repository's workflows: its whole `.github/workflows/` folder, or
# one workflow file (optionally pinned `@ref`). Anything shorter ("https://github.com/", an
# owner) would accept signatures made by workflows of repositories nobody chose to trust.
_WORKFLOW = re.compile(
    r"^https://[A-Za-z0-9.-]+(?::[0-9]+)?/[A-Za-z0-9-]+/[A-Za-z0-9_.-]+/\.github/workflows/"
    r"(?:[A-Za-z0-9_.-]+\.ya?ml(?:@\S+)?)?$"
)
# Scalars are Strict* types (YAML gives real booleans and numbers); containers take YAML lists.
_STRICT = ConfigDict(extra="forbid")


class ConfigError(Exception):
    """A configuration problem, naming the file, the key and what is wrong."""

    def __init__(self, path: str | Path | None, key: str, problem: str) -> None:
        self.path = str(path) if path is not None else "<config>"
        self.key = key
        self.problem = problem
        super().__init__(f"{self.path}: {key}: {problem}")


def _problem(message: str) -> PydanticCustomError:
    # The message goes in as context: user text with braces must not be read as a template.
    return PydanticCustomError("config", "{problem}", {"problem": message})


def _org(value: str) -> str:
    if not _ORG.match(value):
        raise _problem(f"{value!r} is not a GitHub organisation or user name")
    return value


def _repo_key(value: str) -> str:
    if not _REPO_KEY.match(value):
        raise _problem(f"{value!r} is not of the form owner/name")
    return value


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` is not a usable include/exclude glob (None: it is)."""
    if any(c.isspace() for c in pattern):
        return f"glob {pattern!r} contains whitespace, which no repository name does"
    if pattern.count("/") > 1:
        return f"glob {pattern!r} has more than one '/'; it matches name or owner/name"
    i = 0
    while i < len(pattern):
        if pattern[i] == "[":
            # fnmatch's rule: a set may start with '!' and then ']' as a literal member.
            end = i + 1
            if end < len(pattern) and pattern[end] == "!":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            end = pattern.find("]", end)
            if end < 0:
                return f"glob {pattern!r} has a '[' without its closing ']'"
            i = end
        i += 1
    return None


def _glob(value: str) -> str:
    if problem := glob_problem(value):
        raise _problem(problem)
    return value


def _workflow(value: str) -> str:
    if not _WORKFLOW.match(value):
        raise _problem(
            f"{value!r} is too broad or not a workflow: name one repository's workflows, "
            "https://github.com/OWNER/REPO/.github/workflows/ or .../workflows/FILE.yml"
        )
    return value


def _identity(value: str) -> str:
    # Exact identities (a workflow run's full URI, an e-mail) are taken as written; a prefix
    # (ending in '/') must be as narrow as a trusted workflow.
    return _workflow(value) if value.endswith("/") else value


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise _problem(f"{value!r} is not an https:// URL")
    return value


def _rubric(value: str) -> str:
    from release_assets.lib.quality import RUBRICS  # late: quality imports this module's types

    if value not in RUBRICS:
        raise _problem(f"must be one of {sorted(RUBRICS)}")
    return value


def _between(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise _problem(f"must be between {low} and {high}, not {value}")
        return value

    return AfterValidator(check)


def _cron(value: str) -> str:
    # croniter is the parser Dagster's schedules use (vendored there); Dagster also insists on
    # five fields and refuses 30/31 February, so this accepts exactly what a schedule accepts.
    fields = croniter.expand(value)[0] if croniter.is_valid(value) else None
    if fields is None or len(fields) != 5:
        raise _problem(f"{value!r} is not a five-field cron expression (minute hour day month weekday)")
    if fields[3] == [2] and len(fields[2]) == 1 and fields[2][0] in (30, 31):
        raise _problem(f"{value!r} never fires: February has no day {fields[2][0]}")
    return value


def _timezone(value: str) -> str:
    if value.upper() == "UTC":  # Dagster accepts any case of UTC, zoneinfo only "UTC"
        return value
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _problem(f"{value!r} is not an IANA time zone (like UTC or Europe/Berlin)") from None
    return value


def _one_or_many(value: object) -> object:
    # `orgs: acme` means `orgs: [acme]`; an empty key means an empty list.
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


def _section(value: object) -> object:
    return {} if value is None else value


Text = Annotated[StrictStr, Field(min_length=1)]
Count = Annotated[StrictInt, Field(ge=0)]
Positive = Annotated[StrictInt, Field(ge=1)]  # 0 would mean "always stale" or "poll nonstop"
Workflow = Annotated[Text, AfterValidator(_workflow)]
Identity = Annotated[Text, AfterValidator(_identity)]
RepoKey = Annotated[Text, AfterValidator(_repo_key)]
Glob = Annotated[Text, AfterValidator(_glob)]
Globs = Annotated[tuple[Glob, ...], BeforeValidator(_one_or_many)]


@with_config(_STRICT)
@dataclass(frozen=True)
class QualityConfig:
    rubric: Annotated[Text, AfterValidator(_rubric)] = "default"
    threshold: Annotated[StrictInt, _between(0, 100)] = 60
    # of the latest_release_meets_quality_threshold check
    severity: Annotated[Text, Field(pattern="^(ERROR|WARN)$")] = "ERROR"
    stale_after_days: Positive = 365  # cadence_not_stale warns past this


@with_config(_STRICT)
@dataclass(frozen=True)
class VerificationConfig:
    max_download_bytes: Count = 50 * 1024 * 1024  # hashing cap for artifacts without a digest
    max_sbom_bytes: Count = 20 * 1024 * 1024
    # workflows trusted for every repository: a repository's workflows folder or one file
    trusted_workflows: tuple[Workflow, ...] = ()
    identities: dict[RepoKey, tuple[Identity, ...]] = field(default_factory=dict)  # repo -> ids
    issuer: Annotated[Text, AfterValidator(_https)] = "https://token.actions.githubusercontent.com"
    attestations: StrictBool = True
    # The newest N published releases of each repository are verified every run (0: all).
    # Older ones keep the rows they had: a large org's history is a one-off opt-in.
    recent_releases: Count = 20


@with_config(_STRICT)
@dataclass(frozen=True)
class ScheduleConfig:
    cron: Annotated[Text, AfterValidator(_cron)] = "0 6 * * 1"
    timezone: Annotated[Text, AfterValidator(_timezone)] = "UTC"
    discovery_interval_seconds: Positive = 3600
    new_release_interval_seconds: Positive = 300
    freshness_days: Positive = 8


def _include_all_when_empty(value: tuple[str, ...]) -> tuple[str, ...]:
    return value or ("*",)


def _unique(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value))


@with_config(_STRICT)
@dataclass(frozen=True)
class Config:
    orgs: Annotated[
        tuple[Annotated[Text, AfterValidator(_org)], ...], BeforeValidator(_one_or_many)
    ] = ()
    repos: Annotated[
        tuple[RepoKey, ...], BeforeValidator(_one_or_many), AfterValidator(_unique)
    ] = ()
    include: Annotated[Globs, AfterValidator(_include_all_when_empty)] = ("*",)
    exclude: Globs = ()
    skip_forks: StrictBool = True
    skip_archived: StrictBool = True
    quality: Annotated[QualityConfig, BeforeValidator(_section)] = field(default_factory=QualityConfig)
    verification: Annotated[VerificationConfig, BeforeValidator(_section)] = field(
        default_factory=VerificationConfig
    )
    schedule: Annotated[ScheduleConfig, BeforeValidator(_section)] = field(default_factory=ScheduleConfig)
    path: str | None = None  # the file this came from; set by the loader, not a key of the file

    def selects(self, repo: str) -> bool:
        """Whether include/exclude globs (on `name` or `owner/name`) keep this repository."""
        name = repo.split("/", 1)[-1]

        def hit(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(repo, p) for p in patterns)

        return hit(self.include) and not hit(self.exclude)


_ADAPTER = TypeAdapter(Config)
_SECTIONS: dict[str, type[QualityConfig | VerificationConfig | ScheduleConfig]] = {
    "quality": QualityConfig,
    "verification": VerificationConfig,
    "schedule": ScheduleConfig,
}
_FILE_KEYS = sorted(f.name for f in fields(Config) if f.name != "path")


def resolve_config_path(configured: str | Path | None) -> Path | None:
    """The configured path (`--config` or `RELEASE_ASSETS_CONFIG`), else ./release_assets.yaml if
    there is one, else None (the empty default config)."""
    if configured:
        return Path(configured)
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
    """Validate the YAML's data: the first problem is raised as a `ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "(top level)", "must be a mapping of keys to values")
    if "path" in raw:
        raise ConfigError(path, "path", f"unknown key; known keys are {_FILE_KEYS}")
    try:
        config = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise _config_error(exc.errors(), path) from None
    return replace(config, path=str(path) if path is not None else None)


def _config_error(errors: list[ErrorDetails], path: str | Path | None) -> ConfigError:
    unknown = [e for e in errors if e["type"] == "unexpected_keyword_argument"]
    if unknown:
        parent = unknown[0]["loc"][:-1]
        keys = [".".join(map(str, e["loc"])) for e in unknown if e["loc"][:-1] == parent]
        if parent:
            known = sorted(f.name for f in fields(_SECTIONS[str(parent[0])]))
            return ConfigError(path, ", ".join(keys), f"unknown key; known: {known}")
        return ConfigError(path, ", ".join(keys), f"unknown key; known keys are {_FILE_KEYS}")
    error = errors[0]
    names = [str(part) for part in error["loc"] if isinstance(part, str) and part != "[key]"]
    in_list = any(isinstance(part, int) for part in error["loc"])
    return ConfigError(path, ".".join(names) or "(top level)", _describe(error, in_list))


def _describe(error: ErrorDetails, in_list: bool) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "config":
        return str((error.get("ctx") or {}).get("problem", error["msg"]))
    if kind == "bool_type":
        return f"must be true or false, not {value!r}"
    if kind == "greater_than_equal" and (error.get("ctx") or {}).get("ge") == 1:
        return f"must be a whole number of at least 1, not {value!r}"
    if kind in ("int_type", "greater_than_equal"):
        return f"must be a non-negative whole number, not {value!r}"
    if kind in ("string_type", "string_too_short"):
        return "must be a list of non-empty strings" if in_list else "must be a non-empty string"
    if kind == "string_pattern_mismatch":
        return f"must be ERROR or WARN, not {value!r}"
    if kind in ("tuple_type", "list_type"):
        return "must be a list of non-empty strings"
    if kind == "dict_type":
        return "must map owner/name to a list of identity prefixes"
    if kind in ("dataclass_type", "dataclass_exact_type", "model_type"):
        return "must be a mapping"
    return error["msg"]
