"""The webserver's GraphQL API, as the UI and operators' scripts use it (plain HTTP POST)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LOCATION = "release_assets"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the implicit repository of a `Definitions` object
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


class GraphQLError(AssertionError):
    pass


@dataclass
class DagsterGraphQL:
    url: str  # the webserver's base URL

    def __call__(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": document, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise GraphQLError(f"HTTP {exc.code}: {exc.read()[:2000]!r}") from exc
        if payload.get("errors"):
            raise GraphQLError(json.dumps(payload["errors"], indent=2)[:4000])
        return payload["data"]

    # -- workspace ---------------------------------------------------------------------------
    def location_status(self) -> tuple[str, str | None]:
        """(load status, error message) of the release_assets code location."""
        data = self("""
            query { workspaceOrError { __typename ... on Workspace { locationEntries {
                name loadStatus
                locationOrLoadError { __typename ... on PythonError { message } }
            } } } }""")
        for entry in data["workspaceOrError"].get("locationEntries", []):
            if entry["name"] == LOCATION:
                error = entry["locationOrLoadError"] or {}
                return entry["loadStatus"], error.get("message")
        return "MISSING", None

    def location_loaded(self) -> bool:
        status, error = self.location_status()
        if error:
            raise GraphQLError(f"code location failed to load: {error}")
        return status == "LOADED"

    def daemons_healthy(self) -> list[str]:
        """The required daemons, if every one of them has a fresh heartbeat; else []."""
        data = self("""query { instance { daemonHealth { allDaemonStatuses {
            daemonType required healthy } } } }""")
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        required = [s for s in statuses if s["required"]]
        return [s["daemonType"] for s in required] if all(s["healthy"] for s in required) else []

    # -- assets --------------------------------------------------------------------------------
    def asset_nodes(self) -> list[dict[str, Any]]:
        data = self("""query { assetNodes { assetKey { path } groupName jobNames
            assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } }""")
        return data["assetNodes"]

    def job_has_assets(self, job: str) -> bool:
        return any(job in node["jobNames"] for node in self.asset_nodes())

    def partition_keys(self, asset: str) -> list[str]:
        data = self(
            """query Keys($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { __typename
                ... on AssetNode { partitionKeys } } }""",
            {"key": {"path": [asset]}},
        )
        return data["assetNodeOrError"]["partitionKeys"]

    # -- runs --------------------------------------------------------------------------------
    def launch_run(
        self, job: str, *, tags: Mapping[str, str] | None = None,
        run_config: Mapping[str, Any] | None = None,
    ) -> str:
        data = self(
            """mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
                __typename
                ... on LaunchRunSuccess { run { runId status } }
                ... on PythonError { message stack }
                ... on InvalidSubsetError { message }
                ... on RunConfigValidationInvalid { errors { message } }
                ... on Error { message }
            } }""",
            {"params": {
                "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                             "jobName": job},
                "runConfigData": dict(run_config or {}),
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
            }},
        )
        result = data["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(f"launchRun({job}) -> {json.dumps(result, indent=2)[:4000]}")
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict[str, Any]:
        data = self(
            """query Run($id: ID!) { runOrError(runId: $id) { __typename
                ... on Run { runId jobName status tags { key value } } } }""",
            {"id": run_id},
        )
        return data["runOrError"]

    def run_failure_messages(self, run_id: str) -> list[str]:
        """What went wrong in a run, from its event log (for assertion messages)."""
        data = self(
            """query Logs($id: ID!) { logsForRun(runId: $id) { __typename
                ... on EventConnection { events { __typename
                    ... on MessageEvent { message level }
                    ... on ExecutionStepFailureEvent { error { message } }
                    ... on RunFailureEvent { error { message } }
                    ... on EngineEvent { error { message stack } }
                } } } }""",
            {"id": run_id},
        )
        events = data["logsForRun"].get("events", [])
        out = []
        for event in events:
            error = event.get("error") or {}
            if error.get("message") or event.get("level") in ("ERROR", "CRITICAL"):
                cause = error.get("message") or event.get("message")
                # An engine error (a run worker that could not load the code) carries its cause
                # in the stack: the last frames say which module failed.
                stack = "".join(error.get("stack") or [])[-1500:]
                out.append(f"{event['__typename']}: {event.get('message')}: {cause}{stack}")
        return out

    def run_worker_pid(self, run_id: str) -> int | None:
        """The run worker's process id, from the code server's "Started process for run" event."""
        data = self(
            """query Logs($id: ID!) { logsForRun(runId: $id) { __typename
                ... on EventConnection { events { ... on MessageEvent { message } } } } }""",
            {"id": run_id},
        )
        for event in data["logsForRun"].get("events", []):
            match = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
            if match:
                return int(match.group(1))
        return None

    def claimed_pool_slots(self, pool: str = "duckdb") -> list[dict[str, str]]:
        """The slots of a concurrency pool held right now: [{runId, stepKey}]."""
        data = self(
            """query Slots($key: String!) { instance { concurrencyLimit(concurrencyKey: $key) {
                claimedSlots { runId stepKey } } } }""",
            {"key": pool},
        )
        return data["instance"]["concurrencyLimit"]["claimedSlots"]

    def wait_for_run(
        self, run_id: str, *, timeout: float, on_wait: Callable[[], None] | None = None
    ) -> str:
        """Poll until the run finishes; its final status."""
        deadline = time.monotonic() + timeout
        status = "?"
        while time.monotonic() < deadline:
            status = self.run(run_id)["status"]
            if status in FINISHED:
                return status
            if on_wait is not None:
                on_wait()
            time.sleep(0.5)
        raise GraphQLError(f"run {run_id} still {status} after {timeout:.0f} s")

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        data = self(
            """query Runs($limit: Int) { runsOrError(limit: $limit) { __typename
                ... on Runs { results { runId jobName status tags { key value } } } } }""",
            {"limit": limit},
        )
        return data["runsOrError"]["results"]

    # -- automation state ----------------------------------------------------------------------
    def schedule_state(self, name: str) -> dict[str, Any]:
        data = self(
            """query Schedule($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
                __typename ... on Schedule { name scheduleState { id status } } } }""",
            {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                          "scheduleName": name}},
        )
        return data["scheduleOrError"]

    def sensor_state(self, name: str, ticks: int = 20) -> dict[str, Any]:
        data = self(
            """query Sensor($selector: SensorSelector!, $ticks: Int) { sensorOrError(sensorSelector: $selector) {
                __typename ... on Sensor { name sensorState { id status
                    typeSpecificData { ... on SensorData { lastCursor } }
                    ticks(limit: $ticks) { tickId status timestamp } } } } }""",
            {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                          "sensorName": name}, "ticks": ticks},
        )
        return data["sensorOrError"]

    def start_schedule(self, name: str) -> str:
        data = self(
            """mutation Start($selector: ScheduleSelector!) { startSchedule(scheduleSelector: $selector) {
                __typename ... on ScheduleStateResult { scheduleState { status } }
                ... on PythonError { message } } }""",
            {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                          "scheduleName": name}},
        )
        result = data["startSchedule"]
        if result["__typename"] != "ScheduleStateResult":
            raise GraphQLError(f"startSchedule({name}) -> {result}")
        return result["scheduleState"]["status"]

    def start_sensor(self, name: str) -> str:
        data = self(
            """mutation Start($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
                __typename ... on Sensor { sensorState { status } } ... on PythonError { message } } }""",
            {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                          "sensorName": name}},
        )
        result = data["startSensor"]
        if result["__typename"] != "Sensor":
            raise GraphQLError(f"startSensor({name}) -> {result}")
        return result["sensorState"]["status"]

    def pool_settings(self) -> dict[str, Any]:
        data = self("""query { instance {
            runQueuingSupported
            runQueueConfig { maxConcurrentRuns }
            poolConfig { poolGranularity defaultPoolLimit }
            concurrencyLimit(concurrencyKey: "duckdb") { concurrencyKey limit slotCount usingDefaultLimit }
        } }""")
        return data["instance"]
