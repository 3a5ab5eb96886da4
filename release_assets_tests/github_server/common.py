"""Shapes shared by the test server's modules: GitHub's JSON helpers, requests and replies."""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

JSON = dict[str, Any]

# Stored JSON uses this base for API URLs; it becomes the server's own URL when served, so a
# World can be built before any server exists (the demo does) and served on any port.
PLACEHOLDER = "http://github.invalid"

REST_DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits"
)
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
LIST_RELEASES_DOCS = "https://docs.github.com/rest/releases/releases#list-releases"
CONTENTS_DOCS = "https://docs.github.com/rest/repos/contents#get-repository-content"
BULK_ATTESTATIONS_DOCS = (
    "https://docs.github.com/rest/orgs/attestations#list-attestations-by-bulk-subject-digests")


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: `2020-01-01T00:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def node_id(prefix: str, number: int) -> str:
    return prefix + base64.b64encode(number.to_bytes(8, "big")).decode().rstrip("=")


_CONTENT_TYPES = {
    ".gz": "application/gzip", ".tgz": "application/gzip", ".zip": "application/zip",
    ".exe": "application/x-msdownload", ".deb": "application/vnd.debian.binary-package",
    ".rpm": "application/x-rpm", ".json": "application/json", ".jsonl": "application/jsonl",
    ".txt": "text/plain", ".sig": "application/pgp-signature",
    ".asc": "application/pgp-signature", ".dmg": "application/x-apple-diskimage",
    ".whl": "application/zip", ".sigstore": "application/json",
}


@lru_cache(maxsize=4096)
def content_type_for(name: str) -> str:
    """The content type GitHub would most likely have recorded for an upload of this name."""
    for suffix, kind in _CONTENT_TYPES.items():
        if name.endswith(suffix):
            return kind
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def user_json(login: str, number: int, kind: str = "User") -> JSON:
    return {
        "login": login, "id": number, "node_id": node_id("U_" if kind == "User" else "O_", number),
        "avatar_url": f"{PLACEHOLDER}/avatars/{login}", "gravatar_id": "",
        "url": f"{PLACEHOLDER}/users/{login}", "html_url": f"{PLACEHOLDER}/{login}",
        "type": kind, "site_admin": False,
    }


def latest_release(releases: list[JSON]) -> JSON | None:
    """GitHub's latest: the most recently created non-draft, non-prerelease release."""
    candidates = [r for r in releases if not r["draft"] and not r["prerelease"]]
    # max() keeps the first of equal keys: ties go to the newer list position
    return max(candidates, key=lambda r: str(r["created_at"]), default=None)


@dataclass
class LoggedRequest:
    method: str
    path: str  # path + query
    status: int
    authorized: bool  # an Authorization header was sent
    bytes_sent: int
    route: str


@dataclass
class ServerStats:
    requests: int = 0
    not_modified: int = 0
    bytes_sent: int = 0
    rate_limit_points: int = 0
    points_by_token: dict[str, int] = field(default_factory=dict)  # token identity -> points
    by_route: dict[str, int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    resource: str | None = "core"  # rate-limit bucket; None = not an API response
    points: int | None = None  # None: 1 for a non-304 answer below 500
    etag: bool = False  # a cacheable GET body: add ETag / honour If-None-Match
    modified: float | None = None
    # How the body goes on the wire (faults): cut short and the connection closed, or trickled.
    close_early: bool = False
    trickle: float = 0.0  # seconds between bytes


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes
    identity: str  # "anonymous" or a fingerprint of the token, never the token
    authorized: bool

    def param(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.query if k == name), default)


def int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def json_reply(status: int, payload: Any, *, points: int | None = None) -> Reply:
    body = payload if isinstance(payload, bytes) else (
        payload.encode() if isinstance(payload, str) else
        json.dumps(payload, separators=(",", ":")).encode())
    return Reply(status, body, {}, points=points)


def not_found(docs: str = REST_DOCS) -> Reply:
    return json_reply(404, {"message": "Not Found", "documentation_url": docs, "status": "404"})


def token_from(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") and value.strip() else header


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]
