"""Cadence on real recorded releases: the original's numbers, and the ones it could not give."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import semver

from release_assets.lib import cadence, storage
from release_assets.lib.versions import bump_kind, parse_tag
from release_assets_tests.analytics.helpers import recorded_releases, store_recorded

AS_OF = datetime(2017, 8, 1, tzinfo=UTC)


def cadence_of(db: Path) -> pd.DataFrame:
    with storage.connect(db) as con:
        return cadence.compute_cadence(cadence.load_releases(con), as_of=AS_OF).set_index("repo")


def original_average(releases: list[dict]) -> float:
    """The original's arithmetic, written out: list order, timedelta.days, round(x, 1)."""
    stamps = [datetime.fromisoformat(r["published_at"].replace("Z", "+00:00")) for r in releases]
    intervals = [(stamps[i] - stamps[i + 1]).days for i in range(len(stamps) - 1)]
    return round(sum(intervals) / len(intervals), 1)


def test_original_average_on_real_list_order(db_path: Path) -> None:
    jq, hyper = recorded_releases("stedolan_jq_releases.json"), recorded_releases("zeit_hyper_releases.json")
    store_recorded(db_path, "stedolan/jq", jq)
    store_recorded(db_path, "zeit/hyper", hyper)
    table = cadence_of(db_path)
    # jq's list is not chronological (1.1 before 1.0 before 1.2): intervals of -1 day count
    assert table.loc["stedolan/jq", "average_days_between_releases"] == original_average(jq) == 32.4
    assert table.loc["zeit/hyper", "average_days_between_releases"] == original_average(hyper)
    assert table.loc["stedolan/jq", "prerelease_count"] == 2
    assert table.loc["stedolan/jq", "latest_tag"] == "jq-1.5"
    assert table.loc["stedolan/jq", "latest_release_age_days"] == (
        AS_OF - datetime(2015, 8, 16, 6, 39, 17, tzinfo=UTC)).days


def test_breakdowns_seed_and_semver(db_path: Path) -> None:
    store_recorded(db_path, "zeit/hyper", recorded_releases("zeit_hyper_releases.json"))
    store_recorded(db_path, "stedolan/jq", recorded_releases("stedolan_jq_releases.json"))
    table = cadence_of(db_path)
    hyper = table.loc["zeit/hyper"]
    # the original ignores 0.x: 1.0.0 major; 1.1.0 1.2.0 1.3.0 minor; 1.0.1 1.2.1 1.3.1 patch
    assert (hyper["seed_major"], hyper["seed_minor"], hyper["seed_patch"]) == (1, 3, 3)
    # ours counts 0.8.x too: 0.8.0 initial, 0.8.1-0.8.3 patches, then as above
    assert (hyper["bumps_initial"], hyper["bumps_major"], hyper["bumps_minor"],
            hyper["bumps_patch"]) == (1, 1, 3, 6)
    jq = table.loc["stedolan/jq"]
    # `jq-1.5` has no three dot parts: the original counts nothing; we read 1.5 and the rcs
    assert (jq["seed_major"], jq["seed_minor"], jq["seed_patch"]) == (0, 0, 0)
    assert (jq["bumps_minor"], jq["bumps_prerelease"], jq["unparsed_tags"]) == (5, 2, 0)


def test_bump_mix_agrees_with_versions_bump_kind(db_path: Path) -> None:
    store_recorded(db_path, "zeit/hyper", recorded_releases("zeit_hyper_releases.json"))
    store_recorded(db_path, "jwodder/qypi", recorded_releases("jwodder_qypi_releases.json"))
    with storage.connect(db_path) as con:
        releases = cadence.load_releases(con)
    mix = cadence.bump_mix(releases)
    for repo, rows in mix.groupby("repo"):
        previous: semver.Version | None = None
        for tag, bump in zip(rows["tag"], rows["bump"], strict=True):
            version = parse_tag(tag).version
            expected = bump_kind(previous, version)
            assert bump == {"none": "repeat"}.get(expected, expected), (repo, tag)
            previous = version


def test_drafts_are_skipped_not_fatal_and_odd_tags_counted(db_path: Path) -> None:
    def release(i: int, tag: str, published: str | None, *, pre: bool = False) -> dict:
        return {"id": i, "tag_name": tag, "body": None, "draft": published is None,
                "prerelease": pre, "published_at": published, "assets": []}
    store_recorded(db_path, "acme/tool", [
        release(5, "v2.0.0", None),  # draft: listed first, no published_at
        release(4, "v2.0.0-rc.1", "2017-07-20T00:00:00Z", pre=True),
        release(3, "release-2017-07", "2017-07-10T00:00:00Z"),
        release(2, "v1.0.0", "2017-06-30T12:00:00Z"),
        release(1, "v0.9.0", "2017-06-01T00:00:00Z"),
    ])
    row = cadence_of(db_path).loc["acme/tool"]
    assert (row["total_releases"], row["draft_count"], row["published_releases"]) == (5, 1, 4)
    # (07-20 - 07-10).days = 10, (07-10 - 06-30T12).days = 9, (06-30T12 - 06-01).days = 29
    assert row["average_days_between_releases"] == round((10 + 9 + 29) / 3, 1)
    assert row["latest_tag"] == "v2.0.0-rc.1"  # the draft is not a release yet
    assert (row["unparsed_tags"], row["bumps_prerelease"], row["bumps_major"]) == (1, 1, 1)
    assert row["releases_last_90_days"] == 4
    stale = cadence.stale(cadence_of(db_path).reset_index(), after_days=5)
    assert stale["repo"].tolist() == ["acme/tool"]
    assert cadence.stale(cadence_of(db_path).reset_index(), after_days=30).empty


def test_no_releases_no_rows(db_path: Path) -> None:
    with storage.connect(db_path) as con:
        assert cadence.compute_cadence(cadence.load_releases(con), as_of=AS_OF).empty
