"""Change volume per release from git, exactly as the original release-notes workflow counts it.

For a release tagged TAG:
- base = `git describe --tags --abbrev=0 TAG^` (the nearest tag of any name reachable from the
  tag's parent), else the root: then TAG alone is counted and diffed against the empty tree;
- commits = `git rev-list --count base..TAG`;
- contributors = the lines of `git shortlog -sn base..TAG`;
- files changed / insertions / deletions = `git diff --shortstat base TAG`.

Git is read from a bare, blobless partial clone per repository (commits and trees only; the
blobs `diff --shortstat` needs are fetched lazily by git, once), kept under the data directory and
fetched incrementally. Results are keyed by (base sha, tag sha): a release is recomputed only
when its tag (or its base) moves.

The token, for private repositories, travels as an `http.<url>.extraHeader` scoped to the
GitHub host, handed to git through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`
(git's documented equivalent of `git -c`, but invisible in the process list): never in a URL,
the clone's config, a log line or an error message.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypedDict
from urllib.parse import unquote, urlsplit, urlunsplit

# `git hash-object -t tree /dev/null`: what the root fallback diffs against.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_MAX_CLONE_BYTES = 2 * 1024**3
_SHORTSTAT = re.compile(r"(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?")


class GitError(Exception):
    """A git command failed; the message never holds the token."""


class ReleaseTag(NamedTuple):
    release_id: int
    tag: str


class Counts(NamedTuple):
    commits: int
    contributors: int
    files_changed: int
    insertions: int
    deletions: int


class ChangeRow(TypedDict):
    release_id: int
    repo: str
    tag: str
    tag_sha: str | None
    base_tag: str | None  # None: the root fallback
    base_sha: str | None
    commits: int | None
    contributors: int | None
    files_changed: int | None
    insertions: int | None
    deletions: int | None
    tag_committed_at: str | None  # ISO 8601, the tagged commit's committer date
    status: str  # ok | tag_missing | empty_repository | too_large | clone_failed | failed
    reason: str | None


@dataclass
class RepositoryChanges:
    repo: str
    rows: list[ChangeRow] = field(default_factory=list)
    bytes_fetched: int = 0
    computed: int = 0  # releases whose numbers were computed (not reused)
    error: str | None = None  # why the clone could not be used, if it could not


@dataclass(frozen=True)
class GitAccess:
    """How git reaches repositories: the token (if any) and the one host it may be sent to."""

    token: str | None = None
    token_host: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_clone_bytes: int = DEFAULT_MAX_CLONE_BYTES

    def env(self, url: str) -> dict[str, str]:
        # A copy for the child only; git must never prompt for credentials in a run.
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "LC_ALL": "C"}
        parts = urlsplit(url)
        if self.token and self.token_host and parts.scheme == "https" \
                and parts.hostname == self.token_host:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update({
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.https://{self.token_host}/.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            })
        return env

    def redact(self, text: str) -> str:
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            text = text.replace(self.token, "***").replace(basic, "***")
        return text


def token_host_for(api_url: str) -> str | None:
    """The git host of a GitHub API: api.github.com → github.com, api.X.ghe.com → X.ghe.com,
    GitHub Enterprise Server (`https://ghe.example.com/api/v3`) → ghe.example.com."""
    host = urlsplit(api_url).hostname
    if host is None:
        return None
    return host[4:] if host.startswith("api.") else host


def clone_url_for(repo: str, clone_url: str | None, html_url: str | None,
                  git_url: str | None) -> str | None:
    """`{git_url}/OWNER/NAME.git` when the override is set, else the API's `clone_url`, else an
    https web URL + `.git` (what `clone_url` is on github.com and GitHub Enterprise; rows stored
    before clone_url was kept have only the web URL). None: no way to reach git."""
    if git_url:
        return f"{git_url.rstrip('/')}/{repo}.git"
    if clone_url:
        return clone_url
    if html_url and html_url.startswith("https://"):
        return f"{html_url.rstrip('/')}.git"
    return None


def display_url(url: str) -> str:
    """A URL safe to show: any user:password part removed."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def clone_path(cache_root: Path, repo: str) -> Path:
    owner, name = repo.split("/", 1)
    return cache_root / owner / f"{name}.git"


class _Git:
    def __init__(self, path: Path, url: str, access: GitAccess) -> None:
        self.path, self.url, self.access = path, url, access
        self.env = access.env(url)

    def run(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        where = ["-C", str(cwd or self.path)]
        try:
            done = subprocess.run(
                ["git", *where, *args], capture_output=True, text=True, env=self.env,
                stdin=subprocess.DEVNULL, timeout=self.access.timeout_seconds, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} took longer than {self.access.timeout_seconds:.0f} s") from exc
        if check and done.returncode != 0:
            lines = [ln for ln in self.access.redact(done.stderr).splitlines() if ln.strip()]
            raise GitError(f"git {args[0]} failed: {(lines[-1] if lines else 'exit ' + str(done.returncode))[:300]}")
        return done

    def out(self, *args: str) -> str:
        return self.run(*args).stdout


def directory_bytes(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def sync_clone(path: Path, url: str, access: GitAccess) -> None:
    """Create the blobless bare clone, or fetch what is new (tags moved or deleted included)."""
    if not (path / "HEAD").exists():
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        _Git(partial, url, access).run(
            "clone", "--bare", "--filter=blob:none", "--quiet", url, str(partial),
            cwd=partial.parent,
        )
        partial.rename(path)
        return  # a bare clone holds every branch and tag already
    git = _Git(path, url, access)
    if git.out("config", "--get", "remote.origin.url").strip() != url:
        git.run("remote", "set-url", "origin", url)
    git.run("fetch", "--quiet", "--prune", "--force", "origin",
            "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")


class _Tag(NamedTuple):
    commit: str | None  # None: the tag does not point at a commit
    committed_at: str | None


def read_tags(git: _Git) -> dict[str, _Tag]:
    fields = "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00" \
             "%(*objectname)%00%(committerdate:iso-strict)%00%(*committerdate:iso-strict)"
    tags: dict[str, _Tag] = {}
    for line in git.out("for-each-ref", f"--format={fields}", "refs/tags").splitlines():
        name, kind, sha, peeled_kind, peeled, date, peeled_date = line.split("\0")
        if kind == "commit":
            tags[name] = _Tag(sha, date or None)
        elif peeled_kind == "commit":
            tags[name] = _Tag(peeled, peeled_date or None)
        else:
            tags[name] = _Tag(None, None)
    return tags


def parse_shortstat(text: str) -> tuple[int, int, int]:
    found = _SHORTSTAT.search(text)
    if not found:
        return 0, 0, 0  # no difference at all
    return tuple(int(g or 0) for g in found.groups())  # type: ignore[return-value]


def bases(git: _Git, commits: Mapping[str, str],
          tags: Mapping[str, _Tag]) -> dict[str, tuple[str | None, str | None]]:
    """tag -> (base tag, base sha) by `git describe --tags --abbrev=0 TAG^`, or (None, None) for
    the root fallback (TAG has no parent, or no tag is reachable from it). Two git commands for
    all tags: `--always` turns "no tag" into a commit name instead of failing the batch."""
    if not commits:
        return {}
    shas = sorted(set(commits.values()))
    parented = {line.split()[0] for line in git.out(
        "log", "--no-walk=unsorted", "--format=%H %P", *shas).splitlines() if len(line.split()) > 1}
    asked = [tag for tag, sha in commits.items() if sha in parented]
    described = git.out("describe", "--tags", "--abbrev=0", "--always",
                        *(f"{commits[tag]}^" for tag in asked)).splitlines() if asked else []
    found: dict[str, tuple[str | None, str | None]] = dict.fromkeys(commits, (None, None))
    for tag, name in zip(asked, described, strict=True):
        base = tags.get(name.strip())
        if base is not None and base.commit is not None:
            found[tag] = (name.strip(), base.commit)
    return found


def count_changes(git: _Git, base_sha: str | None, tag_sha: str) -> Counts:
    """`rev-list --count` and the lines of `shortlog -sn` are the commits and the distinct
    (mailmapped) author names of one `git log`."""
    span = f"{base_sha}..{tag_sha}" if base_sha else tag_sha
    authors = git.out("log", "--format=%aN", span).splitlines()
    files, insertions, deletions = parse_shortstat(
        git.out("diff", "--shortstat", base_sha or EMPTY_TREE, tag_sha)
    )
    return Counts(len(authors), len(set(authors)), files, insertions, deletions)


def _row(repo: str, release: ReleaseTag, status: str, reason: str | None = None) -> ChangeRow:
    return ChangeRow(
        release_id=release.release_id, repo=repo, tag=release.tag, tag_sha=None, base_tag=None,
        base_sha=None, commits=None, contributors=None, files_changed=None, insertions=None,
        deletions=None, tag_committed_at=None, status=status, reason=reason,
    )


def repository_changes(
    repo: str,
    url: str,
    releases: Sequence[ReleaseTag],
    *,
    cache_root: Path,
    access: GitAccess,
    known: Mapping[tuple[str, str], Counts] | None = None,
) -> RepositoryChanges:
    """Sync the repository's clone and compute every release's change volume; `known` holds
    earlier results by (base sha or '', tag sha), reused instead of recomputed. Never raises for
    one repository's or one release's trouble: each row carries its status and reason."""
    known = known or {}
    result = RepositoryChanges(repo)
    path = clone_path(cache_root, repo)
    before = directory_bytes(path / "objects")
    local = urlsplit(url)
    if local.scheme == "file" and not Path(unquote(local.path)).exists():
        result.error = f"no repository at {url}"  # e.g. the demo bundles jq's history only
        result.rows = [_row(repo, r, "clone_failed", result.error) for r in releases]
        return result
    try:
        sync_clone(path, url, access)
    except GitError as exc:
        result.error = f"clone of {display_url(url)} failed: {exc}"
        result.rows = [_row(repo, r, "clone_failed", result.error) for r in releases]
        result.bytes_fetched = max(0, directory_bytes(path / "objects") - before)
        return result
    git = _Git(path, url, access)
    size = directory_bytes(path / "objects")
    if size > access.max_clone_bytes:
        result.error = f"the clone holds {size:,} bytes, over the {access.max_clone_bytes:,} limit"
        result.rows = [_row(repo, r, "too_large", result.error) for r in releases]
        result.bytes_fetched = max(0, size - before)
        return result
    try:
        tags = read_tags(git)
    except GitError as exc:
        tags, result.error = {}, str(exc)
    if not tags and result.error is None \
            and not git.out("for-each-ref", "--count=1", "refs/heads").strip():
        result.error = "the repository is empty"
        result.rows = [_row(repo, r, "empty_repository", result.error) for r in releases]
        return result
    commits: dict[str, str] = {}
    for release in releases:
        tagged = tags.get(release.tag)
        if tagged is not None and tagged.commit is not None:
            commits[release.tag] = tagged.commit
    try:
        based = bases(git, commits, tags)
    except GitError as exc:
        result.error = str(exc)
        result.rows = [_row(repo, r, "failed", result.error) for r in releases]
        return result
    for release in releases:
        result.rows.append(_release_row(git, repo, release, tags, based, known, result))
    result.bytes_fetched = max(0, directory_bytes(path / "objects") - before)
    return result


def _release_row(git: _Git, repo: str, release: ReleaseTag, tags: Mapping[str, _Tag],
                 based: Mapping[str, tuple[str | None, str | None]],
                 known: Mapping[tuple[str, str], Counts], result: RepositoryChanges) -> ChangeRow:
    tag = tags.get(release.tag)
    if tag is None:
        return _row(repo, release, "tag_missing", f"tag {release.tag!r} is not in the repository")
    if tag.commit is None:
        return _row(repo, release, "failed", f"tag {release.tag!r} does not point at a commit")
    row = _row(repo, release, "ok")
    row["tag_sha"] = tag.commit
    try:
        base_tag, base_sha = based[release.tag]
        counts = known.get((base_sha or "", tag.commit))
        if counts is None:
            counts = count_changes(git, base_sha, tag.commit)
            result.computed += 1
    except GitError as exc:
        row["status"], row["reason"] = "failed", str(exc)
        return row
    row["base_tag"], row["base_sha"] = base_tag, base_sha
    row["commits"], row["contributors"] = counts.commits, counts.contributors
    row["files_changed"], row["insertions"] = counts.files_changed, counts.insertions
    row["deletions"], row["tag_committed_at"] = counts.deletions, tag.committed_at
    return row
