"""Checksum manifests: recognise them, parse them, and compare them with GitHub's digests.

The comparison needs no download: GitHub already gives each artifact's sha256. Artifacts
without a digest are reported so the caller can hash them (`stream_and_hash`) and call again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .hashing import ALGORITHM_BY_HEX_LENGTH, parse_digest
from .names import is_verification_metadata, manifest_scope
from .results import ArtifactRef, ReleaseRef, VerificationResult, make_result

# GNU coreutils / goreleaser: "<hex>  name" (text) or "<hex> *name" (binary marker).
_GNU = re.compile(r"^(?P<hex>[0-9A-Fa-f]+) [ *]?(?P<name>.+)$")
# BSD / `shasum --tag`: "SHA256 (name) = <hex>".
_BSD = re.compile(r"^(?P<algo>SHA\d+|MD5) ?\((?P<name>.*)\) ?= ?(?P<hex>[0-9A-Fa-f]+)$", re.I)
_BARE_HEX = re.compile(r"^[0-9A-Fa-f]+$")


@dataclass(frozen=True)
class ChecksumEntry:
    name: str  # basename, as artifacts are named on a release
    path: str  # as written in the manifest (may carry ./ or dist/)
    algorithm: str
    hex: str
    line_number: int
    line: str


@dataclass(frozen=True)
class ChecksumManifest:
    source_name: str
    entries: tuple[ChecksumEntry, ...]
    errors: tuple[str, ...] = ()
    # For a per-file manifest (`X.sha256`) the one artifact it speaks for; None = whole release.
    scope: str | None = None

    def lookup(self, name: str) -> list[ChecksumEntry]:
        return [e for e in self.entries if e.name == name]


@dataclass(frozen=True)
class ChecksumCoverage:
    manifest: str
    listed: tuple[str, ...]
    unlisted: tuple[str, ...]
    # Entries naming no artifact of the release: a stale manifest or a missing upload.
    orphans: tuple[str, ...] = field(default=())

    @property
    def total(self) -> int:
        return len(self.listed) + len(self.unlisted)

    @property
    def summary(self) -> str:
        return f"{len(self.listed)} of {self.total} artifacts listed"


def parse_checksum_manifest(text: str | bytes, *, source_name: str) -> ChecksumManifest:
    """Parse GNU or BSD lines; malformed lines become `errors`, never exceptions."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    scope = manifest_scope(source_name)
    entries: list[ChecksumEntry] = []
    errors: list[str] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry = _parse_line(line, number, scope)
        if isinstance(entry, str):
            errors.append(f"line {number}: {entry}: {line[:120]!r}")
        else:
            entries.append(entry)
    errors.extend(_conflicts(entries))
    return ChecksumManifest(source_name, tuple(entries), tuple(errors), scope)


def _parse_line(line: str, number: int, scope: str | None) -> ChecksumEntry | str:
    escaped = line.startswith("\\")
    body = line[1:] if escaped else line
    bsd = _BSD.match(body)
    if bsd:
        hex_, path = bsd.group("hex").lower(), bsd.group("name")
        algorithm = ALGORITHM_BY_HEX_LENGTH.get(len(hex_))
        if algorithm != bsd.group("algo").lower():
            return f"{bsd.group('algo')} hash has the wrong length ({len(hex_)} hex digits)"
    elif _BARE_HEX.match(body) and scope:
        # `X.sha256` files often hold only the hash; the file name says what it is for.
        hex_, path = body.lower(), scope
        algorithm = ALGORITHM_BY_HEX_LENGTH.get(len(hex_))
    else:
        gnu = _GNU.match(body)
        if not gnu:
            return "not a checksum line"
        name_ = gnu.group("name")
        hex_, path = gnu.group("hex").lower(), _unescape(name_) if escaped else name_
        algorithm = ALGORITHM_BY_HEX_LENGTH.get(len(hex_))
    if algorithm is None:
        return f"hash of {len(hex_)} hex digits matches no known algorithm"
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if not name:
        return "no file name"
    return ChecksumEntry(name, path, algorithm, hex_, number, line)


def _unescape(name: str) -> str:
    # GNU escapes names holding a backslash or newline and flags the line with a leading "\".
    return name.replace("\\n", "\n").replace("\\\\", "\\")


def _conflicts(entries: list[ChecksumEntry]) -> list[str]:
    seen: dict[tuple[str, str], ChecksumEntry] = {}
    out: list[str] = []
    for e in entries:
        prev = seen.setdefault((e.name, e.algorithm), e)
        if prev.hex != e.hex:
            out.append(
                f"line {e.line_number}: {e.name} listed again with a different "
                f"{e.algorithm} (first on line {prev.line_number})"
            )
    return out


def _in_scope(manifest: ChecksumManifest, artifacts: Iterable[ArtifactRef]) -> list[ArtifactRef]:
    """The artifacts a manifest is expected to list: not itself, not signatures or bundles."""
    if manifest.scope is not None:
        return [a for a in artifacts if a.name == manifest.scope]
    return [a for a in artifacts if not is_verification_metadata(a.name)]


def checksum_coverage(manifest: ChecksumManifest, artifacts: list[ArtifactRef]) -> ChecksumCoverage:
    expected = _in_scope(manifest, artifacts)
    listed_names = {e.name for e in manifest.entries}
    all_names = {a.name for a in artifacts}
    return ChecksumCoverage(
        manifest=manifest.source_name,
        listed=tuple(a.name for a in expected if a.name in listed_names),
        unlisted=tuple(a.name for a in expected if a.name not in listed_names),
        orphans=tuple(sorted(listed_names - all_names)),
    )


def verify_checksums(
    manifest: ChecksumManifest,
    artifacts: list[ArtifactRef],
    *,
    release: ReleaseRef | None = None,
) -> list[VerificationResult]:
    """One `checksum` result per artifact the manifest should cover."""
    return [_verify_one(manifest, artifact, release) for artifact in _in_scope(manifest, artifacts)]


def _verify_one(
    manifest: ChecksumManifest, artifact: ArtifactRef, release: ReleaseRef | None
) -> VerificationResult:
    entries = manifest.lookup(artifact.name)
    base: dict[str, object] = {"manifest": manifest.source_name}
    if not entries:
        return make_result(
            release,
            artifact,
            "checksum",
            "not_applicable",
            f"{artifact.name} is not listed in {manifest.source_name}",
            evidence=base,
        )
    if artifact.digest is None:
        return make_result(
            release,
            artifact,
            "checksum",
            "unverifiable",
            "GitHub gives no digest for this artifact: hash it (stream_and_hash) and check again",
            evidence={**base, "manifest_line": entries[0].line},
        )
    digest = parse_digest(artifact.digest)
    if digest is None:
        return make_result(
            release,
            artifact,
            "checksum",
            "error",
            f"GitHub's digest {artifact.digest!r} is malformed; cannot compare",
            evidence={**base, "manifest_line": entries[0].line},
        )
    same_algo = [e for e in entries if e.algorithm == digest.algorithm]
    if not same_algo:
        algos = ", ".join(sorted({e.algorithm for e in entries}))
        return make_result(
            release,
            artifact,
            "checksum",
            "unverifiable",
            f"{manifest.source_name} lists {algos} but GitHub's digest is {digest.algorithm}: "
            f"hash the file with {algos} to compare",
            evidence={**base, "manifest_line": entries[0].line},
        )
    bad = next((e for e in same_algo if e.hex != digest.hex), None)
    if bad is not None:
        return make_result(
            release,
            artifact,
            "checksum",
            "failed",
            f"{manifest.source_name} line {bad.line_number} says {bad.algorithm} {bad.hex} but "
            f"the uploaded file is {digest}: the artifact or the manifest was replaced",
            evidence={**base, "manifest_line": bad.line, "expected": bad.hex, "actual": digest.hex},
            subject_digest=str(digest),
        )
    return make_result(
        release,
        artifact,
        "checksum",
        "passed",
        f"matches {manifest.source_name} line {same_algo[0].line_number}",
        evidence={**base, "manifest_line": same_algo[0].line, "algorithm": digest.algorithm},
        subject_digest=str(digest),
    )
