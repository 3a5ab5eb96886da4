"""A GitHub client for sensors: same endpoint and token as the runs, but impatient.

A sensor tick has ~60 s, so it never sleeps out a rate limit (the runs may wait up to 15
minutes): it gives up quickly and the next tick tries again.
"""

import hashlib

from release_assets.defs.resources import GitHubResource
from release_assets.lib.github_client import GitHubClient


def sensor_client(github: GitHubResource) -> GitHubClient:
    return GitHubClient(
        api_url=github.api_url,
        token=github.token or None,
        max_retries=2,
        backoff_seconds=0.5,
        max_rate_limit_wait=5,
        timeout=10,
    )


def short_digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]
