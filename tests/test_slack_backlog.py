"""Slack under more load than the bot answers: the events in progress are bounded. A request that finds no room
waits a moment for some, and is refused with 503 and Retry-After (so Slack delivers it again later) only if
none comes; nothing acknowledged is left unanswered in memory."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.channels.backlog import Backlog
from bot.conversation import Conversation
from bot.server import SlackSettings, make_server
from tests.fake_slack import start_fake_slack
from tests.slack_world import SECRET, SlackWorld, slack_config, start_site

QUESTION = "can i accept a friend request from a parent?"


@pytest.fixture
async def busy_world(core, db):
    """The Slack server with room for two events in progress, waiting up to 0.5 s for room."""
    fake, fake_runner, api_url = await start_fake_slack()
    core = Conversation(kb=core.kb, db=db, config=slack_config(core), clock=core.clock)
    runner, port = await start_site(make_server(core, SlackSettings("xoxb-test", SECRET, api_url),
                                                delivery_interval=0.05, backlog=Backlog(limit=2, wait=0.5)))
    world = SlackWorld(f"http://127.0.0.1:{port}", fake, core)
    yield world
    for held in fake.holding.values():  # calls still held would keep the fake's shutdown waiting for them
        held.set()
    await world.http.close()
    await runner.cleanup()
    await fake_runner.cleanup()


async def _two_in_progress(world: SlackWorld) -> asyncio.Event:
    """Two DMs acknowledged whose answers Slack has not yet taken: the backlog is full."""
    release = world.fake.hold("chat.postMessage")
    for user in ("U1", "U2"):
        assert (await world.dm(user, QUESTION)).status == 200
    await world.fake.wait_for("chat.postMessage!held", 2)
    return release


async def test_with_no_room_an_event_is_refused_for_now_and_nothing_of_it_is_done(busy_world):
    release = await _two_in_progress(busy_world)
    refused = await busy_world.dm("U3", QUESTION, event_id="EvLATER")
    assert refused.status == 503 and refused.headers["Retry-After"].isdigit()
    release.set()
    await busy_world.fake.wait_for("chat.postMessage", 2)
    # Slack's retry of the refused event is handled as new: the refusal recorded nothing.
    again = await busy_world.dm("U3", QUESTION, event_id="EvLATER", headers={"X-Slack-Retry-Num": "1"})
    assert again.status == 200
    answers = await busy_world.fake.wait_for("chat.postMessage", 3)
    assert sorted(a.args["channel"] for a in answers) == ["DU1", "DU2", "DU3"]


async def test_an_event_waiting_for_room_is_acknowledged_as_soon_as_there_is_some(busy_world):
    release = await _two_in_progress(busy_world)
    waiting = asyncio.create_task(busy_world.dm("U3", QUESTION))
    await asyncio.sleep(0.1)
    assert not waiting.done(), "no room yet: the request waits rather than being refused at once"
    release.set()
    assert (await waiting).status == 200
    answers = await busy_world.fake.wait_for("chat.postMessage", 3)
    assert "clause" in json.dumps(answers[-1].args["blocks"])


async def test_signatures_are_checked_before_anything_waits_for_room(busy_world):
    await _two_in_progress(busy_world)
    forged = await busy_world.dm("U3", QUESTION, secret="wrong")
    assert forged.status == 401


async def test_the_backlog_admits_while_below_its_limit_and_waits_for_room_above_it():
    backlog = Backlog(limit=1, wait=0.2)
    assert await backlog.admit()
    async with backlog.held():
        assert not await backlog.admit(), "full, and nothing finished within the wait"
        later = asyncio.create_task(backlog.admit())
        await asyncio.sleep(0.05)
    assert await later, "admitted once the work in progress finished"
    assert backlog.busy == 0
