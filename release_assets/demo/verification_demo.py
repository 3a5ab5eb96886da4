"""Composed for the demo, clearly labelled: real jq checksum manifests attached to the recorded
jq releases (jq published them in its repository's `sig/` folder, not as release files).

With them the demo's `release_verification` shows real, imperfect checksum coverage
("jq-1.5: 7 of 8 artifacts listed"). See `verification_data/README.md` for sources and licence.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "verification_data"
JQ = "stedolan/jq"
JQ_MANIFEST = "sha256sum.txt"
# release tag -> folder of the manifest in jq's `sig/` directory
JQ_MANIFEST_DIRS: dict[str, str] = {
    "jq-1.3": "v1.3",
    "jq-1.4": "v1.4",
    "jq-1.5rc1": "v1.5rc1",
    "jq-1.5rc2": "v1.5rc2",
    "jq-1.5": "v1.5",
}
# Derived by a server from its own host; stored copies would point at a stale one.
_RENDERED_RELEASE_FIELDS = ("url", "assets_url", "upload_url", "tarball_url", "zipball_url")
_RENDERED_ARTIFACT_FIELDS = ("url", "browser_download_url")


def manifest(tag: str) -> bytes | None:
    """jq's real `sha256sum.txt` for this release tag, if jq published one."""
    folder = JQ_MANIFEST_DIRS.get(tag)
    return None if folder is None else (DATA / "jq" / folder / JQ_MANIFEST).read_bytes()


def with_manifest(release: dict[str, Any], content: bytes) -> dict[str, Any]:
    """The release with the manifest attached as one more artifact (same release id).

    Idempotent: a release that already lists the manifest comes back unchanged.
    """
    out = {k: v for k, v in release.items() if k not in _RENDERED_RELEASE_FIELDS}
    artifacts = [
        {k: v for k, v in a.items() if k not in _RENDERED_ARTIFACT_FIELDS}
        for a in release["assets"]
    ]
    out["assets"] = artifacts
    if any(a["name"] == JQ_MANIFEST for a in artifacts):
        return out
    uploaded = release.get("published_at") or release["created_at"]
    artifacts.append(
        {
            "name": JQ_MANIFEST,
            "label": "composed for the demo: jq's sig/ manifest",
            "content_type": "text/plain",
            "size": len(content),
            # an upload made today gets a GitHub digest, as every upload since June 2025 does
            "digest": "sha256:" + hashlib.sha256(content).hexdigest(),
            "download_count": 0,
            "created_at": uploaded,
            "updated_at": uploaded,
        }
    )
    return out


__all__ = ["JQ", "JQ_MANIFEST", "JQ_MANIFEST_DIRS", "manifest", "with_manifest"]
