"""infra/ checked structurally (Docker and Kubernetes do not run on CI machines).

Each file is parsed, and the names the operator guide (infra/README.md) tells people to type -
services, volumes, environment variables, secrets, config maps - must exist in the files, and
the files must agree with each other (ports, paths, the code location name, limits).
"""

from __future__ import annotations

import importlib
import re
import shlex
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import dagster
import yaml

from release_assets.lib.config import load_config

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
DAGSTER_SERVICES = {"code-server", "webserver", "daemon"}
# Environment variables belong to these families; anything else in capitals is prose.
ENV_NAME = re.compile(r"\b(?:DAGSTER|POSTGRES|GITHUB|RELEASE_ASSETS|SLACK)_[A-Z0-9_]+\b")
COMPOSE_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "docker-compose.yml").read_text())


@cache
def helm_values() -> dict[str, Any]:
    return yaml.safe_load((INFRA / "helm" / "values.yaml").read_text())


@cache
def readme() -> str:
    return (INFRA / "README.md").read_text()


@cache
def env_example() -> dict[str, str]:
    values = {}
    for line in (INFRA / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (INFRA / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


@cache
def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in dockerfile():
        if instruction == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def service_env(name: str) -> dict[str, str]:
    return dict(compose()["services"][name].get("environment") or {})


def compose_vars() -> set[str]:
    lines = (INFRA / "docker-compose.yml").read_text().splitlines()
    return set(COMPOSE_VAR.findall("\n".join(ln for ln in lines if not ln.lstrip().startswith("#"))))


def known_env_names() -> set[str]:
    names = set(env_example()) | set(dockerfile_env()) | compose_vars()
    for service in compose()["services"].values():
        names |= set(service.get("environment") or {})
    deployment = helm_values()["dagster-user-deployments"]["deployments"][0]
    names |= {item["name"] for item in deployment["env"]}
    for text in ((INFRA / "dagster.yaml").read_text(), (INFRA / "workspace.yaml").read_text()):
        names |= set(re.findall(r"env: ([A-Z0-9_]+)", text))
    return names


def code_server_port() -> int:
    return int(dockerfile_env()["DAGSTER_CODE_SERVER_PORT"])


# -- docker compose ------------------------------------------------------------------------------

def test_compose_has_the_four_services_and_their_volumes() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres"} | DAGSTER_SERVICES
    declared = set(compose()["volumes"])
    used = set()
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith(("$", ".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services
            if condition.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    assert used == declared, f"declared but unused volumes: {declared - used}"
    # The DuckDB volume is the code server's alone: runs execute there, one writer.
    warehouse = [n for n, s in services.items() if any(m.startswith("warehouse:") for m in s.get("volumes", []))]
    assert warehouse == ["code-server"]
    db_dir = str(Path(dockerfile_env()["RELEASE_ASSETS_DB"]).parent)
    assert f"warehouse:{db_dir}" in services["code-server"]["volumes"]


def test_compose_environment_comes_from_env_example_and_holds_no_secret() -> None:
    example = env_example()
    assert compose_vars() == set(example), "compose and .env.example must name the same variables"
    for secret in ("POSTGRES_PASSWORD", "GITHUB_TOKEN", "SLACK_BOT_TOKEN"):
        assert example[secret] == "", f".env.example must not carry a value for {secret}"
    compose_text = (INFRA / "docker-compose.yml").read_text()
    assert "ghp_" not in compose_text and "github_pat_" not in compose_text
    for name in DAGSTER_SERVICES:
        url = service_env(name)["DAGSTER_POSTGRES_URL"]
        assert url.startswith("postgresql+psycopg2://"), "dagster-postgres needs postgres_url with psycopg2"
    # Least privilege: the token reaches only the service that runs GitHub requests.
    assert [n for n in compose()["services"] if "GITHUB_TOKEN" in service_env(n)] == ["code-server"]
    # .env files stay out of git.
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_compose_commands_match_the_image_and_workspace() -> None:
    services = compose()["services"]
    home = dockerfile_env()["DAGSTER_HOME"]
    code = services["code-server"]["command"]
    assert code[:3] == ["dagster", "code-server", "start"]
    assert code[code.index("-p") + 1] == str(code_server_port())
    assert code[code.index("-m") + 1] == "release_assets.definitions"
    assert code[code.index("--location-name") + 1] == workspace_location()
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("webserver", "daemon"):
        command = services[name]["command"]
        assert command[command.index("-w") + 1] == f"{home}/workspace.yaml"
    assert "dagster-storage:" + f"{home}/storage" in services["webserver"]["volumes"]
    assert "dagster-storage:" + f"{home}/storage" in services["code-server"]["volumes"]


# -- Dockerfile ------------------------------------------------------------------------------------

def test_dockerfile_installs_the_project_and_exposes_the_code_server_port() -> None:
    instructions = dockerfile()
    runs = " ".join(args for instruction, args in instructions if instruction == "RUN")
    assert "pip install ." in runs
    assert "import release_assets.definitions" in runs
    copies = [args.split() for instruction, args in instructions if instruction == "COPY"]
    sources = [src for parts in copies for src in parts[:-1] if not src.startswith("--")]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    assert {"pyproject.toml", "release_assets", "infra/dagster.yaml", "infra/workspace.yaml"} <= set(sources)
    exposed = {int(port) for instruction, args in instructions if instruction == "EXPOSE" for port in args.split()}
    assert code_server_port() in exposed
    cmd = next(args for instruction, args in instructions if instruction == "CMD")
    assert f'"-p", "{code_server_port()}"' in cmd
    user = [args for instruction, args in instructions if instruction == "USER"]
    assert user and user[-1] not in ("root", "0"), "the image must not run as root"
    base = next(args for instruction, args in instructions if instruction == "FROM")
    python = re.search(r"python:(3\.\d+)", base)
    assert python, base
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = re.findall(r"3\.(\d+)", requires)
    assert int(low) <= int(python.group(1).split(".")[1]) < int(high)
    ignore = (INFRA / "Dockerfile.dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignore)


# -- dagster.yaml / workspace.yaml -----------------------------------------------------------------

def workspace_location() -> str:
    workspace = yaml.safe_load((INFRA / "workspace.yaml").read_text())
    return workspace["load_from"][0]["grpc_server"]["location_name"]


def test_instance_and_workspace_files() -> None:
    instance = yaml.safe_load((INFRA / "dagster.yaml").read_text())
    assert instance["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_POSTGRES_URL"}
    assert instance["concurrency"]["pools"]["default_limit"] == 1
    assert instance["run_retries"]["enabled"] is True
    assert instance["telemetry"]["enabled"] is False
    server = yaml.safe_load((INFRA / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    assert server["host"] == {"env": "DAGSTER_CODE_SERVER_HOST"}
    assert server["port"] == {"env": "DAGSTER_CODE_SERVER_PORT"}
    # One name for the code location everywhere: `/locations/release_assets/...` links resolve.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert workspace_location() == pyproject["tool"]["dagster"]["code_location_name"] == "release_assets"
    command = compose()["services"]["code-server"]["command"]
    assert command[command.index("--location-name") + 1] == workspace_location()
    assert command[command.index("-m") + 1] == "release_assets.definitions"


def test_a_dead_run_never_holds_the_duckdb_slot() -> None:
    """A killed run is marked failed and its pool slot freed, so the next refresh is not wedged.

    The code server fails a run whose worker died; `max_runtime_seconds` ends one whose code
    server died too (DefaultRunLauncher has no worker health check); the monitoring daemon then
    frees the slots a finished run still holds.
    """
    monitoring = yaml.safe_load((INFRA / "dagster.yaml").read_text())["run_monitoring"]
    assert monitoring["enabled"] is True
    assert 0 < monitoring["free_slots_after_run_end_seconds"] <= 60
    assert 0 < monitoring["poll_interval_seconds"] <= 60, "slots are freed on the monitoring poll"
    assert monitoring["max_runtime_seconds"] >= 3600, "a whole-org refresh must be able to finish"
    assert monitoring["start_timeout_seconds"] > 0 and monitoring["cancel_timeout_seconds"] > 0
    helm = helm_values()["dagsterDaemon"]["runMonitoring"]
    assert helm == {
        "enabled": True,
        "startTimeoutSeconds": monitoring["start_timeout_seconds"],
        "cancelTimeoutSeconds": monitoring["cancel_timeout_seconds"],
        "maxRuntimeSeconds": monitoring["max_runtime_seconds"],
        "pollIntervalSeconds": monitoring["poll_interval_seconds"],
        "freeSlotsAfterRunEndSeconds": monitoring["free_slots_after_run_end_seconds"],
    }


def test_example_project_config_is_valid() -> None:
    config = load_config(INFRA / "release_assets.example.yaml")
    assert config.orgs or config.repos


# -- Helm ------------------------------------------------------------------------------------------

def test_helm_values_for_the_official_chart() -> None:
    values = helm_values()
    user = values["dagster-user-deployments"]
    assert user["enabled"] is True
    (deployment,) = user["deployments"]
    assert deployment["port"] == code_server_port()
    args = deployment["codeServerArgs"]
    assert args[args.index("-m") + 1] == "release_assets.definitions"
    assert args[args.index("--location-name") + 1] == workspace_location()
    assert deployment["deploymentStrategy"]["type"] == "Recreate"
    # Paths agree with the image.
    env = {item["name"]: item["value"] for item in deployment["env"]}
    for name in ("RELEASE_ASSETS_CONFIG", "RELEASE_ASSETS_DB", "RELEASE_ASSETS_REPORTS"):
        assert env[name] == dockerfile_env()[name]
    volumes = {v["name"]: v for v in deployment["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in deployment["volumeMounts"]}
    assert set(mounts) == set(volumes)
    assert mounts["warehouse"] == str(Path(env["RELEASE_ASSETS_DB"]).parent)
    assert mounts["config"] == str(Path(env["RELEASE_ASSETS_CONFIG"]).parent)
    pvc = yaml.safe_load((INFRA / "helm" / "warehouse-pvc.yaml").read_text())
    assert volumes["warehouse"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    # Way out 1: runs in the code-server pod, with Dagster's own default launcher.
    launcher = values["runLauncher"]["config"]["customRunLauncher"]
    assert values["runLauncher"]["type"] == "CustomRunLauncher"
    launcher_class = getattr(importlib.import_module(launcher["module"]), launcher["class"])
    assert launcher_class is dagster.DefaultRunLauncher
    # The same limits and retries as infra/dagster.yaml.
    instance = yaml.safe_load((INFRA / "dagster.yaml").read_text())
    assert values["concurrency"]["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    retries = values["dagsterDaemon"]["runRetries"]
    assert retries["maxRetries"] == instance["run_retries"]["max_retries"]
    assert retries["retryOnAssetOrOpFailure"] == instance["run_retries"]["retry_on_asset_or_op_failure"]
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert values["postgresql"]["postgresqlPassword"] == "", "the password belongs in a Secret"
    assert values["telemetry"]["enabled"] is False
    text = (INFRA / "helm" / "values.yaml").read_text()
    assert f"--version {dagster.__version__}" in text
    # The caveat and both ways out are written down where the values are.
    assert "SINGLE-WRITER CAVEAT" in text and "1. One writer pool" in text and "2. A server warehouse" in text


# -- the operator guide ----------------------------------------------------------------------------

def _compose_services_in(line: str) -> list[str]:
    """Services named by a `docker compose VERB [flags] SERVICE...` command line."""
    words = shlex.split(line.split("docker compose", 1)[1].split(" #")[0].replace("\\", " "))
    if not words or words[0] in ("build", "ps") and len(words) == 1:
        return []
    verb, rest = words[0], words[1:]
    flags_with_value = {"-v", "--volume", "-e", "--user", "-u", "-w", "--workdir"}
    names: list[str] = []
    skip = False
    for word in rest:
        if skip:
            skip = False
            continue
        if word in flags_with_value:
            skip = True
            continue
        if word.startswith("-"):
            continue
        if verb == "cp" and ":" in word:
            names.append(word.split(":", 1)[0])
            continue
        if verb in ("exec", "run", "cp"):
            if verb != "cp":
                names.append(word)
                break  # what follows is the command run inside the container
            continue
        if re.fullmatch(r"[a-z][a-z0-9-]*", word):
            names.append(word)
    return names


def test_readme_names_only_services_volumes_and_variables_that_exist() -> None:
    text = readme()
    services = set(compose()["services"])
    mentioned = set()
    # Commands: lines of code blocks, and inline `docker compose ...` spans in the prose.
    commands = re.findall(r"`(docker compose [^`]+)`", text)
    commands += [ln.strip() for ln in text.splitlines() if ln.strip().startswith("docker compose ")]
    assert commands
    for command in commands:
        for name in _compose_services_in(command):
            assert name in services, f"README: `{command}` names service {name!r}"
            mentioned.add(name)
    assert mentioned >= DAGSTER_SERVICES, f"README never operates {DAGSTER_SERVICES - mentioned}"

    row = next(line for line in text.splitlines() if line.startswith("| `docker-compose.yml`"))
    listed_services = set(re.findall(r"`([a-z-]+)`", row.split("volumes")[0])) - {"docker-compose.yml"}
    listed_volumes = set(re.findall(r"`([a-z-]+)`", row.split("volumes")[1]))
    assert listed_services == services
    assert listed_volumes == set(compose()["volumes"])
    for volume in re.findall(r"`([a-z]+(?:-[a-z]+)*)` volume", text):
        assert volume in compose()["volumes"], f"README names volume {volume!r}"

    unknown = set(ENV_NAME.findall(text)) - known_env_names()
    assert not unknown, f"README names variables no file defines: {sorted(unknown)}"
    # ... and every setting an operator can set is explained.
    undocumented = set(env_example()) - set(ENV_NAME.findall(text))
    assert not undocumented, f".env.example variables missing from README: {sorted(undocumented)}"


def test_readme_kubernetes_names_match_the_values() -> None:
    text = readme()
    values_text = (INFRA / "helm" / "values.yaml").read_text()
    for secret in re.findall(r"create secret generic ([a-z0-9-]+)", text):
        assert secret in values_text, f"README creates secret {secret} that values.yaml never uses"
    assert values_text.count("dagster-postgresql-secret") >= 1
    for config_map in re.findall(r"create configmap ([a-z0-9-]+)", text):
        assert config_map in values_text
    (deployment,) = helm_values()["dagster-user-deployments"]["deployments"]
    for label in re.findall(r"-l deployment=([a-z0-9-]+)", text):
        assert label == deployment["name"]
    assert "infra/helm/warehouse-pvc.yaml" in text
    for step in ("Upgrade (compose)", "Upgrade (Helm)", "Back up", "Rotate the GitHub token",
                 "single-writer caveat"):
        assert step in text, f"README lacks the section {step!r}"


def test_backup_script_is_plain_python() -> None:
    """It runs in the image with nothing but duckdb; importable and with a CLI."""
    sys.path.insert(0, str(INFRA))
    try:
        module = importlib.import_module("backup_duckdb")
    finally:
        sys.path.remove(str(INFRA))
    assert callable(module.backup) and callable(module.main)
