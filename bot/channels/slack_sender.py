"""Delivering outbox messages to Slack: alerts into a lead's channel (edited in place as status changes), and
direct messages to reporters and leads."""
from __future__ import annotations

import asyncio

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import slack_blocks as blocks
from bot.delivery import RetryLater, Undeliverable
from bot.store.models import OutboxMessage

PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth",
             "not_authed", "user_not_found", "cannot_dm_bot", "missing_scope"}


class SlackSender:
    """Sends outbox messages with the Web API."""

    def __init__(self, client: AsyncWebClient):
        self.client = client

    async def send(self, message: OutboxMessage, earlier_ref: str) -> str:
        """Post the message (or edit the earlier one) and return "channel:ts"."""
        rendered, text = _render(message.message)
        try:
            if earlier_ref:
                channel, _, ts = earlier_ref.partition(":")
                await self.client.chat_update(channel=channel, ts=ts, blocks=rendered, text=text)
                return earlier_ref
            channel = message.target
            if message.target_kind == "user":
                channel = (await self.client.conversations_open(users=message.target))["channel"]["id"]
            posted = await self.client.chat_postMessage(channel=channel, blocks=rendered, text=text)
            return f"{posted['channel']}:{posted['ts']}"
        except SlackApiError as failure:
            status = failure.response.status_code
            error = str(failure.response.get("error", "")) if isinstance(failure.response.data, dict) else ""
            if status == 429:
                raise RetryLater("rate limited", delay=float(failure.response.headers.get("Retry-After", 30))) \
                    from failure
            if error in PERMANENT:
                raise Undeliverable(error) from failure
            raise RetryLater(f"slack answered {status} {error}".strip()) from failure
        except (ClientError, asyncio.TimeoutError, OSError) as failure:
            raise RetryLater(f"could not reach slack: {type(failure).__name__}") from failure


def _render(message: dict) -> tuple[list[dict], str]:
    kind = message.get("type")
    if kind == "alert":
        return blocks.alert(message)
    if kind == "question":
        return blocks.question_for_lead(message)
    return blocks.reporter_update(message)
