"""The core's routing: questions answered with their clause, dialogs offered, commands that work everywhere."""
from __future__ import annotations

from sqlmodel import Session, select

from bot.conversation import Inbound
from bot.store.drafts import load_draft
from bot.store.models import Feedback, OutboxMessage
from dialogs.replies import Choices, Quote
from tests.talk import Staff


def test_a_question_is_answered_with_the_clause_its_citation_and_a_feedback_question(core):
    staff = Staff(core)
    staff.say("Can I post photos of pupils on my own Instagram?")
    (quote,) = staff.of(Quote)
    assert quote.policy and quote.number and quote.text
    assert "Was this helpful?" in staff.text


def test_feedback_is_kept_without_the_question(core):
    staff = Staff(core)
    staff.say("Can I post photos of pupils on my own Instagram?")
    staff.press("No")
    assert "Thanks for telling me" in staff.text
    with Session(core.db) as session:
        saved = session.exec(select(Feedback)).one()
        assert saved.helpful is False and saved.clause and "Instagram" not in saved.clause


def test_a_question_the_policy_does_not_answer_is_declined_with_who_to_ask(core):
    staff = Staff(core)
    staff.say("What time does the school canteen open?")
    assert "doesn't answer that" in staff.text and "the Headteacher" in staff.text
    assert not staff.of(Quote)
    staff.press("Ask Headteacher")
    assert "passed your question" in staff.text
    with Session(core.db) as session:
        (message,) = session.exec(select(OutboxMessage)).all()
        assert message.target == "head" and "canteen" in message.message["text"]


def test_a_question_for_it_pay_or_data_rights_is_sent_to_whoever_deals_with_it(core):
    staff = Staff(core)
    staff.say("Who is our school's data protection officer?")
    assert "the school's Data Protection Officer" in staff.text and not staff.of(Quote)
    assert "Ask Headteacher" not in staff.text  # the Headteacher would only send it on
    staff.say("got a dodgy phishing email on my work account, who do i send it to")
    assert "the school's IT support" in staff.text


def test_thanks_is_welcomed_not_searched(core):
    staff = Staff(core)
    for thanks in ("thanks", "Thank you so much!", "cheers"):
        staff.say(thanks)
        assert "You're welcome" in staff.text and not staff.of(Quote)


def test_a_bare_yes_or_a_number_outside_any_menu_asks_for_a_choice_and_passes_nothing_on(core):
    staff = Staff(core)
    staff.say("yes")
    assert "not sure what that answers" in staff.text and "Ask Headteacher" not in staff.text
    staff.say("2")
    assert "couldn't find any words" in staff.text and "Ask Headteacher" not in staff.text
    assert not staff.of(Quote)


def test_a_message_that_fits_a_dialog_offers_it(core):
    staff = Staff(core)
    staff.say("someone is posting nasty things about me on facebook, I want to report it")
    assert staff.option("Report it").value == {"start": "incident_report"}
    staff.press("No, thanks")
    assert "Ask me anything else" in staff.text


def test_help_lists_the_dialogs_and_starts_one(core):
    staff = Staff(core)
    staff.say("help")
    staff.press("Check a friend request")
    assert staff.asked == "Who sent the request?"


def test_help_in_a_dialog_says_where_we_were(core):
    staff = Staff(core)
    staff.say("help")
    staff.press("Report an incident")
    staff.say("help")
    assert "middle of an incident report" in staff.text or "middle of a" in staff.text
    assert staff.asked.startswith("First, is a child at immediate risk")


def test_commands_with_nothing_in_progress_say_so_kindly(core):
    staff = Staff(core)
    assert "nothing to cancel" in " ".join(r.text for r in staff.say("cancel"))
    staff.say("back")
    assert "nothing in progress" in staff.text and staff.of(Choices)


def test_a_button_from_a_finished_dialog_does_not_restart_it(core):
    staff = Staff(core)
    staff.say("help")
    staff.press("Check a friend request")
    old_button = staff.option("A colleague")
    staff.answers("A colleague", "My personal account", "No")
    staff.replies = core.handle(Inbound(staff.person, "dm", value=old_button.value))
    assert "nothing in progress" in staff.text


def test_a_button_from_an_earlier_question_is_answered_with_the_current_one(core):
    staff = Staff(core)
    staff.say("help")
    staff.press("Report an incident")
    first = staff.option("No")
    staff.press("No")
    staff.replies = core.handle(Inbound(staff.person, "dm", value=first.value))
    assert "earlier question" in staff.text and staff.asked == "What is it about?"


def test_did_you_mean_shows_the_other_clause_when_pressed(core):
    staff = Staff(core)
    staff.say("a parent sent me a friend request on facebook")
    (choices,) = [c for c in staff.of(Choices) if c.prompt.startswith("Or did you mean")]  # a near tie here
    first = staff.of(Quote)[0]
    staff.press(choices.options[0].label)
    (other,) = staff.of(Quote)
    assert (other.policy, other.number) != (first.policy, first.number)


def test_two_people_have_their_own_dialogs(core):
    alice, bob = Staff(core, user="alice"), Staff(core, user="bob")
    alice.say("help")
    alice.press("Report an incident")
    bob.say("help")
    bob.press("Check a friend request")
    alice.press("No")
    assert alice.asked == "What is it about?"
    bob.press("A colleague")
    assert bob.asked == "Which account did it come to?"


def test_control_and_invisible_characters_are_stripped_from_what_is_kept(core):
    staff = Staff(core)
    staff.say("help")
    staff.press("Report an incident")
    staff.answers("No", "Something else", "m\u200be\x07\u202e")
    staff.answers("A parent wrote abusive things on the page", "today", "Facebook", "a parent", "Nothing yet",
                  "nothing yet")
    assert "Who is affected: me" in staff.text


def test_typing_a_start_buttons_words_starts_that_form_at_once(core):
    staff = Staff(core)
    for typed, dialog in [("Report an incident", "incident_report"), ("check a friend request", "friend_request"),
                          ("set up a school account.", "account_request")]:
        staff.say(typed)
        with Session(core.db) as session:
            draft = load_draft(session, platform="terminal", workspace="local", user_id=staff.user)
        assert draft is not None and draft.dialog == dialog, staff.text
        staff.say("cancel")


def test_a_message_a_stopped_server_left_behind_is_answered_late_with_an_apology(core, clock):
    staff = Staff(core)
    kept_at = clock()
    clock.advance(minutes=2)
    replies = core.handle(Inbound(staff.person, "dm", text="Can I post photos of pupils on my own Instagram?",
                                  once="slack:EvLATE", kept_at=kept_at))
    assert "Sorry for the wait" in replies[0].text and any(isinstance(r, Quote) for r in replies)


def _draft_state(core, staff: Staff) -> dict:
    with Session(core.db) as session:
        return dict(load_draft(session, platform="terminal", workspace="local", user_id=staff.user).state)


def test_a_dialog_answer_left_behind_is_not_applied_once_the_person_has_carried_on(core, clock):
    staff = Staff(core)
    staff.say("report an incident")
    staff.answers("No", "Something else", "A parent wrote abusive things about me")  # now: when did it happen?
    lost_at = clock()  # "today" arrives, and the server handling it dies before its turn
    clock.advance(seconds=20)
    staff.say("today")  # seeing no answer, the person sends it again, and another server takes it
    before = _draft_state(core, staff)
    clock.advance(minutes=1)
    late = core.handle(Inbound(staff.person, "dm", text="today", once="slack:EvLOST", kept_at=lost_at))
    assert late == []
    assert _draft_state(core, staff) == before, "applied now, it would have answered the next question"
