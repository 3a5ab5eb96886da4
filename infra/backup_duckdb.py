#!/usr/bin/env python3
"""Back up the release_assets DuckDB file while the deployment keeps running.

    python backup_duckdb.py SOURCE.duckdb TARGET.duckdb

Copies every table (and sequence, view, macro) into a NEW DuckDB file, then checks that each
table has the same number of rows in both. Copying the file with `cp` while a run writes can give
a torn copy; this reads a consistent snapshot instead. The code location holds its DuckDB
connection only while writing, so the source is free most of the time: when a run is writing
right now (DuckDB's file lock), wait and try again, up to --wait seconds.

Exit codes: 0 backed up and verified, 1 failed (message on stderr), 2 usage.
In the image: /opt/dagster/bin/backup_duckdb.py (see infra/README.md, "Back up the DuckDB file").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def backup(source: Path, target: Path, *, wait_seconds: float = 300.0) -> dict[str, int]:
    """Copy `source` into the new file `target`; the row count of every table copied."""
    if not source.exists():
        raise FileNotFoundError(f"no DuckDB file at {source}")
    if target.exists():
        raise FileExistsError(f"{target} exists: a backup never overwrites")
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        # An in-memory connection attaching the source READ_ONLY: never a writer on the live file.
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH {_quote(source)} AS src (READ_ONLY)")
            break
        except duckdb.IOException as exc:
            con.close()
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(2)  # a run is writing; its connection closes when the write is done
    try:
        con.execute(f"ATTACH {_quote(target)} AS dst")
        con.execute("COPY FROM DATABASE src TO dst")
        tables = [row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' ORDER BY 1").fetchall()]
        counts: dict[str, int] = {}
        for table in tables:
            ident = '"' + table.replace('"', '""') + '"'
            copied = con.execute(f"SELECT count(*) FROM dst.{ident}").fetchone()
            original = con.execute(f"SELECT count(*) FROM src.{ident}").fetchone()
            if copied != original or copied is None:
                raise RuntimeError(f"{table}: {original} rows in the source, {copied} in the backup")
            counts[table] = int(copied[0])
        con.execute("DETACH dst")
        return counts
    except BaseException:
        con.close()
        target.unlink(missing_ok=True)  # never leave a half-written backup behind
        raise
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--wait", type=float, default=300.0, help="seconds to wait for a writer")
    args = parser.parse_args(argv)
    try:
        counts = backup(args.source, args.target, wait_seconds=args.wait)
    except (OSError, RuntimeError, duckdb.Error) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    for table, rows in counts.items():
        print(f"{table:<32} {rows:>10} rows")
    print(f"backed up {args.source} -> {args.target} ({len(counts)} tables, verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
