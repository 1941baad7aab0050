"""The Bot Connector REST calls the bot makes without being spoken to first: start a conversation in a channel
or with a person, post into it, edit a card in place, look up a member's name.

Replies inside a turn go through botbuilder's TurnContext. These proactive calls are made here, with aiohttp,
because the outbox must tell a failure that will pass (5xx, 429 with Retry-After, a timeout) from one that
needs a person (403: the bot is not in that team), and must never retry behind the outbox's back.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.delivery import RetryLater, Undeliverable

log = logging.getLogger(__name__)
OAUTH_SCOPE = "https://api.botframework.com"


class TokenSource(Protocol):
    """Where the bearer token for the connector comes from (nothing, when running without an app id)."""

    async def token(self) -> str:
        """A current access token, or "" to send no Authorization header."""


class NoToken:
    """No app id: the Bot Framework Emulator and local tests take unauthenticated calls."""

    async def token(self) -> str:
        """No token."""
        return ""


class AppToken:
    """The bot's own token from Microsoft Entra, through botframework-connector's credentials (cached by msal)."""

    def __init__(self, app_id: str, password: str, tenant_id: str = ""):
        from botframework.connector.auth import MicrosoftAppCredentials  # only needed with real credentials

        self._credentials = MicrosoftAppCredentials(app_id, password, tenant_id or None, OAUTH_SCOPE)

    async def token(self) -> str:
        """A token for api.botframework.com (msal blocks while it fetches one, so off the event loop)."""
        return await asyncio.to_thread(self._credentials.get_access_token)


class Connector:
    """Proactive calls to the Bot Connector service at a conversation's service URL."""

    def __init__(self, tokens: TokenSource, timeout: float = 10.0):
        self.tokens = tokens
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def create_conversation(self, service_url: str, *, tenant_id: str, bot_id: str, member_id: str = "",
                                  channel_id: str = "", activity: dict[str, Any] | None = None) -> tuple[str, str]:
        """Start a personal chat with a member, or a new thread in a channel; returns (conversation, activity) ids."""
        body: dict[str, Any] = {"isGroup": bool(channel_id), "bot": {"id": bot_id}, "tenantId": tenant_id,
                                "channelData": {"tenant": {"id": tenant_id}}}
        if channel_id:
            body["channelData"]["channel"] = {"id": channel_id}
        else:
            body["members"] = [{"id": member_id}]
        if activity is not None:
            body["activity"] = activity
        answer = await self._call("POST", service_url, "v3/conversations", body)
        return str(answer.get("id", "")), str(answer.get("activityId", ""))

    async def post(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        """Post an activity into a conversation; returns its id."""
        answer = await self._call("POST", service_url, f"v3/conversations/{_q(conversation_id)}/activities", activity)
        return str(answer.get("id", ""))

    async def reply(self, service_url: str, conversation_id: str, reply_to: str, activity: dict[str, Any]) -> str:
        """Reply to an activity in its conversation (in a channel, in its thread); returns the reply's id."""
        answer = await self._call("POST", service_url,
                                  f"v3/conversations/{_q(conversation_id)}/activities/{_q(reply_to)}", activity)
        return str(answer.get("id", ""))

    async def update(self, service_url: str, conversation_id: str, activity_id: str,
                     activity: dict[str, Any]) -> None:
        """Replace an activity the bot posted earlier (a card edited in place)."""
        await self._call("PUT", service_url, f"v3/conversations/{_q(conversation_id)}/activities/{_q(activity_id)}",
                         {**activity, "id": activity_id})

    async def member_name(self, service_url: str, conversation_id: str, member_id: str) -> str:
        """A member's display name ("" when the connector won't say)."""
        try:
            answer = await self._call("GET", service_url, f"v3/conversations/{_q(conversation_id)}/members/{_q(member_id)}")
        except (RetryLater, Undeliverable):
            return ""
        return str(answer.get("name") or "")

    async def _call(self, method: str, service_url: str, path: str, body: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        token = await self.tokens.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = URL(service_url.rstrip("/") + "/" + path, encoded=True)  # the ids in it are quoted already
        try:
            async with self._http.request(method, url, json=body, headers=headers) as response:
                if response.status == 429:
                    raise RetryLater("rate limited", delay=_seconds(response.headers.get("Retry-After")))
                if response.status >= 500:
                    raise RetryLater(f"teams answered {response.status}")
                if response.status in (401, 403, 404):
                    # 403: the bot is not in that team or chat; 404: no such conversation; 401: credentials
                    # refused. None of these passes by itself.
                    raise Undeliverable(f"teams answered {response.status}")
                if response.status >= 400:
                    raise Undeliverable(f"teams refused the message ({response.status})")
                raw = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as failure:
            raise RetryLater(f"could not reach teams: {type(failure).__name__}") from failure
        return _json_object(raw, method)


def _json_object(raw: bytes, method: str) -> dict[str, Any]:
    """The connector's answer; a 2xx without readable JSON still means it went (sending again would duplicate)."""
    if not raw.strip():
        return {}
    try:
        answer = json.loads(raw)
    except ValueError:
        log.warning("teams answered %s without readable JSON", method)
        return {}
    return answer if isinstance(answer, dict) else {}


def _q(part: str) -> str:
    """An id quoted for a URL path, as the Bot Framework SDKs do (Teams ids hold ':', ';' and '@')."""
    return quote(part, safe="")


def _seconds(header: str | None) -> float | None:
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None
