"""Digests: parsing GitHub's `sha256:<hex>` form, and hashing a stream under a size cap.

Hashing is the fallback for artifacts GitHub gives no digest for. It reads chunk by chunk so a
2 GB binary costs one chunk of memory, and stops as soon as the cap is passed rather than
after downloading the whole file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

MIB = 1024 * 1024

# Hex length identifies the algorithm in manifests that do not name it (GNU coreutils format).
ALGORITHM_BY_HEX_LENGTH: dict[int, str] = {
    32: "md5",
    40: "sha1",
    64: "sha256",
    96: "sha384",
    128: "sha512",
}

_DIGEST = re.compile(r"^(?:(?P<algo>[a-z0-9]+):)?(?P<hex>[0-9a-fA-F]+)$")


class ArtifactTooLargeError(ValueError):
    """The stream passed `max_bytes`; nothing beyond the cap was read."""

    def __init__(self, max_bytes: int, read: int) -> None:
        super().__init__(
            f"artifact exceeds the {max_bytes:,}-byte hashing cap (read {read:,} bytes); "
            "raise the cap in the verification config or rely on GitHub's digest"
        )
        self.max_bytes = max_bytes
        self.read = read


@dataclass(frozen=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(value: str | None) -> Digest | None:
    """`"sha256:<hex>"` (or bare hex) -> Digest; None when absent or not a well-formed digest.

    A digest whose hex length does not fit its algorithm (upstream test data has
    `sha256:abc123`) is treated as malformed, not trusted.
    """
    if not value:
        return None
    m = _DIGEST.match(value.strip())
    if not m:
        return None
    hex_ = m.group("hex").lower()
    algo = (m.group("algo") or ALGORITHM_BY_HEX_LENGTH.get(len(hex_), "")).lower()
    if ALGORITHM_BY_HEX_LENGTH.get(len(hex_)) != algo:
        return None
    return Digest(algo, hex_)


def hash_stream(chunks: Iterable[bytes], *, max_bytes: int, algorithm: str = "sha256") -> str:
    """Hex digest of the concatenated chunks, holding one chunk at a time.

    Raises ArtifactTooLargeError as soon as more than `max_bytes` have been seen.
    """
    return hash_stream_all(chunks, max_bytes=max_bytes, algorithms=(algorithm,))[algorithm]


def hash_stream_all(
    chunks: Iterable[bytes], *, max_bytes: int, algorithms: tuple[str, ...]
) -> dict[str, str]:
    """Several digests of one stream in one pass (sha256 for GitHub, sha512 for npm subjects)."""
    hashes = {a: hashlib.new(a) for a in algorithms}
    read = 0
    for chunk in chunks:
        read += len(chunk)
        if read > max_bytes:
            raise ArtifactTooLargeError(max_bytes, read)
        for h in hashes.values():
            h.update(chunk)
    return {a: h.hexdigest() for a, h in hashes.items()}


class _Response(Protocol):
    headers: object

    def raise_for_status(self) -> None: ...
    def iter_content(self, chunk_size: int) -> Iterable[bytes]: ...
    def close(self) -> None: ...


class _Session(Protocol):
    def get(self, url: str, **kwargs: object) -> _Response: ...


def stream_and_hash(
    url: str,
    *,
    session: _Session,
    max_bytes: int,
    chunk_size: int = MIB,
    algorithm: str = "sha256",
    timeout: float = 60.0,
) -> str:
    """Download `url` through `session` (a `requests.Session`) and hash it in constant memory.

    A declared Content-Length above the cap fails before any body is read.
    """
    response = session.get(url, stream=True, timeout=timeout)
    try:
        response.raise_for_status()
        declared = _content_length(response.headers)
        if declared is not None and declared > max_bytes:
            raise ArtifactTooLargeError(max_bytes, declared)
        return hash_stream(
            response.iter_content(chunk_size=chunk_size), max_bytes=max_bytes, algorithm=algorithm
        )
    finally:
        response.close()


def _content_length(headers: object) -> int | None:
    getter = getattr(headers, "get", None)
    raw = getter("Content-Length") if getter else None
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
