"""jq's real git history for the demo's change volume: a bare clone of `jq.bundle` served over
file:// as `{url}/stedolan/jq.git` (see README.md here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

JQ_BUNDLE = Path(__file__).parent / "jq.bundle"


def bundled_git_url(data_dir: Path) -> str:
    """A file:// base URL under `data_dir` holding stedolan/jq.git, made once from the bundle."""
    root = data_dir.resolve() / "git-origin"
    jq = root / "stedolan" / "jq.git"
    if not (jq / "HEAD").exists():
        jq.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", "--bare", str(JQ_BUNDLE), str(jq)],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
        # clones of it are blobless, like clones from GitHub
        subprocess.run(["git", "-C", str(jq), "config", "uploadpack.allowFilter", "true"],
                       check=True, capture_output=True)
    return root.as_uri()
