"""Slack over Socket Mode, for a school without a public URL: the bot asks the Web API (at SLACK_API_URL) for a
websocket address with its app-level token, connects, acknowledges each envelope over the socket, and answers
through the Web API just as it does over HTTP. The Socket Mode endpoint is a local aiohttp websocket."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import count

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import Session, select

from bot.channels.backlog import Backlog
from bot.channels.slack_socket import SocketModeRefused
from bot.cli import main
from bot.conversation import Conversation
from bot.server import SlackSettings, make_server
from bot.store import inbox
from bot.store.models import InboxEvent
from tests.fake_slack import FakeSlack, FakeSocketMode, start_fake_slack, start_fake_socket_mode
from tests.slack_world import TEAM, SlackWorld, event_envelope, slack_config, start_site

ENVELOPES = count(1)


@dataclass
class SocketWorld:
    """The bot's server in Socket Mode, the fake Web API, and the fake Socket Mode endpoint."""

    api: FakeSlack
    socket: FakeSocketMode
    url: str

    async def envelope(self, kind: str, payload: dict, *, retry_attempt: int = 0) -> str:
        """Send one envelope as Slack does; returns its envelope_id."""
        envelope_id = f"env-{next(ENVELOPES)}"
        await self.socket.send({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                "accepts_response_payload": kind != "events_api", "retry_attempt": retry_attempt,
                                "retry_reason": "timeout" if retry_attempt else ""})
        return envelope_id

    async def dm(self, user: str, text: str, event_id: str | None = None, **kw) -> str:
        return await self.envelope("events_api", event_envelope({
            "type": "message", "channel_type": "im", "channel": f"D{user}", "user": user, "text": text,
            "ts": f"{time.time():.6f}"}, event_id), **kw)


@contextlib.asynccontextmanager
async def running(core, db, monkeypatch, **server_options) -> AsyncIterator[SocketWorld]:
    """The server in Socket Mode with its fakes, for the length of the block."""
    api, api_runner, api_url = await start_fake_slack()
    socket, socket_runner, socket_url = await start_fake_socket_mode()
    api.socket_url = socket_url
    # Configured exactly as `serve --socket` reads it: no signing secret, and SLACK_API_URL without its slash.
    for name, value in {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test",
                        "SLACK_API_URL": api_url.rstrip("/")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    settings = SlackSettings.from_env(socket=True)
    core = Conversation(kb=core.kb, db=db, config=slack_config(core), clock=core.clock)
    runner, port = await start_site(make_server(core, settings, delivery_interval=0.05, **server_options))
    try:
        yield SocketWorld(api, socket, f"http://127.0.0.1:{port}")
    finally:
        for held in api.holding.values():  # calls still held would keep the fake's shutdown waiting for them
            held.set()
        await runner.cleanup()
        await socket.close()
        await socket_runner.cleanup()
        await api_runner.cleanup()


@pytest.fixture
async def socket_world(core, db, monkeypatch):
    async with running(core, db, monkeypatch) as world:
        yield world


async def test_the_socket_address_comes_from_the_web_api_asked_with_the_app_level_token(socket_world):
    (opened,) = await socket_world.api.wait_for("apps.connections.open")
    assert opened.token == "xapp-test"


async def test_a_direct_message_is_acked_over_the_socket_and_answered_through_the_web_api(socket_world):
    envelope_id = await socket_world.dm("U1", "can i accept a friend request from a parent?")
    ack = await socket_world.socket.ack(envelope_id)
    assert ack == {"envelope_id": envelope_id}
    (posted,) = await socket_world.api.wait_for("chat.postMessage")
    assert posted.token == "xoxb-test" and posted.args["channel"] == "DU1"
    assert "clause" in json.dumps(posted.args["blocks"]) and "Was this helpful?" in json.dumps(posted.args)


async def test_a_slash_command_is_answered_privately_in_its_ack(socket_world):
    envelope_id = await socket_world.envelope("slash_commands", {
        "command": "/policy", "text": "can I friend a parent on facebook", "user_id": "U1", "channel_id": "CSTAFF",
        "team_id": TEAM, "api_app_id": "A1", "trigger_id": "t", "response_url": "http://x/"})
    ack = await socket_world.socket.ack(envelope_id)
    assert ack["payload"]["response_type"] == "ephemeral" and "clause" in json.dumps(ack["payload"]["blocks"])


async def test_a_redelivered_event_is_acked_again_and_handled_once(socket_world, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    first = await socket_world.dm("U1", "can I post photos of pupils?", event_id="EvSOCKET")
    await socket_world.socket.ack(first)
    (answer,) = await socket_world.api.wait_for("chat.postMessage")
    again = await socket_world.dm("U1", "can I post photos of pupils?", event_id="EvSOCKET", retry_attempt=1)
    assert await socket_world.socket.ack(again) == {"envelope_id": again}, "acked, so Slack stops redelivering"
    for _ in range(100):  # turned away after the ack, when its turn finds the event_id already recorded
        if "duplicate event ignored" in caplog.messages:
            break
        await asyncio.sleep(0.05)
    assert "duplicate event ignored" in caplog.messages
    assert socket_world.api.of("chat.postMessage") == [answer]


async def test_in_socket_mode_the_http_events_url_is_off_and_healthz_answers(socket_world):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{socket_world.url}/healthz") as health:
            assert health.status == 200
        async with http.post(f"{socket_world.url}/slack/events", data=b"{}") as events:
            assert events.status == 404, "nothing unsigned is accepted over HTTP when there is no signing secret"


async def test_a_refused_app_token_stops_the_start_with_its_reason(core, db):
    api, api_runner, api_url = await start_fake_slack()
    api.fail_next("apps.connections.open", 200, error="invalid_auth")
    server = make_server(Conversation(kb=core.kb, db=db, config=core.config, clock=core.clock),
                         SlackSettings("xoxb-test", "", api_url, app_token="xapp-wrong"))
    runner = web.AppRunner(server)
    with pytest.raises(SocketModeRefused, match="invalid_auth.*connections:write"):
        await runner.setup()
    await runner.cleanup()
    await api_runner.cleanup()


# ---- `python -m bot serve --socket` ---------------------------------------------------------------------------
@pytest.fixture
def socket_env(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "DATABASE_URL",
                 "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("env, says", [
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "--socket needs SLACK_APP_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"}, "starts with xapp-"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "--socket needs SLACK_BOT_TOKEN"),
])
def test_serve_socket_without_the_tokens_it_needs_says_so_and_exits_2(socket_env, monkeypatch, capsys, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--socket", "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert says in err and "Traceback" not in err and out == ""


@pytest.fixture
def api_in_a_thread() -> Iterator[tuple[FakeSlack, str]]:
    """The fake Web API on its own event loop, since `serve` runs the bot's loop in this thread until it stops."""
    loop = asyncio.new_event_loop()
    api, runner, url = loop.run_until_complete(start_fake_slack())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield api, url
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def test_serve_socket_with_a_token_slack_refuses_says_why_and_exits_2(socket_env, monkeypatch, capsys,
                                                                       api_in_a_thread):
    api, url = api_in_a_thread
    api.fail_next("apps.connections.open", 200, error="not_allowed_token_type")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-revoked")
    monkeypatch.setenv("SLACK_API_URL", url)
    assert main(["serve", "--socket", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "Slack refused SLACK_APP_TOKEN (not_allowed_token_type)" in err and "Traceback" not in err
    assert [c.token for c in api.of("apps.connections.open!200")] == ["xapp-revoked"]


async def test_an_envelope_that_finds_no_room_is_left_for_slack_to_send_again(core, db, monkeypatch):
    async with running(core, db, monkeypatch, backlog=Backlog(limit=1, wait=0.3)) as world:
        release = world.api.hold("chat.postMessage")
        first = await world.dm("U1", "can I post photos of pupils?")
        await world.socket.ack(first)
        await world.api.wait_for("chat.postMessage!held")  # one event in progress: the backlog is full
        crowded = await world.dm("U2", "can I post photos of pupils?", event_id="EvCROWDED")
        with pytest.raises(AssertionError, match="no ack"):
            await world.socket.ack(crowded, timeout=1.0)
        release.set()
        again = await world.dm("U2", "can I post photos of pupils?", event_id="EvCROWDED", retry_attempt=1)
        await world.socket.ack(again)
        answers = await world.api.wait_for("chat.postMessage", 2)
        assert sorted(a.args["channel"] for a in answers) == ["DU1", "DU2"]


def inbox_keys(db) -> list[str]:
    """The events kept and not yet answered."""
    with Session(db) as session:
        return list(session.exec(select(InboxEvent.key)).all())


async def test_a_message_is_kept_before_its_envelope_is_acked_and_taken_out_once_answered(core, db, monkeypatch):
    async with running(core, db, monkeypatch) as world:
        release = world.api.hold("users.info")  # the turn waits for the person's name after the ack
        envelope_id = await world.dm("U1", "can I post photos of pupils?", event_id="EvKEPT")
        await world.socket.ack(envelope_id)
        await world.api.wait_for("users.info!held")
        assert inbox_keys(db) == ["slack:EvKEPT"], "acked and not yet answered: kept, so a crash now loses nothing"
        release.set()
        await world.api.wait_for("chat.postMessage")
        for _ in range(100):  # taken out with the others answered in the same second
            if not inbox_keys(db):
                break
            await asyncio.sleep(0.05)
        assert inbox_keys(db) == []


async def test_a_message_left_behind_by_a_stopped_process_is_answered_after_a_restart(core, db, monkeypatch):
    body = event_envelope({"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1",
                           "text": "can I post photos of pupils?", "ts": f"{time.time():.6f}"}, "EvLEFT")
    with Session(db) as session:  # what a process killed between the ack and the answer leaves
        inbox.keep(session, "slack:EvLEFT", json.dumps(body), core.clock() - timedelta(minutes=5))
        session.commit()
    async with running(core, db, monkeypatch) as world:
        (posted,) = await world.api.wait_for("chat.postMessage")
        assert posted.args["channel"] == "DU1" and "Sorry for the wait" in json.dumps(posted.args["blocks"])
        await asyncio.sleep(1.5)
        assert len(world.api.of("chat.postMessage")) == 1 and inbox_keys(db) == []


async def test_a_button_press_is_kept_before_its_envelope_is_acked(core, db, monkeypatch):
    async with running(core, db, monkeypatch) as world:
        await world.socket.ack(await world.dm("U1", "help"))
        await world.api.wait_for("chat.postMessage")
        finder = SlackWorld("", world.api, None)  # only to find the button in what the bot posted
        button = finder.button("Report an incident", "DU1")
        await finder.http.close()
        release = world.api.hold("chat.postMessage")  # the press's answer waits: the turn is saved, not posted
        envelope_id = await world.envelope("interactive", {
            "type": "block_actions", "user": {"id": "U1"}, "team": {"id": TEAM}, "api_app_id": "A1",
            "trigger_id": "trigPRESS", "channel": {"id": "DU1"}, "container": {"type": "message"},
            "actions": [{**button, "type": "button", "action_ts": "1"}]})
        await world.socket.ack(envelope_id)
        await world.api.wait_for("chat.postMessage!held")
        assert "slack:press:trigPRESS" in inbox_keys(db), "acked, answered, not yet posted: still kept"
        release.set()
        await world.api.wait_for("chat.postMessage", 2)


async def test_report_command_is_kept_before_its_envelope_is_acked(core, db, monkeypatch):
    async with running(core, db, monkeypatch) as world:
        release = world.api.hold("users.info")  # the turn waits for the person's name after the ack
        envelope_id = await world.envelope("slash_commands", {
            "command": "/report", "text": "", "user_id": "U1", "channel_id": "CSTAFF", "team_id": TEAM,
            "api_app_id": "A1", "trigger_id": "trigREPORT", "response_url": "http://x/"})
        await world.socket.ack(envelope_id)
        await world.api.wait_for("users.info!held")
        assert inbox_keys(db) == ["slack:command:trigREPORT"], "acked and not yet answered: kept"
        release.set()
        (posted,) = await world.api.wait_for("chat.postMessage")
        assert posted.args["channel"] == "DU1"
