"""Real git repositories for the history tests: jq from its bundle, small ones built on the spot,
and the original release-notes workflow's own commands to compare against."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from release_assets.demo.git import JQ_BUNDLE as DEMO_JQ_BUNDLE

# The full history (19 tags, 8 MB) where ../shared sits beside the clone; otherwise the demo's
# trimmed bundle (the 8 recorded release tags, jq-1.0 … jq-1.5, 1.9 MB).
SHARED_JQ_BUNDLE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "git" / "jq.bundle"
JQ_BUNDLE = SHARED_JQ_BUNDLE if SHARED_JQ_BUNDLE.exists() else DEMO_JQ_BUNDLE
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_ENV = {**os.environ, "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z", "LC_ALL": "C"}


def git(path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                          text=True, env=env or _ENV, stdin=subprocess.DEVNULL).stdout


def serve_bare(origin_root: Path, repo: str, source: Path | str) -> Path:
    """`{origin_root}/OWNER/NAME.git`, a bare clone of `source` that allows blobless clones."""
    path = origin_root / f"{repo}.git"
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(source), str(path)], check=True,
                   capture_output=True)
    git(path, "config", "uploadpack.allowFilter", "true")
    return path


def jq_origin(origin_root: Path, repo: str = "stedolan/jq") -> Path:
    return serve_bare(origin_root, repo, JQ_BUNDLE)


def build_repo(path: Path, history: list[tuple[str, str, str | None]]) -> Path:
    """A repository with one commit per (author, file, tag or None), tagged where given."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "-b", "main")
    for number, (author, name, tag) in enumerate(history):
        (path / name).write_text(f"line {number}\n" * (number + 1))
        git(path, "add", name)
        env = {**_ENV, "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@example.com",
               "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author}@example.com"}
        git(path, "commit", "--quiet", "-m", f"change {number}", env=env)
        if tag:
            git(path, "tag", tag)
    return path


def original_numbers(path: Path, tag: str) -> tuple[str | None, int, int, int, int, int]:
    """(base tag, commits, contributors, files changed, insertions, deletions), by the original
    workflow's commands, run on a full (not partial) repository."""
    done = subprocess.run(["git", "-C", str(path), "describe", "--tags", "--abbrev=0", f"{tag}^"],
                          capture_output=True, text=True)
    base = done.stdout.strip() if done.returncode == 0 else None
    span = f"{base}..{tag}" if base else tag
    commits = int(git(path, "rev-list", "--count", span))
    contributors = len(git(path, "shortlog", "-sn", span).splitlines())
    stat = git(path, "diff", "--shortstat", *( [f"{base}..{tag}"] if base else [EMPTY_TREE, tag]))
    numbers = [0, 0, 0]
    for part in stat.split(","):
        words = part.split()
        if words:
            index = 0 if "changed" in part else 1 if "insertion" in part else 2
            numbers[index] = int(words[0])
    return (base, commits, contributors, *numbers)  # type: ignore[return-value]
