"""Access: only the designated leads for a report's category (its lead, and that lead's deputy) read its content or
act on it, on every channel.

Two reports: a concern about a pupil (to the DSL) and an allegation about the Headteacher (to the Chair of
Governors, never to the Headteacher). Every lead action (view, acknowledge, assign, note, close) is tried on each
by a member of staff who is no lead, by a lead of another role, and, on the allegation, by its subject, the
Headteacher: through the core (the terminal), Slack over HTTP (the alert's buttons, the user picker, and a forged
form submission), Teams over HTTP (the alert card's buttons and forms) and the lead commands
(`python -m bot reports --as ...`, show and export included). Each attempt is refused, in words that carry nothing of
the report; nothing about the report changes; each refusal is in its history. The alerts in the leads' channels
never carry the content either, on any platform; the designated leads do see it, privately.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot import cli, escalation
from bot.channels import slack_blocks
from bot.channels.terminal import render_message
from bot.conversation import Inbound
from bot.escalation import Person
from bot.store.models import OutboxMessage, Report
from bot.store.reports import find_report, history, status
from tests.hostile import (CHAIR_CHANNEL, HEAD_CHANNEL, SAFE_CHANNEL, TEAMS_CHAIR, TEAMS_HEADS, TEAMS_SAFE,
                           HostileWorld, _step, run_cli, secured_database)
from tests.slack_world import SlackWorld
from tests.talk import Staff
from tests.teams_world import TeamsWorld, personal
from tests.test_incident_report import start_report

ACTIONS = ("view", "acknowledge", "assign", "note", "close")
WHAT = {"pupil": "A Year 8 pupil posted that they are scared to go home (Kestrel)",
        "about_head": "A parent says the Headteacher messaged her son on Snapchat (Osprey)"}
CONTENT = (*WHAT.values(), "Town Mums", "a parent of a Year 5 pupil", "Told my line manager")  # what was answered
REFUSED = "only the designated leads"
# Who is who on each platform: (terminal user, Slack user, Teams user as the test world names them).
WHO = {"staff": ("staff9", "USTAFF", "STAFF"), "dsl": ("dsl", "UDSL", "DSL"), "head": ("head", "UHEAD", "HEAD"),
       "chair": ("chair", "UCHAIR", "CHAIR")}
# Who tries each report: a member of staff who is no lead, leads of other roles, and the allegation's subject.
OUTSIDERS = {"pupil": ("staff", "head", "chair"), "about_head": ("staff", "dsl", "head")}
WHERE = {"pupil": (SAFE_CHANNEL, TEAMS_SAFE), "about_head": (CHAIR_CHANNEL, TEAMS_CHAIR)}
CLI_ARGS = {"view": ["show"], "acknowledge": ["ack"], "assign": ["assign", "@REF", "Mr Nobody"],
            "note": ["note", "@REF", "a", "note"], "close": ["close", "@REF", "--reason", "nothing to do"]}


def leaked(text: str) -> list[str]:
    return [c for c in CONTENT if c in text]


def report(staff: Staff, which: str) -> str:
    """File one of the two reports through the core, as the terminal does; returns its reference."""
    start_report(staff)
    if which == "pupil":
        staff.answers("No", "A worrying post or message by or about a pupil")
    else:
        staff.answers("No", "A colleague's conduct online", "Yes")
    staff.answers("me", WHAT[which], "yesterday at 8pm", "Facebook, Town Mums group", "a parent of a Year 5 pupil",
                  "Screen grabs with the time, date and web address", "skip", "Told my line manager")
    staff.press("Submit")
    return next(r.reference for r in staff.replies if hasattr(r, "reference"))


class Access:
    """The servers and fakes, the two reports, and a record of every attempt made."""

    def __init__(self, world: HostileWorld, references: dict[str, str]):
        self.world, self.references = world, references
        self.slack = SlackWorld(world.url, world.fake_slack, world.core)
        self.teams = TeamsWorld(world.url, world.fake_teams, world.core)
        self.attempts: Counter = Counter()  # (reference, actor, action) -> how many times it was tried
        self.replies: list[tuple[str, str]] = []  # (where, what the outsider was told)

    def snapshot(self) -> dict[str, tuple]:
        """What must not change: each report's content and status, its events other than refusals, its messages."""
        with Session(self.world.core.db) as session:
            out = {}
            for name, reference in self.references.items():
                found = find_report(session, reference)
                events = history(session, found)
                messages = session.exec(select(OutboxMessage).where(OutboxMessage.report_id == found.id))
                out[name] = (json.dumps(found.fields), status(events),
                             [(e.action, e.actor, e.detail) for e in events if e.action != "refused"],
                             sorted((m.key, json.dumps(m.message)) for m in messages))
            return out

    def refusals(self) -> Counter:
        with Session(self.world.core.db) as session:
            return Counter((reference, e.actor, e.detail) for reference in self.references.values()
                           for e in history(session, find_report(session, reference)) if e.action == "refused")


@pytest.fixture
async def access(core, db, tmp_path):
    async with HostileWorld(core, secured_database(tmp_path)) as world:
        tester = Access(world, {})
        # Teams users the bot has met in personal chat, before any report: an alert the outbox tried while the
        # bot had met nobody in Teams would wait minutes (a race between the worker and the first hello).
        for user in ("STAFF", "DSL", "HEAD", "CHAIR"):
            await _step(world, tester.teams.say(user, "hello"))
        tester.references.update(pupil=report(Staff(world.core), "pupil"),
                                 about_head=report(Staff(world.core, user="staff2"), "about_head"))
        await world.deliver()  # the alerts reach the leads' channels
        yield tester
        await tester.slack.http.close()
        await tester.teams.http.close()


def test_the_allegation_about_the_headteacher_goes_to_the_chair_alone(core, clock):
    reference = report(Staff(core), "about_head")
    with Session(core.db) as session:
        assert find_report(session, reference).lead_role == "chair"
        clock.advance(hours=30)  # reminders and re-escalation: the Chair has no deputy, so nobody else is told
        escalation.run_reminders(session, core.config, clock())
        session.commit()
        targets = {(m.platform, m.target) for m in session.exec(select(OutboxMessage))}
        head = Person("terminal", "local", "head", "Head")
        assert reference not in [r.reference for r in escalation.visible_reports(session, core.config, head)]
    assert targets == {("terminal", "chair")}


async def test_every_lead_action_by_anyone_but_the_reports_leads_is_refused_on_every_channel(
        access, db_url, tmp_path, monkeypatch, capsys):
    world, core = access.world, access.world.core
    before = access.snapshot()

    # The core, as the terminal channel and any channel hands it a lead's button.
    for name, reference in access.references.items():
        for who in OUTSIDERS[name]:
            person = Person("terminal", "local", WHO[who][0], who.title())
            for action in ACTIONS:
                replies = core.handle(Inbound(person, "alerts", value={
                    "lead": action, "reference": reference, "detail": "a note", "assignee": "Mr Nobody"}))
                access.attempts[reference, person.actor, action] += 1
                access.replies.append((f"core:{who}:{action}", json.dumps([r.__dict__ if hasattr(r, "__dict__")
                                                                         else repr(r) for r in replies])))

    # Slack over HTTP: the alert's buttons, its user picker, and a note or close form submitted all the same.
    for name, reference in access.references.items():
        channel = WHERE[name][0]
        for who in OUTSIDERS[name]:
            user = WHO[who][1]
            for action, label in (("view", "View details"), ("acknowledge", "Acknowledge"), ("note", "Add a note"),
                                  ("close", "Close")):
                await _step(world, access.slack.press(user, label, channel=channel))
                access.attempts[reference, f"slack:{user}", action] += 1
            await _step(world, access.slack.pick_user(user, "UNOBODY", channel))
            access.attempts[reference, f"slack:{user}", "assign"] += 1
            for action in ("note", "close"):
                view = {**slack_blocks.lead_modal(action, reference), "id": "VFORGED", "team_id": "T1"}
                await _step(world, access.slack.submit_form(user, view, "forged"))
                access.attempts[reference, f"slack:{user}", action] += 1
    assert not [c for c in world.fake_slack.of("views.open")], "no form opens for someone who may not act"
    assert not [c for c in world.fake_slack.of("users.info") if c.args.get("user") == "UNOBODY"]
    for call in world.fake_slack.of("chat.postEphemeral") + world.fake_slack.posted_to("DUSTAFF") + \
            world.fake_slack.posted_to("DUHEAD") + world.fake_slack.posted_to("DUCHAIR") + \
            world.fake_slack.posted_to("DUDSL"):
        access.replies.append((f"slack:{call.args.get('user') or call.args.get('channel')}", json.dumps(call.args)))

    # Teams over HTTP: the alert card's buttons, and its forms with their inputs filled in.
    for name, reference in access.references.items():
        channel = WHERE[name][1]
        alert = [c for c in world.fake_teams.of("create")
                 if c.body.get("channelData", {}).get("channel", {}).get("id") == channel][-1]
        for who in OUTSIDERS[name]:
            user = WHO[who][2]
            for action, title, inputs in (("view", "View details", {}), ("acknowledge", "Acknowledge", {}),
                                          ("assign", "Assign", {"assignee": "aad-NOBODY"}),
                                          ("note", "Add a note", {"detail": "a note"}),
                                          ("close", "Close", {"detail": "nothing to do"})):
                await _step(world, access.teams.press(user, title, conversation=alert.conversation, channel=channel,
                                                      **inputs))
                access.attempts[reference, f"teams:aad-{user}", action] += 1
    for who in ("STAFF", "DSL", "HEAD", "CHAIR"):
        for sent in world.fake_teams.to(personal(who)) + world.fake_teams.to(f"a:chat-with-29:{who}"):
            access.replies.append((f"teams:{who}", sent.text))

    # The lead commands, in this process (as `python -m bot reports` runs them), and once as the real command.
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    for name, reference in access.references.items():
        for who in OUTSIDERS[name]:
            user = WHO[who][0]
            for action in ACTIONS:
                args = [a.replace("@REF", reference) for a in CLI_ARGS[action]]
                args = args if "@REF" in CLI_ARGS[action] else [*args, reference]
                assert cli.main(["reports", "--as", user, *args]) == 1, (user, action)
                access.attempts[reference, f"terminal:{user}", action] += 1
                said = capsys.readouterr()
                access.replies.append((f"cli:{user}:{action}", said.out + said.err))
                assert REFUSED in said.err, (user, action, said.err)
    for user, hidden in (("head", "about_head"), ("chair", "pupil"), ("dsl", "about_head")):
        for command in ("list", "export"):
            assert cli.main(["reports", "--as", user, command]) == 0
            out = capsys.readouterr().out
            assert access.references[hidden] not in out and WHAT[hidden] not in out, (user, command)
    assert cli.main(["reports", "--as", "staff9", "export"]) == 2
    capsys.readouterr()
    real = run_cli("reports", "--as", "head", "show", access.references["about_head"],
                   env={"DATABASE_URL": db_url, "BOT_DATA_DIR": str(tmp_path)})
    assert real.returncode == 1 and REFUSED in real.stderr.decode() and not leaked(real.stdout.decode())
    access.attempts[access.references["about_head"], "terminal:head", "view"] += 1

    # Refused, each one recorded, nothing leaked, nothing changed.
    assert access.refusals() == access.attempts
    told = [(where, text) for where, text in access.replies if leaked(text)]
    assert told == [], "a refusal carried the report's content"
    assert all(REFUSED in text for where, text in access.replies if where.startswith(("core:", "cli:")))
    for platform in ("slack", "teams"):
        assert sum(REFUSED in text for where, text in access.replies if where.startswith(platform)) >= 15
    assert access.snapshot() == before


async def test_alerts_never_carry_the_content_and_the_leads_see_it_privately(access, db_url, tmp_path,
                                                                             monkeypatch, capsys):
    world, pupil, about_head = access.world, access.references["pupil"], access.references["about_head"]
    # The leads act, so each alert is edited in place a few times on Slack and Teams.
    await _step(world, access.slack.press("UDSL", "Acknowledge", channel=SAFE_CHANNEL))
    thread = [c for c in world.fake_teams.of("create")
              if c.body.get("channelData", {}).get("channel", {}).get("id") == TEAMS_CHAIR][-1].conversation
    await _step(world, access.teams.press("CHAIR", "Acknowledge", conversation=thread, channel=TEAMS_CHAIR))
    await world.deliver()

    channels = {SAFE_CHANNEL, HEAD_CHANNEL, CHAIR_CHANNEL}
    slack_alerts = [c for c in world.fake_slack.calls if c.method in ("chat.postMessage", "chat.update")
                    and c.args.get("channel") in channels]
    teams_alerts = [c for c in world.fake_teams.calls if c.kind in ("create", "update")
                    and c.conversation.startswith(("19:",))]
    with Session(world.core.db) as session:
        queued = [m for m in session.exec(select(OutboxMessage)) if m.message.get("type") == "alert"]
    assert len(slack_alerts) >= 3 and len(teams_alerts) >= 3 and queued
    assert [c.args for c in slack_alerts if leaked(json.dumps(c.args))] == []
    assert [c.text for c in teams_alerts if leaked(c.text)] == []
    assert [m.message for m in queued if leaked(json.dumps(m.message)) or leaked(render_message(m.message))] == []
    assert not [c for c in slack_alerts if c.args.get("channel") == HEAD_CHANNEL and about_head in json.dumps(c.args)]
    assert not [c for c in teams_alerts if c.conversation.startswith(TEAMS_HEADS) and about_head in c.text]

    # The designated leads see it: privately, never in the channel.
    await _step(world, access.slack.press("UDSL", "View details", channel=SAFE_CHANNEL))
    shown = [c for c in world.fake_slack.of("chat.postEphemeral") if c.args.get("user") == "UDSL"][-1]
    assert WHAT["pupil"] in json.dumps(shown.args) and shown.args["channel"] == SAFE_CHANNEL
    await _step(world, access.teams.press("CHAIR", "View details", conversation=thread, channel=TEAMS_CHAIR))
    assert WHAT["about_head"] in json.dumps([s.text for s in world.fake_teams.to(personal("CHAIR"))])
    assert not leaked(json.dumps([s.text for s in world.fake_teams.to(thread)]))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    assert cli.main(["reports", "--as", "chair", "show", about_head]) == 0
    assert WHAT["about_head"] in capsys.readouterr().out
    assert cli.main(["reports", "--as", "deputy", "show", pupil]) == 0, "the DSL's deputy may act too"
    assert WHAT["pupil"] in capsys.readouterr().out
    assert cli.main(["reports", "--as", "chair", "export"]) == 0
    exported = capsys.readouterr().out
    assert about_head in exported and pupil not in exported


def test_a_report_a_lead_cannot_see_is_not_listed_for_them(core):
    pupil = report(Staff(core), "pupil")
    about_head = report(Staff(core, user="staff2"), "about_head")
    with Session(core.db) as session:
        seen = {who: {r.reference for r in escalation.visible_reports(session, core.config,
                                                                      Person("terminal", "local", who))}
                for who in ("dsl", "deputy", "head", "chair", "slt", "staff1")}
    assert seen == {"dsl": {pupil}, "deputy": {pupil}, "head": set(), "chair": {about_head}, "slt": set(),
                    "staff1": set()}
    with Session(core.db) as session:
        assert {r.reference for r in session.exec(select(Report))} == {pupil, about_head}


def test_refusals_do_not_reach_the_reporter_or_the_alert(core, clock):
    reference = report(Staff(core), "pupil")
    with Session(core.db) as session:
        queued = len(list(session.exec(select(OutboxMessage))))
    clock.advance(minutes=1)
    for who in ("staff9", "head", "chair"):
        for action in ACTIONS:
            core.handle(Inbound(Person("terminal", "local", who), "alerts",
                                value={"lead": action, "reference": reference, "detail": "x", "assignee": "y"}))
    with Session(core.db) as session:
        assert len(list(session.exec(select(OutboxMessage)))) == queued, "a refusal tells nobody else"
        events = history(session, find_report(session, reference))
        assert [e.action for e in events].count("refused") == 15 and status(events) == "open"
        assert all(e.at - events[0].at == timedelta(minutes=1) for e in events[1:])
