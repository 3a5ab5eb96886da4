"""Sigstore trust roots, loaded from files so verification never touches the network.

`Verifier.production()` refreshes the root over TUF. Instead we read the `trusted_root.json`
that the `sigstore` package ships (its TUF bootstrap store), or a file the operator names
(a private Sigstore instance, or a pinned root). Upgrading `sigstore` upgrades the shipped roots.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from sigstore.errors import Error as SigstoreError
from sigstore.models import ClientTrustConfig, TrustedRoot
from sigstore.verify import Verifier

TrustRootName = Literal["production", "staging"]
TrustRootSpec = TrustRootName | Path

# Directory names inside sigstore/_store are the URL-quoted TUF repository URLs.
_SHIPPED = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}
_CLIENT_TRUST_CONFIG = "application/vnd.dev.sigstore.clienttrustconfig"


class TrustRootError(ValueError):
    """The trust root could not be found or read."""


def load_trusted_root(spec: TrustRootSpec) -> TrustedRoot:
    """`"production"` / `"staging"` (shipped with sigstore) or a path to a trusted root.

    A path may hold a bare trusted root or a client trust config (`trustedRoot` inside).
    """
    if isinstance(spec, str):
        if spec not in _SHIPPED:
            raise TrustRootError(f"unknown trust root {spec!r}: use production, staging or a path")
        shipped = resources.files("sigstore._store") / _SHIPPED[spec] / "trusted_root.json"
        return TrustedRoot.from_file(str(shipped))
    try:
        raw = spec.read_text(encoding="utf-8")
        media_type = str(json.loads(raw).get("mediaType", ""))
        if media_type.startswith(_CLIENT_TRUST_CONFIG):
            return ClientTrustConfig.from_json(raw).trusted_root
        return TrustedRoot.from_file(str(spec))
    except (OSError, ValueError, AttributeError, SigstoreError) as exc:
        raise TrustRootError(f"cannot read trust root {spec}: {exc}") from exc


@lru_cache(maxsize=8)
def verifier_for(spec: TrustRootSpec) -> Verifier:
    """One Verifier per trust root: it is read-only after construction, so safe to share."""
    return Verifier(trusted_root=load_trusted_root(spec))
