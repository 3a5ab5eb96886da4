"""The original script's approach, as a comparison client for the benchmarks.

`scripts/release-metrics.py` (a copy in `release_assets_tests/fixtures/original/`), call for call: PyGithub with its
default page size (30), per repository the repository object three times, the release list
twice, every release's artifacts through `get_assets()` although the list already embeds them,
the latest release again by tag and its artifacts five more times (four `any(...)` scans and a
`totalCount`), no conditional requests. Only the endpoint is configurable (`base_url`, so it can
run against the local server) and PyGithub's client-side pacing (0.25 s between requests by
default) can be turned off to keep large benchmarks short; nothing else differs.

Like the original it keeps the whole dashboard in memory and writes it only at the end, so
where the original crashes (a draft's `published_at` is null; a latest release with a null
body) this records the crash and writes nothing. `check_faithful()` runs the original file
itself against the same server and compares the request sequences.
"""

from __future__ import annotations

import importlib.util
import json
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from github import Auth, Github

ORIGINAL_SCRIPT = Path(__file__).resolve().parents[1] / "release_assets_tests" / "fixtures" / "original" / "release-metrics.py"
PYGITHUB_DEFAULT_PACING = 0.25  # seconds between requests, PyGithub's default


@dataclass
class BaselineResult:
    repos_done: int = 0
    crashed: str | None = None  # "ExceptionType: message (at owner/name)" like the original's
    written: list[str] = field(default_factory=list)


class OriginalApproach:
    """`ReleaseMetricsCollector` from the original script: same calls, same order."""

    def __init__(self, token: str, org: str, *, base_url: str, pacing: float = 0.0) -> None:
        self.github = Github(
            base_url=base_url, auth=Auth.Token(token), seconds_between_requests=pacing
        )
        self.org = self.github.get_organization(org)

    def collect_release_metrics(self, repo_name: str) -> dict[str, Any]:
        repo = self.github.get_repo(f"{self.org.login}/{repo_name}")
        metrics: dict[str, Any] = {
            "repository": repo_name, "collected_at": datetime.utcnow().isoformat(),
            "releases": [], "summary": {},
        }
        total_downloads = 0
        for release in repo.get_releases():
            release_data = {
                "tag": release.tag_name, "name": release.title,
                "published_at": release.published_at.isoformat(),  # crashes on a draft, as there
                "prerelease": release.prerelease, "draft": release.draft,
                "assets": [], "downloads": 0,
            }
            for asset in release.get_assets():
                release_data["assets"].append({
                    "name": asset.name, "size": asset.size,
                    "download_count": asset.download_count, "content_type": asset.content_type,
                })
                release_data["downloads"] += asset.download_count
                total_downloads += asset.download_count
            metrics["releases"].append(release_data)
        metrics["summary"] = {
            "total_releases": len(metrics["releases"]),
            "total_downloads": total_downloads,
            "latest_release": metrics["releases"][0] if metrics["releases"] else None,
            "prerelease_count": sum(1 for r in metrics["releases"] if r["prerelease"]),
            "draft_count": sum(1 for r in metrics["releases"] if r["draft"]),
        }
        return metrics

    def analyze_release_cadence(self, repo_name: str) -> dict[str, Any]:
        repo = self.github.get_repo(f"{self.org.login}/{repo_name}")
        releases = list(repo.get_releases())
        if len(releases) < 2:
            return {"error": "Insufficient release history"}
        intervals = [
            (releases[i].published_at - releases[i + 1].published_at).days
            for i in range(len(releases) - 1)
        ]
        breakdown = {"major": 0, "minor": 0, "patch": 0}
        for release in releases:
            tag = release.tag_name.lstrip("v")
            if tag.count(".") >= 2:
                major, minor, patch = tag.split(".")[:3]
                if major != "0":  # the original ignores 0.x versions
                    if minor == "0" and patch == "0":
                        breakdown["major"] += 1
                    elif patch == "0":
                        breakdown["minor"] += 1
                    else:
                        breakdown["patch"] += 1
        latest = releases[0].published_at
        return {
            "repository": repo_name, "total_releases": len(releases),
            "average_days_between_releases": round(sum(intervals) / len(intervals), 1),
            "release_breakdown": breakdown,
            "latest_release_age_days": (datetime.now(latest.tzinfo) - latest).days,
        }

    def check_release_quality(self, repo_name: str, tag: str) -> dict[str, Any]:
        repo = self.github.get_repo(f"{self.org.login}/{repo_name}")
        try:
            release = repo.get_release(tag)
        except Exception:  # the original's bare except
            return {"error": f"Release {tag} not found"}
        checks = {
            "has_changelog": "CHANGELOG.md" in release.body or "## " in release.body,
            "has_binaries": any(a.name.endswith((".tar.gz", ".zip", ".exe"))
                                for a in release.get_assets()),
            "has_checksums": any("checksum" in a.name.lower() or "sha256" in a.name.lower()
                                 for a in release.get_assets()),
            "has_signatures": any(a.name.endswith(".sig") or a.name.endswith(".asc")
                                  for a in release.get_assets()),
            "has_sbom": any("sbom" in a.name.lower() or "spdx" in a.name.lower()
                            or "cyclonedx" in a.name.lower() for a in release.get_assets()),
            "asset_count": release.get_assets().totalCount,
            "body_length": len(release.body) if release.body else 0,
        }
        weights = {"has_changelog": 25, "has_binaries": 20, "has_checksums": 20,
                   "has_signatures": 20, "has_sbom": 15}
        score = sum(w for k, w in weights.items() if checks[k])
        return {"tag": tag, "checks": checks, "quality_score": score}

    def generate_dashboard(self, repos: list[str], output_file: Path, result: BaselineResult) -> None:
        dashboard: dict[str, Any] = {"generated_at": datetime.utcnow().isoformat(),
                                     "repositories": {}}
        for repo in repos:
            entry = {
                "metrics": self.collect_release_metrics(repo),
                "cadence": self.analyze_release_cadence(repo),
                "latest_quality": None,
            }
            dashboard["repositories"][repo] = entry
            latest = entry["metrics"]["summary"].get("latest_release")
            if latest:
                entry["latest_quality"] = self.check_release_quality(repo, latest["tag"])
            result.repos_done += 1
        # Written only once everything is collected, as in the original.
        output_file.write_text(json.dumps(dashboard, indent=2))
        result.written.append(str(output_file))


def run_baseline(url: str, token: str, org: str, repos: list[str], output_dir: Path, *,
                 pacing: float = 0.0) -> BaselineResult:
    """Run the original approach over `repos` (names within `org`); crashes are recorded."""
    result = BaselineResult()
    names = [r.partition("/")[2] if "/" in r else r for r in repos]
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        collector = OriginalApproach(token, org, base_url=url, pacing=pacing)
        collector.generate_dashboard(names, output_dir / "release-dashboard.json", result)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = names[result.repos_done] if result.repos_done < len(names) else "(end)"
        result.crashed = (f"{type(exc).__name__}: {exc} (at {org}/{where}, "
                          f"line `{(frame.line or '').strip()}`)")
    return result


def check_faithful(url: str, token: str, org: str, repos: list[str], output_dir: Path,
                   server_log: Any) -> tuple[bool, int, int] | None:
    """Run the original script file itself, then this baseline, on the same repositories.

    `server_log()` returns the server's request log since its last reset as
    (method, route, path, status) tuples. Returns (same sequence?, original's requests,
    baseline's requests), or None when the original file is not available.
    """
    if not ORIGINAL_SCRIPT.exists():
        return None
    spec = importlib.util.spec_from_file_location("original_release_metrics", ORIGINAL_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The only change: where GitHub is, and no client-side pacing (the same for both runs).
    module.Github = lambda tok: Github(base_url=url, auth=Auth.Token(tok), seconds_between_requests=0)
    names = [r.partition("/")[2] for r in repos]
    output_dir.mkdir(parents=True, exist_ok=True)
    start = len(server_log())
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        module.ReleaseMetricsCollector(token, org).generate_dashboard(
            names, str(output_dir / "original-dashboard.json"))
    original = [(m, r, p) for m, r, p, _ in server_log()[start:]]
    middle = len(server_log())
    collector = OriginalApproach(token, org, base_url=url)
    collector.generate_dashboard(names, output_dir / "baseline-dashboard.json", BaselineResult())
    ours = [(m, r, p) for m, r, p, _ in server_log()[middle:]]
    return original == ours, len(original), len(ours)


__all__ = ["BaselineResult", "OriginalApproach", "check_faithful", "run_baseline"]
