"""Constant-memory hashing with a size cap, in-process and over a real local HTTP server."""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from release_assets.lib.verification import (
    ArtifactTooLargeError,
    hash_stream,
    parse_digest,
    stream_and_hash,
)

MIB = 1024 * 1024


class Chunks:
    """Yields fresh 1 MiB chunks and records how far ahead of the consumer it was asked to run."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.produced = 0

    def __iter__(self) -> Iterator[bytes]:
        for i in range(self.count):
            self.produced += 1
            yield bytes([i % 251]) * MIB


def expected_digest(count: int) -> str:
    h = hashlib.sha256()
    for i in range(count):
        h.update(bytes([i % 251]) * MIB)
    return h.hexdigest()


def test_hash_stream_of_50_mib_holds_one_chunk_at_a_time() -> None:
    chunks = Chunks(50)
    tracemalloc.start()
    try:
        digest = hash_stream(chunks, max_bytes=64 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == expected_digest(50)
    assert chunks.produced == 50
    # One chunk in flight plus the next being built: a few MiB, never the 50 MiB stream.
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_hash_stream_stops_reading_as_soon_as_the_cap_is_passed() -> None:
    chunks = Chunks(1000)
    with pytest.raises(ArtifactTooLargeError, match="10,485,760-byte hashing cap"):
        hash_stream(chunks, max_bytes=10 * MIB)
    assert chunks.produced == 11


def test_hash_stream_accepts_exactly_the_cap_and_other_algorithms() -> None:
    assert hash_stream(Chunks(2), max_bytes=2 * MIB) == expected_digest(2)
    assert (
        hash_stream([b"abc"], max_bytes=3, algorithm="sha512") == hashlib.sha512(b"abc").hexdigest()
    )


def test_parse_digest() -> None:
    assert str(parse_digest("sha256:" + "A" * 64)) == "sha256:" + "a" * 64
    assert parse_digest("sha256:abc123") is None  # hand-edited upstream test data
    assert parse_digest("sha512:" + "a" * 64) is None
    assert parse_digest(None) is None and parse_digest("") is None


class _Blob(BaseHTTPRequestHandler):
    body_chunks = 20
    declare_length = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        if self.declare_length:
            self.send_header("Content-Length", str(self.body_chunks * MIB))
        self.end_headers()
        for i in range(self.body_chunks):
            self.wfile.write(bytes([i % 251]) * MIB)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def blob_server() -> Iterator[tuple[str, type[_Blob]]]:
    handler = type("Blob", (_Blob,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/artifact", handler
    finally:
        server.shutdown()
        server.server_close()


def test_stream_and_hash_over_http(blob_server: tuple[str, type[_Blob]]) -> None:
    url, _ = blob_server
    with requests.Session() as session:
        assert stream_and_hash(url, session=session, max_bytes=32 * MIB) == expected_digest(20)


def test_stream_and_hash_refuses_a_declared_oversize_body(
    blob_server: tuple[str, type[_Blob]],
) -> None:
    url, _ = blob_server
    with requests.Session() as session, pytest.raises(ArtifactTooLargeError):
        stream_and_hash(url, session=session, max_bytes=5 * MIB)


def test_stream_and_hash_caps_an_undeclared_body(blob_server: tuple[str, type[_Blob]]) -> None:
    url, handler = blob_server
    handler.declare_length = False
    with requests.Session() as session, pytest.raises(ArtifactTooLargeError):
        stream_and_hash(url, session=session, max_bytes=5 * MIB)
