"""`release-assets verify-bundle` over every positive and negative sigstore fixture: the real
console script in a subprocess (exit codes, one JSON object on stdout), offline."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from release_assets.cli import main

from .worlds import GH, REUSABLE, REUSABLE_DIGEST, SP, WHEEL_DIGEST

OAUTH = "https://github.com/login/oauth"
ACTIONS = "https://token.actions.githubusercontent.com"
RFC8785_WORKFLOWS = "https://github.com/trailofbits/rfc8785.py/.github/workflows/"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/"
)


def cli(tmp_path: Path, *args: str | Path) -> tuple[int, dict[str, Any]]:
    """`release-assets verify-bundle ARGS` in process (the `offline` fixture guards the network)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(["verify-bundle", *map(str, args)])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, json.loads(out.getvalue()) if out.getvalue().strip() else {}


def test_console_script_prints_one_json_object(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    # a proxy that does not exist: any attempt to reach the network would fail
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    script = Path(sys.executable).parent / "release-assets"
    args = [
        "verify-bundle",
        "--bundle",
        str(SP / "bundle_v3_github.whl.sigstore"),
        "--digest",
        WHEEL_DIGEST,
        "--identity",
        RFC8785_WORKFLOWS,
        "--issuer",
        ACTIONS,
    ]
    done = subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["verified"] is True and out["log_index"] == 79605083
    assert out["signer_identity"] == (
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    )


def digest_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


A_TXT_DIGEST = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
POSITIVE = [
    # bundle, artifact (relative to SP) or digest, identity, issuer, trust root, dsse
    ("bundle.txt.sigstore", "bundle.txt", "a@tny.town", OAUTH, "staging", False),
    ("bundle_v3.txt.sigstore", "bundle_v3.txt", "william@yossarian.net", OAUTH, "staging", False),
    (
        "bundle_v3_alt.txt.sigstore",
        "bundle_v3_alt.txt",
        "william@yossarian.net",
        OAUTH,
        "staging",
        False,
    ),
    (
        "staging-rekor-v2.txt.sigstore.json",
        "staging-rekor-v2.txt",
        "jku@goto.fi",
        OAUTH,
        "staging",
        False,
    ),
    (
        "tsa/bundle.txt.sigstore",
        "tsa/bundle.txt",
        "alexis.challande@trailofbits.com",
        "https://accounts.google.com",
        "staging",
        False,
    ),
    (
        "a.dsse.staging-rekor-v2.txt.sigstore.json",
        A_TXT_DIGEST,  # its subject is a.txt (not in the fixtures), named by digest
        BEACON,
        ACTIONS,
        "staging",
        True,
    ),
    (
        "bundle_v3_github.whl.sigstore",
        WHEEL_DIGEST,
        RFC8785_WORKFLOWS,
        ACTIONS,
        "production",
        False,
    ),
]


@pytest.mark.parametrize(("bundle", "subject", "identity", "issuer", "root", "dsse"), POSITIVE)
def test_positive_cases_verify(
    tmp_path: Path, bundle: str, subject: str, identity: str, issuer: str, root: str, dsse: bool
) -> None:
    target = (
        ["--digest", subject] if subject.startswith("sha256:") else ["--artifact", SP / subject]
    )
    code, out = cli(
        tmp_path,
        "--bundle",
        SP / bundle,
        *target,
        "--identity",
        identity,
        "--issuer",
        issuer,
        "--trust-root",
        root,
        *(["--dsse"] if dsse else []),
    )
    assert code == 0, out
    assert out["verified"] is True and out["issuer"] == issuer
    assert out["signer_identity"].startswith(identity)


def test_gh_cli_attestations_verify(tmp_path: Path) -> None:
    code, out = cli(
        tmp_path,
        "--bundle",
        GH / "custom-issuer.sigstore.json",
        "--artifact",
        GH / "custom-issuer-artifact",
        "--dsse",
        "--identity",
        "https://github.com/too-legit/attest/.github/workflows/",
        "--issuer",
        f"{ACTIONS}/hammer-time",
    )
    assert code == 0 and out["verified"] and out["subject_matches"] is True, out
    code, out = cli(
        tmp_path,
        "--bundle",
        GH / "reusable-workflow-attestation.sigstore.json",
        "--digest",
        REUSABLE_DIGEST,
        "--dsse",
        "--identity",
        REUSABLE,
        "--issuer",
        ACTIONS,
    )
    assert code == 0 and out["predicate_type"] == "https://slsa.dev/provenance/v1", out


NEGATIVE = [
    ("bundle_cve_2022_36056.txt.sigstore", "william@yossarian.net", OAUTH),
    ("bundle_invalid_version.txt.sigstore", "a@tny.town", OAUTH),
    ("bundle_no_cert_v1.txt.sigstore", "a@tny.town", OAUTH),
    ("bundle_no_checkpoint.txt.sigstore", "a@tny.town", OAUTH),
    ("bundle_no_log_entry.txt.sigstore", "a@tny.town", OAUTH),
    ("bundle_v3_no_signed_time.txt.sigstore.json", "a@tny.town", OAUTH),
    (
        "tsa/bundle.duplicate.sigstore",
        "alexis.challande@trailofbits.com",
        "https://accounts.google.com",
    ),
    (
        "tsa/bundle.txt.late_timestamp.sigstore",
        "insecure-cloudtop-shared-user@cloudtop-prod-us-east.iam.gserviceaccount.com",
        "https://accounts.google.com",
    ),
]


@pytest.mark.parametrize(("bundle", "identity", "issuer"), NEGATIVE)
def test_negative_cases_are_rejected(
    tmp_path: Path, bundle: str, identity: str, issuer: str
) -> None:
    path = SP / bundle
    artifact = (
        SP / "tsa" / "bundle.txt"
        if bundle.startswith("tsa/")
        else SP / bundle.split(".sigstore")[0]
    )
    code, out = cli(
        tmp_path,
        "--bundle",
        path,
        "--artifact",
        artifact,
        "--identity",
        identity,
        "--issuer",
        issuer,
        "--trust-root",
        "staging",
    )
    assert code == 1 and out["verified"] is False and out["reason"], out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["--identity", "mallory@example.com", "--issuer", OAUTH, "--trust-root", "staging"],
            "not allowed",
        ),
        (
            ["--identity", "a@tny.town", "--issuer", OAUTH, "--trust-root", "production"],
            "trust root: production",
        ),
    ],
)
def test_wrong_identity_and_wrong_root_are_rejected(
    tmp_path: Path, args: list[str], reason: str
) -> None:
    code, out = cli(
        tmp_path, "--bundle", SP / "bundle.txt.sigstore", "--artifact", SP / "bundle.txt", *args
    )
    assert code == 1 and reason in out["reason"], out


def test_production_bundle_against_staging_root_and_wrong_artifact_are_rejected(
    tmp_path: Path,
) -> None:
    base = [
        "--bundle",
        SP / "bundle_v3_github.whl.sigstore",
        "--identity",
        RFC8785_WORKFLOWS,
        "--issuer",
        ACTIONS,
    ]
    code, out = cli(tmp_path, *base, "--digest", WHEEL_DIGEST, "--trust-root", "staging")
    assert code == 1 and "does not chain" in out["reason"]
    code, out = cli(tmp_path, *base, "--artifact", SP / "bundle.txt")
    assert code == 1 and "does not sign this artifact" in out["reason"]
    assert out["digest"] == digest_of(SP / "bundle.txt")
    code, out = cli(
        tmp_path,
        "--bundle",
        GH / "sigstoreBundle-invalid-signature.json",
        "--digest",
        "sha256:" + "0" * 64,
        "--dsse",
        "--identity",
        "brian@dehamer.com",
        "--issuer",
        OAUTH,
    )
    assert code == 1 and not out["verified"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--digest", "sha256:abc123"], "--digest must be sha256"),
        (["--digest", "md5:" + "0" * 32], "--digest must be sha256"),
        (["--artifact", "/nonexistent/file"], "cannot read artifact"),
        (
            ["--digest", WHEEL_DIGEST, "--trust-root", "/nonexistent/root.json"],
            "cannot read trust root",
        ),
        (["--digest", WHEEL_DIGEST, "--identity", "https://github.com/"], "too broad"),
    ],
)
def test_usage_errors_exit_2_with_a_json_reason(
    tmp_path: Path, args: list[str], reason: str
) -> None:
    defaults = {"--identity": RFC8785_WORKFLOWS, "--issuer": ACTIONS}
    for key, value in defaults.items():
        if key not in args:
            args = [*args, key, value]
    code, out = cli(tmp_path, "--bundle", SP / "bundle_v3_github.whl.sigstore", *args)
    assert code == 2 and out["usage_error"] and reason in out["reason"], out


def test_missing_arguments_are_argparse_usage_errors(tmp_path: Path) -> None:
    code, _ = cli(
        tmp_path, "--bundle", SP / "bundle.txt.sigstore", "--identity", "x", "--issuer", OAUTH
    )
    assert code == 2
