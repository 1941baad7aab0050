"""Delivering outbox messages to Slack: alerts into a lead's channel (edited in place as status changes), direct
messages to reporters and leads, and answers Slack would not take when they were first posted.

Every post carries the outbox key in Slack's message metadata. When a post may have reached Slack without the bot
hearing back (the process was killed, or the answer timed out), the retry first reads the channel's history since
that first attempt and, if the post is there, takes it instead of posting again: so each message is posted once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import slack_blocks as blocks
from bot.delivery import RetryLater, Undeliverable
from bot.store.models import OutboxMessage
from dialogs.replies import from_data

log = logging.getLogger(__name__)
PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth",
             "not_authed", "user_not_found", "cannot_dm_bot", "missing_scope"}
METADATA_TYPE = "policy_bot_outbox"  # the metadata event type our posts carry (payload: the outbox key)
HISTORY_PAGE = 200  # messages per conversations.history call (Slack's advised maximum)
HISTORY_PAGES = 3  # at most this many calls per check, so a check stays well inside the worker's lease
CLOCK_MARGIN = timedelta(minutes=2)  # read history from a little before the first attempt: clocks differ


def outbox_client(token: str, api_url: str, timeout: float) -> AsyncWebClient:
    """The Web API client for outbox delivery. The SDK's own retry on a dropped connection is turned off: a post
    whose connection dropped may well have arrived, and only the outbox (which checks first) may send it again."""
    return AsyncWebClient(token=token, base_url=api_url, timeout=timeout, retry_handlers=[])


class SlackSender:
    """Sends outbox messages with the Web API."""

    def __init__(self, client: AsyncWebClient):
        self.client = client

    async def send(self, message: OutboxMessage, earlier_ref: str) -> str:
        """Post the message (or edit the earlier one) and return "channel:ts"."""
        rendered, text = _render(message.message)
        with failures():
            if earlier_ref:  # an edit: doing it twice leaves the same message, so it needs no check
                channel, _, ts = earlier_ref.partition(":")
                await self.client.chat_update(channel=channel, ts=ts, blocks=rendered, text=text)
                return earlier_ref
            channel = await self._channel(message)
            thread = {"thread_ts": message.message["thread_ts"]} if message.message.get("thread_ts") else {}
            posted = await self.client.chat_postMessage(channel=channel, blocks=rendered, text=text,
                                                        metadata=metadata(message.key), **thread)
            return f"{posted['channel']}:{posted['ts']}"

    async def landed(self, message: OutboxMessage, since: datetime) -> str:
        """The "channel:ts" of an earlier post of this message that reached Slack, or "" if none did.

        Reads the target's history from just before the first attempt (newest first, a few pages at most) and
        looks for a message carrying this outbox key in its metadata. Without the history scopes (an app
        installed before they were added) Slack cannot be asked, so "" is returned and the message is posted
        again: once at least, rather than perhaps never.
        """
        with failures(unreadable_ok=True):
            channel = await self._channel(message)
            oldest = f"{(since - CLOCK_MARGIN).timestamp():.6f}"
            cursor = ""
            for _ in range(HISTORY_PAGES):
                page = await self.client.conversations_history(channel=channel, oldest=oldest, limit=HISTORY_PAGE,
                                                               include_all_metadata=True,
                                                               **({"cursor": cursor} if cursor else {}))
                for posted in page.get("messages") or []:
                    if carries(posted, message.key):
                        return f"{channel}:{posted['ts']}"
                cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
                if not page.get("has_more") or not cursor:
                    return ""
            log.warning("outbox %s: not found in the last %d messages of its channel; posting it again",
                        message.id, HISTORY_PAGE * HISTORY_PAGES)
        return ""

    async def _channel(self, message: OutboxMessage) -> str:
        """Where the message goes: the lead's channel, or the person's direct message with the bot (opening a
        DM is idempotent: the same person always gets the same D… id)."""
        if message.target_kind != "user":
            return message.target
        return (await self.client.conversations_open(users=message.target))["channel"]["id"]


def metadata(key: str) -> dict[str, Any]:
    """The metadata a post carries so that it can be recognised later: our event type and the outbox key."""
    return {"event_type": METADATA_TYPE, "event_payload": {"key": key}}


def carries(posted: dict[str, Any], key: str) -> bool:
    """Whether a message from conversations.history is the post of this outbox key."""
    found = posted.get("metadata") or {}
    return found.get("event_type") == METADATA_TYPE and (found.get("event_payload") or {}).get("key") == key


@contextlib.contextmanager
def failures(*, unreadable_ok: bool = False) -> Iterator[None]:
    """Turn Slack's failures into the outbox's terms: RetryLater for what may pass (5xx, 429, timeouts, a dropped
    connection), Undeliverable for what needs a person (the bot is not in the channel). With `unreadable_ok`, a
    missing scope ends the block quietly (the caller then returns its default)."""
    try:
        yield
    except SlackApiError as failure:
        status = failure.response.status_code
        error = str(failure.response.get("error", "")) if isinstance(failure.response.data, dict) else ""
        if status == 429:
            raise RetryLater("rate limited", delay=float(failure.response.headers.get("Retry-After", 30))) \
                from failure
        if unreadable_ok and error == "missing_scope":
            log.warning("slack: the history of an outbox message's channel cannot be read (the app lacks "
                        "channels:history or groups:history: reinstall it from manifest/slack.yaml); it is "
                        "posted again, which may repeat it")
            return
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
    if kind == "reply":  # an answer kept to send later (bot/late_replies.py)
        rendered, text = blocks.render(from_data(message.get("replies") or []))
        return rendered, text or "Policy assistant"
    return blocks.reporter_update(message)
