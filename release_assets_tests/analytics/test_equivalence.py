"""Same data, same answers: the original script against the same local GitHub, and our assets.

The original (`fixtures/original/release-metrics.py`, a byte-for-byte copy) runs unmodified through
runpy; only its environment changes: `github.Github(token)` is pointed at the local server
(`base_url`) and its client-side request spacing is switched off. It crashes on drafts and null
bodies, so this data has neither (those are covered elsewhere).
"""

from __future__ import annotations

import json
import runpy
import sys
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

import dagster as dg
import github
import pytest

from release_assets.demo.snapshot import DEMO_REPOSITORIES
from release_assets.lib import quality, storage
from release_assets.lib.dashboard import jsontext
from release_assets.lib.dashboard.jsontext import plain
from release_assets.lib.dashboard.markdown import render_markdown
from release_assets.lib.dashboard.model import build_dashboard
from release_assets_tests.analytics.helpers import run_pipeline
from release_assets_tests.conftest import TEST_TOKEN
from release_assets_tests.generated_org import build_releases, generate_org, repo_names
from release_assets_tests.github_server import GitHubServer, World, load_demo_world

REPO_ROOT = Path(__file__).resolve().parents[2]
# The script being replaced, byte for byte (release_assets_tests/fixtures/original/README.md).
ORIGINAL = REPO_ROOT / "release_assets_tests" / "fixtures" / "original" / "release-metrics.py"


def add_generated(world: World, org: str, repos: int, releases: int, artifacts: int,
                  **options: Any) -> None:
    """Generated repositories whose files are listed as GitHub lists them: by name, any case."""
    for name in repo_names(repos):
        world.add_repo(f"{org}/{name}")
        built = build_releases(f"{org}/{name}", releases=releases, artifacts=artifacts, **options)
        for release in built:
            release["assets"].sort(key=lambda a: (a["name"].lower(), a["name"]))
        world.add_releases(f"{org}/{name}", built)


@pytest.fixture
def world() -> World:
    world = load_demo_world()
    add_generated(world, "acme", repos=4, releases=9, artifacts=5, prerelease_every=4, seed=3)
    return world


def run_original(monkeypatch: pytest.MonkeyPatch, url: str, org: str, repos: list[str],
                 output: Path) -> tuple[dict[str, Any], str]:
    """The original script's main(), its GitHub client aimed at the local server."""
    monkeypatch.setattr(github, "Github", partial(
        github.Github, base_url=url, seconds_between_requests=0, seconds_between_writes=0,
    ))
    monkeypatch.setattr(sys, "argv", [str(ORIGINAL), "--token", TEST_TOKEN, "--org", org,
                                      "--repos", *repos, "--output", str(output)])
    runpy.run_path(str(ORIGINAL), run_name="__main__")
    return json.loads(output.read_text()), output.with_suffix(".md").read_text()


def _strip_times(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("**Generated**"))


def test_seed_rubric_reproduces_the_original_script(
    project_env: Path, tmp_path: Path, world: World, github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    repos = sorted([*DEMO_REPOSITORIES, *(f"acme/{r['name']}" for r in world.org_repos("acme"))])
    with dg.instance_for_test() as instance:
        run_pipeline(instance, config, repos, quality="quality:\n  rubric: seed\n")
    db = storage.default_db_path()

    by_owner: dict[str, list[str]] = defaultdict(list)
    for repo in repos:
        by_owner[repo.split("/")[0]].append(repo)
    compared = 0
    for owner, owned in sorted(by_owner.items()):
        names = [r.split("/")[1] for r in owned]
        theirs, their_md = run_original(monkeypatch, github_server.url, owner, names,
                                        tmp_path / f"original-{owner}.json")
        with storage.connect(db, read_only=True) as con:
            built = build_dashboard(con, owned)
        ours = plain(built)  # exactly what the JSON file holds
        assert list(ours["repositories"]) == names
        for name in names:
            mine, orig = ours["repositories"][name], theirs["repositories"][name]
            assert mine["metrics"]["summary"] == orig["metrics"]["summary"], name
            assert mine["metrics"]["releases"] == orig["metrics"]["releases"], name
            assert mine["latest_quality"] == orig["latest_quality"], name
            their_cadence, my_cadence = dict(orig["cadence"]), dict(mine["cadence"])
            # ages are measured at each report's own moment: a second apart at most
            if "latest_release_age_days" in their_cadence:
                assert abs(my_cadence.pop("latest_release_age_days")
                           - their_cadence.pop("latest_release_age_days")) <= 1
            assert my_cadence == their_cadence, name
            compared += 1
        assert jsontext.dumps(built) == json.dumps(ours, indent=2)  # the fast encoder is exact
        # every line of the original, unchanged and in order; our sections only come after
        original, added = render_markdown(built).split("## Verification\n", 1)
        assert _strip_times(original) == _strip_times(their_md), owner
        assert added.startswith("\nNo verification results yet.\n")
    assert compared == len(repos)


def test_default_rubric_never_scores_lower_than_seed(
    project_env: Path, tmp_path: Path, world: World, github_server: GitHubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate_org(world, "wide", repos=5, releases=20, artifacts=8, drafts_every=5,
                 null_body_every=3, prerelease_every=6, seed=11)
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("RELEASE_ASSETS_CONFIG", str(config))
    repos = sorted([*DEMO_REPOSITORIES, *(f"{o}/{r['name']}" for o in ("acme", "wide")
                                          for r in world.org_repos(o))])
    with dg.instance_for_test() as instance:
        run_pipeline(instance, config, repos, dashboard=False)
    with storage.connect(storage.default_db_path()) as con:
        seed = quality.score_releases(con, quality.SEED).set_index("release_id")
        default = quality.score_releases(con, quality.DEFAULT).set_index("release_id")
    assert len(seed) == len(default) > 150
    lower = default["score"] < seed.loc[default.index, "score"]
    assert not lower.any(), default[lower][["repo", "tag", "score"]]
    for check in quality.WEIGHTED_NAMES:  # check by check, not only in total
        assert not (seed[f"has_{check}"] & ~default.loc[seed.index, f"has_{check}"]).any(), check
    assert (default["score"] > seed.loc[default.index, "score"]).any()  # and it does widen
