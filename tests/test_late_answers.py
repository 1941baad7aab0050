"""An answer the platform would not take when it was sent (HTTP 500, 429, a timeout) is not lost: it waits in the
outbox and is posted later, once, in the place it answers. Driven end to end, as in test_slack.py and
test_teams.py, against the fake Web API and the fake Bot Connector."""
from __future__ import annotations

import asyncio
import json

import pytest
from sqlmodel import Session, select

import bot.channels.slack as slack_channel
from bot.store.models import OutboxMessage
from dialogs.replies import (Alert, Choices, Confirmation, Field, Option, Question, Quote, Summary, Text, as_data,
                             from_data)
from tests.slack_world import world  # noqa: F401 (the fixture)
from tests.teams_world import personal, teams  # noqa: F401 (the fixture)

QUESTION = "can i accept a friend request from a parent?"


def kept(core) -> list[OutboxMessage]:
    """The answers waiting in (or delivered through) the outbox."""
    with Session(core.db) as session:
        return [m for m in session.exec(select(OutboxMessage)).all() if m.message.get("type") == "reply"]


def test_every_kind_of_reply_is_read_back_as_it_was_kept():
    replies = [
        Text("Hello", tone="advice"),
        Quote("Staff must not …", "King's School", "5.3", title="Personal use", also_in=("Ashlands",), gist="No."),
        Choices("Who sent it?", (Option("A parent", {"answer": "parent"}), Option("A pupil", {"answer": "pupil"})),
                hint="Pick one"),
        Question("When did it happen?", hint="A date", current="yesterday"),
        Summary("Your report", (Field("What happened", "<!channel> a post"),), (Option("Submit", {"submit": 1}),)),
        Confirmation("INC-2026-0001", "Sent to the DSL."),
        Alert("INC-2026-0001", "Incident report", "Cyberbullying", "high", "Sam", "new",
              (Option("Acknowledge", {"lead": "ack"}),)),
    ]
    stored = json.loads(json.dumps(as_data(replies)))  # as the outbox's JSON column keeps it
    assert from_data(stored) == replies


async def test_an_answer_slack_fails_to_take_is_posted_later_once(world):
    world.fake.fail_next("chat.postMessage", 500)
    await world.dm("U1", QUESTION)
    await world.fake.wait_for("chat.postMessage!500")
    (posted,) = await world.fake.wait_until(lambda: world.fake.posted_to("DU1"))
    assert "clause" in json.dumps(posted.args["blocks"])
    await asyncio.sleep(0.3)
    assert len(world.fake.posted_to("DU1")) == 1
    (message,) = kept(world.core)
    assert message.status == "sent" and message.target == "DU1"
    assert message.message == {"type": "reply"}, "once posted, the answer's words are not kept"


async def test_a_rate_limited_answer_waits_as_long_as_slack_asks(world):
    world.fake.fail_next("chat.postMessage", 429, **{"Retry-After": "30"})
    await world.dm("U1", QUESTION)
    await world.fake.wait_for("chat.postMessage!429")
    await world.fake.wait_until(lambda: kept(world.core))
    await asyncio.sleep(0.3)
    assert world.fake.posted_to("DU1") == [], "Retry-After: 30 is honoured"
    world.core.clock.advance(seconds=31)
    (posted,) = await world.fake.wait_until(lambda: world.fake.posted_to("DU1"))
    assert "clause" in json.dumps(posted.args["blocks"])


async def test_an_answer_in_a_thread_goes_back_to_its_thread(world):
    world.fake.fail_next("chat.postMessage", 503)
    await world.event({"type": "app_mention", "channel": "CSTAFF", "user": "U1", "ts": "1700000000.000100",
                       "text": f"<@UBOT> {QUESTION}"})
    (posted,) = await world.fake.wait_until(lambda: world.fake.posted_to("CSTAFF"))
    assert posted.args["thread_ts"] == "1700000000.000100"


@pytest.fixture
def quick_answers(monkeypatch):
    """Slack's client gives up on a call after half a second instead of ten, so a timeout is quick to test."""
    monkeypatch.setattr(slack_channel, "ANSWER_TIMEOUT", 0.5)


async def test_an_answer_slack_took_without_saying_so_is_not_posted_twice(quick_answers, world):
    world.fake.hang_after.add("chat.postMessage")  # Slack posts it, then the bot never hears back
    await world.dm("U1", QUESTION)
    await world.fake.wait_until(lambda: [m for m in kept(world.core) if m.status == "sent"], timeout=15)
    world.fake.hang_after.clear()
    assert len(world.fake.posted_to("DU1")) == 1
    assert world.fake.of("conversations.history"), "the outbox looked for the earlier post before posting"


async def test_an_answer_the_teams_connector_fails_to_take_is_sent_later_once(teams):
    teams.fake.fail_next("reply", 503)
    await teams.say("U1", QUESTION)
    await teams.fake.wait_for("reply!503")
    (reply,) = await teams.fake.wait_for("reply", conversation=personal("U1"))
    assert "clause" in reply.text
    await asyncio.sleep(0.3)
    assert len(teams.fake.of("reply")) == 1
    (message,) = kept(teams.core)
    assert message.status == "sent" and message.target_kind == "reply"


async def test_an_answer_slack_will_never_take_is_given_up_without_keeping_its_words(world):
    world.fake.fail_next("chat.postMessage", 500)  # the answer goes to the outbox ...
    world.fake.fail_next("chat.postMessage", 200, error="is_archived")  # ... whose post finds the DM closed for good
    await world.dm("U1", QUESTION)
    await world.fake.wait_for("chat.postMessage!200")
    (message,) = await world.fake.wait_until(lambda: [m for m in kept(world.core) if m.status == "failed"],
                                             what="the answer given up")
    assert message.message == {"type": "reply"}, "an answer given up keeps no words either"
