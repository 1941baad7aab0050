"""Faults, with real `python -m bot serve` processes and real HTTP: the server killed with SIGKILL in the middle of
a dialog and in the middle of posting an alert, Slack and the Teams connector failing then recovering, and the
database cut off in the middle of a submission and then for a while. The fakes run in this test process.

Each test waits for what it expects with a deadline. One server process at a time sends, so once an outbox
message is recorded as sent, the posts counted are final (no quiet period is needed to count them).
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from bot.conversation import Conversation
from bot.school import load_config
from bot.store.db import database_url, open_database
from bot.store.models import Draft, OutboxMessage, Report, ReportEvent
from bot.store.reports import history
from tests.fake_connector import FakeConnector, start_fake_connector
from tests.fake_slack import FakeSlack, start_fake_slack
from tests.processes import (PUPIL, SLACK_REPORT, eventually, figure, outbox_posts, own_database, school_config,
                             servers, walk_slack)
from tests.slack_world import SlackStaff, SlackWorld
from tests.teams_world import SAFEGUARDING, TeamsWorld, personal
from tests.test_incident_report import report as file_report

pytestmark = pytest.mark.processes
LEASE = 8  # seconds: a killed server's claim lapses this soon (each platform call then gets 1 s)
SORRY = "can't reach my records"
TYPED = ("unsafe at home", "Instagram @ab", "AB, Year 9")  # what the reporter typed: never in a log


@dataclass
class Fakes:
    slack: FakeSlack
    api_url: str
    teams: FakeConnector


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    slack, slack_runner, api_url = await start_fake_slack()
    teams, teams_runner = await start_fake_connector()
    yield Fakes(slack, api_url, teams)
    await slack_runner.cleanup()
    await teams_runner.cleanup()


def row(db: Engine, key: str) -> OutboxMessage | None:
    with Session(db) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


def sent(db: Engine, key: str) -> OutboxMessage | None:
    found = row(db, key)
    return found if found is not None and found.status == "sent" else None


def assert_nothing_typed_in(*logs: str) -> None:
    for log in logs:
        for words in TYPED:
            assert words not in log, f"the log quotes what a reporter typed ({words!r})"


# ---- kill -9 ---------------------------------------------------------------------------------------------------

async def test_a_dialog_carries_on_after_the_server_is_killed_between_turns(db_url, fakes, tmp_path):
    with servers(tmp_path, database=db_url, slack_api=fakes.api_url) as (server,):
        await server.start().ready()
        world = SlackWorld(server.url, fakes.slack, None)
        try:
            await walk_slack(world, "UDIAL", SLACK_REPORT[:7], (server.url,))  # up to "what happened"
            server.kill()
            await server.start().ready()
            await walk_slack(world, "UDIAL", SLACK_REPORT[7:], (server.url,))  # a new process takes the rest
        finally:
            await world.http.close()
        summary_and_after = world.said_to("DUDIAL")
        assert "unsafe at home" in summary_and_after and "Instagram @ab" in summary_and_after
        db = open_database(db_url)
        with Session(db) as session:
            (report,) = session.exec(select(Report).where(Report.reporter_id == "UDIAL")).all()
            assert "unsafe at home" in str(report.fields) and "Instagram @ab" in str(report.fields)
        key = f"{report.reference}:alert:dsl:slack"
        await eventually(lambda: sent(db, key), "the alert recorded as sent")
        assert len(outbox_posts(fakes.slack, key)) == 1
        db.dispose()
        assert_nothing_typed_in(server.output())


async def test_an_alert_being_posted_when_the_server_is_killed_is_posted_exactly_once(db_url, fakes, tmp_path,
                                                                                      kb):
    with servers(tmp_path, database=db_url, slack_api=fakes.api_url, lease_seconds=LEASE) as (server,):
        await server.start().ready()
        core = Conversation(kb=kb, db=open_database(db_url), config=load_config(school_config(tmp_path)))
        fakes.slack.hang_after.add("chat.postMessage")  # Slack takes the post, and the answer never comes
        reference = file_report(SlackStaff(core, user="UKILL"), PUPIL)  # queued; the server's worker finds it
        key = f"{reference}:alert:dsl:slack"
        await eventually(lambda: outbox_posts(fakes.slack, key), "the alert reaching Slack", every=0.01)
        server.kill()  # while the worker waits for Slack's answer
        killed_at = datetime.now(UTC).replace(tzinfo=None)
        fakes.slack.hang_after.clear()
        in_doubt = row(core.db, key)
        assert in_doubt.status == "pending" and in_doubt.attempted_at is not None

        await server.start().ready()  # it claims the message once the dead worker's claim lapses
        done = await eventually(lambda: sent(core.db, key), "the alert recorded as sent", timeout=LEASE + 20)
        figure(f"killed mid-post: the alert recorded after the kill (lease {LEASE} s)",
               (done.sent_at.replace(tzinfo=None) - killed_at).total_seconds())
        (post,) = outbox_posts(fakes.slack, key)
        assert done.external_ref == f"CSAFE:{post.answered['ts']}", "the post already there is the one recorded"
        assert [c.args["channel"] for c in fakes.slack.of("conversations.history")] == ["CSAFE"]
        core.db.dispose()


@contextlib.asynccontextmanager
async def slack_to(server, fakes: Fakes) -> AsyncIterator[SlackWorld]:
    """Signed Slack requests to the server where it listens now (a restarted server has a new port)."""
    world = SlackWorld(server.url, fakes.slack, None)
    try:
        yield world
    finally:
        await world.http.close()


async def inbox_empties(db_url: str, what: str) -> None:
    """Wait until every kept message is known to be answered (posted rows go out in batches, once a second)."""
    db = open_database(db_url)
    try:
        with Session(db) as session:
            def empty() -> bool:
                return session.execute(text("SELECT count(*) FROM inbox")).scalar() == 0
            await eventually(empty, what, timeout=20)
    finally:
        db.dispose()


async def test_a_message_acknowledged_when_the_server_is_killed_is_answered_once_after_the_restart(db_url, fakes,
                                                                                                    tmp_path):
    with servers(tmp_path, database=db_url, slack_api=fakes.api_url, INBOX_REPLAY_SECONDS="1") as (server,):
        await server.start().ready()
        async with slack_to(server, fakes) as world:
            release = fakes.slack.hold("users.info")  # the answer stops before its turn, after the ack
            assert (await world.dm("UGONE", "can i accept a friend request from a parent?")).status == 200
            await fakes.slack.wait_for("users.info!held")
            server.kill()  # Slack has had its 200 and will not send the message again
            release.set()
        assert fakes.slack.of("chat.postMessage") == []
        await server.start().ready()  # finds the message kept before the ack, and answers it
        (answer,) = await fakes.slack.wait_for("chat.postMessage", timeout=20)
        assert answer.args["channel"] == "DUGONE" and "clause" in str(answer.args["blocks"])
        await inbox_empties(db_url, "the answered message taken out of the inbox")
        await server.ready()
        assert len(fakes.slack.of("chat.postMessage")) == 1, "answered once, however often the restart looks"


async def test_a_button_pressed_when_the_server_is_killed_is_answered_once_after_the_restart(db_url, fakes,
                                                                                               tmp_path):
    with servers(tmp_path, database=db_url, slack_api=fakes.api_url, INBOX_REPLAY_SECONDS="1") as (server,):
        await server.start().ready()
        async with slack_to(server, fakes) as world:
            await world.dm("UPRESS", "help")
            await fakes.slack.wait_for("chat.postMessage")
        await inbox_empties(db_url, "the answered message taken out of the inbox")
        server.kill()
        await server.start().ready()  # a fresh process: it looks the person's name up again
        async with slack_to(server, fakes) as world:
            release = fakes.slack.hold("users.info")  # the press stops before its turn, after the ack
            assert (await world.press("UPRESS", "Report an incident")).status == 200
            await fakes.slack.wait_for("users.info!held")
            server.kill()  # Slack has had its 200; it never sends a button press again
            release.set()
        await server.start().ready()  # finds the press kept before the ack, and answers it
        answers = await fakes.slack.wait_for("chat.postMessage", 2, timeout=20)
        assert "Sorry for the wait" in str(answers[1].args["blocks"]), "the form starts, late"
        await inbox_empties(db_url, "the answered press taken out of the inbox")
        await server.ready()
        assert len(fakes.slack.of("chat.postMessage")) == 2, "answered once, however often the restart looks"


def report_command(user: str) -> str:
    """/report as Slack sends it: a form, with a trigger_id of its own."""
    return urlencode({"command": "/report", "text": "", "user_id": user, "channel_id": "CSTAFF", "team_id": "T1",
                      "trigger_id": f"trig-report-{user}", "response_url": "http://127.0.0.1:9/respond"})


@pytest.mark.parametrize("what", ["acknowledge", "note", "/report"])
async def test_a_lead_action_or_report_command_acknowledged_when_the_server_is_killed_is_taken_once_after_the_restart(
        db_url, fakes, tmp_path, kb, what):
    with servers(tmp_path, database=db_url, slack_api=fakes.api_url, INBOX_REPLAY_SECONDS="1") as (server,):
        await server.start().ready()
        core = Conversation(kb=kb, db=open_database(db_url), config=load_config(school_config(tmp_path)))
        reference = file_report(SlackStaff(core, user="UREP"), PUPIL)
        await eventually(lambda: sent(core.db, f"{reference}:alert:dsl:slack"), "the alert posted")
        form: dict = {}
        if what == "note":  # the form opens first; it is sending it that the kill interrupts
            async with slack_to(server, fakes) as world:
                assert (await world.press("UDSL", "Add a note", channel="CSAFE")).status == 200
                form = (await fakes.slack.wait_for("views.open"))[0].args["view"]
            server.kill()
            await server.start().ready()  # a fresh process: it looks the lead's name up again
        async with slack_to(server, fakes) as world:
            release = fakes.slack.hold("users.info")  # each stops before its turn, after the ack
            if what == "acknowledge":
                sending = world.press("UDSL", "Acknowledge", channel="CSAFE")
            elif what == "note":
                sending = world.submit_form("UDSL", form, "Spoke to the parent")
            else:
                sending = world.post(report_command("UCMD"), "application/x-www-form-urlencoded")
            assert (await sending).status == 200
            await fakes.slack.wait_for("users.info!held")
            server.kill()  # Slack has had its 200; it never sends a press, a form or a command again
            release.set()
        await server.start().ready()  # finds what was kept before the ack, and takes it
        def answers() -> list:  # a press on the alert is answered privately in its channel, the others in a DM
            if what == "acknowledge":
                return fakes.slack.of("chat.postEphemeral")
            return fakes.slack.posted_to("DUCMD" if what == "/report" else "DUDSL")
        (answer,) = await fakes.slack.wait_until(answers, what=f"{what} answered", timeout=20)
        assert "Sorry for the wait" in str(answer.args["blocks"])
        await inbox_empties(db_url, f"the {what} taken out of the inbox once answered")
        await server.ready()
        assert len(answers()) == 1, "answered once, however often the restart looks"
        with Session(core.db) as session:
            if what == "/report":
                (draft,) = session.exec(select(Draft).where(Draft.user_id == "UCMD")).all()
                assert draft.dialog == "incident_report"
            else:
                report = session.exec(select(Report).where(Report.reference == reference)).one()
                action = {"acknowledge": "acknowledged", "note": "note"}[what]
                done = [e for e in history(session, report) if e.action == action]
                assert len(done) == 1, f"{action} recorded once"
                assert what != "note" or done[0].detail == "Spoke to the parent"
        core.db.dispose()


@pytest.mark.parametrize("slack_took_it", [False, True], ids=["post-lost", "post-landed"])
async def test_an_answer_being_posted_when_the_server_is_killed_is_posted_once_after_the_restart(
        db_url, fakes, tmp_path, slack_took_it):
    with servers(tmp_path, database=db_url, slack_api=fakes.api_url, INBOX_REPLAY_SECONDS="1") as (server,):
        await server.start().ready()
        async with slack_to(server, fakes) as world:
            if slack_took_it:  # Slack posts it, but the server dies before hearing so
                release = fakes.slack.hold("chat.postMessage")
            else:  # the post never reaches Slack
                fakes.slack.hang_once.append("chat.postMessage")
            assert (await world.dm("UPOST", "can i accept a friend request from a parent?")).status == 200
            await fakes.slack.wait_for("chat.postMessage!held" if slack_took_it else "chat.postMessage!hang")
            server.kill()  # the turn is saved (the dialog's step, the event as seen); its answer is in flight
        if slack_took_it:
            release.set()
            await fakes.slack.wait_for("chat.postMessage")
            fakes.slack.holding.clear()
        await server.start().ready()  # finds the answer kept with the message, and posts it unless it went
        await inbox_empties(db_url, "the kept answer handed on and taken out")
        db = open_database(db_url)
        await eventually(lambda: sent(db, "reply:slack:" + answers_event(fakes.slack)), "the answer recorded as sent",
                         timeout=20)
        db.dispose()
    (answer,) = fakes.slack.posted_to("DUPOST")
    assert "clause" in str(answer.args["blocks"])
    assert ("Sorry for the wait" in str(answer.args["blocks"])) is not slack_took_it, "a late answer says so"
    assert bool(fakes.slack.of("conversations.history")), "the restart looked for the post before posting"


def answers_event(slack: FakeSlack) -> str:
    """The event id of the one message sent in a test (from the metadata of the answer's first attempt)."""
    attempt = next(c for c in slack.calls if c.method.startswith("chat.postMessage"))
    return attempt.args["metadata"]["event_payload"]["key"].removeprefix("reply:slack:")


# ---- the platforms failing, then recovering ----------------------------------------------------------------------

async def test_slack_and_teams_failing_then_recovering_deliver_each_alert_once(fakes, tmp_path, kb):
    database = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with servers(tmp_path, database=database, slack_api=fakes.api_url, lease_seconds=LEASE) as (server,):
        await server.start().ready()
        teams = TeamsWorld(server.url, fakes.teams, None)
        try:
            assert (await teams.say("TMEET", "hello")).status == 200  # Teams learns where the bot lives
            await fakes.teams.wait_for("reply", conversation=personal("TMEET"))
        finally:
            await teams.http.close()
        fakes.slack.hang_once.append("chat.postMessage")  # hangs past the 1 s timeout, never taken
        fakes.slack.fail_next("chat.postMessage", 429, error="ratelimited", **{"Retry-After": "1"})
        fakes.teams.fail_next("create", 500)
        fakes.teams.fail_next("create", 429, **{"Retry-After": "1"})
        core = Conversation(kb=kb, db=open_database(database), config=load_config(school_config(tmp_path)))
        reference = file_report(SlackStaff(core, user="UFAIL"), PUPIL)

        slack_key, teams_key = f"{reference}:alert:dsl:slack", f"{reference}:alert:dsl:teams"
        filed = time.monotonic()
        await eventually(lambda: sent(core.db, slack_key) and sent(core.db, teams_key), "both alerts sent", 30)
        figure("Slack hang + 429 and Teams 500 + 429: both alerts delivered after", time.monotonic() - filed)
        assert [c.method for c in fakes.slack.calls if c.method.startswith("chat.postMessage")] == [
            "chat.postMessage!hang", "chat.postMessage!429", "chat.postMessage"]
        assert len(outbox_posts(fakes.slack, slack_key)) == 1
        assert [c.kind for c in fakes.teams.calls if c.kind.startswith("create")] == [
            "create!500", "create!429", "create"]
        (alert,) = fakes.teams.of("create")
        assert alert.body["channelData"]["channel"]["id"] == SAFEGUARDING and reference in alert.text
        core.db.dispose()


# ---- the database going away -----------------------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                    reason="cuts off a PostgreSQL database of its own: set TEST_DATABASE_URL (.ci/run does)")
async def test_the_database_going_away_gets_kind_answers_and_leaves_nothing_half_written(fakes, tmp_path):
    with own_database() as (url, name, admin), \
            servers(tmp_path, database=url, slack_api=fakes.api_url) as (server,):
        await server.start().ready()
        db = create_engine(database_url(url, tmp_path), pool_pre_ping=True)  # its connections are cut too
        slack = SlackWorld(server.url, fakes.slack, None)
        teams = TeamsWorld(server.url, fakes.teams, None)
        http = aiohttp.ClientSession()
        try:
            await walk_slack(slack, "UDB", SLACK_REPORT[:-1], (server.url,))  # the summary, before Submit
            before = draft_version(db, "UDB")

            # 1. Cut off in the middle of the submission: the report is written, its alerts wait on a lock,
            #    and the connection is killed there. The transaction goes whole: no report without its alerts.
            with db.connect() as locker:
                locker.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
                assert (await slack.press("UDB", "Submit")).status == 200
                blocked = await eventually(lambda: waiting_insert(admin, name), "the submission waiting")
                admin_run(admin, f"SELECT pg_terminate_backend({blocked})")
                locker.rollback()
            await replied(slack, "UDB", SORRY)
            assert counts(db) == {"report": 0, "report_event": 0, "outbox": 0, "reference_counter": 0}
            assert draft_version(db, "UDB") == before, "the draft is as it was: the summary, not submitted"

            # 2. The database refuses connections for a while: a 503 for the load balancer, a kind answer for
            #    people, on every way in, and never a 5xx to Slack or Teams.
            admin_run(admin, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            admin_run(admin, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            cut = time.monotonic()
            await eventually(lambda: health(http, server.url, 503), "/healthz saying 503")
            figure("database cut off: /healthz 503 after", time.monotonic() - cut)
            assert (await slack.press("UDB", "Submit")).status == 200
            await replied(slack, "UDB", SORRY, count=2)
            assert (await slack.dm("UDB", "help")).status == 200
            await replied(slack, "UDB", SORRY, count=3)
            command = await slack.post(urlencode({"command": "/policy", "text": "can I friend a parent",
                                                  "user_id": "UDB", "channel_id": "CSTAFF", "team_id": "T1",
                                                  "trigger_id": "t", "response_url": "http://x/"}),
                                       "application/x-www-form-urlencoded")
            assert command.status == 200 and SORRY in await command.text()
            assert (await teams.say("TDB", "can I friend a parent?")).status == 200
            (sorry,) = await fakes.teams.wait_for("reply", conversation=personal("TDB"))
            assert SORRY in sorry.text

            # 3. Back: the same press now submits, as the first report (the lost reference was rolled back too).
            admin_run(admin, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            back = time.monotonic()
            await eventually(lambda: health(http, server.url, 200), "/healthz saying 200 again")
            figure("database back: /healthz 200 after", time.monotonic() - back)
            assert (await slack.press("UDB", "Submit")).status == 200
            confirmation = await replied(slack, "UDB", "-0001 has gone to")
            (reference,) = set(re.findall(r"INC-\d{4}-0001", confirmation))
            key = f"{reference}:alert:dsl:slack"
            await eventually(lambda: sent(db, key), "the alert recorded as sent")
            assert len(outbox_posts(fakes.slack, key)) == 1
            figure("database back: the resubmitted report's alert posted after", time.monotonic() - back)
            assert counts(db)["report"] == 1
            with Session(db) as session:
                keys = set(session.exec(select(OutboxMessage.key)).all())
            assert {key, f"{reference}:alert:dsl:teams", f"{reference}:alert:dsl:terminal:dsl"} <= keys
        finally:
            await http.close()
            await slack.http.close()
            await teams.http.close()
            db.dispose()
        assert_nothing_typed_in(server.output())


def admin_run(admin: Engine, statement: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(statement))


def waiting_insert(admin: Engine, name: str) -> int | None:
    """The server's connection waiting on the lock with the alerts' INSERT, if it is there yet."""
    with admin.connect() as connection:
        return connection.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock' "
            "AND query ILIKE 'INSERT INTO outbox%'"), {"name": name}).scalar()


def draft_version(db: Engine, user: str) -> int:
    with Session(db) as session:
        return session.exec(select(Draft.version).where(Draft.user_id == user)).one()


def counts(db: Engine) -> dict[str, int]:
    with Session(db) as session:
        return {"report": session.exec(select(func.count()).select_from(Report)).one(),
                "report_event": session.exec(select(func.count()).select_from(ReportEvent)).one(),
                "outbox": session.exec(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.report_id.is_not(None))).one(),
                "reference_counter": session.execute(text("SELECT count(*) FROM reference_counter")).scalar()}


async def replied(world: SlackWorld, user: str, words: str, count: int = 1) -> str:
    """Wait until `count` of the bot's messages to the person contain `words`; returns the latest of them."""
    def matching() -> list:
        return [c for c in world.fake.posted_to(f"D{user}") if words in str(c.args)]
    found = await world.fake.wait_until(matching, count, timeout=15, what=f"{words!r} said to {user}")
    return str(found[-1].args.get("text", "")) + str(found[-1].args.get("blocks", ""))


async def health(http: aiohttp.ClientSession, url: str, status: int) -> bool:
    try:
        async with http.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=8)) as answer:
            return answer.status == status
    except aiohttp.ClientError:
        return False

