"""GitHub's artifact attestations API: listed in bulk per owner (100 digests a request) or per
digest, revalidated weekly, each attestation verified like an attached bundle.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from release_assets.lib.github_client import GitHubError

from .context import Collector, ReleaseInput, VerifyContext
from .hashing import parse_digest
from .names import is_checksum_manifest, is_verification_metadata
from .results import ArtifactRef, VerificationResult, make_result
from .signatures import judge_bundle, recalled, remember

ATTESTATIONS_API = "github-attestations-api"
# Attestations are made by the release workflow minutes after upload. Asking GitHub again every
# run would cost one request per artifact per run; a week-old answer is revalidated (ETag, free
# when unchanged), a fresher one is reused.
ATTESTATION_RECHECK = timedelta(days=7)


def attestation_api_rows(
    rel: ReleaseInput, refs: list[ArtifactRef], ctx: VerifyContext, out: Collector
) -> None:
    """`GET /repos/{repo}/attestations/sha256:…` for each artifact GitHub gives a digest for."""
    for ref in refs:
        digest = _attestable_digest(ref)
        if digest is None:
            continue
        listing = _attestations(rel.release.repo, digest, ref, ctx)
        if isinstance(listing, VerificationResult):
            out.add(listing)
            continue
        listed, listing_cached, listed_at = listing
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
                result, cached, at = recalled(hit, ref), True, hit.created_at
            else:
                result = judge_bundle(data, str(digest), f"GitHub attestation {number}", ref, ctx)
                remember(ctx, str(digest), material, result)
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
