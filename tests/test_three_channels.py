"""Every dialog is written once: the same script of answers, given through the terminal, Slack (signed HTTP) and
Teams (Bot Framework activities over HTTP), files the same report."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.channels.teams import TeamsSettings
from bot.channels.terminal import TerminalChannel
from bot.conversation import Conversation
from bot.server import SlackSettings, make_server
from bot.store.models import Report
from tests.fake_connector import start_fake_connector
from tests.fake_slack import start_fake_slack
from tests.slack_world import SECRET, SlackWorld, start_site
from tests.teams_world import TeamsWorld, personal

SCRIPT = [("type", "help"), ("press", "Report an incident"), ("press", "No"),
          ("press", "Cyberbullying or abuse of a staff member"), ("type", "me"),
          ("type", "A parent called me a disgrace to the profession in the Year 5 group"),
          ("type", "yesterday at 8pm"), ("type", "Facebook, Town Mums group"), ("type", "a parent of a Year 5 pupil"),
          ("press", "Screen grabs with the time, date and web address"), ("type", "skip"),
          ("type", "Told my line manager"), ("press", "Submit")]


@pytest.fixture
async def worlds(core, db):
    """One server with Slack and Teams on, the fakes they talk to, and the same core behind both."""
    fake_slack, slack_runner, api_url = await start_fake_slack()
    connector, connector_runner = await start_fake_connector()
    core = Conversation(kb=core.kb, db=db, config=core.config, clock=core.clock)
    runner, port = await start_site(make_server(core, SlackSettings("xoxb-test", SECRET, api_url), TeamsSettings(),
                                                delivery_interval=0.05))
    url = f"http://127.0.0.1:{port}"
    slack, teams = SlackWorld(url, fake_slack, core), TeamsWorld(url, connector, core)
    yield core, slack, teams
    for world in (slack, teams):
        await world.http.close()
    for running in (runner, slack_runner, connector_runner):
        await running.cleanup()


async def through_slack(slack: SlackWorld, user: str) -> None:
    for how, what in SCRIPT:
        before = len(slack.fake.of("chat.postMessage"))
        await (slack.press(user, what) if how == "press" else slack.dm(user, what))
        await slack.fake.wait_for("chat.postMessage", before + 1)


async def through_teams(teams: TeamsWorld, user: str) -> None:
    for how, what in SCRIPT:
        before = len(teams.fake.of("reply"))
        await (teams.press(user, what) if how == "press" else teams.say(user, what))
        await teams.fake.wait_for("reply", before + 1, conversation=personal(user))


def through_terminal(core: Conversation, user: str) -> None:
    terminal = TerminalChannel(core, user=user)
    for how, what in SCRIPT:  # in a terminal, typing a button's words presses it
        if how == "press":
            assert what.lower() in [o.label.lower() for o in terminal.options], f"no option {what!r}"
        terminal.say(what)


def filed(core: Conversation) -> dict[str, dict]:
    """Each report by the platform it came from, without what necessarily differs (reference, reporter, time)."""
    with Session(core.db) as session:
        return {r.reporter_platform: {"dialog": r.dialog, "category": r.category, "urgency": r.urgency,
                                      "lead_role": r.lead_role, "answers": r.answers, "fields": r.fields}
                for r in session.exec(select(Report))}


async def test_one_script_files_the_same_report_through_terminal_slack_and_teams(worlds):
    core, slack, teams = worlds
    through_terminal(core, "sam")
    await through_slack(slack, "U1")
    await through_teams(teams, "U1")
    reports = filed(core)
    assert set(reports) == {"terminal", "slack", "teams"}
    assert reports["terminal"]["category"] == "staff_abuse"
    assert reports["terminal"]["answers"], "the answers were kept"
    assert reports["slack"] == reports["terminal"]
    assert reports["teams"] == reports["terminal"]
