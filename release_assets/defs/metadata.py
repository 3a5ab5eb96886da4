"""Metadata every table asset reports: row count, column schema and a markdown preview."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import duckdb

from release_assets.lib import storage


def table_metadata(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    where: str = "true",
    params: Sequence[Any] = (),
    preview_columns: Sequence[str] = (),
    order_by: str | None = None,
    preview_rows: int = 10,
) -> dict[str, Any]:
    rows = storage.scalar(con, f"SELECT count(*) FROM {table} WHERE {where}", params)
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, kind) for name, kind in storage.table_columns(con, table)]
    )
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/column_schema": schema,
        "table": dg.MetadataValue.text(table),
    }
    if preview_columns:
        select = ", ".join(preview_columns)
        order = f" ORDER BY {order_by}" if order_by else ""
        frame = con.execute(
            f"SELECT {select} FROM {table} WHERE {where}{order} LIMIT {preview_rows}", list(params)
        ).df()
        metadata["preview"] = dg.MetadataValue.md(markdown_table(frame.columns, frame.values.tolist()))
    return metadata


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        return text.replace("|", "\\|").replace("\n", " ")[:80]

    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
