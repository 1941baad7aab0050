"""The Slack test world shared by the Slack test modules: the bot's server on a free port, the fake Web API it
talks to, and helpers that send what Slack would send (signed events, button presses, user picks, form
submissions). Import the `world` fixture from here."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from itertools import count
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from bot.conversation import Conversation
from bot.escalation import Person
from bot.school import Presence, SchoolConfig
from bot.server import SlackSettings, make_server
from tests.fake_slack import start_fake_slack
from tests.talk import Staff

SECRET = "test-signing-secret"
TEAM = "T1"
EVENT_IDS = count(1)
TRIGGERS = count(1)


def slack_config(core: Conversation) -> SchoolConfig:
    """The embedded configuration with the DSL and the Headteacher on Slack."""
    leads = dict(core.config.leads)
    leads["dsl"] = leads["dsl"].model_copy(update={"slack": Presence(users=("UDSL",), channel="CSAFE")})
    leads["headteacher"] = leads["headteacher"].model_copy(update={"slack": Presence(users=("UHEAD",),
                                                                                     channel="CHEAD")})
    return core.config.model_copy(update={"leads": leads})


@dataclass
class SlackStaff(Staff):
    """A member of staff in the test workspace, talking to the core directly: quicker than a dozen DMs when a
    test only needs a report to exist (the Slack adapter builds exactly this Person for a DM)."""

    platform: str = "slack"

    @property
    def person(self) -> Person:
        return Person("slack", TEAM, self.user)


def event_envelope(event: dict, event_id: str | None = None) -> dict:
    """An Events API `event_callback` body around one event."""
    return {"type": "event_callback", "team_id": TEAM, "api_app_id": "A1", "event": event,
            "event_id": event_id or f"Ev{next(EVENT_IDS):06d}", "event_time": int(time.time())}


class SlackWorld:
    """The bot's server and the fake Slack, and helpers to send what Slack would send."""

    def __init__(self, url: str, fake, core: Conversation):
        self.url, self.fake, self.core = url, fake, core
        self.http = aiohttp.ClientSession()

    async def post(self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET,
                   headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        response = await self.http.post(f"{self.url}/slack/events", data=body.encode(), headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature,
            **(headers or {})})
        await response.read()
        return response

    async def event(self, event: dict, event_id: str | None = None, **kw) -> aiohttp.ClientResponse:
        return await self.post(json.dumps(event_envelope(event, event_id)), "application/json", **kw)

    async def dm(self, user: str, text: str, **kw) -> aiohttp.ClientResponse:
        return await self.event({"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                                 "text": text, "ts": f"{time.time():.6f}"}, **kw)

    async def interact(self, payload: dict) -> aiohttp.ClientResponse:
        payload = {"team": {"id": TEAM}, "api_app_id": "A1", "token": "x", **payload}
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def press(self, user: str, label: str, channel: str | None = None,
                    trigger_id: str | None = None) -> aiohttp.ClientResponse:
        """Press a button by its label on the last message the bot posted to this user (each press has its own
        trigger_id, as in Slack; give the same one to send a press again)."""
        button = self.button(label, channel or f"D{user}")
        return await self.interact({"type": "block_actions", "user": {"id": user},
                                    "trigger_id": trigger_id or f"trig{next(TRIGGERS)}",
                                    "channel": {"id": channel or f"D{user}"}, "container": {"type": "message"},
                                    "actions": [{**button, "block_id": button.get("block_id", "b"),
                                                 "type": "button", "action_ts": "1"}]})

    async def pick_user(self, user: str, picked: str, channel: str) -> aiohttp.ClientResponse:
        """Choose someone in the user picker on the last alert in a channel (a users_select has no value: the
        report it belongs to is in its block id)."""
        block = self.block_with("users_select", channel)
        return await self.interact({
            "type": "block_actions", "user": {"id": user}, "trigger_id": f"trig{next(TRIGGERS)}",
            "channel": {"id": channel},
            "container": {"type": "message"},
            "actions": [{"type": "users_select", "action_id": "lead:assign", "block_id": block["block_id"],
                         "selected_user": picked, "action_ts": "1"}]})

    async def submit_form(self, user: str, view: dict, text: str) -> aiohttp.ClientResponse:
        """Submit a modal the bot opened (as views.open received it), with this text in its one input."""
        (block,) = [b for b in view["blocks"] if b["type"] == "input"]
        return await self.interact({
            "type": "view_submission", "user": {"id": user, "team_id": TEAM}, "trigger_id": f"trig{next(TRIGGERS)}",
            "view": {**view, "id": "V1", "team_id": TEAM, "state": {"values": {block["block_id"]: {
                block["element"]["action_id"]: {"type": "plain_text_input", "value": text}}}}}})

    async def open_home(self, user: str) -> aiohttp.ClientResponse:
        """The person opens the bot's App Home tab."""
        return await self.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                                 "event_ts": f"{time.time():.6f}"})

    def block_with(self, element_type: str, channel: str) -> dict:
        """The block holding an element of this type in the last message posted or updated in a channel."""
        for call in reversed(self.fake.of("chat.postMessage") + self.fake.of("chat.update")):
            if call.args.get("channel") != channel:
                continue
            for block in call.args.get("blocks") or []:
                if any(e.get("type") == element_type for e in block.get("elements", [])):
                    return block
        raise AssertionError(f"no {element_type} in {channel}")

    def button(self, label: str, channel: str) -> dict:
        for call in reversed(self.fake.of("chat.postMessage") + self.fake.of("chat.update")):
            if call.args.get("channel") != channel:
                continue
            for block in call.args.get("blocks") or []:
                for element in block.get("elements", []):
                    if element.get("type") == "button" and element["text"]["text"] == label:
                        return {"action_id": element["action_id"], "value": element.get("value", ""),
                                "block_id": block.get("block_id", "b")}
        raise AssertionError(f"no button {label!r} in {channel}")

    def said_to(self, channel: str) -> str:
        """Everything posted to a channel so far, as one string."""
        return json.dumps([c.args for c in self.fake.of("chat.postMessage") if c.args.get("channel") == channel])


async def start_site(app: web.Application) -> tuple[web.AppRunner, int]:
    """Serve an aiohttp application on a free loopback port."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@pytest.fixture
async def world(core, db):
    """The bot's server (Slack over HTTP, the DSL and the Headteacher on Slack) and the fake Web API."""
    fake, fake_runner, api_url = await start_fake_slack()
    core = Conversation(kb=core.kb, db=db, config=slack_config(core), clock=core.clock)
    runner, port = await start_site(make_server(core, SlackSettings("xoxb-test", SECRET, api_url),
                                                delivery_interval=0.05))
    w = SlackWorld(f"http://127.0.0.1:{port}", fake, core)
    yield w
    await w.http.close()
    await runner.cleanup()
    await fake_runner.cleanup()
