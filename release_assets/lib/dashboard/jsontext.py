"""`json.dumps(obj, indent=2)`, byte for byte, fast enough for 100,000 releases.

With `indent`, the standard library falls back to its pure-Python encoder (about 30 s for a
dashboard of 100,000 releases and 800,000 artifacts). The dashboard's bulk is regular, so those
parts are rendered column-wise (pandas string operations, C string escaping) as `RawJSON` text
at depth 0; this encoder only walks the small skeleton around them and re-indents the text.
"""

from __future__ import annotations

import itertools
import json
import operator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

import pandas as pd

INDENT = "  "


@dataclass(frozen=True)
class RawJSON:
    """Already-encoded JSON, indented as if it stood at depth 0."""

    text: str

    def value(self) -> Any:
        return json.loads(self.text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def dumps(obj: Any, depth: int = 0) -> str:
    if isinstance(obj, RawJSON):
        return obj.text.replace("\n", "\n" + INDENT * depth)
    inner, outer = "\n" + INDENT * (depth + 1), "\n" + INDENT * depth
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = (f"{encode_basestring_ascii(str(k))}: {dumps(v, depth + 1)}" for k, v in obj.items())
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    if isinstance(obj, list | tuple):
        if not obj:
            return "[]"
        return "[" + inner + ("," + inner).join(dumps(v, depth + 1) for v in obj) + outer + "]"
    return _scalar(obj)


def plain(obj: Any) -> Any:
    """The same structure with every RawJSON parsed (what a reader of the file gets)."""
    return json.loads(dumps(obj))


# -- column-wise rendering ------------------------------------------------------------------------
def strings(column: pd.Series) -> pd.Series:
    """JSON string literals (ASCII-escaped, as json.dumps), "null" for missing."""
    return pd.Series([encode_basestring_ascii(v) if isinstance(v, str) else "null" for v in column],
                     index=column.index, dtype=object)


def integers(column: pd.Series) -> pd.Series:
    text = column.astype("Int64").astype(str).astype(object)
    return text.where(column.notna(), "null")


def booleans(column: pd.Series) -> pd.Series:
    return column.astype(bool).map({True: "true", False: "false"}).astype(object)


def objects(fields: dict[str, pd.Series], nested: tuple[str, ...] = ()) -> pd.Series:
    """Depth-0 JSON objects from already-encoded value columns (keys in the given order);
    `nested` names the columns holding multi-line JSON (arrays, objects)."""
    first = True
    text: pd.Series | None = None
    for key, values in fields.items():
        piece = ("{\n" if first else ",\n") + INDENT + encode_basestring_ascii(key) + ": "
        values = values.astype(object)
        if key in nested:  # a nested value's own lines move one level in
            values = values.str.replace("\n", "\n" + INDENT, regex=False)
        text = piece + values if text is None else text + piece + values
        first = False
    assert text is not None
    return text + "\n}"


def arrays(items: pd.Series, groups: pd.Series, index: pd.Index) -> pd.Series:
    """Depth-0 JSON arrays of depth-0 `items`, grouped by `groups`, one per `index` value."""
    joined: dict[object, str] = {}
    separator = ",\n" + INDENT
    for key, chunk in itertools.groupby(
        zip(groups.to_numpy().tolist(), items.to_numpy().tolist(), strict=True),
        key=operator.itemgetter(0),
    ):
        text = separator.join(item.replace("\n", "\n" + INDENT) for _, item in chunk)
        joined[key] = "[\n" + INDENT + text + "\n]"  # `groups` arrive sorted: one chunk each
    return pd.Series([joined.get(k, "[]") for k in index.tolist()], index=index, dtype=object)
