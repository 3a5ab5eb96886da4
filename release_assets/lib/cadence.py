"""Release cadence per repository: how often releases ship, how old the latest is, what they bump.

Two families of numbers live side by side, named apart on purpose:

- the original script's, reproduced exactly for its users: `average_days_between_releases` (whole
  days `(current - previous).days` between neighbours in GitHub's list order, averaged, rounded to
  0.1 — drafts skipped instead of crashing) and `seed_major/minor/patch` (its `release_breakdown`:
  tags with at least three dot parts, major not '0', x.0.0 major, x.y.0 minor, anything else patch);
- ours: interval median / p90 / coefficient of variation over chronological intervals in
  fractional days, and the semver bump mix against the previous final release in version order
  (0.x included, pre-releases counted apart, unreadable tags counted as unparsed).

Everything is vectorised over all repositories at once (pandas groupby), so 100,000 releases
take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import semver

from release_assets.lib import storage
from release_assets.lib.latest import latest_per_repo

DAY = pd.Timedelta(days=1)

COLUMNS = [
    "repo", "total_releases", "published_releases", "prerelease_count", "draft_count",
    "average_days_between_releases", "interval_count", "interval_median_days",
    "interval_p90_days", "interval_cv", "releases_last_90_days", "releases_last_365_days",
    "latest_tag", "latest_published_at", "latest_release_age_days",
    "bumps_major", "bumps_minor", "bumps_patch", "bumps_prerelease", "bumps_initial",
    "bumps_repeat", "unparsed_tags", "seed_major", "seed_minor", "seed_patch", "as_of",
]

# The original's `release_breakdown` rule, in SQL (string work on a million tags is seconds in
# pandas): tag.lstrip("v"), at least two dots, major != "0"; then x.0.0 is a major, x.y.0 a
# minor, anything else a patch; '' when not counted.
_SEED_KIND = """
    CASE WHEN length(t) - length(replace(t, '.', '')) >= 2 AND split_part(t, '.', 1) <> '0'
         THEN CASE WHEN split_part(t, '.', 2) = '0' AND split_part(t, '.', 3) = '0' THEN 'major'
                   WHEN split_part(t, '.', 3) = '0' THEN 'minor' ELSE 'patch' END
         ELSE '' END
"""

_RELEASES = f"""
    SELECT repo, tag, draft, prerelease, published_at, list_position, version,
           version_major, version_minor, version_patch, version_prerelease,
           {_SEED_KIND} AS seed_kind
    FROM (SELECT *, ltrim(tag, 'v') AS t FROM releases WHERE deleted_at IS NULL {{scope}})
"""


def load_releases(con: duckdb.DuckDBPyConnection, repos: Sequence[str] | None = None) -> pd.DataFrame:
    if repos is None:
        return con.execute(_RELEASES.format(scope="")).df()
    return con.execute(
        _RELEASES.format(scope=f"AND {storage.in_repositories(param='$repos')}"),
        {"repos": list(repos)},
    ).df()


def original_intervals(releases: pd.DataFrame) -> pd.DataFrame:
    """(repo, days) per neighbouring pair of published releases in list order, as the original
    computed them: `timedelta.days`, which floors (-13 s is -1 day)."""
    published = releases[releases["published_at"].notna()].sort_values(["repo", "list_position"])
    newer = published["published_at"]
    older = published.groupby("repo")["published_at"].shift(-1)
    days = (newer - older) // DAY
    keep = days.notna()
    return pd.DataFrame({"repo": published["repo"][keep], "days": days[keep].astype("int64")})


def original_average(intervals: pd.DataFrame) -> pd.Series:
    """sum/len then Python's round(x, 1), per repository, exactly as the original rounds."""
    grouped = intervals.groupby("repo")["days"]
    sums, counts = grouped.sum(), grouped.size()
    return pd.Series(
        [round(int(s) / int(c), 1) for s, c in zip(sums, counts, strict=True)],
        index=sums.index, dtype="float64",
    )


def seed_breakdown(releases: pd.DataFrame) -> pd.DataFrame:
    """The original `release_breakdown`, over every listed release (drafts and pre-releases too);
    each release's kind is `seed_kind`, computed as `load_releases` reads it."""
    table = _count_by_repo(releases["repo"], releases["seed_kind"])
    return pd.DataFrame({
        f"seed_{k}": table.get(k, 0) for k in ("major", "minor", "patch")
    }, index=table.index).fillna(0).astype("int64")


def _count_by_repo(repo: pd.Series, kind: pd.Series) -> pd.DataFrame:
    """Repositories × kinds, counts (a crosstab, without its pivot-table cost)."""
    return kind.groupby([repo, kind]).size().unstack(fill_value=0)


def _version_rank(versions: pd.Series) -> pd.Series:
    """Semver precedence as an integer rank (semver's own comparison, once per distinct value)."""
    distinct = sorted({v for v in versions.dropna()}, key=semver.Version.parse)
    rank = {v: i for i, v in enumerate(distinct)}
    return versions.map(rank)


def bump_mix(releases: pd.DataFrame) -> pd.DataFrame:
    """Per published release: major | minor | patch | prerelease | initial | repeat | unparsed.

    Finals are compared with the previous final in version order (so 2.0.0 after 1.9.0 and its
    2.0.0-rc.1 is a major bump), pre-releases are their own kind, and 0.x bumps count like any.
    """
    published = releases[~releases["draft"].astype(bool)].copy()
    published["rank"] = _version_rank(published["version"])
    # equal versions (v0.1.0, v0.1.0.post1): the earlier published is the bump, the rest repeat
    parsed = published[published["rank"].notna()].sort_values(
        ["repo", "rank", "published_at", "list_position"], ascending=[True, True, True, False]
    )
    final = parsed["version_prerelease"].isna()
    finals = parsed[final]
    previous = finals.groupby("repo")[["version_major", "version_minor", "version_patch"]].shift(1)
    def differs(part: str) -> np.ndarray:
        # nullable integer columns compare to <NA> next to a missing previous: that is a change
        return (finals[part] != previous[part]).to_numpy(dtype=bool, na_value=True)

    kind = np.select(
        [previous["version_major"].isna().to_numpy(dtype=bool), differs("version_major"),
         differs("version_minor"), differs("version_patch")],
        ["initial", "major", "minor", "patch"], default="repeat",
    )
    kinds = pd.concat([
        pd.DataFrame({"repo": finals["repo"], "tag": finals["tag"], "bump": kind}),
        pd.DataFrame({"repo": parsed["repo"][~final], "tag": parsed["tag"][~final],
                      "bump": "prerelease"}),
        pd.DataFrame({"repo": published["repo"][published["rank"].isna()],
                      "tag": published["tag"][published["rank"].isna()], "bump": "unparsed"}),
    ], ignore_index=True)
    return kinds


def compute_cadence(releases: pd.DataFrame, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per repository with at least one stored release (see COLUMNS)."""
    as_of_ts = pd.Timestamp(as_of or datetime.now(UTC))
    if as_of_ts.tzinfo is None:
        as_of_ts = as_of_ts.tz_localize("UTC")
    if releases.empty:
        return pd.DataFrame(columns=COLUMNS)
    releases = releases.copy()
    # Group by integer codes, not strings: a dozen groupbys each hashing a million names cost
    # more than everything else here. Codes follow the names' sort order.
    codes, names = pd.factorize(releases["repo"], sort=True)
    releases["repo"] = codes
    releases["published_at"] = pd.to_datetime(releases["published_at"], utc=True)
    by_repo = releases.groupby("repo")
    published = releases[releases["published_at"].notna()]
    out = pd.DataFrame({
        "total_releases": by_repo.size(),
        "published_releases": published.groupby("repo").size(),
        "prerelease_count": by_repo["prerelease"].sum(),
        "draft_count": by_repo["draft"].sum(),
    })

    intervals = original_intervals(releases)
    out["average_days_between_releases"] = original_average(intervals)
    out["interval_count"] = intervals.groupby("repo").size()

    chronological = published.sort_values(["repo", "published_at"])
    gaps = (chronological.groupby("repo")["published_at"].diff() / DAY).dropna()
    gap_repo = chronological.loc[gaps.index, "repo"]
    grouped_gaps = gaps.groupby(gap_repo)
    out["interval_median_days"] = grouped_gaps.median().round(1)
    out["interval_p90_days"] = grouped_gaps.quantile(0.9).round(1)
    mean, std = grouped_gaps.mean(), grouped_gaps.std(ddof=0)
    out["interval_cv"] = (std / mean.where(mean > 0)).round(3)

    age = as_of_ts - published["published_at"]
    out["releases_last_90_days"] = (age <= pd.Timedelta(days=90)).groupby(published["repo"]).sum()
    out["releases_last_365_days"] = (age <= pd.Timedelta(days=365)).groupby(published["repo"]).sum()

    latest = latest_per_repo(releases).set_index("repo")
    out["latest_tag"] = latest["tag"]
    out["latest_published_at"] = latest["published_at"]
    # timedelta.days, as the original: whole days, floored
    out["latest_release_age_days"] = (as_of_ts - latest["published_at"]) // DAY

    bumps = bump_mix(releases)
    mix = _count_by_repo(bumps["repo"], bumps["bump"])
    for kind in ("major", "minor", "patch", "prerelease", "initial", "repeat", "unparsed"):
        column = "unparsed_tags" if kind == "unparsed" else f"bumps_{kind}"
        out[column] = mix.get(kind, 0)
    out = out.join(seed_breakdown(releases))
    out["as_of"] = as_of_ts
    counts = ["total_releases", "published_releases", "prerelease_count", "draft_count",
              "interval_count", "releases_last_90_days", "releases_last_365_days",
              "bumps_major", "bumps_minor", "bumps_patch", "bumps_prerelease", "bumps_initial",
              "bumps_repeat", "unparsed_tags", "seed_major", "seed_minor", "seed_patch"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["latest_release_age_days"] = out["latest_release_age_days"].astype("Int64")
    out.index = names[out.index]
    return out.reset_index().rename(columns={"index": "repo"})[COLUMNS]


def stale(cadence: pd.DataFrame, after_days: int) -> pd.DataFrame:
    """Repositories whose latest published release is older than `after_days` (or none at all)."""
    age = cadence["latest_release_age_days"]
    return cadence[age.isna() | (age > after_days)][
        ["repo", "latest_tag", "latest_published_at", "latest_release_age_days"]
    ]
