"""Alert decisions and the delivery queue, without Dagster."""

from __future__ import annotations

from release_assets.lib.automation.alerts import CheckOutcome, Links, evaluate
from release_assets.lib.automation.delivery import DeliveryError, deliver, enqueue, post_webhook
from release_assets_tests.automation.receiver import Receiver, closed_port_url


def _outcome(passed: bool, failing: list[str], t: float = 1.0) -> CheckOutcome:
    return CheckOutcome("release_quality", "gate", "acme/tool", passed, "ERROR", True, "r1", None,
                        {"failing_releases": failing, "rows": t}, t)


def test_same_failure_once_new_failure_again_recovery_once():
    failing: dict[str, str] = {}
    links = Links("http://ui")
    assert evaluate(failing, _outcome(False, ["v1"]), links)["event"] == "asset_check_failed"
    assert evaluate(failing, _outcome(False, ["v1"], t=2.0), links) is None  # row counts differ: same failure
    assert evaluate(failing, _outcome(False, ["v1", "v2"]), links)["failing_releases"] == ["v1", "v2"]
    assert evaluate(failing, _outcome(True, []), links)["event"] == "asset_check_recovered"
    assert evaluate(failing, _outcome(True, []), links) is None
    assert failing == {}


def test_webhook_retries_then_raises_a_safe_error():
    url = closed_port_url() + "/token-in-path"
    try:
        post_webhook(url, {"event": "x"}, attempts=2, backoff=0.01)
    except DeliveryError as exc:
        assert "token-in-path" not in str(exc) and "ConnectionError" in str(exc)
    else:
        raise AssertionError("an unreachable webhook must raise")


def test_queue_backs_off_and_delivers_later():
    messages: list[str] = []
    queue: list[dict] = []
    enqueue(queue, {"dedupe_key": "k1", "event": "x"}, ["webhook"], now=0)
    enqueue(queue, {"dedupe_key": "k1", "event": "x"}, ["webhook"], now=0)  # deduped
    url = closed_port_url()
    queue, delivered = deliver(queue, {"webhook": lambda p: post_webhook(url, p, attempts=1)}, now=0, log=messages.append)
    assert delivered == [] and queue[0]["attempts"] == 1 and queue[0]["next_at"] == 15.0
    assert messages and url not in messages[0]
    with Receiver() as receiver:
        queue, delivered = deliver(queue, {"webhook": lambda p: post_webhook(receiver.url, p)}, now=5, log=messages.append)
        assert delivered == [] and receiver.received == []  # not due yet
        queue, delivered = deliver(queue, {"webhook": lambda p: post_webhook(receiver.url, p)}, now=20, log=messages.append)
        assert delivered == ["k1"] and queue == [] and receiver.received == [{"dedupe_key": "k1", "event": "x"}]
