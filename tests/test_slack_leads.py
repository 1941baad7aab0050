"""A designated lead in Slack, over real HTTP: the App Home tab, and assigning, noting and closing a report from
its alert (a user picker, and forms opened with views.open), with anyone else refused and nothing changed."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from bot.store.models import OutboxMessage, ReportEvent
from bot.store.reports import find_report, history
from tests.slack_world import SlackStaff, SlackWorld, world  # noqa: F401 (the fixture)
from tests.test_incident_report import report as file_report

CHANNEL = "CSAFE"  # the DSL's alert channel; a worry about a pupil goes to the DSL (UDSL)
PUPIL = "A worrying post or message by or about a pupil"
PUPIL_CATEGORY = "Safeguarding concern about a pupil"  # how the category is named to people


def events(world: SlackWorld, reference: str) -> list[ReportEvent]:
    """A report's history, oldest first."""
    with Session(world.core.db) as session:
        return history(session, find_report(session, reference))


def queued_for(world: SlackWorld, user: str) -> list[OutboxMessage]:
    """Every outbox message addressed to one person (written with the event that caused it, so it is exact)."""
    with Session(world.core.db) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.target == user)))


async def reported(world: SlackWorld, reporter: str = "U9") -> str:
    """A member of staff reports a worry about a pupil; returns its reference once the DSL's alert is posted."""
    reference = file_report(SlackStaff(world.core, user=reporter), PUPIL)
    alerts = await world.fake.wait_until(lambda: world.fake.posted_to(CHANNEL), what="the alert")
    assert reference in json.dumps(alerts[-1].args)
    return reference


async def told(world: SlackWorld, user: str, count: int = 1) -> list[str]:
    """Wait until `count` messages have reached a person's DM; returns them as text."""
    found = await world.fake.wait_until(lambda: world.fake.posted_to(f"D{user}"), count, what=f"DMs to {user}")
    return [json.dumps(c.args) for c in found]


# ---- the App Home tab ----------------------------------------------------------------------------------------
async def test_app_home_says_what_the_bot_does_and_lists_only_the_persons_own_reports_with_status(world):
    mine = [file_report(SlackStaff(world.core, user="U1"), PUPIL) for _ in range(2)]
    theirs = file_report(SlackStaff(world.core, user="U2"), PUPIL)

    assert (await world.open_home("U1")).status == 200
    (published,) = await world.fake.wait_for("views.publish")
    assert published.args["user_id"] == "U1" and published.args["view"]["type"] == "home"
    home = json.dumps(published.args["view"])
    assert "social media policy" in home and "/policy" in home and "/report" in home
    assert all(f"{ref}: {PUPIL_CATEGORY}, open" in home for ref in mine)
    assert theirs not in home, "nobody else's reports"


async def test_app_home_shows_a_report_changing_status(world):
    reference = await reported(world, reporter="U1")
    await world.press("UDSL", "Acknowledge", channel=CHANNEL)
    await world.fake.wait_for("chat.update")
    await world.open_home("U1")
    (published,) = await world.fake.wait_for("views.publish")
    assert f"{reference}: {PUPIL_CATEGORY}, acknowledged" in json.dumps(
        published.args["view"])


async def test_app_home_for_someone_who_has_reported_nothing(world):
    await world.open_home("U7")
    (published,) = await world.fake.wait_for("views.publish")
    assert "You haven't submitted any." in json.dumps(published.args["view"])


# ---- Assign ----------------------------------------------------------------------------------------------------
async def test_a_lead_assigns_with_the_user_picker_and_the_alert_and_the_reporter_follow(world):
    reference = await reported(world)
    world.fake.names["UKHAN"] = "Mrs Khan"
    assert (await world.pick_user("UDSL", "UKHAN", CHANNEL)).status == 200

    (update,) = await world.fake.wait_for("chat.update")
    (alert,) = world.fake.posted_to(CHANNEL)
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, alert.answered["ts"]), "edited in place"
    assert "Status: *assigned*" in json.dumps(update.args["blocks"])
    assert "UKHAN" in [c.args["user"] for c in world.fake.of("users.info")], "the assignee is named"
    (last,) = [e for e in events(world, reference) if e.action == "assigned"]
    assert last.assignee == "Mrs Khan" and last.actor == "slack:UDSL"
    (dm,) = await told(world, "U9")
    assert f"{reference} has been passed to Mrs Khan to follow up." in dm
    (answer,) = await world.fake.wait_for("chat.postEphemeral")
    assert answer.args["user"] == "UDSL" and f"{reference} is now assigned" in json.dumps(answer.args)


# ---- Add note and Close: a form, then its submission ------------------------------------------------------------
async def test_add_note_opens_a_form_with_the_fresh_trigger_id_and_the_note_stays_between_leads(world):
    reference = await reported(world)
    await world.press("UDSL", "Add a note", channel=CHANNEL, trigger_id="trig-note")
    (opened,) = await world.fake.wait_for("views.open")
    assert opened.args["trigger_id"] == "trig-note"
    form = opened.args["view"]
    assert form["type"] == "modal" and form["callback_id"] == "lead_modal" and reference in json.dumps(form)

    empty = await world.submit_form("UDSL", form, "   ")
    assert empty.status == 200
    assert (await empty.json()) == {"response_action": "errors",
                                    "errors": {"detail": "Please write something here."}}
    assert [e.action for e in events(world, reference)] == ["submitted"]

    done = await world.submit_form("UDSL", form, "Called the parent; <!channel> not needed")
    assert done.status == 200 and not await done.read()  # an empty ack closes the form
    (lead_dm,) = await told(world, "UDSL")
    assert f"Note added to {reference}." in lead_dm
    (note,) = [e for e in events(world, reference) if e.action == "note"]
    assert note.detail == "Called the parent; <!channel> not needed" and note.actor == "slack:UDSL"
    assert queued_for(world, "U9") == [], "the reporter is not told of notes"
    assert world.fake.of("chat.update") == [], "a note does not change the alert's status"


async def test_close_asks_for_a_reason_then_updates_the_alert_and_tells_the_reporter_why(world):
    reference = await reported(world)
    await world.press("UDSL", "Close", channel=CHANNEL, trigger_id="trig-close")
    (opened,) = await world.fake.wait_for("views.open")
    assert opened.args["trigger_id"] == "trig-close"
    form = opened.args["view"]
    assert "Reason for closing" in json.dumps(form) and json.loads(form["private_metadata"]) == {
        "lead": "close", "reference": reference}

    empty = await world.submit_form("UDSL", form, "")
    assert (await empty.json())["response_action"] == "errors"
    assert [e.action for e in events(world, reference)] == ["submitted"]

    await world.submit_form("UDSL", form, "Post removed; parent spoken to")
    (update,) = await world.fake.wait_for("chat.update")
    shown = json.dumps(update.args["blocks"])
    assert update.args["channel"] == CHANNEL and "Status: *closed*" in shown
    assert "Add a note" in shown and '"Close"' not in shown and "users_select" not in shown
    (dm,) = await told(world, "U9")
    assert f"{reference} has been closed by" in dm and "Reason: Post removed; parent spoken to" in dm
    (closed,) = [e for e in events(world, reference) if e.action == "closed"]
    assert closed.detail == "Post removed; parent spoken to"


async def test_close_on_an_old_alert_of_a_closed_report_says_so_instead_of_opening_a_form(world):
    reference = await reported(world)
    await world.press("UDSL", "Close", channel=CHANNEL)
    (opened,) = await world.fake.wait_for("views.open")
    await world.submit_form("UDSL", opened.args["view"], "Dealt with")
    await world.fake.wait_for("chat.update")

    await world.interact({"type": "block_actions", "user": {"id": "UDSL"}, "trigger_id": "trig",
                          "channel": {"id": CHANNEL}, "container": {"type": "message"},
                          "actions": [{"type": "button", "action_id": "lead:close", "block_id": f"assign|{reference}",
                                       "value": json.dumps({"lead": "close", "reference": reference}),
                                       "action_ts": "1"}]})  # pressed on a copy of the alert from before
    (said,) = await world.fake.wait_for("chat.postEphemeral")
    assert f"{reference} is closed. You can still add a note." in json.dumps(said.args)
    assert len(world.fake.of("views.open")) == 1


# ---- anyone else is refused, privately, and nothing changes -----------------------------------------------------
@pytest.mark.parametrize("action", ["assign", "note", "close"])
async def test_someone_who_is_not_a_lead_for_the_report_is_refused_and_nothing_changes(world, action):
    reference = await reported(world)
    if action == "assign":
        await world.pick_user("UHEAD", "UKHAN", CHANNEL)  # a lead, but not for safeguarding reports
    else:
        await world.press("UHEAD", {"note": "Add a note", "close": "Close"}[action], channel=CHANNEL)

    (refused,) = await world.fake.wait_for("chat.postEphemeral")
    assert refused.args["channel"] == CHANNEL and refused.args["user"] == "UHEAD"
    assert "only the designated leads for this report" in json.dumps(refused.args)
    assert world.fake.of("views.open") == []
    assert "UKHAN" not in [c.args["user"] for c in world.fake.of("users.info")], "no look-up for a refused pick"
    trail = events(world, reference)
    assert [e.action for e in trail] == ["submitted", "refused"], "only the attempt itself is on the record"
    assert trail[-1].actor == "slack:UHEAD" and trail[-1].detail == action
    assert queued_for(world, "U9") == [] and world.fake.of("chat.update") == []


async def test_a_form_slack_will_not_open_in_time_is_explained_privately(world):
    reference = await reported(world)
    world.fake.fail_next("views.open", 200)  # Slack's answer to a trigger_id over 3 seconds old: ok false
    await world.press("UDSL", "Add a note", channel=CHANNEL)
    (said,) = await world.fake.wait_for("chat.postEphemeral")
    assert said.args["user"] == "UDSL" and "press the button again" in json.dumps(said.args)
    assert [e.action for e in events(world, reference)] == ["submitted"]


async def test_a_private_answer_slack_will_not_take_now_reaches_the_lead_by_direct_message(world):
    reference = await reported(world)
    world.fake.fail_next("chat.postEphemeral", 503)
    await world.press("UDSL", "Acknowledge", channel=CHANNEL)
    await world.fake.wait_for("chat.postEphemeral!503")
    (late,) = await told(world, "UDSL")
    assert reference in late and "acknowledged" in late
    assert [e.action for e in events(world, reference)].count("acknowledged") == 1
