"""The dashboard's data, read from the warehouse into the original script's JSON structure.

Release entries are `RawJSON` (pre-rendered text, see `jsontext`): use `jsontext.plain()` for
plain values and `jsontext.dumps()` for the file.

`build_dashboard` returns what `release-metrics.py` wrote to `release-dashboard.json`
(`generated_at`, `repositories` → `metrics`, `cadence`, `latest_quality`), from stored tables
instead of ~n + 11 API requests per repository, plus keys of its own (`verification`, per
repository and for the organisation). As in the original, a repository's `latest_release` is
the first release GitHub lists; `latest_quality` is that of its latest published release
(`lib.latest`), which is the same release unless a draft is listed first (the original could not
fetch a draft by its tag and wrote an error there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from release_assets.lib import storage
from release_assets.lib.dashboard import history, jsontext, verification
from release_assets.lib.dashboard.jsontext import RawJSON
from release_assets.lib.latest import latest_per_repo

DAY = pd.Timedelta(days=1)
CHECKS = ("has_changelog", "has_binaries", "has_checksums", "has_signatures", "has_sbom")


def _iso_aware(value: Any) -> str | None:
    """PyGithub's datetimes are aware UTC: `2015-08-16T06:39:17+00:00`."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").isoformat()


def _iso_naive(value: datetime) -> str:
    """The original's `datetime.utcnow().isoformat()`: naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def tracked_repositories(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Active repositories, plus any with stored releases that the repository list does not
    exclude (so a warehouse filled without discovery still reports)."""
    rows = con.execute("""
        SELECT repo FROM repositories WHERE status = 'active'
        UNION
        SELECT DISTINCT repo FROM releases WHERE deleted_at IS NULL
            AND repo NOT IN (SELECT repo FROM repositories WHERE status <> 'active')
        ORDER BY repo
    """).fetchall()
    return [r[0] for r in rows]


def display_keys(repos: Sequence[str]) -> dict[str, str]:
    """The original keyed repositories by name within one org: do so when there is one owner."""
    owners = {r.split("/", 1)[0] for r in repos}
    names = [r.split("/", 1)[-1] for r in repos]
    single = len(owners) <= 1 and len(set(names)) == len(names)
    return {r: (r.split("/", 1)[-1] if single else r) for r in repos}


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(storage.scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ))


def _releases(con: duckdb.DuckDBPyConnection, repos: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    params = {"repos": list(repos)}
    in_repos = storage.in_repositories(param="$repos")
    releases = con.execute(f"""
        SELECT release_id, repo, tag, name, published_at, prerelease, draft, list_position,
               fetched_at
        FROM releases WHERE deleted_at IS NULL AND {in_repos}
        ORDER BY repo, list_position
    """, params).df()
    # GitHub lists a release's files by name, case-insensitively; a stored list position wins
    # when ingestion records one.
    stored = {name for name, _ in storage.table_columns(con, "release_artifacts")}
    order = "list_position" if "list_position" in stored else "lower(name), name"
    artifacts = con.execute(f"""
        SELECT release_id, name, size, download_count, content_type
        FROM release_artifacts WHERE deleted_at IS NULL AND {in_repos}
        ORDER BY release_id, {order}, artifact_id
    """, params).df()
    return releases, artifacts


def release_texts(releases: pd.DataFrame, artifacts: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(depth-0 JSON text, downloads) per release id, rendered column-wise (see jsontext)."""
    assets = jsontext.objects({
        "name": jsontext.strings(artifacts["name"]),
        "size": jsontext.integers(artifacts["size"]),
        "download_count": jsontext.integers(artifacts["download_count"]),
        "content_type": jsontext.strings(artifacts["content_type"]),
    }) if len(artifacts) else pd.Series(dtype=object)
    index = pd.Index(releases["release_id"])
    downloads = (artifacts.groupby("release_id")["download_count"].sum()
                 .reindex(index).fillna(0).astype("int64"))
    published = pd.Series([_iso_aware(v) for v in releases["published_at"]], index=index)
    text = jsontext.objects({
        "tag": jsontext.strings(releases["tag"].set_axis(index)),
        "name": jsontext.strings(releases["name"].set_axis(index)),
        "published_at": jsontext.strings(published),
        "prerelease": jsontext.booleans(releases["prerelease"].set_axis(index)),
        "draft": jsontext.booleans(releases["draft"].set_axis(index)),
        "assets": jsontext.arrays(assets, artifacts["release_id"], index),
        "downloads": jsontext.integers(downloads),
    }, nested=("assets",))
    return text, downloads


def _metrics(key: str, releases: pd.DataFrame, texts: pd.Series, downloads: pd.Series,
             collected_at: str) -> dict[str, Any]:
    ids = releases["release_id"]
    entries = [RawJSON(t) for t in texts.loc[ids]] if len(ids) else []
    return {
        "repository": key,
        "collected_at": collected_at,
        "releases": entries,
        "summary": {
            "total_releases": len(entries),
            "total_downloads": int(downloads.loc[ids].sum()) if len(ids) else 0,
            "latest_release": entries[0] if entries else None,
            "prerelease_count": int(releases["prerelease"].sum()),
            "draft_count": int(releases["draft"].sum()),
        },
    }


def _cadence(key: str, row: pd.Series | None, now: pd.Timestamp) -> dict[str, Any]:
    if row is None or int(row["total_releases"]) < 2:
        return {"error": "Insufficient release history"}
    average = row["average_days_between_releases"]
    published = row["latest_published_at"]
    return {
        "repository": key,
        "total_releases": int(row["total_releases"]),
        "average_days_between_releases": None if pd.isna(average) else float(average),
        "release_breakdown": {
            "major": int(row["seed_major"]), "minor": int(row["seed_minor"]),
            "patch": int(row["seed_patch"]),
        },
        # the original measured age at report time, so do we (not at cadence time)
        "latest_release_age_days": None if pd.isna(published)
        else int((now - pd.Timestamp(published).tz_convert("UTC")) // DAY),
    }


def _quality(row: pd.Series | None) -> dict[str, Any] | None:
    if row is None:
        return None
    checks: dict[str, Any] = {name: bool(row[name]) for name in CHECKS}
    checks["asset_count"] = int(row["asset_count"])
    checks["body_length"] = int(row["body_length"])
    return {"tag": row["tag"], "checks": checks, "quality_score": int(row["score"])}


def build_dashboard(
    con: duckdb.DuckDBPyConnection, repos: Sequence[str] | None = None,
    *, now: datetime | None = None,
) -> dict[str, Any]:
    """The original `release-dashboard.json` structure, for `repos` (default: all tracked)."""
    moment = now or datetime.now(UTC)
    now_ts = pd.Timestamp(moment).tz_convert("UTC") if pd.Timestamp(moment).tzinfo else \
        pd.Timestamp(moment, tz="UTC")
    repos = list(repos) if repos is not None else tracked_repositories(con)
    keys = display_keys(repos)
    releases, artifacts = _releases(con, repos)
    texts, downloads = release_texts(releases, artifacts)
    cadence = (
        con.execute(f"SELECT * FROM release_cadence WHERE {storage.in_repositories(param='$repos')}",
                    {"repos": repos}).df().set_index("repo")
        if _table_exists(con, "release_cadence") else pd.DataFrame()
    )
    latest_ids = [int(i) for i in latest_per_repo(releases)["release_id"]] if len(releases) else []
    quality = (
        con.execute("SELECT * FROM release_quality WHERE release_id IN (SELECT unnest(?::BIGINT[]))",
                    [latest_ids]).df().set_index("repo")
        if _table_exists(con, "release_quality") else pd.DataFrame()
    )
    verified, organisation = verification.summarise(con, repos)
    by_repo = dict(tuple(releases.groupby("repo", sort=False))) if len(releases) else {}
    dashboard: dict[str, Any] = {"generated_at": _iso_naive(moment), "repositories": {}}
    for repo in repos:
        key = keys[repo]
        repo_releases = by_repo.get(repo, releases.iloc[0:0])
        fetched = repo_releases["fetched_at"].max() if len(repo_releases) else None
        collected = _iso_naive(pd.Timestamp(fetched).to_pydatetime()) if fetched is not None \
            and not pd.isna(fetched) else dashboard["generated_at"]
        metrics = _metrics(key, repo_releases, texts, downloads, collected)
        cadence_row = cadence.loc[repo] if repo in cadence.index else None
        quality_row = quality.loc[repo] if repo in quality.index else None
        dashboard["repositories"][key] = {
            "metrics": metrics,
            "cadence": _cadence(key, cadence_row, now_ts),
            "latest_quality": _quality(quality_row) if metrics["summary"]["latest_release"] else None,
            "verification": verified.get(repo, verification.VerificationSummary()).as_json(),
        }
    dashboard["verification"] = organisation.as_json()
    history.add_history(con, dashboard, repos, keys)
    return dashboard
