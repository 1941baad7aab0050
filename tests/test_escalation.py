"""Leads act on reports: recorded in the history, the reporter told, everyone else refused; reports never edited."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from bot import escalation
from bot.escalation import Person
from bot.store.models import OutboxMessage, Report
from bot.store.reports import find_report, history, status
from tests.talk import Staff
from tests.test_incident_report import WHAT, report

DSL = Person("terminal", "local", "dsl", "Ms Patel")
HEAD = Person("terminal", "local", "head", "Mr Jones")


def lead(core, person: Person, action: str, reference: str, **extra) -> Staff:
    """A lead presses an action button on a report's alert."""
    staff = Staff(core, user=person.user_id)
    staff.replies = core.handle(escalation_event(person, {"lead": action, "reference": reference, **extra}))
    return staff


def escalation_event(person: Person, value: dict):
    from bot.conversation import Inbound

    return Inbound(person, "alerts", value=value)


def reporter_messages(core, reference: str, user: str = "staff1") -> list[str]:
    with Session(core.db) as session:
        return [m.message["text"] for m in session.exec(select(OutboxMessage).where(
            OutboxMessage.target == user, OutboxMessage.key.startswith(reference))
            .order_by(OutboxMessage.id))]


def events(core, reference: str) -> list[tuple[str, str, str]]:
    with Session(core.db) as session:
        found = find_report(session, reference)
        return [(e.action, e.actor, e.status) for e in history(session, found)]


@pytest.fixture
def pupil_report(core) -> str:
    return report(Staff(core), "A worrying post or message by or about a pupil")


def test_acknowledge_assign_and_close_are_recorded_and_each_reaches_the_reporter(core, clock, pupil_report):
    lead(core, DSL, "acknowledge", pupil_report)
    clock.advance(minutes=5)
    lead(core, DSL, "assign", pupil_report, assignee="Mrs Deputy")
    clock.advance(minutes=5)
    lead(core, DSL, "note", pupil_report, detail="Called parents")
    closed = lead(core, DSL, "close", pupil_report, detail="Referred to early help")
    assert "closed" in closed.text
    assert events(core, pupil_report) == [
        ("submitted", "terminal:staff1", "open"), ("acknowledged", "terminal:dsl", "acknowledged"),
        ("assigned", "terminal:dsl", "assigned"), ("note", "terminal:dsl", ""), ("closed", "terminal:dsl", "closed")]
    told = reporter_messages(core, pupil_report)
    assert len(told) == 3, "acknowledged, assigned, closed; a lead's note stays between leads"
    assert "acknowledged by Ms Patel" in told[0] and "Mrs Deputy" in told[1] and "Referred to early help" in told[2]


def test_the_lead_sees_the_content_and_the_audit_trail(core, pupil_report):
    viewed = lead(core, DSL, "view", pupil_report)
    assert WHAT in viewed.text
    assert "History:" in viewed.text and "submitted by Staff1" in viewed.text
    assert ("viewed", "terminal:dsl", "") in events(core, pupil_report)


@pytest.mark.parametrize("action", ["view", "acknowledge", "assign", "note", "close"])
def test_anyone_but_the_designated_lead_is_refused_and_nothing_changes(core, pupil_report, action):
    for outsider in (HEAD, Person("terminal", "local", "staff1", "the reporter"),
                     Person("slack", "T1", "dsl", "same id, other platform")):
        attempt = lead(core, outsider, action, pupil_report, detail="x", assignee="y")
        assert "only the designated leads" in attempt.text
        assert WHAT not in attempt.text
    trail = events(core, pupil_report)
    assert [a for a, _, _ in trail] == ["submitted", "refused", "refused", "refused"]
    assert reporter_messages(core, pupil_report) == []


def test_the_headteacher_cannot_see_a_report_about_the_headteacher(core):
    reference = report(Staff(core), "A colleague's conduct online", about_head="Yes")
    assert "only the designated leads" in lead(core, HEAD, "view", reference).text
    chair = Person("terminal", "local", "chair", "Chair")
    assert "History:" in lead(core, chair, "view", reference).text


def test_closing_needs_a_reason_and_a_closed_report_takes_only_notes(core, pupil_report):
    assert "give a reason" in lead(core, DSL, "close", pupil_report).text
    lead(core, DSL, "close", pupil_report, detail="Resolved")
    assert "is closed" in lead(core, DSL, "acknowledge", pupil_report).text
    assert "Note added" in lead(core, DSL, "note", pupil_report, detail="Parents called back").text


def test_a_submitted_report_cannot_be_changed_only_added_to(core, pupil_report):
    with Session(core.db) as session:
        found = find_report(session, pupil_report)
        found.fields = [["What happened", "something else entirely"]]
        session.add(found)
        with pytest.raises(DBAPIError):
            session.commit()
    with Session(core.db) as session, pytest.raises(DBAPIError):
        session.execute(text("UPDATE report_event SET detail = 'rewritten'"))
        session.commit()
    with Session(core.db) as session:
        assert dict(find_report(session, pupil_report).fields)["What happened"] == WHAT
        assert [e.detail for e in history(session, find_report(session, pupil_report))] == [""]


def test_an_unacknowledged_report_reminds_its_lead_then_goes_to_the_deputy(core, clock, pupil_report):
    with Session(core.db) as session:
        assert escalation.run_reminders(session, core.config, clock()) == 0
    clock.advance(hours=5)
    with Session(core.db) as session:
        assert escalation.run_reminders(session, core.config, clock()) == 1
        session.commit()
    clock.advance(hours=20)
    with Session(core.db) as session:
        assert escalation.run_reminders(session, core.config, clock()) == 1
        session.commit()
        assert escalation.run_reminders(session, core.config, clock()) == 0, "each happens once"
    with Session(core.db) as session:
        targets = [m.target for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert targets == ["dsl", "dsl", "deputy", "staff1"]
    deputy = Person("terminal", "local", "deputy", "Deputy")
    assert "History:" in lead(core, deputy, "view", pupil_report).text
    assert "passed to the Deputy DSL" in reporter_messages(core, pupil_report)[0]


def test_an_acknowledged_report_is_not_chased(core, clock, pupil_report):
    lead(core, DSL, "acknowledge", pupil_report)
    clock.advance(hours=30)
    with Session(core.db) as session:
        assert escalation.run_reminders(session, core.config, clock()) == 0


def test_a_lead_lists_only_the_reports_routed_to_them_or_their_deputies(core):
    report(Staff(core, user="a"), "A worrying post or message by or about a pupil")
    report(Staff(core, user="b"), "Something else")
    with Session(core.db) as session:
        dsl = [r.category for r in escalation.visible_reports(session, core.config, DSL)]
        head = [r.category for r in escalation.visible_reports(session, core.config, HEAD)]
        staff = escalation.visible_reports(session, core.config, Person("terminal", "local", "a"))
    assert dsl == ["pupil_concern"]
    assert sorted(head) == ["other"]  # the Headteacher deputises for SLT, not for the DSL
    assert staff == []


def test_status_follows_the_latest_status_changing_event(core, pupil_report):
    lead(core, DSL, "acknowledge", pupil_report)
    lead(core, DSL, "note", pupil_report, detail="still acknowledged")
    with Session(core.db) as session:
        assert status(history(session, find_report(session, pupil_report))) == "acknowledged"
        assert session.exec(select(Report)).one().reference == pupil_report
