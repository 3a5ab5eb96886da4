"""Artifact classification from file names: kind, operating system, architecture, package type.

GitHub gives only a name and a content type, so this is pattern matching on the conventions
goreleaser, cargo-dist, electron-builder, Python wheels and OS packagers use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The project's only lists of signature and provenance suffixes: quality and verification use
# these. Matched on the lower-cased name; `.tar.gz.sig` is a signature, not a tarball.
SIGSTORE_BUNDLE_SUFFIXES = (".sigstore.json", ".sigstore", ".bundle")
DETACHED_SIGNATURE_SUFFIXES = (".minisig", ".sign", ".sig", ".asc", ".gpg", ".p7s")
SIGNATURE_SUFFIXES = SIGSTORE_BUNDLE_SUFFIXES + DETACHED_SIGNATURE_SUFFIXES
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cert")
PROVENANCE_SUFFIXES = (".intoto.jsonl", ".intoto.json", ".provenance.json")
# OpenSSF Scorecard's Signed-Releases (checks/raw/signed_releases.go) knows fewer: not sigstore's
# generic `.bundle`, nor GPG binary or PKCS#7 signatures, and provenance only as `.intoto.jsonl`.
SCORECARD_SIGNATURE_SUFFIXES = tuple(
    s for s in SIGNATURE_SUFFIXES if s not in (".bundle", ".gpg", ".p7s")
)
SCORECARD_PROVENANCE_SUFFIXES = tuple(s for s in PROVENANCE_SUFFIXES if s.endswith(".jsonl"))
_SBOM_HINTS = ("sbom", "spdx", "cyclonedx", ".cdx.", "bom.json", "bom.xml")
_CHECKSUM_NAMES = re.compile(
    r"(checksums?|sha\d*sums?|sha256|sha512|\.md5|\.sha\d+)(\.txt|\.asc)?$", re.IGNORECASE
)
_SOURCE = re.compile(r"(^|[-_.])(src|source|sources)([-_.]|$)", re.IGNORECASE)

PACKAGE_TYPES: tuple[tuple[str, str], ...] = (
    (".tar.gz", "tar.gz"), (".tgz", "tar.gz"), (".tar.xz", "tar.xz"), (".tar.zst", "tar.zst"),
    (".tar.bz2", "tar.bz2"), (".zip", "zip"), (".exe", "exe"), (".msi", "msi"), (".msix", "msix"),
    (".dmg", "dmg"), (".pkg", "pkg"), (".deb", "deb"), (".rpm", "rpm"), (".apk", "apk"),
    (".appimage", "appimage"), (".snap", "snap"), (".flatpak", "flatpak"), (".whl", "wheel"),
    (".jar", "jar"), (".nupkg", "nupkg"), (".gem", "gem"), (".crate", "crate"), (".vsix", "vsix"),
    (".7z", "7z"), (".gz", "gz"), (".xz", "xz"), (".bz2", "bz2"), (".zst", "zst"),
)
_OS_BY_PACKAGE = {
    "exe": "windows", "msi": "windows", "msix": "windows", "nupkg": "windows",
    "dmg": "macos", "pkg": "macos",
    "deb": "linux", "rpm": "linux", "apk": "linux", "appimage": "linux", "snap": "linux",
    "flatpak": "linux",
}
_OS_WORDS: tuple[tuple[str, str], ...] = (
    (r"windows|(?<![a-z])win(32|64)?(?=[-_.\d]|$)|mingw|msvc|\.exe$|\.msi$", "windows"),
    (r"darwin|macos|mac(?=[-_.])|osx|apple", "macos"),
    (r"linux|musl|gnu(?![-_]?win)|ubuntu|debian|\.deb$|\.rpm$|appimage", "linux"),
    (r"freebsd", "freebsd"), (r"openbsd", "openbsd"), (r"netbsd", "netbsd"),
    (r"solaris|sunos|illumos", "solaris"), (r"android", "android"),
)
_ARCH_WORDS: tuple[tuple[str, str], ...] = (
    (r"x86[-_]64|amd64|x64|win64|linux64|64bit|64-bit", "x86_64"),
    (r"aarch64|arm64", "arm64"),
    (r"armv7|armhf|armv6|arm(?![-_]?64)", "arm"),
    (r"i[3-6]86|x86(?![-_]?64)|win32|linux32|32bit|32-bit|ia32", "x86"),
    (r"ppc64le|ppc64|powerpc", "ppc64"), (r"s390x", "s390x"), (r"riscv64", "riscv64"),
    (r"universal", "universal"),
)


@dataclass(frozen=True)
class ArtifactClass:
    kind: str  # binary | checksums | signature | certificate | sigstore_bundle | provenance | sbom | source | other
    os: str | None
    arch: str | None
    package_type: str | None


def package_type(name: str) -> str | None:
    lower = name.lower()
    for suffix, kind in PACKAGE_TYPES:
        if lower.endswith(suffix):
            return kind
    return None


def _kind(name: str) -> str:
    lower = name.lower()
    if lower.endswith(SIGSTORE_BUNDLE_SUFFIXES):
        return "sigstore_bundle"
    if lower.endswith(PROVENANCE_SUFFIXES):
        return "provenance"
    if any(hint in lower for hint in _SBOM_HINTS):
        return "sbom"
    if _CHECKSUM_NAMES.search(lower):
        return "checksums"
    if lower.endswith(SIGNATURE_SUFFIXES):
        return "signature"
    if lower.endswith(CERTIFICATE_SUFFIXES):
        return "certificate"
    if _SOURCE.search(lower) and package_type(lower) is not None:
        return "source"
    if package_type(lower) is not None:
        return "binary"
    if re.search(r"(linux|darwin|windows|osx|macos|win\d\d|freebsd)", lower):
        return "binary"  # bare executables like `jq-linux64`
    return "other"


def classify(name: str) -> ArtifactClass:
    """Kind, OS, architecture and package type of one artifact name."""
    lower = name.lower()
    ptype = package_type(lower)
    os_name = next((os_ for pattern, os_ in _OS_WORDS if re.search(pattern, lower)), None)
    if os_name is None and ptype is not None:
        os_name = _OS_BY_PACKAGE.get(ptype)
    arch = next((arch for pattern, arch in _ARCH_WORDS if re.search(pattern, lower)), None)
    return ArtifactClass(kind=_kind(name), os=os_name, arch=arch, package_type=ptype)
