"""Quality rubrics on real recorded releases: seed = the original's rules, default widens them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from release_assets.lib import quality, storage
from release_assets.lib.config import ConfigError, parse_config
from release_assets_tests.analytics.helpers import recorded_releases, store_recorded


def score(db: Path, rubric: quality.Rubric) -> pd.DataFrame:
    with storage.connect(db) as con:
        return quality.score_releases(con, rubric).set_index("tag")


@pytest.fixture
def recorded_db(db_path: Path) -> Path:
    store_recorded(db_path, "stedolan/jq", recorded_releases("stedolan_jq_releases.json"))
    store_recorded(db_path, "zeit/hyper", recorded_releases("zeit_hyper_releases.json"))
    store_recorded(db_path, "nlohmann/json",
                   recorded_releases("nlohmann_json_releases_tags_v2.0.10.json"))
    store_recorded(db_path, "jwodder/qypi", recorded_releases("jwodder_qypi_releases.json"))
    return db_path


def test_seed_scores_real_releases_as_the_original_rules_do(recorded_db: Path) -> None:
    seed = score(recorded_db, quality.SEED)
    jq = seed.loc["jq-1.5"]
    # a tarball, no '## ' in the notes, no checksums / signatures / SBOM attached
    assert (jq["score"], jq["has_binaries"], jq["has_changelog"]) == (20, True, False)
    assert jq["binaries_evidence"] == "jq-1.5.tar.gz ends with '.tar.gz'"
    assert jq["missing"] == "Changelog, Checksums, Signatures, SBOM"
    hyper = seed.loc["1.3.1"]
    assert hyper["score"] == 45 and hyper["changelog_evidence"] == "release body contains '## '"
    # `.exe` and `.zip` count, `.dmg`/`.deb`/`.AppImage` do not under the original rules
    assert hyper["binaries_evidence"] == "hyper-1.3.1-mac.zip ends with '.zip'"
    json_hpp = seed.loc["v2.0.10"]
    assert json_hpp["has_signatures"] and json_hpp["signatures_evidence"] == (
        "json.hpp.asc ends with '.asc'")
    assert json_hpp["score"] == 25 + 20
    assert seed.loc["v0.4.1", "score"] == 0 and seed.loc["v0.4.1", "asset_count"] == 0


def test_default_widens_with_evidence_and_never_lowers(recorded_db: Path) -> None:
    seed, default = score(recorded_db, quality.SEED), score(recorded_db, quality.DEFAULT)
    assert (default["score"] >= seed.loc[default.index, "score"]).all()
    # jq 1.5's notes are a bullet list of changes: a changelog under `default` only
    assert default.loc["jq-1.5", "score"] == 45
    assert default.loc["jq-1.5", "changelog_evidence"] == (
        "release body has a list of changes (two or more bullet lines)")
    assert default.loc["0.8.2", "changelog_evidence"] == "release body has a Markdown heading"


def test_seed_rules_are_the_originals_exactly(db_path: Path) -> None:
    """Case rules as in the original: endswith is case-sensitive, the `in lower()` ones not."""
    artifacts = ["TOOL.TAR.GZ", "SHA256SUMS", "tool.SIG", "Tool-SBOM.json"]
    store_recorded(db_path, "acme/tool", [
        {"id": 1, "tag_name": "v1.0.0", "body": None, "draft": False, "prerelease": False,
         "published_at": "2024-01-02T00:00:00Z",
         "assets": [{"id": 10 + i, "name": n, "download_count": 1} for i, n in enumerate(artifacts)]},
        {"id": 2, "tag_name": "v0.9.0", "body": "See CHANGELOG.md", "draft": False,
         "prerelease": False, "published_at": "2024-01-01T00:00:00Z",
         "assets": [{"id": 20, "name": "tool.tar.gz.sig", "download_count": 1},
                    {"id": 21, "name": "tool.sigstore.json", "download_count": 1},
                    {"id": 22, "name": "tool.intoto.jsonl", "download_count": 1}]},
    ])
    seed, default = score(db_path, quality.SEED), score(db_path, quality.DEFAULT)
    v1 = seed.loc["v1.0.0"]
    assert not v1["has_changelog"]  # null body: no changelog, no crash
    assert not v1["has_binaries"] and not v1["has_signatures"]  # upper-case suffixes
    assert v1["has_checksums"] and v1["has_sbom"] and v1["score"] == 35
    assert default.loc["v1.0.0", "score"] == 75  # any-case suffixes in default
    assert seed.loc["v0.9.0", "changelog_evidence"] == "release body contains 'CHANGELOG.md'"
    assert seed.loc["v0.9.0", "signatures_evidence"] == "tool.tar.gz.sig ends with '.sig'"
    assert not seed.loc["v0.9.0", "has_provenance"]
    assert default.loc["v0.9.0", "has_provenance"]
    assert default.loc["v0.9.0", "provenance_evidence"] == "tool.intoto.jsonl ends with '.intoto.jsonl'"


def test_default_contains_every_seed_rule() -> None:
    for check in quality.SEED.checks:
        assert set(check.rules) <= set(quality.DEFAULT.check(check.name).rules), check.name
        assert check.weight == quality.DEFAULT.check(check.name).weight
    assert [c.weight for c in quality.SEED.weighted] == [25, 20, 20, 20, 15]


def test_scorecard_signed_releases_over_five_latest_with_artifacts(db_path: Path) -> None:
    def release(i: int, *names: str) -> dict:
        return {"id": i, "tag_name": f"v1.{i}.0", "body": "", "draft": False, "prerelease": False,
                "published_at": f"2024-01-{i:02d}T00:00:00Z",
                "assets": [{"id": i * 100 + k, "name": n, "download_count": 0}
                           for k, n in enumerate(names)]}
    newest_first = [
        release(9),  # no artifacts: not considered
        release(8, "a.tar.gz", "a.tar.gz.intoto.jsonl"),  # 10
        release(7, "a.tar.gz", "a.tar.gz.minisig"),  # 8
        release(6, "a.tar.gz", "a.tar.gz.sigstore.json"),  # 8
        release(5, "a.tar.gz"),  # 0
        release(4, "a.tar.gz", "a.tar.gz.sign"),  # 8
        release(3, "a.tar.gz", "a.tar.gz.intoto.jsonl"),  # sixth: outside the window
    ]
    store_recorded(db_path, "acme/tool", newest_first)
    with storage.connect(db_path) as con:
        scores = quality.score_releases(con, quality.DEFAULT)
        summary = quality.repository_summary(scores, quality.scorecard_flags(con), 60)
    row = summary.set_index("repo").loc["acme/tool"]
    assert row["scorecard_releases_considered"] == 5
    assert row["scorecard_signed_releases"] == (10 + 8 + 8 + 0 + 8) // 5  # floor(6.8) = 6
    assert row["latest_tag"] == "v1.9.0"


def test_config_accepts_the_rubric_names_only() -> None:
    assert parse_config({"quality": {"rubric": "seed"}}).quality.rubric == "seed"
    with pytest.raises(ConfigError, match="quality.rubric"):
        parse_config({"quality": {"rubric": "strict"}})
