"""The config file: what users write, and the errors they get when it is wrong."""

from pathlib import Path

import pytest

from release_assets.cli import main
from release_assets.lib.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "release_assets.yaml"
    path.write_text(text)
    return path


def test_full_example_parses(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
orgs: [acme]
repos: [other-org/tool]
include: ["*"]
exclude: ["*-archive"]
skip_forks: true
skip_archived: true
quality: {rubric: default, threshold: 60}
"""))
    assert config.orgs == ("acme",)
    assert config.repos == ("other-org/tool",)
    assert config.quality.threshold == 60
    assert config.selects("acme/api")
    assert not config.selects("acme/old-archive")


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("orgs: [acme]\nrepo: [a/b]\n", "repo", "unknown key"),
        ("quality: {rubric: default, treshold: 50}\n", "quality.treshold", "unknown key"),
        ("repos: [not-a-repo]\n", "repos", "owner/name"),
        ("quality: {threshold: 160}\n", "quality.threshold", "between 0 and 100"),
        ("quality: {rubric: strict}\n", "quality.rubric", "must be one of"),
        ("skip_forks: maybe\n", "skip_forks", "true or false"),
        ("orgs: [acme\n", "(file)", "not valid YAML"),
        ("- just\n- a list\n", "(top level)", "mapping"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.key == key
    assert problem in error.value.problem
    assert str(path) in str(error.value)


def test_cli_exits_2_on_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "orgs: [acme]\nfrobnicate: true\n")
    assert main(["refresh", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "frobnicate" in err and "unknown key" in err


def test_cli_exits_2_on_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refresh", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot be read" in capsys.readouterr().err
