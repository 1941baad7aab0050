"""What two replicas (or two threads of one) might do at the same moment happens once: two reminder rounds remind
the lead once, escalate once and tell the reporter once; a double press of Acknowledge acknowledges once."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot import escalation
from bot.escalation import Person
from bot.store.models import OutboxMessage, ReportEvent
from tests.talk import Staff
from tests.test_incident_report import report

DSL = Person("terminal", "local", "dsl", "Ms Patel")
pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="several processes share a PostgreSQL database: set TEST_DATABASE_URL")


def test_two_reminder_rounds_at_once_remind_and_escalate_once(core, clock, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is one process's database")
    reference = report(Staff(core), "A worrying post or message by or about a pupil")
    clock.advance(hours=25)  # due both a reminder and a re-escalation to the deputy
    at_once(core.db, lambda session: escalation.run_reminders(session, core.config, clock()))
    with Session(core.db) as session:
        actions = [e.action for e in session.exec(select(ReportEvent).order_by(ReportEvent.id))]
        told = session.exec(select(OutboxMessage).where(OutboxMessage.target == "staff1")).all()
    assert actions.count("reminded") == 1 and actions.count("escalated") == 1, actions
    assert len(told) == 1 and reference in told[0].message["text"]


def test_a_double_press_of_acknowledge_acknowledges_once(core, clock, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is one process's database")
    reference = report(Staff(core), "A worrying post or message by or about a pupil")
    outcomes = at_once(core.db, lambda session: escalation.act(session, core.config, reference, DSL, "acknowledge",
                                                               clock()))
    assert [o.ok for o in outcomes] == [True, False] and "already acknowledged" in outcomes[1].message
    with Session(core.db) as session:
        actions = [e.action for e in session.exec(select(ReportEvent).order_by(ReportEvent.id))]
        told = session.exec(select(OutboxMessage).where(OutboxMessage.target == "staff1")).all()
    assert actions == ["submitted", "acknowledged"] and len(told) == 1


def at_once(db, work: Callable[[Session], Any]) -> list[Any]:
    """Do `work` in a transaction, and again in another thread's transaction started before the first commits
    (it either waits for the first, or runs beside it: whichever the code allows); returns both results."""
    results: list[Any] = []
    second_done = threading.Event()

    def second() -> None:
        with Session(db) as session:
            results.append(work(session))
            session.commit()
        second_done.set()

    with Session(db) as first:
        results.append(work(first))  # done, not yet committed
        other = threading.Thread(target=second)
        other.start()
        deadline = time.monotonic() + 10
        while not (second_done.is_set() or waiting_for_a_lock(db)):  # the second has read, or is held
            assert time.monotonic() < deadline, "the second neither finished nor waited"
            time.sleep(0.01)
        first.commit()
    other.join(timeout=10)
    return results


def waiting_for_a_lock(db) -> bool:
    with db.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar())  # the advisory lock, or (without it) a row's
