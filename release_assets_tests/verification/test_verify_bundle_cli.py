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
    """`release-assets verify-bundle ARGS` in process (the `offline` fixture guards the network);
    stdout must be exactly one JSON object, whatever the outcome."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["verify-bundle", *map(str, args)])
    return code, json.loads(out.getvalue())


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
        "--repository",
        "trailofbits/rfc8785.py",
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
# E-mail signers have no Source Repository: an exact --identity accepts them for any repository
# named, and the verdict says the repository could not be bound.
ANY_REPOSITORY = "sigstore/sigstore-python"
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
    # a workflow prefix names its repository (https://github.com/OWNER/NAME/...); e-mails none
    repository = "/".join(identity.split("/")[3:5]) if "/" in identity else ""
    code, out = cli(
        tmp_path,
        "--bundle",
        SP / bundle,
        *target,
        "--repository",
        repository or ANY_REPOSITORY,
        "--identity",
        identity,
        "--issuer",
        issuer,
        "--trust-root",
        root,
        *(["--dsse"] if dsse else []),
    )
    assert code == 0, out
    assert out["verified"] is True and out["issuer"] == issuer and out["status"] == "passed"
    assert out["signer_identity"].startswith(identity)
    assert out["repository_bound"] is bool(repository)
    if not repository:
        assert "the repository could not be bound" in out["reason"]


def test_gh_cli_attestations_verify(tmp_path: Path) -> None:
    code, out = cli(
        tmp_path,
        "--bundle",
        GH / "custom-issuer.sigstore.json",
        "--artifact",
        GH / "custom-issuer-artifact",
        "--dsse",
        "--repository",
        "too-legit/attest",
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
        "--repository",
        "malancas/attest-demo",
        "--identity",
        REUSABLE,
    )
    assert code == 0 and out["predicate_type"] == "https://slsa.dev/provenance/v1", out
    assert out["source_repository"] == "https://github.com/malancas/attest-demo"


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
        "--repository",
        ANY_REPOSITORY,
        "--identity",
        identity,
        "--issuer",
        issuer,
        "--trust-root",
        "staging",
    )
    assert code == 1 and out["verified"] is False and out["reason"], out
    assert out["outcome"] in ("rejected", "malformed")


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
        tmp_path,
        "--bundle",
        SP / "bundle.txt.sigstore",
        "--artifact",
        SP / "bundle.txt",
        "--repository",
        ANY_REPOSITORY,
        *args,
    )
    assert code == 1 and reason in out["reason"], out


def test_production_bundle_against_staging_root_and_wrong_artifact_are_rejected(
    tmp_path: Path,
) -> None:
    base = [
        "--bundle",
        SP / "bundle_v3_github.whl.sigstore",
        "--repository",
        "trailofbits/rfc8785.py",
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
        "--repository",
        ANY_REPOSITORY,
        "--identity",
        "brian@dehamer.com",
        "--issuer",
        OAUTH,
    )
    assert code == 1 and not out["verified"] and out["outcome"] == "rejected"


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
        (["--digest", WHEEL_DIGEST, "--repository", "no-slash"], "owner/name"),
        (["--digest", WHEEL_DIGEST, "--repository", "a/../b"], "owner/name"),
        (["--digest", WHEEL_DIGEST, "--repository-id", "twelve"], "invalid int value"),
        # argparse's own errors, which it would print as text and exit with
        (["--digest", WHEEL_DIGEST, "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["--artifact", "x", "--digest", WHEEL_DIGEST], "not allowed with argument"),
        (["--help"], "help requested"),
    ],
)
def test_usage_errors_exit_2_with_a_json_reason(
    tmp_path: Path, args: list[str], reason: str
) -> None:
    if "--repository" not in args:
        args = [*args, "--repository", "trailofbits/rfc8785.py"]
    code, out = cli(tmp_path, "--bundle", SP / "bundle_v3_github.whl.sigstore", *args)
    assert code == 2 and out["usage_error"] and reason in out["reason"], out


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--bundle", str(SP / "bundle.txt.sigstore"), "--identity", "x", "--issuer", OAUTH],
        ["--bundle", str(SP / "bundle.txt.sigstore"), "--digest", WHEEL_DIGEST],  # no repository
    ],
)
def test_missing_arguments_are_json_usage_errors(tmp_path: Path, args: list[str]) -> None:
    code, out = cli(tmp_path, *args)
    assert code == 2 and out["usage_error"] is True
    assert (
        "the following arguments are required" in out["reason"]
        or "one of the arguments" in (out["reason"])
    )


def test_console_script_usage_error_is_json_on_stdout(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "release-assets"
    done = subprocess.run(
        [str(script), "verify-bundle", "--bundle"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    out = json.loads(done.stdout)
    assert out["usage_error"] is True and "--bundle" in out["reason"]


REUSABLE_SIGNER = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)


@pytest.mark.parametrize(
    ("repository", "identity", "code"),
    [
        # the reusable workflow's own repository, with its own workflows: it signed, but the
        # run was malancas/attest-demo's, so the signature is not this repository's
        ("github/artifact-attestations-workflows", None, 1),
        ("malancas/attest-demo", REUSABLE_SIGNER, 0),
        ("Malancas/Attest-Demo", REUSABLE_SIGNER, 0),  # GitHub names are case-insensitive
        ("malancas/other", REUSABLE_SIGNER, 1),
        ("malancas/attest", REUSABLE_SIGNER, 1),  # a prefix of the real name is not it
    ],
)
def test_reusable_workflow_signature_is_bound_to_the_calling_repository(
    tmp_path: Path, repository: str, identity: str | None, code: int
) -> None:
    got, out = cli(
        tmp_path,
        "--bundle",
        GH / "reusable-workflow-attestation.sigstore.json",
        "--digest",
        REUSABLE_DIGEST,
        "--dsse",
        "--repository",
        repository,
        *(["--identity", identity] if identity else []),
    )
    assert got == code, out
    assert out["source_repository"] == "https://github.com/malancas/attest-demo"
    if code == 1:
        assert out["outcome"] == "rejected" and "the signing run was for" in out["reason"]
    else:
        assert out["verified"] is True and out["repository_bound"] is True


@pytest.mark.parametrize(
    ("ids", "code", "reason"),
    [
        (["--repository-id", "804070735", "--owner-id", "16248153"], 0, "id 804070735"),
        (["--repository-id", "804070736"], 1, "repository id 804070735, but"),
        (["--owner-id", "1"], 1, "owner id 16248153, but"),
    ],
)
def test_repository_ids_must_match_when_given(
    tmp_path: Path, ids: list[str], code: int, reason: str
) -> None:
    got, out = cli(
        tmp_path,
        "--bundle",
        GH / "reusable-workflow-attestation.sigstore.json",
        "--digest",
        REUSABLE_DIGEST,
        "--dsse",
        "--repository",
        "malancas/attest-demo",
        "--identity",
        REUSABLE,
        *ids,
    )
    assert got == code and reason in out["reason"], out


def test_npm_intoto_provenance_is_unverifiable_exit_3(tmp_path: Path) -> None:
    code, out = cli(
        tmp_path,
        "--bundle",
        GH / "sigstore-js-2.1.0-bundle.json",
        "--digest",
        "sha256:" + "0" * 64,
        "--dsse",
        "--repository",
        "sigstore/sigstore-js",
    )
    assert code == 3, out
    assert out["verified"] is False
    assert out["outcome"] == "unverifiable" and out["status"] == "unverifiable"
    assert "intoto 0.0.2" in out["reason"] and "may well be valid" in out["reason"]
    # what it claims is still shown, for a person to check another way
    assert out["signer_identity"].startswith("https://github.com/sigstore/sigstore-js/")
