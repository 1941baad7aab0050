"""Slack, end to end: signed requests over real HTTP to POST /slack/events, the Web API pointed at a local fake
that records what the bot sends."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import pytest

from bot.channels.slack import turn_key
from bot.channels.slack_blocks import lead_modal
from tests.slack_world import world  # noqa: F401 (the fixture)
from tests.talk import Staff, alert_attempts


async def test_a_direct_message_is_answered_with_the_clause_and_its_citation(world):
    response = await world.dm("U1", "can i accept a friend request from a parent?")
    assert response.status == 200
    (posted,) = await world.fake.wait_for("chat.postMessage")
    assert posted.args["channel"] == "DU1"
    assert "clause" in json.dumps(posted.args["blocks"])
    assert "Was this helpful?" in json.dumps(posted.args["blocks"])


async def test_a_bad_signature_or_an_old_timestamp_is_refused_with_401(world):
    body = json.dumps({"type": "event_callback", "event": {"type": "message"}, "event_id": "Ev1"})
    assert (await world.post(body, "application/json", secret="wrong")).status == 401
    assert (await world.post(body, "application/json", timestamp=int(time.time()) - 301)).status == 401
    assert world.fake.of("chat.postMessage") == []


async def test_a_retried_event_is_handled_once(world):
    await world.dm("U1", "can I post photos of pupils?", event_id="EvSAME")
    await world.fake.wait_for("chat.postMessage")
    retry = await world.dm("U1", "can I post photos of pupils?", event_id="EvSAME", headers={
        "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status == 200
    await asyncio.sleep(0.3)
    assert len(world.fake.of("chat.postMessage")) == 1


async def test_the_bots_own_messages_and_edits_are_ignored(world):
    await world.event({"type": "message", "channel_type": "im", "channel": "DU1", "bot_id": "BBOT",
                       "text": "hello", "ts": "1.0"})
    await world.event({"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DU1",
                       "ts": "1.0"})
    await world.dm("U1", "help")
    posted = await world.fake.wait_for("chat.postMessage")
    assert len(posted) == 1 and "What would you like to do?" in json.dumps(posted[0].args)


async def test_an_at_mention_is_answered_in_its_thread_without_the_mention(world):
    await world.event({"type": "app_mention", "channel": "CSTAFF", "user": "U1", "ts": "123.456",
                       "text": "<@UBOT> can I post photos of pupils on my instagram?"})
    (posted,) = await world.fake.wait_for("chat.postMessage")
    assert posted.args["channel"] == "CSTAFF" and posted.args["thread_ts"] == "123.456"


async def test_policy_slash_command_answers_privately_within_the_request(world):
    body = urlencode({"command": "/policy", "text": "can I friend a parent on facebook", "user_id": "U1",
                      "channel_id": "CSTAFF", "team_id": "T1", "trigger_id": "t", "response_url": "http://x/"})
    response = await world.post(body, "application/x-www-form-urlencoded")
    answer = await response.json()
    assert response.status == 200 and answer["response_type"] == "ephemeral"
    assert "clause" in json.dumps(answer["blocks"])


async def test_user_text_echoed_back_is_escaped(world):
    await world.dm("U1", "help")
    await world.fake.wait_for("chat.postMessage")
    steps = [("press", "Report an incident"), ("press", "No"), ("press", "Something else"),
             ("dm", "<!channel> and <https://evil.example|your bank>"),
             ("dm", "A parent wrote <!here> abusive things about me"), ("dm", "today"), ("dm", "Facebook"),
             ("dm", "a parent"), ("press", "Nothing yet"), ("dm", "nothing yet")]
    for n, (how, what) in enumerate(steps, start=2):  # one at a time, as a person waits for each question
        await (world.press("U1", what) if how == "press" else world.dm("U1", what))
        await world.fake.wait_for("chat.postMessage", n)
    summary = world.fake.of("chat.postMessage")[-1]
    text = json.dumps(summary.args["blocks"])
    assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text


async def test_an_incident_report_reaches_the_lead_channel_and_the_lead_acts_from_there(world):
    report = urlencode({"command": "/report", "text": "", "user_id": "U1", "channel_id": "CSTAFF",
                        "team_id": "T1", "trigger_id": "t", "response_url": "http://x/"})
    assert (await world.post(report, "application/x-www-form-urlencoded")).status == 200
    await world.fake.wait_for("chat.postMessage")
    steps = [("press", "No"), ("press", "A worrying post or message by or about a pupil"), ("dm", "AB, Year 9"),
             ("dm", "AB posted that they feel unsafe at home"), ("dm", "today"), ("dm", "Instagram @ab"),
             ("dm", "AB, Year 9 pupil"), ("press", "Nothing yet"), ("dm", "Told nobody yet"), ("press", "Submit")]
    for n, (how, what) in enumerate(steps, start=2):
        await (world.press("U1", what) if how == "press" else world.dm("U1", what))
        await world.fake.wait_for("chat.postMessage", n)
    assert "INC-2026-0001" in world.said_to("DU1")

    (alert,) = [c for c in await world.fake.wait_for("chat.postMessage", len(steps) + 2)
                if c.args["channel"] == "CSAFE"]
    assert "INC-2026-0001" in json.dumps(alert.args) and "unsafe at home" not in json.dumps(alert.args)

    await world.press("UHEAD", "View details", channel="CSAFE")  # not the DSL: refused, privately
    (refused,) = await world.fake.wait_for("chat.postEphemeral")
    assert refused.args["user"] == "UHEAD" and "only the designated leads" in json.dumps(refused.args)

    await world.press("UDSL", "View details", channel="CSAFE")
    shown = (await world.fake.wait_for("chat.postEphemeral", 2))[-1]
    assert shown.args["user"] == "UDSL" and "unsafe at home" in json.dumps(shown.args)

    await world.press("UDSL", "Acknowledge", channel="CSAFE")
    (update,) = await world.fake.wait_for("chat.update")
    assert update.args["channel"] == "CSAFE" and "acknowledged" in json.dumps(update.args).lower()
    told = [c for c in await world.fake.wait_for("chat.postMessage", len(steps) + 3) if c.args["channel"] == "DU1"]
    assert "has been acknowledged" in json.dumps(told[-1].args)


async def test_slack_failing_delays_an_alert_and_it_is_delivered_once(world):
    world.fake.fail_next("chat.postMessage", 500)
    world.fake.fail_next("chat.postMessage", 429, **{"Retry-After": "7"})
    from tests.test_incident_report import report as file_report
    file_report(Staff(world.core, user="U9", platform="slack"), "A worrying post or message by or about a pupil")
    await world.fake.wait_for("chat.postMessage!500")  # the first attempt fails; the alert waits
    await alert_attempts(world.core, "slack", 1)  # move the clock only once the worker has scheduled its retry
    world.core.clock.advance(seconds=6)
    await world.fake.wait_for("chat.postMessage!429")
    await alert_attempts(world.core, "slack", 2)
    world.core.clock.advance(seconds=6)
    await asyncio.sleep(0.3)
    assert world.fake.of("chat.postMessage") == [], "Retry-After: 7 is honoured"
    world.core.clock.advance(seconds=2)
    (delivered,) = await world.fake.wait_for("chat.postMessage")
    assert delivered.args["channel"] == "CSAFE"
    await asyncio.sleep(0.3)
    assert len(world.fake.of("chat.postMessage")) == 1



async def test_healthz_says_ok(world):
    response = await world.http.get(f"{world.url}/healthz")
    assert response.status == 200 and (await response.json())["ok"] is True


async def test_a_request_nobody_listens_for_is_logged_without_what_was_typed(world, caplog):
    # Bolt's own warning for an unhandled request quotes a typed search value; ours says only that it happened.
    await world.interact({"type": "block_suggestion", "user": {"id": "U1"}, "action_id": "lookup",
                          "block_id": "b", "value": "secret-pupil-name"})
    assert "unhandled slack request" in caplog.text
    assert "secret-pupil-name" not in caplog.text


async def test_leads_see_who_wrote_by_name_not_by_slack_id(world):
    world.fake.names["U1"] = "Sam Teacher"
    await world.dm("U1", "what time does the canteen open?")
    await world.fake.wait_for("chat.postMessage")
    await world.press("U1", "Ask Headteacher")
    passed_on = [c for c in await world.fake.wait_for("chat.postMessage", 3) if c.args["channel"] == "DUHEAD"]
    assert "Sam Teacher" in json.dumps(passed_on[0].args)


def _press(action_id: str) -> dict:
    return {"type": "block_actions", "trigger_id": "trig9", "user": {"id": "U1"},
            "actions": [{"action_id": action_id, "value": "{}"}]}


def _form(action: str, written: str) -> dict:
    view = {**lead_modal(action, "INC-2026-0001"), "state": {"values": {"detail": {"value": {"value": written}}}}}
    return {"type": "view_submission", "trigger_id": "trig9", "user": {"id": "U1"}, "view": view}


@pytest.mark.parametrize(("delivery", "key"), [
    (_press("press:3"), "slack:press:trig9"),  # a button in one of the bot's replies
    ({**_press("press:3"), "actions": [{"action_id": "press:3", "value": "{x"}]}, ""),  # ignored, so not kept
    (_press("lead:acknowledge"), "slack:press:trig9"),  # the alert's buttons that act at once
    (_press("lead:view"), "slack:press:trig9"),
    (_press("lead:assign"), "slack:press:trig9"),
    (_press("lead:note"), ""),  # only opens a form, which a replay could not open (its trigger_id lapses in 3 s)
    (_press("lead:close"), ""),
    (_form("note", "Spoke to the parent"), "slack:form:trig9"),
    (_form("close", "  "), ""),  # sent empty: Slack shows it again, to be filled in
    ({**_form("note", "x"), "view": {"callback_id": "someone_elses", "private_metadata": "{}"}}, ""),
    ({"command": "/report", "user_id": "U1", "trigger_id": "trig9"}, "slack:command:trig9"),
    ({"command": "/policy", "user_id": "U1", "trigger_id": "trig9"}, ""),  # answered in its own ack
], ids=["reply-button", "unreadable-button", "acknowledge", "view", "assign", "note-press", "close-press",
        "note-form", "empty-form", "other-form", "report-command", "policy-command"])
def test_what_is_kept_before_the_ack_is_what_starts_a_turn_a_replay_can_take(delivery, key):
    assert turn_key(delivery) == key
