"""The inputs and running state of verifying a repository's releases."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from release_assets.lib.config import VerificationConfig

from .cache import VerificationCache
from .fetch import Fetcher
from .results import ArtifactRef, Check, ReleaseRef, VerificationResult, make_result
from .signer_policy import SignerPolicy
from .store import StoredResult
from .trust_roots import TrustRootName


@dataclass(frozen=True)
class StoredArtifact:
    ref: ArtifactRef
    kind: str  # release_artifacts.kind, classified at ingestion


@dataclass(frozen=True)
class ReleaseInput:
    release: ReleaseRef
    body: str | None
    previous_tag: str | None
    artifacts: tuple[StoredArtifact, ...]


@dataclass
class VerifyContext:
    """Everything one repository's verification needs; shared by its releases."""

    fetcher: Fetcher
    cache: VerificationCache
    settings: VerificationConfig
    policy: SignerPolicy
    policy_key: str
    now: datetime
    trust_root: TrustRootName = "production"
    private_repository: bool = False
    changelog: str | None = None  # the repository's CHANGELOG text, when needed and readable
    changelog_note: str | None = None  # where it came from or why there is none; None: not asked
    # artifact id -> sha512 hex, for artifacts hashed this run or before (matches npm subjects)
    sha512: dict[int, str] = field(default_factory=dict)


@dataclass
class Collector:
    """Results as produced, each with whether it came from the cache and when it was reached."""

    release: ReleaseRef
    now: datetime
    rows: list[StoredResult] = field(default_factory=list)

    def add(
        self, result: VerificationResult, *, cached: bool = False, at: datetime | None = None
    ) -> None:
        # Helpers build some results without the release; stamp it here, once.
        if result.release_id is None:
            result = replace(
                result,
                repo=self.release.repo,
                release_id=self.release.release_id,
                tag=self.release.tag,
            )
        self.rows.append(StoredResult(result, cached, at or self.now))

    def error(self, artifact: ArtifactRef, check: Check, reason: str) -> None:
        self.add(make_result(self.release, artifact, check, "error", reason))

    def not_applicable(
        self, artifact: ArtifactRef, check: Check, reason: str, **evidence: object
    ) -> None:
        self.add(
            make_result(self.release, artifact, check, "not_applicable", reason, evidence=evidence)
        )

    def unverifiable(
        self, artifact: ArtifactRef, check: Check, reason: str, **evidence: object
    ) -> None:
        self.add(
            make_result(self.release, artifact, check, "unverifiable", reason, evidence=evidence)
        )
