"""What verification fetches from GitHub: small metadata files, digest-less artifacts to hash,
and the attestations API. Every byte is counted so a run can show what it did *not* download.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from release_assets.lib.github_client import GitHubClient, NotFound, Validator

from .hashing import hash_stream_all

# Digests per bulk attestation listing: one request stands in for this many per-digest lookups.
BULK_DIGESTS = 100

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
        # owner -> "orgs" / "users" bulk endpoint that answered, or None when neither exists
        self._bulk_endpoint: dict[str, str | None] = {}

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

    def hashes(
        self, url: str, *, max_bytes: int, algorithms: tuple[str, ...] = ("sha256",)
    ) -> dict[str, str]:
        """Stream a file through its hashes in constant memory; nothing past the cap is read.

        The client's per-download deadline bounds the time, so a trickling server cannot stall
        the run (it raises `DeadlineExceeded`, a `GitHubError`).
        """
        with self._lock:
            self.files_hashed += 1
        chunks = self._counted(self.client.download(url, max_bytes=max_bytes))
        return hash_stream_all(chunks, max_bytes=max_bytes, algorithms=algorithms)

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

    def bulk_attestations(
        self, owner: str, digests: list[str]
    ) -> dict[str, list[dict[str, Any]]] | None:
        """Attestations of many digests of `owner`'s repositories, via the bulk listing.

        Maps every asked digest to its attestations (`bundle`, `repository_id`), empty when it
        has none. None when the owner has no bulk endpoint (e.g. an older GitHub Enterprise):
        the caller then asks per digest.
        """
        kinds = [k for k in ("orgs", "users") if self._bulk_endpoint.get(owner, k) == k]
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(digests), BULK_DIGESTS):
            batch = digests[start : start + BULK_DIGESTS]
            while kinds:
                try:
                    found = self._bulk_batch(f"/{kinds[0]}/{owner}/attestations/bulk-list", batch)
                except NotFound:
                    kinds.pop(0)
                    continue
                self._bulk_endpoint[owner] = kinds[0]
                out.update(found)
                break
            else:
                self._bulk_endpoint[owner] = None
                return None
        return out

    def _bulk_batch(self, path: str, digests: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {d: [] for d in digests}
        after, seen = "", set()
        while after not in seen:  # a cursor that repeats would never end
            seen.add(after)
            with self._lock:
                self.attestation_lookups += 1
            query = "?per_page=100" + (f"&after={quote(after)}" if after else "")
            data = self.client.post(path + query, {"subject_digests": digests}).data
            data = data if isinstance(data, dict) else {}
            listed = data.get("attestations_subject_digests")
            for digest, attestations in (listed if isinstance(listed, dict) else {}).items():
                if digest in found and isinstance(attestations, list):
                    found[digest].extend(
                        a
                        for a in attestations
                        if isinstance(a, dict) and isinstance(a.get("bundle"), dict)
                    )
            info = data.get("page_info")
            info = info if isinstance(info, dict) else {}
            after = str(info.get("next") or "") if info.get("has_next") else ""
            if not after:
                break
        return found
