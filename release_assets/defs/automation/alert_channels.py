"""Where alerts go, from the environment's `Settings` at each tick (secrets never leave this module).

- `RELEASE_ASSETS_ALERT_WEBHOOK`: a URL that receives each alert as a JSON POST.
- `SLACK_BOT_TOKEN` + `RELEASE_ASSETS_SLACK_CHANNEL`: a Slack message through dagster-slack.
  `RELEASE_ASSETS_SLACK_API_URL` points the Slack client at a Slack-compatible gateway.
- `DAGSTER_WEBSERVER_URL`: the UI the alert links point to.
"""

import os
from typing import Any

from dagster_slack import SlackResource

from release_assets.lib.automation.alerts import Links, render_text
from release_assets.lib.automation.delivery import DeliveryError, Sender, post_webhook
from release_assets.lib.settings import Settings


def links() -> Links:
    return Links(Settings.from_environ(os.environ).webserver_url)


def configured_senders() -> dict[str, Sender]:
    # Read at each tick, so a rotated webhook or Slack token needs no restart.
    settings = Settings.from_environ(os.environ)
    senders: dict[str, Sender] = {}
    if settings.alert_webhook:
        url = settings.alert_webhook.get_secret_value()
        senders["webhook"] = lambda payload: post_webhook(url, payload)
    if settings.slack_bot_token and settings.slack_channel:
        token = settings.slack_bot_token.get_secret_value()
        senders["slack"] = _slack_sender(token, settings.slack_channel, settings.slack_api_url)
    return senders


def _slack_sender(token: str, channel: str, api_url: str | None) -> Sender:
    client = SlackResource(token=token).get_client()
    client.timeout = 10
    if api_url:
        client.base_url = api_url.rstrip("/") + "/"

    def send(payload: dict[str, Any]) -> None:
        try:
            client.chat_postMessage(channel=channel, text=render_text(payload))
        except Exception as exc:  # slack_sdk raises its own and urllib errors; none may escape
            # The type and Slack's error code only: exception text can echo request details.
            code = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error")
            raise DeliveryError(f"Slack: {type(exc).__name__}" + (f" ({code})" if code else "")) from None

    return send
