"""Two `python -m bot serve` processes on one PostgreSQL database, sharing nothing else: a person's turns may land
on either, each alert is posted once though both outbox workers run, and an event delivered to both is handled
once. Real processes and real HTTP; the fake Slack Web API and Teams connector run in this test process.

Both replicas are started once for the module (starting one takes a few seconds); each test uses its own people,
so the tests do not see each other's replies.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine, select

from bot.store import outbox
from bot.store.db import database_url
from bot.store.models import Draft, OutboxMessage, Report
from tests.fake_connector import FakeConnector, start_fake_connector
from tests.fake_slack import FakeSlack, start_fake_slack
from tests.processes import (SLACK_REPORT, Server, eventually, figure, outbox_posts, own_schema, servers,
                             walk_slack)
from tests.slack_world import SlackWorld, event_envelope
from tests.teams_world import SAFEGUARDING, TeamsWorld, personal

pytestmark = [
    pytest.mark.processes,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                       reason="replicas share one PostgreSQL database: set TEST_DATABASE_URL (.ci/run does)"),
]
QUIET = 2.5  # seconds with nothing more arriving (longer than a worker's 2 s tick) before counting what did
TEAMS_REPORT = [(how.replace("dm", "say"), what) for how, what in SLACK_REPORT]


@dataclass
class Replicas:
    """The two servers, the fakes they talk to, and the database they share."""

    a: Server
    b: Server
    slack: FakeSlack
    teams: FakeConnector
    db: Engine

    @property
    def urls(self) -> tuple[str, str]:
        return self.a.url, self.b.url

    def alert_posts(self, key: str) -> list:
        return outbox_posts(self.slack, key)

    def rows(self, **where: object) -> list[OutboxMessage]:
        with Session(self.db) as session:
            query = select(OutboxMessage)
            for name, value in where.items():
                query = query.where(getattr(OutboxMessage, name) == value)
            return list(session.exec(query))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(tmp_path_factory) -> AsyncIterator[Replicas]:
    folder: Path = tmp_path_factory.mktemp("replicas")
    slack, slack_runner, api_url = await start_fake_slack()
    teams, teams_runner = await start_fake_connector()
    try:
        with own_schema() as url, servers(folder, database=url, slack_api=api_url, names=("a", "b")) as (a, b):
            a.start()
            await a.ready()  # the first applies the migrations; the second then finds them done (either order works)
            await b.start().ready()
            db = create_engine(database_url(url, folder))
            yield Replicas(a, b, slack, teams, db)
            db.dispose()
            for server in (a, b):
                assert "Traceback" not in server.output(), server.output()[-3000:]
                assert "unsafe at home" not in server.output(), "a log quotes what a reporter typed"
    finally:
        await slack_runner.cleanup()
        await teams_runner.cleanup()


async def walk_teams(world: TeamsWorld, user: str, steps: list[tuple[str, str]], urls: tuple[str, ...]) -> None:
    """The same through Teams: each reply comes back as a reply activity in the person's chat."""
    for n, (how, what) in enumerate(steps):
        world.url = urls[n % len(urls)]
        before = len(world.fake.of("reply"))
        response = await (world.press(user, what) if how == "press" else world.say(user, what))
        assert response.status == 200
        await world.fake.wait_for("reply", before + 1, timeout=15)


def reference_in(text: str) -> str:
    (found,) = set(re.findall(r"INC-\d{4}-\d{4}", text))
    return found


async def test_a_slack_dialog_alternating_between_replicas_files_one_report_alerted_once(pair):
    world = SlackWorld(pair.a.url, pair.slack, None)
    try:
        await walk_slack(world, "UREP1", SLACK_REPORT, pair.urls)
    finally:
        await world.http.close()
    reference = reference_in(world.said_to("DUREP1").split("Submit")[-1])
    key = f"{reference}:alert:dsl:slack"
    await eventually(lambda: [r for r in pair.rows(key=key) if r.status == "sent"], f"{key} recorded as sent")
    await asyncio.sleep(QUIET)  # both workers tick at least once more: nothing else may arrive
    (post,) = pair.alert_posts(key)
    assert post.args["channel"] == "CSAFE" and "unsafe at home" not in json.dumps(post.args)
    with Session(pair.db) as session:
        (report,) = session.exec(select(Report).where(Report.reporter_id == "UREP1")).all()
        assert report.reference == reference
        assert session.exec(select(Draft).where(Draft.user_id == "UREP1")).all() == [], "the draft is gone"


async def test_the_same_slack_event_sent_to_both_replicas_at_once_is_handled_once(pair):
    body = json.dumps(event_envelope({"type": "message", "channel_type": "im", "channel": "DUSAME", "user": "USAME",
                                      "text": "can I post photos of pupils?", "ts": "1.0"}, event_id="EvBOTH"))
    worlds = [SlackWorld(url, pair.slack, None) for url in pair.urls]
    try:
        answers = await asyncio.gather(*(w.post(body, "application/json") for w in worlds))
        assert [r.status for r in answers] == [200, 200]
        await pair.slack.wait_until(lambda: pair.slack.posted_to("DUSAME"), 1, timeout=15)
        await asyncio.sleep(QUIET)
        assert len(pair.slack.posted_to("DUSAME")) == 1
    finally:
        for world in worlds:
            await world.http.close()


async def test_two_messages_from_one_person_at_once_on_both_replicas_are_both_answered(pair):
    worlds = [SlackWorld(url, pair.slack, None) for url in pair.urls]
    try:  # two presses of "Report an incident" at the same moment: one draft, two answers, no error
        await worlds[0].dm("UTWICE", "help")
        await pair.slack.wait_until(lambda: pair.slack.posted_to("DUTWICE"), 1, timeout=15)
        answers = await asyncio.gather(*(w.press("UTWICE", "Report an incident") for w in worlds))
        assert [r.status for r in answers] == [200, 200]
        await pair.slack.wait_until(lambda: pair.slack.posted_to("DUTWICE"), 3, timeout=15)
    finally:
        for world in worlds:
            await world.http.close()
    with Session(pair.db) as session:
        assert len(session.exec(select(Draft).where(Draft.user_id == "UTWICE")).all()) == 1


async def test_many_messages_queued_at_once_are_each_posted_once_by_two_workers(pair):
    now = datetime.now(UTC)
    keys = [f"replica-load:{n}" for n in range(40)]
    with Session(pair.db) as session:
        for key in keys:
            outbox.enqueue(session, key=key, platform="slack", target="CLOAD", target_kind="channel",
                           message={"type": "question", "from": "Load test", "text": key}, now=now)
        session.commit()
    # No wake-up: both workers find them on their next tick, at about the same moment.
    queued = time.monotonic()
    await eventually(lambda: all(r.status == "sent" for r in pair.rows(target="CLOAD")), "all 40 sent", 30)
    figure("two replicas: 40 queued messages all posted after", time.monotonic() - queued)
    await asyncio.sleep(QUIET)
    assert sorted(len(pair.alert_posts(key)) for key in keys) == [1] * 40
    assert len(pair.slack.posted_to("CLOAD")) == 40


async def test_a_teams_dialog_alternating_between_replicas_files_one_report_alerted_once(pair):
    world = TeamsWorld(pair.a.url, pair.teams, None)
    try:
        await walk_teams(world, "TREP1", TEAMS_REPORT, pair.urls)
        reference = reference_in(world.said_to(personal("TREP1")).split("Submit")[-1])
        await eventually(lambda: [r for r in pair.rows(key=f"{reference}:alert:dsl:teams") if r.status == "sent"],
                         "the Teams alert recorded as sent")
        await asyncio.sleep(QUIET)
        alerts = [c for c in pair.teams.of("create") if reference in c.text]
        assert len(alerts) == 1 and alerts[0].body["channelData"]["channel"]["id"] == SAFEGUARDING

        activity = world.activity("TSAME", text="can I post photos of pupils?")  # one activity, to both replicas
        answers = await asyncio.gather(*(_send(world, url, activity) for url in pair.urls))
        assert answers == [200, 200]
        await pair.teams.wait_for("reply", 1, timeout=15, conversation=personal("TSAME"))
        await asyncio.sleep(QUIET)
        assert len(pair.teams.to(personal("TSAME"))) == 1
    finally:
        await world.http.close()


async def _send(world: TeamsWorld, url: str, activity: dict) -> int:
    response = await world.http.post(f"{url}/api/messages", data=json.dumps(activity),
                                     headers={"Content-Type": "application/json"})
    await response.read()
    return response.status
