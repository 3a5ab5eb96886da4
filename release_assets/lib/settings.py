"""Every setting the process environment supplies, read once into one validated object.

`Settings.from_environ(os.environ)` is the only place that knows the variable names; callers
take a `Settings` (or the resources built from it) instead of reading the environment. Secrets
are `SecretStr`, so printing, logging or `repr` of a `Settings` never shows them, and
`to_environ()` (the variables for a child process) leaves every secret out: a child inherits
those from its parent's own environment (`child_environ`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DB_NAME = "release_assets.duckdb"
DEFAULT_WEBSERVER_URL = "http://localhost:3000"
DEFAULT_REPOSITORY_DEADLINE_SECONDS = 300.0  # all requests for one repository, retries included
DEFAULT_DOWNLOAD_DEADLINE_SECONDS = 120.0  # one file download, however slowly it trickles

# Field name -> environment variable. The token is the one setting `to_environ` never writes.
ENV_NAMES: dict[str, str] = {
    "github_token": "GITHUB_TOKEN",
    "github_api_url": "GITHUB_API_URL",
    "git_url": "RELEASE_ASSETS_GIT_URL",
    "config_path": "RELEASE_ASSETS_CONFIG",
    "db_path": "RELEASE_ASSETS_DB",
    "reports_dir": "RELEASE_ASSETS_REPORTS",
    "dagster_home": "DAGSTER_HOME",
    "retry_backoff_seconds": "RELEASE_ASSETS_RETRY_BACKOFF_SECONDS",
    "repository_deadline_seconds": "RELEASE_ASSETS_REPOSITORY_DEADLINE_SECONDS",
    "download_deadline_seconds": "RELEASE_ASSETS_DOWNLOAD_DEADLINE_SECONDS",
    "automation": "RELEASE_ASSETS_AUTOMATION",
    "alert_interval_seconds": "RELEASE_ASSETS_ALERT_INTERVAL_SECONDS",
    "alert_webhook": "RELEASE_ASSETS_ALERT_WEBHOOK",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_channel": "RELEASE_ASSETS_SLACK_CHANNEL",
    "slack_api_url": "RELEASE_ASSETS_SLACK_API_URL",
    "webserver_url": "DAGSTER_WEBSERVER_URL",
    "demo_port": "RELEASE_ASSETS_DEMO_PORT",
}
SECRET_FIELDS = frozenset({"github_token", "alert_webhook", "slack_bot_token"})
_NON_SECRET_NAMES = frozenset(n for f, n in ENV_NAMES.items() if f not in SECRET_FIELDS)
_OFF = frozenset({"off", "0", "false", "no"})

PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def reports_beside(db_path: str | Path) -> Path:
    """The default reports folder: `reports/` beside the DuckDB file."""
    return Path(db_path).resolve().parent / "reports"


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used; names the variable, never the value."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class Settings(BaseModel):
    """What the environment says, validated; every field has a working default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    github_token: SecretStr | None = None
    github_api_url: str = DEFAULT_API_URL
    git_url: str | None = None  # git's base URL for clones; None: each repository's clone_url
    config_path: Path | None = None
    db_path: Path | None = None
    reports_dir: Path | None = None
    dagster_home: Path | None = None
    retry_backoff_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    repository_deadline_seconds: PositiveSeconds = DEFAULT_REPOSITORY_DEADLINE_SECONDS
    download_deadline_seconds: PositiveSeconds = DEFAULT_DOWNLOAD_DEADLINE_SECONDS
    automation: bool = True  # False: schedule and sensors start stopped
    alert_interval_seconds: Annotated[int, Field(ge=1)] = 30
    alert_webhook: SecretStr | None = None  # a webhook URL often embeds its own secret
    slack_bot_token: SecretStr | None = None
    slack_channel: str | None = None
    slack_api_url: str | None = None
    webserver_url: str = DEFAULT_WEBSERVER_URL
    demo_port: Annotated[int, Field(ge=0, le=65535)] = 47117

    @field_validator("github_api_url", "webserver_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("git_url")
    @classmethod
    def _git_url(cls, value: str | None) -> str | None:
        # file:// too: tests and the demo clone local bare repositories
        if value is not None and not value.startswith(("http://", "https://", "file://")):
            raise ValueError("must be an http://, https:// or file:// URL")
        return value.rstrip("/") if value else value

    @field_validator("automation", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        return value.strip().lower() not in _OFF if isinstance(value, str) else value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read every known variable from `environ`; an empty value means "not set"."""
        values: dict[str, Any] = {
            field: environ[name] for field, name in ENV_NAMES.items() if environ.get(name, "").strip()
        }
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else "?"
            # The message, never the input: the input may be a secret.
            raise SettingsError(ENV_NAMES.get(field, field), error["msg"]) from None

    def to_environ(self) -> dict[str, str]:
        """The non-secret variables that give a child process these settings (set ones only)."""
        env: dict[str, str] = {}
        for field, name in ENV_NAMES.items():
            value = getattr(self, field)
            if field in SECRET_FIELDS or field not in self.model_fields_set or value is None:
                continue
            env[name] = ("on" if value else "off") if isinstance(value, bool) else str(value)
        return env

    def child_environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` (the caller's environment) with these settings in place of its own: secrets are
        inherited from `base` only while this object still holds them (the demo drops the token)."""
        env = {key: value for key, value in base.items() if key not in _NON_SECRET_NAMES}
        for field in SECRET_FIELDS:
            if getattr(self, field) is None:
                env.pop(ENV_NAMES[field], None)
        return {**env, **self.to_environ()}

    def duckdb_path(self) -> Path:
        """`RELEASE_ASSETS_DB`, else a file under `DAGSTER_HOME`, else `./data`."""
        if self.db_path is not None:
            return self.db_path
        if self.dagster_home is not None:
            return self.dagster_home / DEFAULT_DB_NAME
        return Path("data") / DEFAULT_DB_NAME

    def reports_path(self, db_path: str | Path | None = None) -> Path:
        """`RELEASE_ASSETS_REPORTS`, else `reports/` beside the DuckDB file."""
        if self.reports_dir is not None:
            return self.reports_dir
        return reports_beside(db_path or self.duckdb_path())
