"""Deterministic generated organisations for the local GitHub server: any size, realistic names."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from release_assets_tests.github_server import World, iso

# The artifact names a goreleaser-style project attaches, most common first: `artifacts=n`
# takes the first n. `{t}` is the tool (repository) name, `{v}` the version without a "v".
ARTIFACT_CYCLE: tuple[str, ...] = (
    "{t}_{v}_linux_amd64.tar.gz",
    "{t}_{v}_darwin_arm64.zip",
    "{t}_{v}_windows_amd64.exe",
    "checksums.txt",
    "{t}_{v}_linux_arm64.tar.gz",
    "{t}_{v}_amd64.deb",
    "{t}-{v}-1.x86_64.rpm",
    "checksums.txt.sig",
    "{t}_{v}.sbom.spdx.json",
    "{t}_{v}.intoto.jsonl",
    "{t}_{v}_darwin_amd64.tar.gz",
    "{t}_{v}_linux_amd64.tar.gz.sigstore.json",
    "{t}_{v}_windows_arm64.zip",
    "{t}_{v}.cdx.json",
    "{t}_{v}_linux_386.tar.gz",
    "{t}_{v}_linux_amd64.tar.gz.sig",
)
_WEIGHT = {"linux": 6.0, "darwin": 2.5, "windows": 2.0, ".deb": 1.5, ".rpm": 1.0}
_WORDS = (
    "atlas", "beacon", "cinder", "delta", "ember", "fjord", "gadget", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "mosaic", "nimbus", "orbit", "pylon", "quartz", "rivet", "sierra", "tundra",
)
_CHANGES = ("Fix a crash on empty input", "Faster startup", "Support ARM64 builds",
            "Update dependencies", "Clearer error messages", "New `--json` output")


def repo_names(count: int) -> list[str]:
    """`atlas`, `beacon`, …, then `atlas-2`, `beacon-2`, …"""
    return [_WORDS[i % len(_WORDS)] + (f"-{i // len(_WORDS) + 1}" if i >= len(_WORDS) else "")
            for i in range(count)]


def artifact_names(tool: str, version: str, count: int) -> list[str]:
    names = [p.format(t=tool, v=version) for p in ARTIFACT_CYCLE[:count]]
    names += [f"{tool}_{version}_extra_{i}.bin" for i in range(count - len(names))]
    return names


def _path_digest(full_name: str, tag: str, name: str) -> str:
    """A binary's digest: its bytes are never served (GitHub's digest stands for them)."""
    return hashlib.sha256(f"{full_name}/{tag}/{name}".encode()).hexdigest()


def _listed(name: str) -> bool:
    """What goreleaser puts in checksums.txt: archives and packages, not metadata."""
    return not name.endswith((".txt", ".sig", ".json", ".jsonl"))


def artifact_content(full_name: str, tag: str, name: str, artifacts: int) -> bytes | None:
    """The bytes of a generated metadata file (checksums, SBOM, provenance), None for others.

    Derived on demand from (repository, tag, name), so a server over a 2,000-repository
    organisation serves every release's files without holding them.
    """
    tool, version = full_name.partition("/")[2], tag.removeprefix("v")
    names = artifact_names(tool, version, artifacts)
    if name not in names:
        return None
    binaries = [(n, _path_digest(full_name, tag, n)) for n in names if _listed(n)]
    if name == "checksums.txt":
        return "".join(f"{hexdigest}  {n}\n" for n, hexdigest in binaries).encode()
    if name.endswith(".spdx.json"):
        return _dumps({
            "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
            "name": f"{tool}-{version}",
            "documentNamespace": f"https://example.com/spdx/{full_name}/{tag}",
            "creationInfo": {"created": "2025-01-01T00:00:00Z", "creators": ["Tool: syft"]},
            "documentDescribes": ["SPDXRef-Package-main"],
            "packages": [
                {"SPDXID": "SPDXRef-Package-main", "name": tool, "versionInfo": version,
                 "downloadLocation": f"https://github.com/{full_name}"},
                *({"SPDXID": f"SPDXRef-Package-dep-{i}", "name": f"dep-{i}",
                   "versionInfo": f"1.{i}.0", "downloadLocation": "NOASSERTION"}
                  for i in range(3)),
            ],
        })
    if name.endswith(".cdx.json"):
        return _dumps({
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {"component": {"type": "application", "name": tool, "version": version}},
            "components": [{"type": "library", "name": f"dep-{i}", "version": f"1.{i}.0"}
                           for i in range(3)],
        })
    if name.endswith(".intoto.jsonl"):
        # slsa-github-generator's format: a bare DSSE envelope, one per line
        statement = {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": n, "digest": {"sha256": d}} for n, d in binaries],
            "predicate": {"builder": {"id": "https://github.com/slsa-framework/"
                                            "slsa-github-generator/.github/workflows/"
                                            "generator_generic_slsa3.yml@refs/tags/v2.0.0"}},
        }
        return _dumps({
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(_dumps(statement)).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(
                hashlib.sha512(f"{full_name}/{tag}".encode()).digest()).decode()}],
        }) + b"\n"
    return None


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _weight(name: str) -> float:
    if name.endswith((".sig", ".jsonl", ".json", ".txt")):
        return 0.05  # metadata files are fetched far less than binaries
    return next((w for key, w in _WEIGHT.items() if key in name), 0.5)


def _size(rng: random.Random, name: str) -> int:
    if name.endswith((".sig", ".txt", ".jsonl", ".json")):
        return rng.randint(90, 40_000)
    return rng.randint(2_000_000, 40_000_000)


def _versions(rng: random.Random, count: int, zero_major: bool) -> list[tuple[int, int, int]]:
    """Oldest first: mostly patches, some minors, a rare major."""
    major, minor, patch = (0, 1, 0) if zero_major else (1, 0, 0)
    out = []
    for _ in range(count):
        out.append((major, minor, patch))
        roll = rng.random()
        if roll < 0.03:
            major, minor, patch = major + 1, 0, 0
        elif roll < 0.25:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return out


def build_releases(
    full_name: str, *, releases: int, artifacts: int, seed: int = 0, with_digests: bool = True,
    drafts_every: int = 0, null_body_every: int = 0, prerelease_every: int = 0,
    started: datetime = datetime(2020, 1, 1, tzinfo=UTC), zero_major: bool = False,
) -> list[dict[str, Any]]:
    """Release JSON for one repository, newest first (GitHub's list order)."""
    rng = random.Random(f"{seed}:{full_name}")
    tool = full_name.partition("/")[2]
    interval_days = rng.uniform(5, 45)
    moment = started + timedelta(days=rng.uniform(0, 30))
    out: list[dict[str, Any]] = []
    for index, (major, minor, patch) in enumerate(_versions(rng, releases, zero_major)):
        moment += timedelta(days=interval_days * rng.uniform(0.3, 1.8), seconds=index + 1)
        newest_rank = releases - index  # 1 = newest
        prerelease = bool(prerelease_every) and newest_rank % prerelease_every == 0
        version = f"{major}.{minor}.{patch}" + ("-rc.1" if prerelease else "")
        tag = f"v{version}"
        draft = bool(drafts_every) and newest_rank % drafts_every == 0
        body: str | None
        if null_body_every and newest_rank % null_body_every == 0:
            body = None
        elif rng.random() < 0.6:
            body = "## Changelog\n\n" + "\n".join(f"* {c}" for c in rng.sample(_CHANGES, 3))
        else:
            body = f"{rng.choice(_CHANGES)}."
        age_weeks = max(1.0, (releases - index) * interval_days / 7)
        base = rng.uniform(20, 400) * age_weeks ** 0.7
        assets = []
        for name in artifact_names(tool, version, artifacts):
            content = artifact_content(full_name, tag, name, artifacts)
            digest = (_path_digest(full_name, tag, name) if content is None
                      else hashlib.sha256(content).hexdigest())
            assets.append({
                "name": name, "size": _size(rng, name),
                "digest": f"sha256:{digest}" if with_digests else None,
                "download_count": 0 if draft else int(base * _weight(name)),
            })
        created = iso(moment)
        out.append({
            "tag_name": tag, "name": tag, "body": body, "draft": draft,
            "prerelease": prerelease, "created_at": created,
            "published_at": None if draft else iso(moment + timedelta(minutes=7)),
            "assets": assets,
        })
    out.reverse()
    return out


def generate_org(
    world: World, org: str, *, repos: int, releases: int, artifacts: int, seed: int = 0,
    with_digests: bool = True, drafts_every: int = 0, null_body_every: int = 0,
    prerelease_every: int = 0, started: datetime = datetime(2020, 1, 1, tzinfo=UTC),
) -> list[str]:
    """Add `repos` repositories of `releases` releases × `artifacts` artifacts; their keys."""
    names = []
    for index, name in enumerate(repo_names(repos)):
        full_name = f"{org}/{name}"
        world.add_repo(full_name)
        world.add_releases(full_name, build_releases(
            full_name, releases=releases, artifacts=artifacts, seed=seed,
            with_digests=with_digests, drafts_every=drafts_every,
            null_body_every=null_body_every, prerelease_every=prerelease_every,
            started=started, zero_major=index % 3 == 0,
        ))
        world.set_artifact_source(full_name, partial(artifact_content, full_name,
                                                     artifacts=artifacts))
        names.append(full_name)
    return names


def generate_big_repo(world: World, full_name: str, releases: int = 1500, *,
                      artifacts: int = 2, seed: int = 0) -> str:
    """One repository past the REST 1,000-release ceiling (created if missing)."""
    try:
        world.repo(full_name)
    except KeyError:
        world.add_repo(full_name)
    world.add_releases(full_name, build_releases(full_name, releases=releases,
                                                 artifacts=artifacts, seed=seed))
    world.set_artifact_source(full_name, partial(artifact_content, full_name, artifacts=artifacts))
    return full_name


__all__ = ["ARTIFACT_CYCLE", "artifact_content", "artifact_names", "build_releases", "generate_big_repo",
           "generate_org", "repo_names"]
