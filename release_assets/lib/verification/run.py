"""Verify the releases of many repositories: read stored rows, verify, write results and cache.

DuckDB allows one writer process, so the connection is open only to read the inputs and then
to write each batch of repositories' rows (and the new cache entries) in one transaction; all
GitHub traffic and sigstore work happens between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from release_assets.lib import storage
from release_assets.lib.classify import PROVENANCE_SUFFIXES, SIGNATURE_SUFFIXES
from release_assets.lib.config import VerificationConfig
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest.refresh import Connect, connector

from . import attestations, store
from .cache import VerificationCache, material_key, policy_key
from .changelog import changelog_subject, repository_changelog
from .context import ReleaseInput, StoredArtifact, VerifyContext
from .fetch import Fetcher
from .release import verify_release
from .results import ArtifactRef, ReleaseRef
from .signer_policy import SignerPolicy, policy_for_repository
from .store import StoredResult
from .trust_roots import TrustRootName

# A checksum mismatch or a bad signature or attestation is a security event; a missing
# changelog or an unreadable SBOM is a quality problem, reported but not blocking.
SECURITY_CHECKS = ("checksum", "signature", "attestation")
SIGNATURE_CHECKS = ("signature", "attestation")
_SIGNATURE_SHAPED = SIGNATURE_SUFFIXES + PROVENANCE_SUFFIXES


# Repositories whose rows are written together: bounds memory (a large org's rows would be
# gigabytes of Python objects) and keeps the writer's transactions few.
WRITE_EVERY = 100


@dataclass(frozen=True)
class RepositoryIds:
    """GitHub's ids of a repository and its owner (from `repositories`), and its visibility."""

    repository_id: int | None = None
    owner_id: int | None = None
    private: bool = False


def signer_policy_for(
    repo: str, settings: VerificationConfig, ids: RepositoryIds | None = None
) -> SignerPolicy:
    """The repository's own workflows, plus allow-listed reusable workflows and identities,
    every one bound to this repository (and to its ids, when discovery recorded them)."""
    ids = ids or RepositoryIds()
    return policy_for_repository(
        repo,
        trusted_workflows=settings.trusted_workflows,
        identities=settings.identities.get(repo, ()),
        repository_id=ids.repository_id,
        owner_id=ids.owner_id,
        issuer=settings.issuer,
    )


@dataclass
class VerificationRun:
    """What a run did, in aggregate: its rows go to DuckDB as it goes, not into memory."""

    repos: list[str]
    rows_written: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # repository -> why it was not verified
    artifact_bytes: int = 0  # total size of every artifact in the verified releases
    artifacts: int = 0
    releases: int = 0
    bytes_downloaded: int = 0
    files_downloaded: int = 0
    files_hashed: int = 0
    attestation_lookups: int = 0
    older_releases_kept: int = 0  # beyond `recent_releases`: not re-verified, rows kept
    cache_hits: int = 0
    cache_misses: int = 0
    cache_written: int = 0
    # (repo, tag) -> signature-shaped file names, for releases that ship any
    signature_files: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _by_check: dict[str, Counter[str]] = field(default_factory=dict)
    _failures: list[StoredResult] = field(default_factory=list)
    _unverifiable: list[StoredResult] = field(default_factory=list)
    _signature_passed: set[tuple[str, str]] = field(default_factory=set)

    def add(self, rows: Sequence[StoredResult]) -> None:
        self.rows_written += len(rows)
        for row in rows:
            r = row.result
            self._by_check.setdefault(r.check, Counter())[r.status] += 1
            if r.status == "failed" and r.check in SECURITY_CHECKS:
                self._failures.append(row)
            elif r.status == "unverifiable" and r.check in SECURITY_CHECKS:
                self._unverifiable.append(row)
            elif r.status == "passed" and r.check in SIGNATURE_CHECKS:
                self._signature_passed.add((r.repo, r.tag))

    def counts_by_status(self) -> dict[str, int]:
        return dict(sum(self._by_check.values(), Counter()))

    def counts_by_check(self) -> dict[str, dict[str, int]]:
        return {check: dict(statuses) for check, statuses in self._by_check.items()}

    def failures(self) -> list[StoredResult]:
        """Failed checksum, signature and attestation rows: what the blocking check reports."""
        return list(self._failures)

    def unverifiable(self) -> list[StoredResult]:
        """Checksum, signature and attestation rows this verifier could not judge (a warning)."""
        return list(self._unverifiable)

    def signed_but_unverified(self) -> list[tuple[str, str, list[str]]]:
        """(repo, tag, signature-shaped files) for releases where none of them verifies."""
        return [
            (repo, tag, files)
            for (repo, tag), files in sorted(self.signature_files.items())
            if (repo, tag) not in self._signature_passed
        ]


def is_signature_shaped(name: str) -> bool:
    """What OpenSSF Scorecard counts as a signed release, plus bundles and in-toto files."""
    return name.lower().endswith(_SIGNATURE_SHAPED)


def verify_repositories(
    db: str | Path | Connect,
    client: GitHubClient,
    settings: VerificationConfig,
    repos: Sequence[str],
    *,
    concurrency: int = 4,
    trust_root: TrustRootName = "production",
    on_repo: Callable[[str, list[StoredResult], str | None], None] | None = None,
    write_every: int = WRITE_EVERY,
) -> VerificationRun:
    """Verify every published release of `repos`; replaces their rows in `release_verification`.

    `db` is the DuckDB file, or a factory of short-lived connections to it (the asset passes
    `DuckDBResource.get_connection`).
    """
    now = datetime.now(UTC)
    run = VerificationRun(list(repos))
    connect = connector(db)
    with connect() as con:
        store.ensure_schema(con)
        inputs, repo_rows = _read_inputs(con, run.repos, settings.recent_releases)
        inputs, older = _newest(inputs, settings.recent_releases)
        subjects, materials = _cache_keys(inputs)
        cache = VerificationCache(store.load_cache(con, subjects, materials), now=now)
    fetcher = Fetcher(client)

    def verify_repo(repo: str) -> tuple[str, list[StoredResult], str | None]:
        ids = repo_rows.get(repo, RepositoryIds())
        try:
            policy = signer_policy_for(repo, settings, ids)
        except ValueError as exc:
            return repo, [], f"signer policy: {exc}"
        changelog = repository_changelog(repo, inputs.get(repo, []), client, cache)
        private = ids.private
        ctx = VerifyContext(
            fetcher=fetcher,
            cache=cache,
            settings=settings,
            policy=policy,
            policy_key=policy_key(policy, trust_root) + ("|private" if private else ""),
            now=now,
            trust_root=trust_root,
            private_repository=private,
            changelog=changelog.text,
            changelog_note=changelog.note,
        )
        if settings.attestations:
            attestations.prefetch_attestations(repo, ids.repository_id, inputs.get(repo, []), ctx)
        rows: list[StoredResult] = []
        for rel in inputs.get(repo, []):
            rows.extend(verify_release(rel, ctx))
        return repo, rows, None

    batch: list[tuple[str, list[StoredResult]]] = []

    def flush() -> None:
        """Swap in a batch of repositories' rows, and the cache entries made so far."""
        entries = cache.take_new_entries()
        if not batch and not entries:
            return
        with connect() as con:
            store.replace_results(
                con,
                [repo for repo, _ in batch],
                [row for _, rows in batch for row in rows],
                keep_release_ids=[i for repo, _ in batch for i in older.get(repo, [])],
            )
            run.cache_written += store.write_cache(con, entries)
        batch.clear()

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for repo, rows, error in pool.map(verify_repo, run.repos):
            if error is not None:
                run.errors[repo] = error
            else:
                run.add(rows)
                batch.append((repo, rows))
            if on_repo is not None:
                on_repo(repo, rows, error)
            if len(batch) >= write_every:
                flush()
    flush()
    all_releases = [rel for repo in run.repos for rel in inputs.get(repo, [])]
    run.releases = len(all_releases)
    run.older_releases_kept = sum(len(ids) for ids in older.values())
    run.artifacts = sum(len(rel.artifacts) for rel in all_releases)
    run.artifact_bytes = sum(a.ref.size or 0 for rel in all_releases for a in rel.artifacts)
    run.bytes_downloaded = fetcher.bytes_downloaded
    run.files_downloaded = fetcher.files_downloaded
    run.files_hashed = fetcher.files_hashed
    run.attestation_lookups = fetcher.attestation_lookups
    run.cache_hits, run.cache_misses = cache.hits, cache.misses
    for rel in all_releases:
        shaped = [a.ref.name for a in rel.artifacts if is_signature_shaped(a.ref.name)]
        if shaped:
            run.signature_files[(rel.release.repo, rel.release.tag)] = shaped
    return run


def _read_inputs(
    con: duckdb.DuckDBPyConnection, repos: list[str], recent: int
) -> tuple[dict[str, list[ReleaseInput]], dict[str, RepositoryIds]]:
    """Published, not deleted releases, newest first per repository, the `recent` newest of
    each (all when 0) with their artifacts; and each repository's GitHub ids."""
    releases = con.execute(
        "SELECT release_id, repo, tag, body FROM releases "
        f"WHERE {storage.in_repositories()} AND deleted_at IS NULL AND NOT draft "
        "ORDER BY repo, list_position",
        [repos],
    ).fetchall()
    # Artifacts only of the releases this run verifies: most of a large org's are not.
    artifacts = con.execute(
        "WITH due AS (SELECT release_id FROM ("
        "  SELECT release_id, row_number() OVER (PARTITION BY repo ORDER BY list_position) AS n"
        f"  FROM releases WHERE {storage.in_repositories()} AND deleted_at IS NULL"
        "  AND NOT draft) WHERE ? <= 0 OR n <= ?) "
        "SELECT a.release_id, a.artifact_id, a.name, a.size, a.digest, a.browser_download_url, "
        "a.kind FROM release_artifacts a JOIN due USING (release_id) "
        "WHERE a.deleted_at IS NULL ORDER BY a.release_id, a.name",
        [repos, recent, recent],
    ).fetchall()
    repo_rows = {
        str(repo): RepositoryIds(
            None if repo_id is None else int(repo_id),
            None if owner_id is None else int(owner_id),
            bool(private),
        )
        for repo, repo_id, owner_id, private in con.execute(
            "SELECT repo, repo_id, owner_id, coalesce(private, false) FROM repositories "
            f"WHERE {storage.in_repositories()}",
            [repos],
        ).fetchall()
    }
    by_release: dict[int, list[StoredArtifact]] = {}
    for release_id, artifact_id, name, size, digest, url, kind in artifacts:
        ref = ArtifactRef(int(artifact_id), str(name), size, digest, url)
        by_release.setdefault(int(release_id), []).append(StoredArtifact(ref, str(kind)))
    out: dict[str, list[ReleaseInput]] = {}
    for index, (release_id, repo, tag, body) in enumerate(releases):
        older = releases[index + 1] if index + 1 < len(releases) else None
        previous = older[2] if older is not None and older[1] == repo else None
        out.setdefault(repo, []).append(
            ReleaseInput(
                ReleaseRef(repo, int(release_id), str(tag)),
                body,
                previous,
                tuple(by_release.get(int(release_id), [])),
            )
        )
    return out, repo_rows


def _newest(
    inputs: dict[str, list[ReleaseInput]], count: int
) -> tuple[dict[str, list[ReleaseInput]], dict[str, list[int]]]:
    """The newest `count` releases of each repository (all when 0), and the ids of the rest."""
    if count <= 0:
        return inputs, {}
    newest = {repo: releases[:count] for repo, releases in inputs.items()}
    older = {
        repo: [i for rel in releases[count:] if (i := rel.release.release_id) is not None]
        for repo, releases in inputs.items()
        if len(releases) > count
    }
    return newest, older


def _cache_keys(inputs: dict[str, list[ReleaseInput]]) -> tuple[list[str], list[str]]:
    """Every subject and material this run could look up, to load only the relevant entries."""
    subjects: set[str] = set()
    materials: set[str] = set()
    for repo, releases in inputs.items():
        subjects.add(changelog_subject(repo))
        for rel in releases:
            for art in rel.artifacts:
                materials.add(material_key(art.ref))
                subjects.add(f"github-artifact:{art.ref.artifact_id}")
                if art.ref.digest:
                    subjects.add(art.ref.digest)
    return sorted(subjects), sorted(materials)
