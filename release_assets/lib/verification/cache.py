"""The digest-keyed verification cache: a verdict about given bytes under a given policy is final.

A key is (kind, subject, material, policy): the file judged (its sha256), the file judging it
(the bundle, manifest or SBOM: GitHub's digest of it), and the signer policy with its trust
root. None of these can change without the key changing, so a cached verdict is never redone and
its material never downloaded again. Where GitHub gives no digest, the artifact id stands in:
GitHub never changes an uploaded file's bytes under the same id (a re-upload gets a new id).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sigstore

from .hashing import parse_digest
from .results import ArtifactRef
from .signer_policy import SignerPolicy
from .store import CacheEntry


def cache_key(kind: str, subject: str, material: str, policy: str) -> str:
    joined = "\x1f".join((kind, subject, material, policy))
    return hashlib.sha256(joined.encode()).hexdigest()


def material_key(artifact: ArtifactRef) -> str:
    """GitHub's digest of the file, else its (immutable) artifact id."""
    digest = parse_digest(artifact.digest)
    return str(digest) if digest is not None else f"github-artifact:{artifact.artifact_id}"


def policy_key(policy: SignerPolicy, trust_root: str) -> str:
    """Changes when the policy, the trust root or the sigstore release (its shipped roots) does."""
    text = f"{policy!r}|{trust_root}|sigstore {sigstore.__version__}"
    return "policy:" + hashlib.sha256(text.encode()).hexdigest()[:24]


class VerificationCache:
    """The stored entries for one run, plus the ones this run adds; shared by worker threads."""

    def __init__(self, entries: Iterable[CacheEntry], *, now: datetime) -> None:
        self._entries = {e.key: e for e in entries}
        self._new: dict[str, CacheEntry] = {}
        self._lock = threading.Lock()
        self.now = now
        self.hits = 0
        self.misses = 0

    def get(self, kind: str, subject: str, material: str, policy: str = "") -> CacheEntry | None:
        entry = self._entries.get(cache_key(kind, subject, material, policy))
        with self._lock:
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
        return entry

    def peek(self, kind: str, subject: str, material: str, policy: str = "") -> CacheEntry | None:
        """Like `get`, without counting a hit or miss (for planning, not verifying)."""
        # A dict lookup is atomic: reads need no lock, only the counters and writes do.
        return self._entries.get(cache_key(kind, subject, material, policy))

    def put(
        self,
        kind: str,
        subject: str,
        material: str,
        policy: str = "",
        *,
        status: str | None = None,
        reason: str | None = None,
        evidence: dict[str, Any] | None = None,
        subject_digest: str | None = None,
        etag: str | None = None,
    ) -> CacheEntry:
        entry = CacheEntry(
            key=cache_key(kind, subject, material, policy),
            kind=kind,
            subject=subject,
            material=material,
            policy=policy,
            status=status,
            reason=reason,
            evidence=dict(evidence or {}),
            subject_digest=subject_digest,
            etag=etag,
            created_at=self.now,
        )
        with self._lock:
            self._entries[entry.key] = self._new[entry.key] = entry
        return entry

    def take_new_entries(self) -> list[CacheEntry]:
        """The entries added since the last call (to be written), in the order they were made."""
        with self._lock:
            new, self._new = list(self._new.values()), {}
            return new
