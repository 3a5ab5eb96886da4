"""What verification fetches from GitHub: small metadata files, digest-less artifacts to hash,
and the attestations API. Every byte is counted so a run can show what it did *not* download.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from release_assets.lib.github_client import GitHubClient, NotFound, Validator

from .hashing import hash_stream

# Manifests, bundles and attestation files are kilobytes; a cap keeps a hostile upload from
# exhausting memory, since these (unlike artifacts to hash) are held whole.
MAX_METADATA_BYTES = 10 * 1024 * 1024


class Fetcher:
    """Downloads through the GitHub client (which sends the token only to the API host)."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self.bytes_downloaded = 0
        self.files_downloaded = 0
        self.files_hashed = 0
        self.attestation_lookups = 0

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        with self._lock:
            self.files_downloaded += 1
        for chunk in chunks:
            with self._lock:
                self.bytes_downloaded += len(chunk)
            yield chunk

    def fetch(self, url: str, *, max_bytes: int = MAX_METADATA_BYTES) -> bytes:
        """A small file, whole. Raises GitHubError (with the cap or HTTP status) on failure."""
        return b"".join(self._counted(self.client.download(url, max_bytes=max_bytes)))

    def hash(self, url: str, *, max_bytes: int, algorithm: str = "sha256") -> str:
        """Stream a file through a hash in constant memory; nothing past the cap is read."""
        with self._lock:
            self.files_hashed += 1
        chunks = self._counted(self.client.download(url, max_bytes=max_bytes))
        return hash_stream(chunks, max_bytes=max_bytes, algorithm=algorithm)

    def attestations(
        self, repo: str, digest: str, *, etag: str | None
    ) -> tuple[int, list[dict[str, Any]], str | None]:
        """(HTTP status, bundles, ETag) of `GET /repos/{repo}/attestations/{digest}`.

        404 means "no attestation for this digest" and is returned, not raised. With a known
        ETag the request is conditional: a 304 costs no rate limit and returns no bundles.
        """
        with self._lock:
            self.attestation_lookups += 1
        url = f"/repos/{repo}/attestations/{digest}"
        try:
            response = self.client.get(url, validator=Validator(etag) if etag else None)
        except NotFound:
            return 404, [], None
        if response.status == 304:
            return 304, [], etag
        data = response.data if isinstance(response.data, dict) else {}
        bundles = [
            a["bundle"]
            for a in data.get("attestations") or []
            if isinstance(a, dict) and isinstance(a.get("bundle"), dict)
        ]
        return response.status, bundles, response.etag
