"""Metadata every table asset reports: row count, column schema and a markdown preview."""

from __future__ import annotations

import math
from collections.abc import Sequence

import dagster as dg
import duckdb

from release_assets.lib import storage

Metadata = dict[str, dg.MetadataValue | dg.TableSchema | int | float | str]


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    repos: Sequence[str] | None = None,
    live_only: bool = False,
    preview_columns: Sequence[str] = (),
    order_by: str | None = None,
    preview_rows: int = 10,
) -> Metadata:
    """`dagster/row_count` is the whole table, as the UI shows it for the asset; a partitioned
    run adds `rows_this_run` (its repositories' rows) and previews those. `live_only` leaves out
    rows marked deleted."""
    summary = storage.summarise_table(
        con, table, repos=repos, live_only=live_only, preview_columns=preview_columns,
        order_by=order_by, preview_rows=preview_rows,
    )
    metadata: Metadata = {
        "dagster/row_count": dg.MetadataValue.int(summary.rows),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, kind) for name, kind in summary.columns]
        ),
        "table": dg.MetadataValue.text(table),
    }
    if summary.repository_rows is not None:
        metadata["rows_this_run"] = dg.MetadataValue.int(summary.repository_rows)
    if summary.headers:
        metadata["preview"] = dg.MetadataValue.md(markdown_table(summary.headers, summary.preview))
    return metadata


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # never "nan" or "None" in the UI
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")[:80]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
