"""A repository's latest release, defined once for cadence, quality, the gates and the dashboard."""

from __future__ import annotations

import pandas as pd


def latest_per_repo(releases: pd.DataFrame) -> pd.DataFrame:
    """Each repository's latest release: its first published release (not a draft) in GitHub's
    list order, which is newest first. Pre-releases count, as in the original script.

    `releases` has the columns repo, draft, published_at and list_position, and no deleted
    releases. One row per repository that has a published release, sorted by repository.
    """
    published = releases[~releases["draft"].astype(bool) & releases["published_at"].notna()]
    return (
        published.sort_values(["repo", "list_position"], kind="stable")
        .groupby("repo", sort=True)
        .head(1)
    )
