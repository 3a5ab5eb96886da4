"""Sensor cursors: JSON, compressed when large (a cursor is stored with every sensor tick)."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

_PREFIX = "z1:"
_COMPRESS_ABOVE = 2048  # small cursors stay readable in the UI; large ones shrink ~3x


def encode(state: dict[str, Any]) -> str:
    text = json.dumps(state, separators=(",", ":"), sort_keys=True)
    if len(text) <= _COMPRESS_ABOVE:
        return text
    return _PREFIX + base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def decode(cursor: str | None) -> dict[str, Any]:
    """The state in a cursor; an empty or unreadable cursor starts afresh (never crashes a tick)."""
    if not cursor:
        return {}
    try:
        if cursor.startswith(_PREFIX):
            cursor = zlib.decompress(base64.b64decode(cursor[len(_PREFIX):])).decode()
        value = json.loads(cursor)
    except (ValueError, zlib.error):
        return {}
    return value if isinstance(value, dict) else {}
