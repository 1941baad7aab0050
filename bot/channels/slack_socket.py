"""Slack over Socket Mode, for a school without a public URL: the bot opens a websocket to Slack, and Bolt receives
events, button presses, forms and slash commands over it instead of on POST /slack/events. The same Bolt app and
listeners serve both; only the transport differs, so Socket Mode needs no signing secret (nothing arrives
unasked). The websocket's address comes from apps.connections.open, a Web API call made with the app-level
token through the Bolt app's client, so SLACK_API_URL applies to it as to every other call.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from aiohttp import ClientError, web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.channels.backlog import Backlog
from bot.channels.slack import turn_key

log = logging.getLogger(__name__)
APP_TOKEN_PREFIX = "xapp-"
KEPT = ("events_api", "interactive", "slash_commands")  # the envelopes that may carry a turn (see turn_key)
# apps.connections.open errors that waiting cannot cure: stop with the reason instead of retrying for ever.
REFUSED = {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "token_expired",
           "account_inactive", "missing_scope", "invalid_token"}
Keep = Callable[[str, str], Awaitable[None]]  # keeps an event (its once-only key, its JSON) until it is answered


class SocketModeRefused(RuntimeError):
    """Slack will not open a Socket Mode connection with this app-level token."""


def problem(env: Mapping[str, str]) -> str:
    """What stops Socket Mode from starting with these settings, in words; "" when nothing does."""
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if not app_token:
        return ("--socket needs SLACK_APP_TOKEN: an app-level token (xapp-...) with the connections:write scope, "
                "made in the app's settings under Basic Information > App-Level Tokens.")
    if not app_token.startswith(APP_TOKEN_PREFIX):
        return ("SLACK_APP_TOKEN should be the app-level token, which starts with xapp- (the xoxb- token is "
                "SLACK_BOT_TOKEN).")
    if not env.get("SLACK_BOT_TOKEN", "").strip():
        return "--socket needs SLACK_BOT_TOKEN too: the Bot User OAuth Token (xoxb-...) the bot answers with."
    return ""


class _BoundedHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, taking an envelope only when the backlog has room for it (as POST /slack/events
    does): one left unacknowledged is delivered again by Slack later, rather than queued in memory here. A message
    to answer is kept (`keep`) before it is acknowledged, as on POST /slack/events (see slack_inbox.py)."""

    def __init__(self, bolt: AsyncApp, app_token: str, backlog: Backlog, keep: Keep | None = None, **options: Any):
        super().__init__(bolt, app_token, **options)
        self.backlog = backlog
        self.keep = keep

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Handle the envelope, if there is room for it within Backlog.wait seconds."""
        if not await self.backlog.admit():
            log.warning("slack socket mode envelope left for slack to send again: %d events in progress",
                        self.backlog.busy)
            return
        if self.keep is not None and req.type in KEPT and isinstance(req.payload, dict):
            key = turn_key(req.payload)
            if key:
                await self.keep(key, json.dumps(req.payload))
        await super().handle(client, req)


def connection(bolt: AsyncApp, app_token: str, *, ping_interval: float = 10.0, backlog: Backlog | None = None,
               keep: Keep | None = None) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context that keeps the Socket Mode connection open while the server runs."""
    async def socket_mode(_: web.Application) -> AsyncIterator[None]:
        # Made inside the running loop: the SDK's client starts its message-processing task when it is created.
        handler = _BoundedHandler(bolt, app_token, backlog or Backlog(), keep, ping_interval=ping_interval)
        try:
            handler.client.wss_uri = await _first_address(handler)
        except BaseException:
            await handler.close_async()
            raise
        # Connected in the background, so /healthz and Teams answer meanwhile; the SDK retries a failed connection
        # and reconnects when Slack asks it to (Slack recycles each socket every few hours).
        connecting = asyncio.create_task(handler.connect_async())
        log.info("slack socket mode connecting")
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await handler.close_async()
    return socket_mode


async def _first_address(handler: AsyncSocketModeHandler) -> str | None:
    """The first websocket address, asked for here so that a refused token stops the start with its reason (the
    SDK would retry it for ever); None after a passing failure, which the SDK's own retries deal with."""
    try:
        return await handler.client.issue_new_wss_url()
    except SlackApiError as failure:
        error = str(failure.response.get("error", "")) if isinstance(failure.response.data, dict) else ""
        if error in REFUSED:
            raise SocketModeRefused(f"Slack refused SLACK_APP_TOKEN ({error}). Use the app-level token (xapp-...) "
                                    "with the connections:write scope, and turn Socket Mode on in the app's "
                                    "settings.") from None
        log.warning("slack socket mode: no address yet (%s); retrying", error or failure.response.status_code)
    except (ClientError, asyncio.TimeoutError, OSError) as failure:
        log.warning("slack socket mode: could not reach slack (%s); retrying", type(failure).__name__)
    return None
