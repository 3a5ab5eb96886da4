"""Sigstore evidence attached to a release: `X.sigstore(.json)`/`X.bundle` files, `.intoto.jsonl`
attestation files, and GitHub's attestations API, each verified against GitHub's digest.

Bundles and attestation lists are downloaded only when the cache has no verdict for
(subject digest, bundle digest, policy); the artifacts they sign are never downloaded.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from release_assets.lib.github_client import GitHubError

from .cache import material_key
from .context import Collector, ReleaseInput, VerifyContext
from .hashing import parse_digest
from .instances import offline_unverifiable_reason
from .names import bundle_target_name, is_checksum_manifest, is_verification_metadata
from .results import ArtifactRef, Status, VerificationResult, make_result
from .sigstore_bundles import bundle_result, verify_bundle
from .store import CacheEntry

ATTESTATIONS_API = "github-attestations-api"
# Attestations are made by the release workflow minutes after upload. Asking GitHub again every
# run would cost one request per artifact per run; a week-old answer is revalidated (ETag, free
# when unchanged), a fresher one is reused.
ATTESTATION_RECHECK = timedelta(days=7)
_INTOTO_SUFFIXES = (".intoto.jsonl", ".intoto.json")
_PRECEDENCE = {"failed": 0, "error": 1, "passed": 2, "not_applicable": 3}


def judge_bundle(
    data: bytes, digest: str, bundle_name: str, target: ArtifactRef, ctx: VerifyContext
) -> VerificationResult:
    """One sigstore bundle about `digest`: a signature, or (DSSE) an attestation naming it."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raw = None  # verify_bundle explains what is wrong with it
    if isinstance(raw, dict):
        why = offline_unverifiable_reason(raw, private_repository=ctx.private_repository)
        if why is not None:
            check = "attestation" if "dsseEnvelope" in raw else "signature"
            return make_result(
                None,
                target,
                check,
                "not_applicable",
                why,
                evidence={"bundle": bundle_name},
                subject_digest=digest,
            )
    dsse = isinstance(raw, dict) and "dsseEnvelope" in raw
    verdict = verify_bundle(
        data, digest=digest, policy=ctx.policy, trust_root=ctx.trust_root, dsse=dsse
    )
    return bundle_result(verdict, release=None, artifact=target, bundle_name=bundle_name)


def _remember(ctx: VerifyContext, subject: str, material: str, result: VerificationResult) -> None:
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


def _recalled(entry: CacheEntry, target: ArtifactRef) -> VerificationResult:
    evidence = dict(entry.evidence)
    check = evidence.pop("_check")
    return make_result(
        None,
        target,
        check,
        entry.status,
        entry.reason or "",
        evidence=evidence,  # type: ignore[arg-type]
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
            out.add(_recalled(hit, target), cached=True, at=hit.created_at)
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
        _remember(ctx, digest, material, result)
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
    for ref in refs:
        if not ref.name.lower().endswith(_INTOTO_SUFFIXES):
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
            "status": "not_applicable",
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
    why = offline_unverifiable_reason(raw, private_repository=ctx.private_repository)
    if why is not None:
        return {"line": number, "status": "not_applicable", "reason": why}
    verdict = verify_bundle(line, policy=ctx.policy, trust_root=ctx.trust_root, dsse=True)
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
    worst = min(lines, key=lambda line: _PRECEDENCE[line["status"]])
    named = 0
    for line in lines:
        if line["status"] != "passed":
            continue
        for subject in line.get("subjects") or []:
            sha = (subject.get("digest") or {}).get("sha256")
            target = by_digest.get(f"sha256:{sha}") if sha else None
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
                    subject_digest=f"sha256:{sha}",
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


# ------------------------------------------------------------------------------ attestations API


def attestation_api_rows(
    rel: ReleaseInput, refs: list[ArtifactRef], ctx: VerifyContext, out: Collector
) -> None:
    """`GET /repos/{repo}/attestations/sha256:…` for each artifact GitHub gives a digest for."""
    for ref in refs:
        digest = _attestable_digest(ref)
        if digest is None:
            continue
        listed = _attestations(rel.release.repo, digest, ref, ctx)
        if isinstance(listed, VerificationResult):
            out.add(listed)
            continue
        listed, listing_cached, listed_at = listed
        if not listed:
            none = make_result(
                None,
                ref,
                "attestation",
                "not_applicable",
                "GitHub has no attestation for this digest",
                evidence={"source": ATTESTATIONS_API},
            )
            out.add(none, cached=listing_cached, at=listed_at)
            continue
        for number, bundle in enumerate(listed, start=1):
            data = json.dumps(bundle, sort_keys=True, separators=(",", ":")).encode()
            material = "sha256:" + hashlib.sha256(data).hexdigest()
            hit = ctx.cache.get("bundle", str(digest), material, ctx.policy_key)
            if hit is not None:
                result, cached, at = _recalled(hit, ref), True, hit.created_at
            else:
                result = judge_bundle(data, str(digest), f"GitHub attestation {number}", ref, ctx)
                _remember(ctx, str(digest), material, result)
                cached, at = False, ctx.now
            out.add(
                make_result(
                    None,
                    ref,
                    "attestation",
                    result.status,
                    result.reason,
                    evidence={**result.evidence, "source": ATTESTATIONS_API},
                    subject_digest=str(digest),
                ),
                cached=cached,
                at=at,
            )


def _attestable_digest(ref: ArtifactRef) -> str | None:
    """GitHub's sha256 of an artifact that could be attested; signatures of signatures are not."""
    digest = parse_digest(ref.digest)
    if digest is None or digest.algorithm != "sha256":
        return None
    if is_verification_metadata(ref.name) and not is_checksum_manifest(ref.name):
        return None
    return str(digest)


def prefetch_attestations(
    repo: str, repo_id: int | None, releases: list[ReleaseInput], ctx: VerifyContext
) -> None:
    """List the attestations of every due digest of `repo` in bulk, 100 digests a request.

    Asking per digest costs a request per artifact (tens of thousands for a large org); the
    bulk listing answers for the whole repository in a few. Results land in the cache, where
    `attestation_api_rows` finds them; when the bulk listing is unavailable or fails, nothing is
    cached and the per-digest lookups run as before. The listing is owner-wide, so it is used
    only when the repository's GitHub id (from `repositories`) tells its attestations apart.
    """
    if repo_id is None:
        return
    where = f"github:{repo}"
    due = []
    for rel in releases:
        for art in rel.artifacts:
            digest = _attestable_digest(art.ref)
            known = ctx.cache.peek("attestation_list", digest, where) if digest else None
            if digest and (known is None or ctx.now - known.created_at >= ATTESTATION_RECHECK):
                due.append(digest)
    if not due:
        return
    try:
        listed = ctx.fetcher.bulk_attestations(repo.split("/", 1)[0], list(dict.fromkeys(due)))
    except GitHubError:
        return  # per-digest lookups will try, and record what fails
    for digest, attestations in (listed or {}).items():
        # The owner-wide listing includes other repositories' attestations of the same bytes.
        bundles = [a["bundle"] for a in attestations if a.get("repository_id") == repo_id]
        ctx.cache.put(
            "attestation_list",
            digest,
            where,
            status="200" if bundles else "404",
            evidence={"bundles": bundles, "http_status": 200 if bundles else 404, "bulk": True},
        )


def _attestations(
    repo: str, digest: str, ref: ArtifactRef, ctx: VerifyContext
) -> tuple[list[dict[str, Any]], bool, datetime] | VerificationResult:
    """(bundles, whether the listing came from the cache, when it was fetched), or an error."""
    where = f"github:{repo}"
    known = ctx.cache.get("attestation_list", digest, where)
    if known is not None and ctx.now - known.created_at < ATTESTATION_RECHECK:
        # An entry stamped `now` was listed in bulk by this very run, not recalled.
        recalled = known.created_at < ctx.now
        return list(known.evidence.get("bundles", [])), recalled, known.created_at
    try:
        status, bundles, etag = ctx.fetcher.attestations(
            repo, digest, etag=known.etag if known else None
        )
    except GitHubError as exc:  # not cached: asked again next run
        return make_result(
            None,
            ref,
            "attestation",
            "error",
            f"could not list GitHub attestations: {exc}",
            evidence={"source": ATTESTATIONS_API},
        )
    if status == 304 and known is not None:
        bundles = list(known.evidence.get("bundles", []))
    ctx.cache.put(
        "attestation_list",
        digest,
        where,
        status=str(status),
        evidence={"bundles": bundles, "http_status": status},
        etag=etag or (known.etag if known else None),
    )
    return bundles, False, ctx.now
