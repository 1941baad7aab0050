"""Teams, end to end: Bot Framework activities POSTed over real HTTP to /api/messages, with serviceUrl pointing at
a local fake connector that records what the bot sends."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.channels.teams import TeamsSettings
from bot.conversation import Conversation
from bot.escalation import Person
from bot.store.models import OutboxMessage
from tests.talk import alert_attempts
from tests.teams_world import BOT, SAFEGUARDING, STAFFROOM, TENANT, personal, start_world, teams, teams_config  # noqa: F401 (the fixture)


async def test_a_question_in_personal_chat_is_answered_with_the_clause_and_its_citation(teams):
    response = await teams.say("U1", "can i accept a friend request from a parent?")
    assert response.status == 200
    (reply,) = await teams.fake.wait_for("reply", conversation=personal("U1"))
    assert reply.card["type"] == "AdaptiveCard"
    assert "clause" in reply.text and "Was this helpful?" in reply.text


async def walk(teams, user: str, steps: list[tuple[str, str]]) -> None:
    """Answer one question at a time, as a person waits for each: press a button by its title, or type."""
    for how, what in steps:
        before = len(teams.fake.to(personal(user)))
        await (teams.press(user, what) if how == "press" else teams.say(user, what))
        await teams.fake.wait_for("reply", before + 1 - len(teams.fake.of("post")), conversation=personal(user))


async def test_a_friend_request_dialog_is_completed_with_card_buttons(teams):
    await walk(teams, "U1", [("say", "a parent sent me a friend request on facebook"),
                             ("press", "Check the request"), ("press", "A parent or carer of a pupil"),
                             ("press", "No"), ("press", "My personal account"), ("press", "No")])
    assert "You can, but take care." in teams.fake.to(personal("U1"))[-1].text


REPORT_STEPS = [("say", "help"), ("press", "Report an incident"), ("press", "No"),
                ("press", "A worrying post or message by or about a pupil"), ("say", "AB, Year 9"),
                ("say", "AB posted that they feel unsafe at home"), ("say", "today"), ("say", "Instagram @ab"),
                ("say", "AB, Year 9 pupil"), ("press", "Nothing yet"), ("say", "Told nobody yet")]


async def test_an_incident_report_reaches_the_lead_channel_as_a_card_and_the_lead_acts_from_there(teams):
    await walk(teams, "U1", REPORT_STEPS)
    assert "Submit" in teams.said_to(personal("U1")), "the summary comes before anything is sent"
    await walk(teams, "U1", [("press", "Submit")])
    assert "INC-2026-0001" in teams.said_to(personal("U1"))

    (alert,) = await teams.fake.wait_for("create")
    assert alert.body["channelData"]["channel"]["id"] == SAFEGUARDING and alert.body["isGroup"] is True
    assert "INC-2026-0001" in alert.text and "unsafe at home" not in alert.text
    thread = alert.conversation

    await teams.press("HEAD", "View details", conversation=thread, channel=SAFEGUARDING)  # not the DSL
    (refused,) = await teams.fake.wait_for("post", conversation="a:chat-with-29:HEAD")
    assert "only the designated leads" in refused.text
    assert teams.fake.to(thread) == [alert], "nothing is said in the channel"

    await teams.press("DSL", "View details", conversation=thread, channel=SAFEGUARDING)
    (shown,) = await teams.fake.wait_for("post", conversation="a:chat-with-29:DSL")
    assert "unsafe at home" in shown.text

    await teams.press("DSL", "Acknowledge", conversation=thread, channel=SAFEGUARDING)
    (update,) = await teams.fake.wait_for("update", conversation=thread)
    assert update.activity_id == alert.activity_id and "acknowledged" in update.text
    told = await teams.fake.wait_for("post", conversation=personal("U1"))
    assert "has been acknowledged" in told[-1].text


async def test_a_lead_assigns_with_the_people_picker_and_closes_with_a_reason(teams):
    await walk(teams, "U1", [*REPORT_STEPS, ("press", "Submit")])
    (alert,) = await teams.fake.wait_for("create")
    thread = alert.conversation
    teams.fake.names["aad-PASTORAL"] = "Pat Pastoral"

    await teams.press("DSL", "Assign", conversation=thread, channel=SAFEGUARDING, assignee="aad-PASTORAL")
    (assigned,) = await teams.fake.wait_for("update", conversation=thread)
    assert "assigned" in assigned.text
    told = await teams.fake.wait_for("post", conversation=personal("U1"))
    assert "passed to Pat Pastoral" in told[-1].text

    await teams.press("DSL", "Close", conversation=thread, channel=SAFEGUARDING, detail="")
    said = await teams.fake.wait_for("post", conversation="a:chat-with-29:DSL")
    assert "give a reason" in said[-1].text

    await teams.press("DSL", "Close", conversation=thread, channel=SAFEGUARDING, detail="Spoke to AB's family")
    closed = await teams.fake.wait_for("update", 2, conversation=thread)
    assert "closed" in closed[-1].text and "Close" not in json.dumps([a["title"] for a in closed[-1].card["actions"]])
    told = await teams.fake.wait_for("post", 2, conversation=personal("U1"))
    assert "Reason: Spoke to AB" in told[-1].text


async def test_a_question_in_a_channel_is_answered_in_its_thread_without_the_mention(teams):
    await teams.mention("U1", "can I post photos of pupils on my instagram?")
    (reply,) = await teams.fake.wait_for("reply", conversation=f"{STAFFROOM};messageid=500")
    assert "clause" in reply.text and "Policy assistant" not in reply.body.get("text", "")


async def test_a_report_started_in_a_channel_carries_on_in_personal_chat(teams):
    await teams.mention("U1", "I want to report cyberbullying")
    await teams.fake.wait_for("reply", conversation=f"{STAFFROOM};messageid=500")
    before = len(teams.fake.to(f"{STAFFROOM};messageid=500"))
    await teams.press("U1", "Report it", conversation=f"{STAFFROOM};messageid=500", channel=STAFFROOM)
    (moved,) = await teams.fake.wait_for("post", conversation="a:chat-with-29:U1")  # a chat the bot started
    assert "immediate" in moved.text.lower() or "risk" in moved.text.lower(), moved.text
    assert len(teams.fake.to(f"{STAFFROOM};messageid=500")) == before, "the report's questions stay private"


async def test_a_retried_activity_is_handled_once(teams):
    activity = teams.activity("U1", text="can I post photos of pupils?")
    assert (await teams.send(activity)).status == 200
    assert (await teams.send(activity)).status == 200
    await teams.fake.wait_for("reply", conversation=personal("U1"))
    assert len(teams.fake.of("reply")) == 1


async def test_what_a_reporter_types_is_escaped_for_card_markdown(teams):
    await walk(teams, "U1", REPORT_STEPS[:4])
    await walk(teams, "U1", [("say", "[Your bank](https://evil.example) and **URGENT** <at>Everyone</at>")])
    await walk(teams, "U1", [(how, what) for how, what in REPORT_STEPS[5:]])
    summary = teams.fake.to(personal("U1"))[-1].text
    assert "[Your bank](https" not in summary and "**URGENT**" not in summary and "<at>" not in summary
    assert "\\\\[Your bank\\\\]" in summary  # backslashed in the card (and the backslash JSON-escaped here)


async def report_button_invoke(teams, user: str) -> dict:
    """The Action.Execute invoke Teams sends when the person presses "Report an incident" on the help card."""
    await teams.say(user, "help")
    await teams.fake.wait_for("reply", conversation=personal(user))
    _, action = teams.button("Report an incident", personal(user))
    return {**teams.activity(user), "type": "invoke", "name": "adaptiveCard/action",
            "value": {"action": {"type": "Action.Execute", "verb": "press", "data": action["data"]}}}


async def test_an_action_execute_invoke_is_answered_in_the_http_response(teams):
    response = await teams.send(await report_button_invoke(teams, "U1"))
    assert response.status == 200, "4.17's CloudAdapter.process would answer 500 here"
    assert (await response.json())["statusCode"] == 200
    await teams.fake.wait_for("reply", 2, conversation=personal("U1"))


async def test_an_action_execute_invoke_sent_twice_is_handled_once(teams):
    invoke = await report_button_invoke(teams, "U1")
    assert (await teams.send(invoke)).status == 200
    assert (await teams.send(invoke)).status == 200, "the copy is still answered, so Teams stops sending it"
    await teams.fake.wait_for("reply", 2, conversation=personal("U1"))
    await asyncio.sleep(0.3)
    assert len(teams.fake.of("reply")) == 2, "the form was started once, not twice"


async def test_installing_the_bot_in_a_team_says_the_channel_id_to_configure(teams):
    update = {**teams.activity("ADMIN", channel=SAFEGUARDING), "type": "conversationUpdate",
              "membersAdded": [{"id": BOT}]}
    assert (await teams.send(update)).status == 200
    (hello,) = await teams.fake.wait_for("post", conversation=SAFEGUARDING)
    assert SAFEGUARDING in hello.text


async def test_malformed_requests_get_a_clear_error_not_a_crash(teams):
    async def post(body: bytes, content_type: str = "application/json"):
        response = await teams.http.post(f"{teams.url}/api/messages", data=body,
                                         headers={"Content-Type": content_type})
        return response.status, (await response.json())["error"]

    assert await post(b"{not json") == (400, "The body is not valid JSON.")
    assert await post(b"[1, 2]") == (400, "The body must be a Bot Framework activity (a JSON object).")
    assert await post(b'{"text": "hi"}') == (400, "The activity has no type.")
    assert await post(b'{"type": "message", "text": "hi"}') == (400, "The activity needs a serviceUrl and a "
                                                                     "conversation id.")
    assert (await post(b"type=message", "application/x-www-form-urlencoded"))[0] == 415
    odd = teams.activity("U1", value={"bot": "not a dict"})
    assert (await teams.send(odd)).status == 200
    (sorry,) = await teams.fake.wait_for("reply", conversation=personal("U1"))
    assert "couldn't read that button" in sorry.text


def file_report(teams, user: str = "U9") -> str:
    """A report filed straight through the core, as the Teams adapter files it for this user."""
    from tests.talk import Staff
    from tests.test_incident_report import report

    class TeamsStaff(Staff):
        @property
        def person(self):
            return Person("teams", TENANT, f"aad-{user}", user.title())

    return report(TeamsStaff(teams.core, user=user, platform="teams"),
                  "A worrying post or message by or about a pupil")



async def test_the_connector_failing_delays_an_alert_and_it_is_delivered_exactly_once(teams):
    await teams.say("U9", "hello")  # Teams gives the bot its service URL only when someone speaks to it
    teams.fake.fail_next("create", 500)
    teams.fake.fail_next("create", 429, **{"Retry-After": "7"})
    teams.fake.hang.add("create")  # and a third attempt that hangs past the client's timeout
    file_report(teams)
    await teams.fake.wait_for("create!500")
    await alert_attempts(teams.core, "teams", 1)
    teams.core.clock.advance(seconds=6)
    await teams.fake.wait_for("create!429")
    await alert_attempts(teams.core, "teams", 2)
    teams.core.clock.advance(seconds=6)
    await asyncio.sleep(0.3)
    assert teams.fake.of("create") == [], "Retry-After: 7 is honoured"
    teams.core.clock.advance(seconds=2)
    await alert_attempts(teams.core, "teams", 3)  # the hung attempt timed out and was put back
    teams.fake.hang.clear()
    teams.core.clock.advance(seconds=60)
    (delivered,) = await teams.fake.wait_for("create")
    assert delivered.body["channelData"]["channel"]["id"] == SAFEGUARDING
    await asyncio.sleep(0.3)
    assert len(teams.fake.of("create")) == 1


async def test_a_bot_not_in_the_team_is_reported_as_undeliverable_not_retried_forever(teams, caplog):
    await teams.say("U9", "hello")
    teams.fake.fail_next("create", 403)
    file_report(teams)
    await teams.fake.wait_for("create!403")
    for _ in range(200):
        with Session(teams.core.db) as session:
            alert = session.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "channel")).one()
        if alert.status == "failed":
            break
        await asyncio.sleep(0.02)
    assert alert.status == "failed" and "403" in alert.last_error
    assert "cannot be delivered" in caplog.text


async def _tried_once(teams) -> OutboxMessage:  # noqa: ANN001 (the fixture)
    """The channel alert, once the outbox worker has tried it and recorded why it waits."""
    for _ in range(500):
        with Session(teams.core.db) as session:
            alert = session.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "channel")).one()
        if alert.last_error:
            break
        await asyncio.sleep(0.02)
    return alert


async def test_an_alert_waits_until_the_bot_has_met_teams_at_all(teams):
    file_report(teams)
    alert = await _tried_once(teams)
    assert teams.fake.of("create") == []
    assert alert.status == "pending" and "not been added to Teams" in alert.last_error


async def test_a_waiting_alert_goes_as_soon_as_someone_in_teams_speaks_to_the_bot(teams):
    file_report(teams)
    alert = await _tried_once(teams)
    assert alert.next_attempt_at > teams.core.clock() + timedelta(minutes=4), "it would wait five minutes"

    await teams.say("U1", "hello")  # the IT lead has just added the bot, and someone says hello
    (created,) = await teams.fake.wait_for("create", timeout=5.0)
    assert created.body["channelData"]["channel"]["id"] == SAFEGUARDING


@pytest.fixture
async def secured(core, db):
    """The server with a Microsoft app id configured: every request must carry a valid Bot Framework token."""
    core = Conversation(kb=core.kb, db=db, config=teams_config(core), clock=core.clock)
    world, runners = await start_world(core, TeamsSettings(app_id="00000000-0000-0000-0000-000000000001",
                                                           password="secret"))
    yield world
    await world.http.close()
    for runner in runners:
        await runner.cleanup()


async def test_with_an_app_id_a_request_without_a_valid_token_gets_401(secured):
    activity = secured.activity("U1", text="can I post photos of pupils?")
    assert (await secured.send(activity)).status == 401
    assert (await secured.send(activity, headers={"Authorization": "Bearer not-a-token"})).status == 401
    assert secured.fake.calls == []


async def test_a_refused_assign_looks_nobody_up(teams):
    await walk(teams, "U1", [*REPORT_STEPS, ("press", "Submit")])
    (alert,) = await teams.fake.wait_for("create")
    teams.fake.names["aad-PASTORAL"] = "Pat Pastoral"
    await teams.press("HEAD", "Assign", conversation=alert.conversation, channel=SAFEGUARDING,
                      assignee="aad-PASTORAL")
    (refused,) = await teams.fake.wait_for("post", conversation="a:chat-with-29:HEAD")
    assert "only the designated leads" in refused.text and teams.fake.of("member") == []
