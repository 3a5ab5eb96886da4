"""Verify one release from its stored artifact rows: the pieces of `lib/verification` put together.

Order matters and keeps downloads minimal: manifests first (small), then only the digest-less
artifacts some manifest or bundle needs are hashed, then bundles and attestations are verified
against GitHub's digests (`Hashed`), so a binary that has a digest is never fetched. Every
material-derived verdict goes through the cache; transient failures (HTTP errors) never do, so
they are retried next run. One artifact's failure never stops the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from release_assets.lib.classify import DETACHED_SIGNATURE_SUFFIXES
from release_assets.lib.github_client import GitHubError

from . import attestations, signatures
from .cache import material_key
from .checksums import (
    ChecksumManifest,
    checksum_coverage,
    parse_checksum_manifest,
    verify_checksums,
)
from .context import Collector, ReleaseInput, VerifyContext
from .docs import check_docs, docs_result
from .hashing import ArtifactTooLargeError, parse_digest
from .names import (
    CosignPair,
    bundle_target_name,
    find_legacy_cosign_pairs,
    is_checksum_manifest,
)
from .results import PRECEDENCE, ArtifactRef, ReleaseRef, Status, VerificationResult, make_result
from .sbom import SbomReport, parse_sbom, sbom_result
from .store import StoredResult

_DETACHED_SIGNATURES = DETACHED_SIGNATURE_SUFFIXES


def verify_release(rel: ReleaseInput, ctx: VerifyContext) -> list[StoredResult]:
    """Every check for one release, one row per (artifact, check) after merging sources."""
    out = Collector(rel.release, ctx.now)
    refs = [a.ref for a in rel.artifacts]
    manifests = _load_manifests(rel, ctx, out)
    digests, hash_problems = _effective_digests(rel, manifests, ctx)
    _checksum_rows(rel, manifests, digests, hash_problems, ctx.sha512, out)
    signatures.bundle_rows(rel, refs, digests, hash_problems, ctx, out)
    signatures.intoto_rows(rel, refs, digests, ctx, out)
    if ctx.settings.attestations:
        attestations.attestation_api_rows(rel, refs, ctx, out)
    _detached_signature_rows(refs, out)
    _sbom_rows(rel, ctx, out)
    docs = check_docs(
        rel.body, tag=rel.release.tag, changelog=ctx.changelog, previous_tag=rel.previous_tag
    )
    out.add(docs_result(docs, rel.release, changelog=ctx.changelog_note))
    return merge(out.rows)


# ------------------------------------------------------------------------------ checksums


def _load_manifests(
    rel: ReleaseInput, ctx: VerifyContext, out: Collector
) -> list[tuple[ArtifactRef, ChecksumManifest]]:
    loaded = []
    for art in rel.artifacts:
        ref = art.ref
        if not is_checksum_manifest(ref.name):
            continue
        text = _manifest_text(ref, ctx, out)
        if text is not None:
            loaded.append((ref, parse_checksum_manifest(text, source_name=ref.name)))
    return loaded


def _manifest_text(ref: ArtifactRef, ctx: VerifyContext, out: Collector) -> str | None:
    material = material_key(ref)
    hit = ctx.cache.get("manifest", material, material)
    if hit is not None:
        return str(hit.evidence.get("text", ""))
    if not ref.download_url:
        out.error(ref, "checksum", "the manifest has no download URL")
        return None
    try:
        text = ctx.fetcher.fetch(ref.download_url).decode("utf-8", errors="replace")
    except GitHubError as exc:
        out.error(ref, "checksum", f"could not download the manifest: {exc}")
        return None
    ctx.cache.put("manifest", material, material, evidence={"text": text})
    return text


def _effective_digests(
    rel: ReleaseInput, manifests: list[tuple[ArtifactRef, ChecksumManifest]], ctx: VerifyContext
) -> tuple[dict[int, str], dict[int, tuple[Status, str]]]:
    """artifact id -> sha256 digest: GitHub's, else hashed (only if a manifest or bundle needs it).

    A file the manifests list only in sha512 (`SHA512SUMS`) gets its sha512 too (into
    `ctx.sha512`), downloaded within the hashing cap. Returns the digests and, per artifact that
    needed hashing but could not be, why not.
    """
    digests: dict[int, str] = {}
    for art in rel.artifacts:
        parsed = parse_digest(art.ref.digest)
        if parsed is not None and parsed.algorithm == "sha256":
            digests[art.ref.artifact_id] = str(parsed)
    listed = {e.name for _, m in manifests for e in m.entries}
    signed = {t for a in rel.artifacts if (t := bundle_target_name(a.ref.name))}
    # sha512 costs about twice sha256's CPU: only where an attestation may name files in it
    # (npm-style subjects), that is where the release ships bundles or in-toto files.
    intoto = any(a.ref.name.lower().endswith(signatures.INTOTO_SUFFIXES) for a in rel.artifacts)
    sha512_only = _listed_in(manifests, "sha512") - _listed_in(manifests, "sha256")
    problems: dict[int, tuple[Status, str]] = {}
    for art in rel.artifacts:
        ref = art.ref
        if ref.artifact_id in digests:
            if ref.name in sha512_only:
                sha512 = signatures.sha512_of(ref, digests[ref.artifact_id], ctx)
                if isinstance(sha512, tuple):
                    problems[ref.artifact_id] = sha512
            continue
        if ref.name not in listed | signed:
            continue
        sha512_wanted = signed or intoto or ref.name in sha512_only
        outcome = _hash(ref, ctx, ("sha256", "sha512") if sha512_wanted else ("sha256",))
        if isinstance(outcome, tuple):
            problems[ref.artifact_id] = outcome
        else:
            digests[ref.artifact_id] = outcome
    return digests, problems


def _listed_in(manifests: list[tuple[ArtifactRef, ChecksumManifest]], algorithm: str) -> set[str]:
    return {e.name for _, m in manifests for e in m.entries if e.algorithm == algorithm}


def _hash(
    ref: ArtifactRef, ctx: VerifyContext, algorithms: tuple[str, ...]
) -> str | tuple[Status, str]:
    subject = f"github-artifact:{ref.artifact_id}"
    hit = ctx.cache.get("hash", subject, subject)
    if hit is not None and hit.subject_digest:
        if hit.evidence.get("sha512"):
            ctx.sha512[ref.artifact_id] = str(hit.evidence["sha512"])
        return hit.subject_digest
    cap = ctx.settings.max_download_bytes
    if cap <= 0:
        return (
            "unverifiable",
            "GitHub gives no digest and hashing is disabled (verification.max_download_bytes: 0)",
        )
    if ref.size is not None and ref.size > cap:
        return (
            "unverifiable",
            f"GitHub gives no digest and the file ({ref.size:,} bytes) is above the "
            f"{cap:,}-byte hashing cap (verification.max_download_bytes); not downloaded",
        )
    if not ref.download_url:
        return "error", "GitHub gives no digest and no download URL"
    try:
        hexes = ctx.fetcher.hashes(ref.download_url, max_bytes=cap, algorithms=algorithms)
    except ArtifactTooLargeError as exc:
        return "unverifiable", f"GitHub gives no digest and the download is too large: {exc}"
    except GitHubError as exc:
        return "error", f"GitHub gives no digest and hashing the download failed: {exc}"
    digest = f"sha256:{hexes['sha256']}"
    evidence = {"digest": digest}
    if "sha512" in hexes:
        ctx.sha512[ref.artifact_id] = evidence["sha512"] = hexes["sha512"]
    ctx.cache.put("hash", subject, subject, subject_digest=digest, evidence=evidence)
    return digest


def _checksum_rows(
    rel: ReleaseInput,
    manifests: list[tuple[ArtifactRef, ChecksumManifest]],
    digests: dict[int, str],
    hash_problems: dict[int, tuple[Status, str]],
    sha512: dict[int, str],
    out: Collector,
) -> None:
    original = {a.ref.artifact_id: a.ref for a in rel.artifacts}
    for manifest_ref, manifest in manifests:
        # each file compared in the manifest's algorithm: sha512 where it lists only that
        refs = [
            replace(a.ref, digest=_compared_digest(manifest, a.ref, digests, sha512))
            for a in rel.artifacts
        ]
        results = verify_checksums(manifest, refs, release=rel.release)
        fixed = [_digest_source(r, original, hash_problems) for r in results]
        for result in fixed:
            out.add(result)
        out.add(_manifest_row(rel, manifest_ref, manifest, refs, fixed))


def _digest_source(
    result: VerificationResult,
    original: dict[int, ArtifactRef],
    hash_problems: dict[int, tuple[Status, str]],
) -> VerificationResult:
    """Say where the compared digest came from; replace "hash it" with why it could not be."""
    assert result.artifact_id is not None
    problem = hash_problems.get(result.artifact_id)
    if problem is not None and "not listed" not in result.reason:
        status, reason = problem
        return replace(result, status=status, reason=reason)
    # GitHub gives sha256 only: a sha512 comparison (SHA512SUMS) used a hashed download
    compared_sha512 = (result.subject_digest or "").startswith("sha512:")
    from_github = bool(original[result.artifact_id].digest) and not compared_sha512
    source = "github" if from_github else "hashed download"
    return replace(result, evidence={**result.evidence, "digest_source": source})


def _compared_digest(
    manifest: ChecksumManifest, ref: ArtifactRef, digests: dict[int, str], sha512: dict[int, str]
) -> str | None:
    algorithms = {e.algorithm for e in manifest.lookup(ref.name)}
    if "sha256" not in algorithms and "sha512" in algorithms and ref.artifact_id in sha512:
        return f"sha512:{sha512[ref.artifact_id]}"
    return digests.get(ref.artifact_id)


def _manifest_row(
    rel: ReleaseInput,
    ref: ArtifactRef,
    manifest: ChecksumManifest,
    refs: list[ArtifactRef],
    results: list[VerificationResult],
) -> VerificationResult:
    """The manifest's own row: its coverage of the release, mismatches, orphans, bad lines."""
    coverage = checksum_coverage(manifest, refs)
    failed = [r.artifact_name for r in results if r.status == "failed"]
    parts = [coverage.summary]
    if coverage.unlisted:
        parts.append("not listed: " + ", ".join(coverage.unlisted))
    if coverage.orphans:
        parts.append("entries naming no artifact: " + ", ".join(coverage.orphans))
    if manifest.errors:
        parts.append(f"{len(manifest.errors)} unreadable line(s)")
    status: Status = "passed"
    if failed:
        status = "failed"
        parts.insert(0, "mismatch for " + ", ".join(str(n) for n in failed))
    elif any("different" in e for e in manifest.errors):
        status = "failed"  # the same file listed with two hashes: one of them is a lie
    elif not manifest.entries:
        status = "error"
        parts.insert(0, "no checksum lines could be read")
    elif not coverage.listed:
        # Nothing was compared, so nothing is vouched for; a stale or foreign manifest is a
        # packaging mistake to see, not a tampered file (that shows up as a mismatch).
        status = "not_applicable"
        parts.insert(0, "covers none of this release's artifacts, so it verifies nothing")
    evidence = {
        "manifest": ref.name,
        "coverage": coverage.summary,
        "listed": list(coverage.listed),
        "unlisted": list(coverage.unlisted),
        "orphans": list(coverage.orphans),
        "errors": list(manifest.errors[:20]),
        "mismatches": failed,
    }
    return make_result(rel.release, ref, "checksum", status, "; ".join(parts), evidence=evidence)


# ------------------------------------------------------------------------------ other signatures


def _detached_signature_rows(refs: list[ArtifactRef], out: Collector) -> None:
    """Legacy cosign pairs and GPG/minisign signatures: reported, never counted as passed."""
    by_name = {r.name: r for r in refs}
    paired = set()
    for pair in find_legacy_cosign_pairs(by_name):
        paired.add(pair.signature)
        target = by_name.get(pair.target, by_name[pair.signature])
        out.add(legacy_cosign_result(pair, release=out.release, artifact=target))
    for ref in refs:
        lowered = ref.name.lower()
        if ref.name in paired or not lowered.endswith(_DETACHED_SIGNATURES):
            continue
        target_name = ref.name.rsplit(".", 1)[0]
        target = by_name.get(target_name, ref)
        reason = (
            f"{ref.name} is a detached signature (GPG/minisign/cosign without a bundle); no key "
            "is configured for it, so it cannot be verified here: only sigstore bundles are"
        )
        out.unverifiable(target, "signature", reason, signature=ref.name)


def legacy_cosign_result(
    pair: CosignPair, *, release: ReleaseRef | None, artifact: ArtifactRef | None
) -> VerificationResult:
    """A `.sig` + certificate without a bundle: reported, never counted as passed."""
    return make_result(
        release,
        artifact,
        "signature",
        "unverifiable",
        f"{pair.signature} + {pair.certificate} is a legacy cosign pair without a sigstore bundle "
        "(no transparency-log proof): it cannot be verified offline; publish a .sigstore.json bundle",
        evidence={"signature": pair.signature, "certificate": pair.certificate},
    )


# ------------------------------------------------------------------------------ SBOMs


def _sbom_rows(rel: ReleaseInput, ctx: VerifyContext, out: Collector) -> None:
    for art in rel.artifacts:
        if art.kind != "sbom":
            continue
        ref = art.ref
        report = _sbom_report(ref, ctx)
        if isinstance(report, VerificationResult):
            out.add(report)
            continue
        result, cached, at = report
        out.add(sbom_result(result, release=rel.release, artifact=ref), cached=cached, at=at)


def _sbom_report(
    ref: ArtifactRef, ctx: VerifyContext
) -> tuple[SbomReport, bool, datetime] | VerificationResult:
    if not ref.name.lower().endswith(".json"):
        return make_result(
            None,
            ref,
            "sbom",
            "not_applicable",
            "only JSON SBOMs (SPDX 2.2/2.3, CycloneDX 1.4-1.6) are parsed",
        )
    material = material_key(ref)
    hit = ctx.cache.get("sbom", material, material)
    if hit is not None:
        return SbomReport(**hit.evidence), True, hit.created_at
    cap = ctx.settings.max_sbom_bytes
    if ref.size is not None and ref.size > cap:
        report = SbomReport(
            error=f"SBOM is {ref.size:,} bytes, above the {cap:,}-byte cap "
            "(verification.max_sbom_bytes); not downloaded"
        )
    else:
        if not ref.download_url:
            return make_result(None, ref, "sbom", "error", "the SBOM has no download URL")
        try:
            data = ctx.fetcher.fetch(ref.download_url, max_bytes=cap)
        except GitHubError as exc:
            if "cap" not in str(exc):
                return make_result(
                    None, ref, "sbom", "error", f"could not download the SBOM: {exc}"
                )
            report = SbomReport(error=f"SBOM is above the {cap:,}-byte cap")
        else:
            report = parse_sbom(data, max_bytes=cap)
    ctx.cache.put("sbom", material, material, evidence=_sbom_fields(report))
    return report, False, ctx.now


def _sbom_fields(report: SbomReport) -> dict[str, Any]:
    return {
        "format": report.format,
        "spec_version": report.spec_version,
        "component_count": report.component_count,
        "name": report.name,
        "version": report.version,
        "error": report.error,
    }


# ------------------------------------------------------------------------------ merging


def merge(rows: Iterable[StoredResult]) -> list[StoredResult]:
    """One row per (release, artifact, check): the worst status wins, every source is kept."""
    groups: dict[tuple[int | None, int | None, str], list[StoredResult]] = {}
    for row in rows:
        r = row.result
        groups.setdefault((r.release_id, r.artifact_id, r.check), []).append(row)
    return [_merge_group(g) for g in groups.values()]


def _merge_group(group: list[StoredResult]) -> StoredResult:
    if len(group) == 1:
        return group[0]
    ordered = sorted(group, key=lambda s: PRECEDENCE[s.result.status])
    top = ordered[0].result
    reasons = list(dict.fromkeys(s.result.reason for s in ordered if s.result.status == top.status))
    sources = [
        {"status": s.result.status, "reason": s.result.reason, **s.result.evidence} for s in ordered
    ]
    merged = replace(
        top,
        reason="; ".join(reasons),
        evidence={"sources": sources},
        subject_digest=next(
            (s.result.subject_digest for s in ordered if s.result.subject_digest), None
        ),
    )
    return StoredResult(
        merged,
        cached=all(s.cached for s in group),
        verified_at=max(s.verified_at for s in group),
    )
