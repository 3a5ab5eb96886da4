"""Download trends from snapshots taken by real ingestion against the local GitHub server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from release_assets.lib import derived, gates, storage, trends
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets_tests.github_server import GitHubServer, World

MONDAY = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def test_weekly_gains_platforms_and_counter_resets(
    world: World, github_server: GitHubServer, client: GitHubClient, db_path: Path
) -> None:
    world.add_repo("acme/tool")
    release = world.add_release("acme/tool", {
        "tag_name": "v1.0.0", "body": "## Changes", "published_at": "2026-10-30T00:00:00Z",
        "assets": [{"name": "tool_linux_amd64.tar.gz", "download_count": 10},
                   {"name": "tool_windows_amd64.exe", "download_count": 5}],
    })
    linux, windows = (a["id"] for a in release["assets"])

    def observe(day: int) -> None:
        refresh_repositories(client, db_path, ["acme/tool"], observed_at=MONDAY + timedelta(days=day))

    observe(0)
    world.set_download_count(linux, 25)
    observe(2)
    world.set_download_count(linux, 40)
    reuploaded = world.replace_artifact("acme/tool", release["id"], "tool_windows_amd64.exe")
    world.set_download_count(reuploaded["id"], 3)
    observe(7)
    world.set_download_count(linux, 38)  # GitHub corrected a count downwards
    observe(8)

    with storage.connect(db_path) as con:
        weekly, resets = trends.compute_trends(con, ["acme/tool"])
    rows = {(r.os, r.iso_week): r for r in weekly.itertuples()}
    first, second = "2026-W45", "2026-W46"
    assert rows[("linux", first)].week == pd.Timestamp(date(2026, 11, 2))
    # first observation is a baseline, not a gain; then 25 - 10
    assert (rows[("linux", first)].baseline_downloads, rows[("linux", first)].downloads_gained) == (10, 15)
    # 40 - 25, then 38 < 40: flagged, gain 0 (never negative)
    assert rows[("linux", second)].downloads_gained == 15 and rows[("linux", second)].resets == 1
    assert rows[("windows", first)].baseline_downloads == 5
    # the re-upload starts from zero: its 3 downloads are new, and it is flagged
    assert rows[("windows", second)].downloads_gained == 3 and rows[("windows", second)].resets == 1
    assert rows[("windows", second)].arch == "x86_64" and rows[("windows", second)].package_type == "exe"
    assert (weekly["downloads_gained"] >= 0).all()

    kinds = {(r.name, r.reset_kind): r for r in resets.itertuples()}
    upload = kinds[("tool_windows_amd64.exe", "reupload")]
    assert (upload.previous_artifact_id, upload.artifact_id) == (windows, reuploaded["id"])
    assert (upload.previous_count, upload.download_count) == (5, 3)
    decrease = kinds[("tool_linux_amd64.tar.gz", "decrease")]
    assert (decrease.previous_count, decrease.download_count) == (40, 38)

    gate = gates.counts_never_decrease(resets)
    assert not gate.passed and gate.observed == 1  # the re-upload is excused, the drop is not
    assert gate.rows == [("acme/tool", "v1.0.0", "tool_linux_amd64.tar.gz",
                          pd.Timestamp(date(2026, 11, 10)), 40, 38)]


def test_no_snapshots_no_trends(db_path: Path) -> None:
    with storage.connect(db_path) as con:
        weekly, resets = trends.compute_trends(con, ["acme/none"])
    assert weekly.empty and resets.empty
    assert gates.counts_never_decrease(resets).passed


def test_a_file_from_before_the_keyless_tables_keeps_its_trends(tmp_path: Path) -> None:
    """Earlier versions gave download_trends a primary key (slow to replace): the first use of
    such a file drops the key and keeps every row, and replacing rows stays idempotent."""
    db = tmp_path / "old.duckdb"
    with storage.connect(db) as con:
        con.execute("""
            CREATE TABLE download_trends (
                repo VARCHAR NOT NULL, release_id BIGINT NOT NULL, tag VARCHAR NOT NULL,
                os VARCHAR NOT NULL, arch VARCHAR NOT NULL, package_type VARCHAR NOT NULL,
                week DATE NOT NULL, iso_week VARCHAR NOT NULL, downloads_gained BIGINT NOT NULL,
                baseline_downloads BIGINT NOT NULL, latest_count BIGINT NOT NULL,
                artifacts INTEGER NOT NULL, snapshots INTEGER NOT NULL, resets INTEGER NOT NULL,
                PRIMARY KEY (repo, release_id, os, arch, package_type, week))
        """)
        row = ("acme/tool", 1, "v1", "linux", "amd64", "tar.gz", date(2026, 1, 5), "2026-W02",
               7, 3, 10, 1, 2, 0)
        con.execute(f"INSERT INTO download_trends VALUES ({', '.join('?' * len(row))})", row)
    with storage.connect(db) as con:
        derived.ensure_schema(con)
        assert con.execute("SELECT * FROM download_trends").fetchall() == [row]
        keys = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'download_trends' "
            "AND constraint_type = 'PRIMARY KEY'").fetchall()
        assert keys == [(0,)]
        frame = pd.DataFrame([row], columns=trends.TREND_COLUMNS)
        for _ in range(2):
            derived.replace_rows(con, "download_trends", frame, ["acme/tool"])
        assert con.execute("SELECT * FROM download_trends").fetchall() == [row]
