"""Reporting an incident: each category reaches the right lead, urgent risk comes first, answers are checked."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.store.models import OutboxMessage, Report
from dialogs.replies import Confirmation, Question, Summary
from tests.talk import Staff

WHAT = "A parent posted that I am a useless teacher who should be sacked"


def start_report(staff: Staff) -> None:
    staff.say("I want to report cyberbullying")
    staff.press("Report it")


def report(staff: Staff, category: str, *, risk: str = "No", about_head: str = "No") -> str:
    """Go through a whole report of one category; returns the reference."""
    start_report(staff)
    staff.answers(risk, category)
    if category == "A colleague's conduct online":
        staff.answers(about_head)
    if category == "Contact from a journalist or the media":
        staff.answers("A reporter from the Gazette, by phone to the office", "The reporter asked about a "
                      "pupil's exclusion", "yesterday", "Gazette reporter", "Said I would pass it on")
    else:
        staff.answers("me", WHAT, "yesterday at 8pm", "Facebook, Town Mums group", "a parent of a Year 5 pupil",
                      "Screen grabs with the time, date and web address", "skip", "Told my line manager")
    assert staff.of(Summary), staff.text
    staff.press("Submit")
    (confirmation,) = staff.of(Confirmation)
    return confirmation.reference


def stored(core, reference: str) -> tuple[Report, list[OutboxMessage]]:
    with Session(core.db) as session:
        found = session.exec(select(Report).where(Report.reference == reference)).one()
        messages = list(session.exec(select(OutboxMessage).where(OutboxMessage.report_id == found.id)))
        return found, messages


@pytest.mark.parametrize("category, about_head, lead, terminal_user", [
    ("Cyberbullying or abuse of a staff member", "No", "headteacher", "head"),
    ("A worrying post or message by or about a pupil", "No", "dsl", "dsl"),
    ("An offensive or damaging post about the school", "No", "headteacher", "head"),
    ("A colleague's conduct online", "No", "headteacher", "head"),
    ("A colleague's conduct online", "Yes", "chair", "chair"),
    ("Contact from a journalist or the media", "No", "headteacher", "head"),
    ("Something else", "No", "headteacher", "head"),
])
def test_each_category_is_stored_and_alerts_its_lead(core, category, about_head, lead, terminal_user):
    reference = report(Staff(core), category, about_head=about_head)
    assert reference.startswith("INC-2026-")
    saved, messages = stored(core, reference)
    assert saved.lead_role == lead
    assert [(m.platform, m.target) for m in messages] == [("terminal", terminal_user)]
    alert = messages[0].message
    assert alert["type"] == "alert" and alert["reference"] == reference
    assert WHAT not in str(alert), "an alert names the category and urgency, never the content"


def test_references_count_up_within_the_year(core):
    first = report(Staff(core, user="a"), "Something else")
    second = report(Staff(core, user="b"), "Something else")
    assert (first, second) == ("INC-2026-0001", "INC-2026-0002")


def test_immediate_risk_says_speak_to_the_dsl_and_call_999_before_anything_else(core):
    staff = Staff(core)
    start_report(staff)
    staff.press("Yes")
    urgent = [r for r in staff.replies if getattr(r, "tone", "") == "urgent"]
    assert urgent and "999" in urgent[0].text and "the DSL" in urgent[0].text
    assert staff.replies.index(urgent[0]) < len(staff.replies) - 1, "the warning comes before the next question"
    assert staff.asked == "What is it about?"


def test_an_urgent_report_is_marked_urgent(core):
    reference = report(Staff(core), "A worrying post or message by or about a pupil", risk="Yes")
    assert stored(core, reference)[0].urgency == "urgent"


def test_a_pupil_concern_is_high_urgency_and_never_asks_for_images(core):
    staff = Staff(core)
    start_report(staff)
    staff.answers("No", "A worrying post or message by or about a pupil")
    prompts = []
    for answer in ("AB, Year 9", "AB posted that they feel unsafe at home", "today", "Instagram @ab",
                   "AB, Year 9 pupil", "Screen grabs with the time, date and web address"):
        prompts.append(staff.asked)
        staff.answers(answer)
    assert "describe" in staff.asked.lower()
    assert not any("upload" in p.lower() or "attach a" in p.lower() for p in prompts)


def test_a_file_sent_in_a_report_is_not_kept_and_a_description_is_asked_for(core):
    staff = Staff(core)
    start_report(staff)
    staff.say("No")
    staff.say("", files=1)
    assert "I don't keep files or images" in staff.text


@pytest.mark.parametrize("step_answers, bad, complaint", [
    (["No", "Something else", "me", WHAT], "next Tuesday 31/12/2099", "in the future"),
    (["No", "Something else", "me", WHAT], "blue", "couldn't read that as a date"),
    (["No", "Something else", "me"], "bad", "a little more"),
    (["No", "Something else", "me", WHAT, "today"], "javascript:alert(1)", "doesn't look like a web address"),
    (["No"], "purple elephants", "didn't catch which one"),
])
def test_an_answer_that_cannot_be_used_is_asked_again_kindly(core, step_answers, bad, complaint):
    staff = Staff(core)
    start_report(staff)
    staff.answers(*step_answers)
    question = staff.asked
    staff.say(bad)
    assert complaint in staff.text
    assert staff.asked == question


def fill_to_summary(staff: Staff) -> None:
    """An "other" report answered up to its summary."""
    start_report(staff)
    staff.answers("No", "Something else", "me", WHAT, "yesterday", "Facebook", "a parent", "Nothing yet",
                  "nothing yet")


def test_the_summary_lets_any_answer_be_changed_before_submitting(core):
    staff = Staff(core)
    fill_to_summary(staff)
    staff.press("Change an answer")
    staff.press("What happened")
    assert WHAT in staff.of(Question)[0].current
    staff.say("A parent posted that I should be sacked, in capitals")
    summary = staff.of(Summary)[0]
    assert dict((f.label, f.value) for f in summary.fields)["What happened"] == \
        "A parent posted that I should be sacked, in capitals"


def test_changing_the_category_asks_the_questions_the_new_category_needs_and_drops_the_rest(core):
    staff = Staff(core)
    fill_to_summary(staff)
    staff.press("Change an answer")
    staff.press("Category")
    staff.press("Contact from a journalist or the media")
    assert "Which publication" in staff.asked
    staff.say("The Gazette, by phone")
    labels = [f.label for f in staff.of(Summary)[0].fields]
    assert "Outlet and contact" in labels and "Where" not in labels and "Evidence kept" not in labels


def test_back_goes_to_the_previous_question_and_restart_to_the_first(core):
    staff = Staff(core)
    start_report(staff)
    staff.answers("No", "Something else", "me")
    staff.say("back")
    assert staff.asked == "Who is affected?"
    staff.say("restart")
    assert staff.asked.startswith("First, is a child at immediate risk")


def test_cancel_discards_the_report_and_nothing_is_stored(core):
    staff = Staff(core)
    start_report(staff)
    staff.answers("No", "Something else", "me", WHAT)
    staff.say("cancel")
    assert "Nothing was sent" in staff.text
    with Session(core.db) as session:
        assert session.exec(select(Report)).first() is None


def test_a_report_survives_a_restart_and_carries_on_where_it_stopped(core, kb, db, clock):
    from bot.conversation import Conversation

    staff = Staff(core)
    start_report(staff)
    staff.answers("No", "Something else", "me")
    restarted = Staff(Conversation(kb=kb, db=db, config=core.config, clock=clock))  # a new process, same DB
    restarted.say(WHAT)
    assert restarted.asked.startswith("When did it happen")


def test_after_a_long_break_the_bot_asks_whether_to_carry_on_or_discard(core, clock):
    staff = Staff(core)
    start_report(staff)
    staff.answers("No", "Something else")
    clock.advance(hours=3)
    staff.say("me")
    assert "part-way through an incident report" in staff.asked or "part-way through a" in staff.asked
    staff.press("Carry on")
    assert staff.asked == "Who is affected?"
    clock.advance(hours=3)
    staff.say("hello")
    staff.press("Discard it")
    assert "Discarded" in staff.text


def test_a_draft_left_too_long_expires_and_the_message_is_answered_normally(core, clock):
    staff = Staff(core)
    start_report(staff)
    staff.answers("No", "Something else")
    clock.advance(hours=73)
    staff.say("can I accept a friend request from a parent")
    assert "had expired" in staff.text and "Nothing was sent" in staff.text
    assert "Was this helpful?" in staff.text
