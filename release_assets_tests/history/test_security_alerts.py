"""A rollback seen by release_events reaches a real webhook receiver once, as a security event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from release_assets.defs.automation.alert_sensor import check_alert_sensor
from release_assets.defs.history.assets import release_events
from release_assets.lib.github_client import GitHubClient
from release_assets.lib.ingest import refresh_repositories
from release_assets_tests.automation.receiver import Receiver
from release_assets_tests.github_server import World


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as receiver:
        monkeypatch.setenv("RELEASE_ASSETS_ALERT_WEBHOOK", receiver.url + "/hook")
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        yield receiver


def test_a_rollback_is_alerted_once(
    world: World, client: GitHubClient, db_path: Path, receiver: Receiver,
) -> None:
    world.add_repo("acme/tool")
    for n in range(2):
        world.add_release("acme/tool", {"tag_name": f"v1.{n}.0",
                                        "published_at": f"2026-01-0{n + 1}T00:00:00Z"})
    newest = world.releases("acme/tool")[0]

    duckdb = DuckDBResource(database=str(db_path))
    defs = dg.Definitions(assets=[release_events], resources={"duckdb": duckdb})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("repositories", ["acme/tool"])

        def refresh() -> None:
            refresh_repositories(client, db_path, ["acme/tool"])
            dg.materialize([release_events], partition_key="acme/tool", instance=instance,
                           resources={"duckdb": duckdb})

        def tick(cursor: str | None) -> str | None:
            context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
            result = check_alert_sensor(context)
            return result.cursor

        refresh()  # the baseline
        cursor = tick(None)
        world.delete_release("acme/tool", newest["id"])
        refresh()
        cursor = tick(cursor)
        alerts = [p for p in receiver.received if p.get("event") == "security_event"]
        assert [(a["kind"], a["repository"], a["tag"]) for a in alerts] == [
            ("rollback", "acme/tool", "v1.1.0")]
        assert alerts[0]["detail"] == {"reason": "deleted", "newest_release_now": "v1.0.0"}
        refresh()  # nothing new happened
        tick(tick(cursor))
        assert len([p for p in receiver.received if p.get("event") == "security_event"]) == 1
