"""Sigstore evidence attached to a release: `X.sigstore(.json)`/`X.bundle` files and `.intoto.jsonl`
attestation files, each verified against GitHub's digest (GitHub's attestations API: attestations.py).

Bundles and attestation lists are downloaded only when the cache has no verdict for
(subject digest, bundle digest, policy); the artifacts they sign are never downloaded.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from release_assets.lib.github_client import GitHubError

from .cache import material_key
from .context import Collector, ReleaseInput, VerifyContext
from .hashing import ArtifactTooLargeError
from .names import bundle_target_name
from .results import (
    PRECEDENCE,
    ArtifactRef,
    Status,
    VerificationResult,
    as_check,
    as_status,
    make_result,
)
from .sigstore_bundles import BundleVerdict, bundle_result, verify_bundle
from .store import CacheEntry

INTOTO_SUFFIXES = (".intoto.jsonl", ".intoto.json")


def judge_bundle(
    data: bytes, digest: str, bundle_name: str, target: ArtifactRef, ctx: VerifyContext
) -> VerificationResult:
    """One sigstore bundle about `digest`: a signature, or (DSSE) an attestation naming it.

    An attestation whose subjects name the file only in sha512 (npm provenance) is matched
    against the file's sha512: known when it was hashed, else downloaded within the hashing cap.
    """
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raw = None  # verify_bundle explains what is wrong with it
    dsse = isinstance(raw, dict) and "dsseEnvelope" in raw

    def verify(other: dict[str, str]) -> BundleVerdict:
        return verify_bundle(
            data,
            digest=digest,
            policy=ctx.policy,
            trust_root=ctx.trust_root,
            dsse=dsse,
            other_digests=other,
            private_repository=ctx.private_repository,
        )

    known = ctx.sha512.get(target.artifact_id)
    verdict = verify({"sha512": known} if known else {})
    note: dict[str, object] = {}
    if verdict.outcome == "unverifiable" and "sha512" in verdict.missing_algorithms:
        sha512 = sha512_of(target, digest, ctx)
        if isinstance(sha512, str):
            verdict = verify({"sha512": sha512})
            note["digest_source"] = (
                f"sha512 of the downloaded artifact ({target.size or 0:,} bytes)"
            )
        else:
            status, why = sha512
            if status == "error":
                return make_result(
                    None, target, "attestation", "error", why, evidence={"bundle": bundle_name}
                )
            verdict = replace(verdict, reason=f"{verdict.reason}; {why}")
    result = bundle_result(verdict, release=None, artifact=target, bundle_name=bundle_name)
    return replace(result, evidence={**result.evidence, **note}) if note else result


def sha512_of(target: ArtifactRef, sha256: str, ctx: VerifyContext) -> str | tuple[Status, str]:
    """The sha512 of an artifact whose sha256 is known: from this run or the cache, else by
    downloading it within `max_download_bytes` (its sha256 checked too); or why not."""
    subject = f"github-artifact:{target.artifact_id}"
    if known := ctx.sha512.get(target.artifact_id):
        return known
    hit = ctx.cache.get("hash", subject, subject)
    if hit is not None and hit.subject_digest == sha256 and hit.evidence.get("sha512"):
        ctx.sha512[target.artifact_id] = str(hit.evidence["sha512"])
        return ctx.sha512[target.artifact_id]
    cap = ctx.settings.max_download_bytes
    if target.size is not None and target.size > cap:
        return (
            "unverifiable",
            f"not downloaded to compute its sha512: {target.size:,} bytes is above the "
            f"{cap:,}-byte cap (verification.max_download_bytes)",
        )
    if not target.download_url:
        return "unverifiable", "no download URL to compute its sha512"
    try:
        hexes = ctx.fetcher.hashes(
            target.download_url, max_bytes=cap, algorithms=("sha256", "sha512")
        )
    except ArtifactTooLargeError as exc:
        return "unverifiable", f"not hashed for its sha512: {exc}"
    except GitHubError as exc:
        return "error", f"could not download {target.name} to compute its sha512: {exc}"
    if f"sha256:{hexes['sha256']}" != sha256:
        return "error", (
            f"the downloaded {target.name} hashes to sha256:{hexes['sha256']}, not GitHub's "
            f"{sha256}: its sha512 cannot be trusted"
        )
    ctx.sha512[target.artifact_id] = hexes["sha512"]
    evidence = {"digest": sha256, "sha512": hexes["sha512"]}
    ctx.cache.put("hash", subject, subject, subject_digest=sha256, evidence=evidence)
    return hexes["sha512"]


def remember(ctx: VerifyContext, subject: str, material: str, result: VerificationResult) -> None:
    ctx.cache.put(
        "bundle",
        subject,
        material,
        ctx.policy_key,
        status=result.status,
        reason=result.reason,
        evidence={**result.evidence, "_check": result.check},
        subject_digest=result.subject_digest,
    )


def recalled(entry: CacheEntry, target: ArtifactRef) -> VerificationResult:
    evidence = dict(entry.evidence)
    check = as_check(evidence.pop("_check", None))
    return make_result(
        None,
        target,
        check,
        as_status(entry.status),
        entry.reason or "",
        evidence=evidence,
        subject_digest=entry.subject_digest,
    )


# ------------------------------------------------------------------------------ X.sigstore.json


def bundle_rows(
    rel: ReleaseInput,
    refs: list[ArtifactRef],
    digests: dict[int, str],
    hash_problems: dict[int, tuple[Status, str]],
    ctx: VerifyContext,
    out: Collector,
) -> None:
    by_name = {r.name: r for r in refs}
    for ref in refs:
        target_name = bundle_target_name(ref.name)
        if target_name is None:
            continue
        target = by_name.get(target_name)
        if target is None:
            out.not_applicable(
                ref,
                "signature",
                f"{ref.name} signs {target_name}, which is not attached to this release",
                bundle=ref.name,
            )
            continue
        digest = digests.get(target.artifact_id)
        if digest is None:
            status, why = hash_problems.get(target.artifact_id, ("error", "no digest"))
            out.add(
                make_result(
                    rel.release,
                    target,
                    "signature",
                    status,
                    f"cannot check {ref.name}: {why}",
                    evidence={"bundle": ref.name},
                )
            )
            continue
        material = material_key(ref)
        hit = ctx.cache.get("bundle", digest, material, ctx.policy_key)
        if hit is not None:
            out.add(recalled(hit, target), cached=True, at=hit.created_at)
            continue
        if not ref.download_url:
            out.error(target, "signature", f"{ref.name} has no download URL")
            continue
        try:
            data = ctx.fetcher.fetch(ref.download_url)
        except GitHubError as exc:
            out.error(target, "signature", f"could not download {ref.name}: {exc}")
            continue
        result = judge_bundle(data, digest, ref.name, target, ctx)
        remember(ctx, digest, material, result)
        out.add(result)


# ------------------------------------------------------------------------------ .intoto.jsonl


def intoto_rows(
    rel: ReleaseInput,
    refs: list[ArtifactRef],
    digests: dict[int, str],
    ctx: VerifyContext,
    out: Collector,
) -> None:
    """Each line a sigstore DSSE bundle; its verified subjects are matched to the artifacts."""
    by_digest = {d: r for r in refs if (d := digests.get(r.artifact_id))}
    by_digest.update({f"sha512:{sha}": r for r in refs if (sha := ctx.sha512.get(r.artifact_id))})
    for ref in refs:
        if not ref.name.lower().endswith(INTOTO_SUFFIXES):
            continue
        material = material_key(ref)
        hit = ctx.cache.get("intoto", "", material, ctx.policy_key)
        if hit is not None:
            lines, cached, at = list(hit.evidence.get("lines", [])), True, hit.created_at
        else:
            if not ref.download_url:
                out.error(ref, "attestation", f"{ref.name} has no download URL")
                continue
            try:
                data = ctx.fetcher.fetch(ref.download_url)
            except GitHubError as exc:
                out.error(ref, "attestation", f"could not download {ref.name}: {exc}")
                continue
            lines = [_judge_line(n, line, ctx) for n, line in _lines(data)]
            ctx.cache.put("intoto", "", material, ctx.policy_key, evidence={"lines": lines})
            cached, at = False, ctx.now
        _intoto_results(rel, ref, lines, by_digest, out, cached=cached, at=at)


def _lines(data: bytes) -> list[tuple[int, bytes]]:
    if data.lstrip().startswith(b"{") and b"\n{" not in data.strip():
        return [(1, data)]  # `.intoto.json`: one document, possibly pretty-printed
    return [(n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip()]


def _judge_line(number: int, line: bytes, ctx: VerifyContext) -> dict[str, Any]:
    try:
        raw = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        return {"line": number, "status": "error", "reason": f"line {number} is not JSON: {exc}"}
    if isinstance(raw, dict) and "payloadType" in raw and "signatures" in raw:
        return {
            "line": number,
            "status": "unverifiable",
            "reason": f"line {number} is a bare DSSE envelope (slsa-github-generator format) with "
            "no transparency-log proof inside: it cannot be verified offline "
            "(slsa-verifier checks it against Rekor online)",
        }
    if not isinstance(raw, dict) or "dsseEnvelope" not in raw:
        return {
            "line": number,
            "status": "error",
            "reason": f"line {number} is neither a sigstore DSSE bundle nor a DSSE envelope",
        }
    verdict = verify_bundle(
        line,
        policy=ctx.policy,
        trust_root=ctx.trust_root,
        dsse=True,
        private_repository=ctx.private_repository,
    )
    return {
        "line": number,
        "status": verdict.status,
        "reason": verdict.reason,
        **verdict.evidence(),
    }


def _intoto_results(
    rel: ReleaseInput,
    ref: ArtifactRef,
    lines: list[dict[str, Any]],
    by_digest: dict[str, ArtifactRef],
    out: Collector,
    *,
    cached: bool,
    at: Any,
) -> None:
    if not lines:
        out.add(make_result(rel.release, ref, "attestation", "error", f"{ref.name} is empty"))
        return
    worst = min(lines, key=lambda line: PRECEDENCE[line["status"]])
    named = 0
    for line in lines:
        if line["status"] != "passed":
            continue
        for subject in line.get("subjects") or []:
            digests = subject.get("digest") or {}
            hit = next(
                (f"{a}:{h}" for a, h in sorted(digests.items()) if f"{a}:{h}" in by_digest), None
            )
            target = by_digest.get(hit) if hit else None
            if target is None:
                continue
            named += 1
            out.add(
                make_result(
                    rel.release,
                    target,
                    "attestation",
                    "passed",
                    f"named in {ref.name} line {line['line']}: {line['reason']}",
                    evidence={
                        "attestation_file": ref.name,
                        "signer_identity": line.get("signer_identity"),
                        "issuer": line.get("issuer"),
                        "predicate_type": line.get("predicate_type"),
                        "log_index": line.get("log_index"),
                    },
                    subject_digest=hit,
                ),
                cached=cached,
                at=at,
            )
    summary = f"{len(lines)} attestation(s), {named} naming artifacts of this release"
    out.add(
        make_result(
            rel.release,
            ref,
            "attestation",
            worst["status"],
            f"{summary}; {worst['reason']}",
            evidence={"lines": lines},
        ),
        cached=cached,
        at=at,
    )
