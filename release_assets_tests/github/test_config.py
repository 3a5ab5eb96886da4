"""The config file and the environment's settings: what users write, and the errors they get."""

from pathlib import Path

import dagster as dg
import pytest

from release_assets.cli import main
from release_assets.defs.resources import resource_defs
from release_assets.lib.config import ConfigError, load_config, parse_config
from release_assets.lib.settings import Settings, SettingsError

DOCUMENTED_WORKFLOW = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "release_assets.yaml"
    path.write_text(text)
    return path


def test_full_example_parses(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, f"""
orgs: [acme]
repos: [other-org/tool, other-org/tool]
include: ["*"]
exclude: ["*-archive", "legacy-[0-9]*"]
skip_forks: true
skip_archived: true
quality: {{rubric: default, threshold: 60}}
verification:
  trusted_workflows: [{DOCUMENTED_WORKFLOW}]
  identities:
    acme/tool:
      - https://github.com/acme/release/.github/workflows/sign.yml@refs/heads/main
      - release-bot@acme.example
schedule: {{cron: "30 5 * * MON-FRI", timezone: Europe/Berlin}}
"""))
    assert config.orgs == ("acme",)
    assert config.repos == ("other-org/tool",)
    assert config.quality.threshold == 60
    assert config.selects("acme/api")
    assert not config.selects("acme/old-archive") and not config.selects("acme/legacy-2")
    assert config.verification.trusted_workflows == (DOCUMENTED_WORKFLOW,)
    assert config.schedule.timezone == "Europe/Berlin"


def test_empty_keys_and_a_single_string_mean_what_they_say(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "orgs: acme\ninclude: []\nquality:\n"))
    assert config.orgs == ("acme",)
    assert config.include == ("*",)
    assert config.quality.threshold == 60


BROAD = "is too broad"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("orgs: [acme]\nrepo: [a/b]\n", "repo", "unknown key"),
        ("quality: {rubric: default, treshold: 50}\n", "quality.treshold", "unknown key"),
        ("path: elsewhere.yaml\n", "path", "unknown key"),
        ("repos: [not-a-repo]\n", "repos", "owner/name"),
        ("orgs: [-acme]\n", "orgs", "not a GitHub organisation"),
        ("quality: {threshold: 160}\n", "quality.threshold", "between 0 and 100"),
        ("quality: {rubric: strict}\n", "quality.rubric", "must be one of"),
        ("quality: {severity: INFO}\n", "quality.severity", "ERROR or WARN"),
        ("quality: 60\n", "quality", "must be a mapping"),
        ("skip_forks: maybe\n", "skip_forks", "true or false"),
        ("skip_forks: 'true'\n", "skip_forks", "true or false"),
        ("orgs: [acme\n", "(file)", "not valid YAML"),
        ("- just\n- a list\n", "(top level)", "mapping"),
        ("verification: {recent_releases: -5}\n", "verification.recent_releases",
         "non-negative whole number"),
        ("schedule: {freshness_days: 0}\n", "schedule.freshness_days", "at least 1"),
        ("verification: {max_download_bytes: 1.5e6}\n", "verification.max_download_bytes",
         "non-negative whole number"),
        ("schedule: {cron: '0 6 * *'}\n", "schedule.cron", "five-field cron"),
        ("schedule: {cron: '0 25 * * 1'}\n", "schedule.cron", "five-field cron"),
        ("schedule: {cron: '0 0 31 2 *'}\n", "schedule.cron", "never fires"),
        ("schedule: {timezone: Mars/Olympus}\n", "schedule.timezone", "not an IANA time zone"),
        ("schedule: {timezone: ../../etc/passwd}\n", "schedule.timezone", "not an IANA time zone"),
        ("include: ['acme-[abc']\n", "include", "without its closing ']'"),
        ("exclude: ['a/b/c']\n", "exclude", "more than one '/'"),
        ("verification: {trusted_workflows: ['https://github.com/']}\n",
         "verification.trusted_workflows", BROAD),
        ("verification: {trusted_workflows: ['https://github.com/acme/']}\n",
         "verification.trusted_workflows", BROAD),
        ("verification: {trusted_workflows: ['https://github.com/acme/tool/']}\n",
         "verification.trusted_workflows", BROAD),
        ("verification: {trusted_workflows: ['https://github.com/acme/tool/.github/workflows/rel']}\n",
         "verification.trusted_workflows", BROAD),
        ("verification: {trusted_workflows: ['http://github.com/acme/tool/.github/workflows/']}\n",
         "verification.trusted_workflows", BROAD),
        ("verification: {identities: {acme/tool: ['https://github.com/acme/']}}\n",
         "verification.identities.acme/tool", BROAD),
        ("verification: {identities: {acme: ['x@acme.example']}}\n", "verification.identities",
         "owner/name"),
        ("verification: {issuer: 'http://issuer.example'}\n", "verification.issuer", "https://"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.key.startswith(key)
    assert problem in error.value.problem
    assert str(path) in str(error.value)


def test_every_unknown_key_of_a_section_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, "schedule: {crn: '0 6 * * 1', tz: UTC}\n"))
    assert error.value.key == "schedule.crn, schedule.tz"
    assert "cron" in error.value.problem and "timezone" in error.value.problem  # the known keys


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("orgs: [acme]\nfrobnicate: true\n", "frobnicate", "unknown key"),
        ("orgs: [acme]\nschedule: {cron: 'every monday'}\n", "schedule.cron", "cron"),
        ("orgs: [acme]\nschedule: {timezone: Europe/Atlantis}\n", "schedule.timezone", "time zone"),
        ("orgs: [acme]\nverification: {trusted_workflows: ['https://github.com/']}\n",
         "verification.trusted_workflows", BROAD),
        ("orgs: [acme]\nexclude: ['[abc']\n", "exclude", "closing ']'"),
    ],
)
def test_cli_exits_2_on_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, problem: str
) -> None:
    path = write(tmp_path, text)
    assert main(["refresh", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and key in err and problem in err
    assert "Traceback" not in err


def test_cli_exits_2_on_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refresh", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_cli_exits_2_naming_a_bad_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELEASE_ASSETS_RETRY_BACKOFF_SECONDS", "soon")
    assert main(["refresh", "--config", str(write(tmp_path, "orgs: [acme]\n"))]) == 2
    err = capsys.readouterr().err
    assert "RELEASE_ASSETS_RETRY_BACKOFF_SECONDS" in err and "Traceback" not in err


@dg.op
def _noop() -> None:
    pass


@dg.job
def _job() -> None:
    _noop()


def _dagster_accepts(cron: str, timezone: str) -> bool:
    try:
        dg.ScheduleDefinition(name="s", cron_schedule=cron, job=_job, execution_timezone=timezone)
    except Exception:  # Dagster raises several error types for a bad cron or time zone
        return False
    return True


@pytest.mark.parametrize(
    ("cron", "timezone"),
    [
        ("0 6 * * 1", "UTC"), ("0 6 * * MON", "utc"), ("@daily", "Europe/Berlin"),
        ("*/15 * * * *", "America/New_York"), ("0 6 * * 1-5", "Etc/GMT+5"), ("0 6 L * *", "UTC"),
        ("0 0 29 2 *", "UTC"), ("0 0 30 2 *", "UTC"), ("* * * * * *", "UTC"), ("0 6 * * 8", "UTC"),
        ("H 6 * * *", "UTC"), ("60 6 * * 1", "UTC"), ("daily", "UTC"),
        ("0 6 * * 1", "Mars/Olympus"), ("0 6 * * 1", "+02:00"),
    ],
)
def test_schedule_is_accepted_exactly_when_dagster_accepts_it(cron: str, timezone: str) -> None:
    try:
        parse_config({"schedule": {"cron": cron, "timezone": timezone}})
        accepted = True
    except ConfigError:
        accepted = False
    assert accepted == _dagster_accepts(cron, timezone)


@pytest.mark.parametrize(
    "entry",
    [
        DOCUMENTED_WORKFLOW,
        "https://github.com/acme/release/.github/workflows/sign.yml",
        "https://ghe.acme.example/acme/release/.github/workflows/sign.yaml@refs/tags/v1",
    ],
)
def test_an_accepted_trusted_workflow_builds_a_signer_policy(entry: str) -> None:
    from release_assets.lib.verification.run import signer_policy_for  # verification is heavy

    # The signer policy refuses entries it considers too broad: config must never accept one.
    config = parse_config({"verification": {"trusted_workflows": [entry]}})
    assert signer_policy_for("acme/tool", config.verification).issuer == config.verification.issuer


def test_settings_defaults_without_any_variable() -> None:
    settings = Settings.from_environ({})
    assert settings.github_token is None
    assert settings.github_api_url == "https://api.github.com"
    assert settings.repository_deadline_seconds == 300
    assert settings.download_deadline_seconds == 120
    assert settings.automation is True
    assert settings.duckdb_path() == Path("data/release_assets.duckdb")
    assert Settings.from_environ({"DAGSTER_HOME": "/srv/dagster"}).duckdb_path() == Path(
        "/srv/dagster/release_assets.duckdb"
    )


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("RELEASE_ASSETS_REPOSITORY_DEADLINE_SECONDS", "0", "greater than 0"),
        ("RELEASE_ASSETS_DOWNLOAD_DEADLINE_SECONDS", "two minutes", "number"),
        ("RELEASE_ASSETS_REPOSITORY_DEADLINE_SECONDS", "inf", "finite"),
        ("GITHUB_API_URL", "api.github.com", "http"),
        ("RELEASE_ASSETS_ALERT_INTERVAL_SECONDS", "0", "greater than or equal to 1"),
    ],
)
def test_a_bad_variable_is_named_with_the_problem(variable: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_environ({variable: value})
    assert error.value.variable == variable and problem in error.value.problem


def test_secrets_stay_out_of_text_errors_and_child_settings() -> None:
    secrets = {"GITHUB_TOKEN": "ghp_s3cret", "SLACK_BOT_TOKEN": "xoxb-s3cret",
               "RELEASE_ASSETS_ALERT_WEBHOOK": "https://hooks.example/s3cret"}
    settings = Settings.from_environ({**secrets, "RELEASE_ASSETS_DB": "/data/r.duckdb"})
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.to_environ())
    assert settings.to_environ() == {"RELEASE_ASSETS_DB": "/data/r.duckdb"}
    with pytest.raises(SettingsError) as error:
        Settings.from_environ({"RELEASE_ASSETS_SLACK_API_URL": "s3cret-not-a-url"})
    assert "s3cret" not in str(error.value)


def test_a_child_process_sees_the_same_settings() -> None:
    caller = {"PATH": "/usr/bin", "GITHUB_TOKEN": "ghp_s3cret", "RELEASE_ASSETS_DB": "/old.duckdb"}
    settings = Settings.from_environ(caller).model_copy(update={
        "db_path": Path("/new.duckdb"), "config_path": Path("/etc/ra.yaml"), "automation": False,
        "download_deadline_seconds": 5.0,
    })
    child = settings.child_environ(caller)
    assert Settings.from_environ(child) == settings
    assert child["PATH"] == "/usr/bin" and child["GITHUB_TOKEN"] == "ghp_s3cret"  # inherited

    demo = settings.model_copy(update={"github_token": None})  # the demo never sends a token
    assert "GITHUB_TOKEN" not in demo.child_environ(caller)


def test_resources_come_from_one_settings_object_and_never_hold_the_token(tmp_path: Path) -> None:
    settings = Settings.from_environ({
        "GITHUB_TOKEN": "ghp_s3cret", "GITHUB_API_URL": "https://ghe.acme.example/api/v3",
        "RELEASE_ASSETS_DB": str(tmp_path / "r.duckdb"), "RELEASE_ASSETS_REPORTS": str(tmp_path / "out"),
        "RELEASE_ASSETS_REPOSITORY_DEADLINE_SECONDS": "42", "RELEASE_ASSETS_GIT_URL": "https://git.acme.example",
    })
    resources = resource_defs(settings)
    github = resources["github"]
    assert github.api_url == "https://ghe.acme.example/api/v3"
    assert github.repository_deadline_seconds == 42 and github.download_deadline_seconds == 120
    assert github.git_url == "https://git.acme.example"
    assert isinstance(github.token, dg.EnvVar) and github.token == "GITHUB_TOKEN"
    assert "s3cret" not in repr(resources)
    assert resources["duckdb"].database == str(tmp_path / "r.duckdb")
    assert resources["release_config"].reports_folder(tmp_path / "r.duckdb") == tmp_path / "out"


def test_the_code_location_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RELEASE_ASSETS_DOWNLOAD_DEADLINE_SECONDS", "7.5")
    monkeypatch.setenv("RELEASE_ASSETS_DB", str(tmp_path / "located.duckdb"))
    import release_assets.definitions

    resources = release_assets.definitions.defs().resources or {}
    assert resources["github"].download_deadline_seconds == 7.5
    assert resources["duckdb"].database == str(tmp_path / "located.duckdb")
