"""Work every replica does on a timer happens once, not once per replica: two reminder rounds at the same moment
on one PostgreSQL database remind the lead once, escalate once, and tell the reporter once."""
from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot import escalation
from bot.store.models import OutboxMessage, ReportEvent
from tests.talk import Staff
from tests.test_incident_report import report

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="several processes share a PostgreSQL database: set TEST_DATABASE_URL")


def test_two_reminder_rounds_at_once_remind_and_escalate_once(core, clock, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is one process's database")
    reference = report(Staff(core), "A worrying post or message by or about a pupil")
    clock.advance(hours=25)  # due both a reminder and a re-escalation to the deputy
    second_done = threading.Event()

    def second_replica() -> None:
        with Session(core.db) as session:
            escalation.run_reminders(session, core.config, clock())
            session.commit()
        second_done.set()

    with Session(core.db) as first:
        escalation.run_reminders(first, core.config, clock())  # done, not yet committed
        other = threading.Thread(target=second_replica)
        other.start()
        deadline = time.monotonic() + 10
        while not (second_done.is_set() or waiting_for_a_lock(core.db)):  # the second has read, or is held
            assert time.monotonic() < deadline, "the second round neither finished nor waited"
            time.sleep(0.01)
        first.commit()
    other.join(timeout=10)
    with Session(core.db) as session:
        actions = [e.action for e in session.exec(select(ReportEvent).order_by(ReportEvent.id))]
        told = session.exec(select(OutboxMessage).where(OutboxMessage.target == "staff1")).all()
    assert actions.count("reminded") == 1 and actions.count("escalated") == 1, actions
    assert len(told) == 1 and reference in told[0].message["text"]


def waiting_for_a_lock(db) -> bool:
    with db.connect() as connection:
        return bool(connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar())  # the advisory lock, or (without it) a row's
