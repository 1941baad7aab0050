"""Asking for a new school social-media account: the policies' checklist, then to SLT for approval."""
from __future__ import annotations

from sqlmodel import Session, select

from bot.store.models import OutboxMessage, Report
from dialogs.replies import Confirmation, Summary
from tests.talk import Staff


def start(staff: Staff) -> None:
    staff.say("I'd like to start a school Instagram page for the sports teams")
    staff.press("Start a request")


def test_a_complete_request_goes_to_slt_with_an_acc_reference(core):
    staff = Staff(core)
    start(staff)
    staff.answers("Share sports fixtures and results with families", "Parents and carers of the teams",
                  "Instagram", "The newsletter and the school website", "Ms Khan, Mr Obi",
                  "Closed (approved members only)", "Yes, the audience is old enough")
    fields = {f.label: f.value for f in staff.of(Summary)[0].fields}
    assert fields["Platform"] == "Instagram" and fields["Staff running it"] == "Ms Khan, Mr Obi"
    staff.press("Submit")
    reference = staff.of(Confirmation)[0].reference
    assert reference == "ACC-2026-0001"
    with Session(core.db) as session:
        saved = session.exec(select(Report)).one()
        assert (saved.category, saved.lead_role) == ("account_request", "slt")
        assert [m.target for m in session.exec(select(OutboxMessage))] == ["slt"]


def test_one_named_member_of_staff_is_not_enough(core):
    staff = Staff(core)
    start(staff)
    staff.answers("Share sports fixtures and results with families", "Parents", "Facebook", "Newsletter")
    staff.say("Ms Khan")
    assert "at least two members of staff" in staff.text
    staff.say("Ms Khan and Mr Obi")
    assert staff.asked.startswith("Will it be open")


def test_another_platform_is_named_and_the_minimum_age_is_flagged(core):
    staff = Staff(core)
    start(staff)
    staff.answers("Share sports fixtures and results with families", "Year 5 pupils", "Another platform",
                  "Mastodon", "Newsletter", "Ms Khan, Mr Obi", "Open (public)",
                  "Some of the audience would be too young")
    assert "minimum age" in staff.text
    fields = {f.label: f.value for f in staff.of(Summary)[0].fields}
    assert fields["Other platform"] == "Mastodon"
