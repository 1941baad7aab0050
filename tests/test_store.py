"""Storage on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL: migrations, references, outbox, drafts."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, select

from bot.conversation import Inbound
from bot.escalation import Person
from bot.store import drafts, inbox, outbox
from bot.store.db import make_engine, migrate, open_database
from bot.store.models import InboxEvent
from bot.store.reports import next_reference
from dialogs.replies import from_data

TABLES = {"dialog_draft", "report", "report_event", "outbox", "reference_counter", "seen_event", "answer_feedback",
          "inbox"}


def test_migrations_create_every_table_on_an_empty_database_and_are_idempotent(db):
    assert TABLES <= set(inspect(db).get_table_names())
    migrate(db)  # a second start applies nothing and fails on nothing


def test_references_are_unique_and_in_order_even_when_taken_at_once(db_url):
    engine = open_database(db_url)

    def take(_: int) -> str:
        with Session(engine) as session:
            reference = next_reference(session, prefix="INC", year=2026)
            session.commit()
            return reference

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(take, range(40)))
    assert sorted(taken) == [f"INC-2026-{n:04d}" for n in range(1, 41)]
    with Session(engine) as session:
        assert next_reference(session, prefix="INC", year=2027) == "INC-2027-0001"
    engine.dispose()


def test_a_message_is_queued_once_however_often_it_is_enqueued(db, clock):
    with Session(db) as session:
        for _ in range(3):
            outbox.enqueue(session, key="INC-1:alert", platform="slack", target="C1", target_kind="channel",
                           message={"type": "alert"}, now=clock())
        session.commit()
        assert len(outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1))) == 1


def test_a_claimed_message_is_not_claimed_again_until_its_lease_lapses(db, clock):
    with Session(db) as session:
        outbox.enqueue(session, key="k", platform="slack", target="C1", target_kind="channel", message={},
                       now=clock())
        session.commit()
        (claimed,) = outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1))
        assert outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1)) == []
        clock.advance(minutes=2)  # the worker died without finishing: the message is claimable again
        assert [m.id for m in outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1))] == [claimed.id]


def test_a_failed_send_waits_and_a_sent_message_is_never_claimed_again(db, clock):
    with Session(db) as session:
        outbox.enqueue(session, key="k", platform="slack", target="C1", target_kind="channel", message={},
                       now=clock())
        session.commit()
        (message,) = outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1))
        outbox.mark_retry(session, message_id=message.id, attempts=1, error="HTTP 500", now=clock(),
                          delay=timedelta(seconds=30))
        session.commit()
        assert outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1)) == []
        clock.advance(seconds=31)
        (again,) = outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1))
        outbox.mark_sent(session, message_id=again.id, external_ref="1700000000.0001", now=clock())
        session.commit()
        clock.advance(hours=1)
        assert outbox.claim_due(session, now=clock(), lease=timedelta(minutes=1)) == []
        assert outbox.sent_ref(session, "k") == "1700000000.0001"


def test_two_processes_saving_one_draft_cannot_both_win(db, clock):
    person = {"platform": "slack", "workspace": "T1", "user_id": "U1"}
    with Session(db) as session:
        drafts.save_draft(session, draft=None, conversation="D1", dialog="incident_report", state={"n": 0},
                          now=clock(), ttl=timedelta(hours=1), **person)
        session.commit()
    # The other process has its own engine (an SQLite engine is one connection per process).
    elsewhere = make_engine(db.url.render_as_string(hide_password=False)) if db.dialect.name == "sqlite" else db
    with Session(db) as first, Session(elsewhere) as second:
        mine, theirs = drafts.load_draft(first, **person), drafts.load_draft(second, **person)
        drafts.save_draft(first, draft=mine, conversation="D1", dialog="incident_report", state={"n": 1},
                          now=clock(), ttl=timedelta(hours=1), **person)
        first.commit()
        with pytest.raises(drafts.DraftConflict):
            drafts.save_draft(second, draft=theirs, conversation="D1", dialog="incident_report", state={"n": 2},
                              now=clock(), ttl=timedelta(hours=1), **person)
    with Session(db) as session:
        assert drafts.load_draft(session, **person).state == {"n": 1}


def test_expired_drafts_are_purged(db, clock):
    with Session(db) as session:
        drafts.save_draft(session, draft=None, platform="terminal", workspace="local", user_id="a",
                          conversation="", dialog="friend_request", state={}, now=clock(), ttl=timedelta(hours=1))
        session.commit()
        clock.advance(hours=2)
        assert drafts.purge_expired_drafts(session, now=clock()) == 1


def _kept(db) -> list[str]:
    with Session(db) as session:
        return [row.key for row in session.exec(select(InboxEvent)).all()]


def _answer(db, key: str) -> list | None:
    with Session(db) as session:
        return inbox.answer_of(session, key)


def test_an_event_kept_before_its_ack_holds_its_answer_from_its_turn_until_it_is_posted(core, db, clock):
    with Session(db) as session:
        inbox.keep(session, "slack:Ev1", '{"the": "body"}', clock())
        inbox.keep(session, "slack:Ev1", '{"the": "body"}', clock())  # Slack's retry: kept once
        session.commit()
    assert _kept(db) == ["slack:Ev1"]
    person = Person("slack", "T1", "U1")
    replies = core.handle(Inbound(person, "DU1", text="can I post photos of pupils?", once="slack:Ev1", kept=True))
    assert from_data(_answer(db, "slack:Ev1")) == replies, "saved with the turn: a crash now loses no answer"
    with Session(db) as session:  # the channel posted it
        inbox.done(session, ["slack:Ev1"])
        session.commit()
    assert _kept(db) == []


def test_an_answer_left_behind_is_handed_back_once_more_and_nothing_is_applied_twice(core, db, clock):
    person = Person("slack", "T1", "U1")
    with Session(db) as session:
        inbox.keep(session, "slack:Ev4", "{}", clock())
        session.commit()
    first = core.respond(Inbound(person, "DU1", text="report an incident", once="slack:Ev4", kept=True))
    kept_at = clock()
    clock.advance(minutes=2)  # the server died before posting it; another replays the kept message
    again = core.respond(Inbound(person, "DU1", text="report an incident", once="slack:Ev4", kept=True,
                                 kept_at=kept_at))
    assert again.again and again.replies[1:] == first.replies and "Sorry for the wait" in again.replies[0].text
    retried = core.respond(Inbound(person, "DU1", text="report an incident", once="slack:Ev4", kept=True))
    assert retried.replies == [] and _kept(db) == ["slack:Ev4"], "Slack's retry leaves the answer to be posted"


def test_a_retry_kept_after_its_event_was_answered_is_taken_out_without_a_second_answer(core, db, clock):
    person = Person("slack", "T1", "U1")
    assert core.handle(Inbound(person, "DU1", text="can I post photos of pupils?", once="slack:Ev2", kept=True))
    with Session(db) as session:
        inbox.keep(session, "slack:Ev2", "{}", clock())
        session.commit()
    assert core.handle(Inbound(person, "DU1", text="can I post photos of pupils?", once="slack:Ev2", kept=True)) == []
    assert _kept(db) == []


def test_an_event_left_behind_is_tried_three_times_then_dropped(db, clock):
    with Session(db) as session:
        inbox.keep(session, "slack:Ev3", "{}", clock())
        session.commit()
    attempts = []
    for _ in range(inbox.GIVE_UP_AFTER + 1):
        with Session(db) as session:
            again, dropped = inbox.left_behind(session, older_than=clock() + timedelta(seconds=1))
            session.commit()
        attempts.append(([e.attempts for e in again], dropped))
    assert attempts == [([1], 0), ([2], 0), ([3], 0), ([], 1)]
    assert _kept(db) == []


def test_the_next_event_that_can_be_left_behind_is_the_first_kept_since_a_moment(db, clock):
    start = clock()
    with Session(db) as session:
        assert inbox.first_kept_since(session, start - timedelta(seconds=60)) is None
        inbox.keep(session, "slack:EvOld", "{}", start - timedelta(seconds=90))  # already left behind
        inbox.keep(session, "slack:EvA", "{}", start - timedelta(seconds=20))
        inbox.keep(session, "slack:EvB", "{}", start - timedelta(seconds=5))
        session.commit()
        assert inbox.first_kept_since(session, start - timedelta(seconds=60)) == start - timedelta(seconds=20)
        assert inbox.first_kept_since(session, start) is None
