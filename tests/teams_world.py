"""The Teams test world: the bot's server on a free port, a fake Bot Connector that records what the bot sends,
and helpers that POST activities shaped as the Teams service sends them (personal chat, a channel @mention, an
Adaptive Card button press with its inputs). Import the `teams` fixture from here."""
from __future__ import annotations

import json
import time
from itertools import count
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.teams import TeamsSettings
from bot.conversation import Conversation
from bot.school import Presence, SchoolConfig
from bot.server import make_server
from tests.fake_connector import FakeConnector, Sent, start_fake_connector, submits

TENANT = "tenant-1"
BOT = "28:policy-bot"
SAFEGUARDING = "19:safeguarding@thread.tacv2"
HEADS = "19:heads@thread.tacv2"
STAFFROOM = "19:staffroom@thread.tacv2"
ACTIVITY_IDS = count(1)


def teams_config(core: Conversation) -> SchoolConfig:
    """The embedded configuration with the DSL and the Headteacher on Teams (by their Entra object ids)."""
    leads = dict(core.config.leads)
    leads["dsl"] = leads["dsl"].model_copy(update={"teams": Presence(users=("aad-DSL",), channel=SAFEGUARDING)})
    leads["headteacher"] = leads["headteacher"].model_copy(update={"teams": Presence(users=("aad-HEAD",),
                                                                                     channel=HEADS)})
    return core.config.model_copy(update={"leads": leads})


def personal(user: str) -> str:
    """The id of a user's personal chat with the bot."""
    return f"a:personal-{user}"


class TeamsWorld:
    """The bot's server and the fake connector, and helpers to send what Teams would send."""

    def __init__(self, url: str, fake: FakeConnector, core: Conversation):
        self.url, self.fake, self.core = url, fake, core
        self.http = aiohttp.ClientSession()

    def activity(self, user: str, *, text: str | None = None, value: dict | None = None,
                 conversation: str | None = None, channel: str = "", reply_to: str = "") -> dict[str, Any]:
        """A message activity from a user, in their personal chat or (with `channel`) in a team channel."""
        activity: dict[str, Any] = {
            "type": "message", "id": f"{int(time.time() * 1000)}{next(ACTIVITY_IDS):04d}", "channelId": "msteams",
            "timestamp": "2026-11-20T10:00:00.000Z", "serviceUrl": self.fake.url, "locale": "en-GB",
            "from": {"id": f"29:{user}", "name": user.title(), "aadObjectId": f"aad-{user}"},
            "recipient": {"id": BOT, "name": "Policy assistant"},
            "conversation": {"conversationType": "channel" if channel else "personal", "tenantId": TENANT,
                             "id": conversation or (channel if channel else personal(user)),
                             **({"isGroup": True} if channel else {})},
            "channelData": {"tenant": {"id": TENANT},
                            **({"channel": {"id": channel}, "team": {"id": "19:team@thread.tacv2"}} if channel
                               else {})},
        }
        if text is not None:
            activity["text"] = text
            activity["textFormat"] = "plain"
        if value is not None:
            activity["value"] = value
        if reply_to:
            activity["replyToId"] = reply_to
        return activity

    async def send(self, activity: dict, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        """POST an activity to /api/messages."""
        response = await self.http.post(f"{self.url}/api/messages", data=json.dumps(activity), headers={
            "Content-Type": "application/json", **(headers or {})})
        await response.read()
        return response

    async def say(self, user: str, text: str) -> aiohttp.ClientResponse:
        """The user types in their personal chat with the bot."""
        return await self.send(self.activity(user, text=text))

    async def mention(self, user: str, text: str, channel: str = STAFFROOM) -> aiohttp.ClientResponse:
        """The user @mentions the bot in a team channel."""
        activity = self.activity(user, text=f"<at>Policy assistant</at> {text}", channel=channel,
                                 conversation=f"{channel};messageid=500")
        activity["entities"] = [{"type": "mention", "text": "<at>Policy assistant</at>",
                                 "mentioned": {"id": BOT, "name": "Policy assistant"}}]
        return await self.send(activity)

    async def press(self, user: str, title: str, *, conversation: str | None = None, channel: str = "",
                    **inputs: str) -> aiohttp.ClientResponse:
        """Press a card button by its title on the last card sent into a conversation, with any inputs filled."""
        where = conversation or personal(user)
        sent, action = self.button(title, where)
        return await self.send(self.activity(user, value={**action["data"], **inputs}, conversation=where,
                                             channel=channel, reply_to=sent.activity_id))

    def cards(self, conversation: str) -> list[Sent]:
        """Everything with a card sent into a conversation, oldest first."""
        return [c for c in self.fake.to(conversation) if c.card]

    def said_to(self, conversation: str) -> str:
        """Everything sent into a conversation so far, as one string."""
        return json.dumps([c.text for c in self.fake.to(conversation)])

    def button(self, title: str, conversation: str) -> tuple[Sent, dict]:
        """The newest card in the conversation with an Action.Submit of this title (inside a ShowCard too)."""
        for sent in reversed(self.cards(conversation)):
            for action in submits(sent.card):
                if action.get("title") == title:
                    return sent, action
        raise AssertionError(f"no button {title!r} in {conversation}; sent: {self.said_to(conversation)[:2000]}")


async def start_world(core: Conversation, settings: TeamsSettings | None = None, **server: Any
                      ) -> tuple[TeamsWorld, list[web.AppRunner]]:
    """The server (Teams on, Slack off) and the fake connector, both on free loopback ports."""
    fake, fake_runner = await start_fake_connector()
    app = make_server(core, None, settings or TeamsSettings(), delivery_interval=0.05, **server)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    return TeamsWorld(f"http://127.0.0.1:{port}", fake, core), [runner, fake_runner]


@pytest.fixture
async def teams(core, db):
    core = Conversation(kb=core.kb, db=db, config=teams_config(core), clock=core.clock)
    world, runners = await start_world(core, teams_timeout=1.0)
    yield world
    await world.http.close()
    for runner in runners:
        await runner.cleanup()
