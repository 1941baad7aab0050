"""The friend-request dialog: who sent it, and the school's adopted policy, decide what the bot advises."""
from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest

from bot.conversation import Conversation
from dialogs.friend_request import SENDERS, rules
from dialogs.replies import Quote
from tests.talk import Staff

SENDER_ANSWERS = {  # the buttons a person presses for each kind of sender
    "current_pupil": ["A current pupil"],
    "former_pupil_under_18": ["A former pupil", "Under 18"],
    "former_pupil_adult": ["A former pupil", "18 or over"],
    "parent": ["A parent or carer of a pupil"],
    "pupil_family": ["A pupil's relative (not their parent)"],
    "colleague": ["A colleague"],
    "other": ["Someone else"],
}
FAMILY_ASKED = {"current_pupil", "former_pupil_under_18", "former_pupil_adult", "parent", "pupil_family"}
HEADLINES = {"decline": "Decline it.", "take_care": "You can, but take care.",
             "fine": "That's fine under your school's policy."}


def adopt(core: Conversation, policy: str) -> Conversation:
    """The same core, for a school that adopted another policy."""
    school = core.config.school.model_copy(update={"policy": policy})
    return replace(core, config=core.config.model_copy(update={"school": school}))


def check_request(staff: Staff, sender: str, *, family: str = "No", account: str = "My personal account",
                  accepted: str = "No") -> str:
    staff.say("a friend request on facebook")
    staff.press("Check the request")
    staff.answers(*SENDER_ANSWERS[sender])
    if sender in FAMILY_ASKED:
        staff.answers(family)
    staff.answers(account, accepted)
    return staff.text


@pytest.mark.parametrize("policy", sorted(rules().keys() - {"steps"}))
@pytest.mark.parametrize("sender", SENDERS)
def test_every_sender_gets_the_adopted_policys_decision_with_its_clauses_quoted(core, policy, sender):
    staff = Staff(adopt(core, policy))
    said = check_request(staff, sender)
    expected = rules()[policy][sender]["decision"]
    assert said.startswith(HEADLINES[expected]) or f"\n{HEADLINES[expected]}" in said
    adopted_name = core.kb.policy_name(policy)
    quotes = staff.of(Quote)
    assert any(q.policy == adopted_name or adopted_name in q.also_in for q in quotes), \
        f"no clause of {adopted_name} quoted for {sender}"


def test_the_model_policy_says_no_to_any_former_pupil_but_the_organisation_policy_only_under_18(core):
    assert check_request(Staff(adopt(core, "school-template")), "former_pupil_adult").startswith("Decline it.")
    said = check_request(Staff(adopt(core, "organisation-social-media-policy")), "former_pupil_adult")
    assert said.startswith("You can, but take care.")


def test_parents_are_declined_under_one_policy_and_a_matter_of_care_under_another(core):
    assert check_request(Staff(adopt(core, "wolverhampton-staff-code-of-conduct")), "parent").startswith("Decline")
    assert check_request(Staff(adopt(core, "kings-school")), "parent").startswith("You can, but take care.")


def test_a_pupil_who_is_family_is_an_exception_only_where_the_policy_makes_one(core):
    said = check_request(Staff(adopt(core, "qeii-school")), "current_pupil", family="Yes")
    assert said.startswith("You can, but take care.")
    said = check_request(Staff(adopt(core, "kings-school")), "current_pupil", family="Yes")
    assert said.startswith("Decline it.")
    assert "no separate exception for your own family" in said


def test_a_former_pupil_of_unknown_age_is_treated_as_under_18(core):
    staff = Staff(adopt(core, "organisation-social-media-policy"))
    staff.say("an ex-pupil sent me a friend request")
    staff.press("Check the request")
    staff.answers("A former pupil", "Not sure", "No", "My personal account", "No")
    assert staff.text.startswith("Decline it.")
    assert "treated them as under 18" in staff.text


def test_an_accepted_request_to_decline_says_to_remove_them_and_that_they_are_not_told(core):
    said = check_request(Staff(adopt(core, "wolverhampton-staff-code-of-conduct")), "current_pupil",
                         accepted="Yes")
    assert "remove them" in said
    assert "notified" in said  # "nor ... will they be notified if you remove them"


def test_a_request_to_a_school_account_points_to_the_official_page(core):
    said = check_request(Staff(core), "parent", account="A school account I run")
    assert "school's official page" in said


def test_the_dialog_ends_with_the_decision_and_nothing_is_left_in_progress(core):
    staff = Staff(core)
    check_request(staff, "colleague")
    staff.say("cancel")
    assert "nothing to cancel" in staff.text


def test_typed_answers_work_as_well_as_buttons_even_misspelt(core):
    staff = Staff(adopt(core, "school-template"))
    staff.say("can i frend a parnt on fb")
    staff.press("Check the request")
    staff.answers("a parent", "no", "personal", "nope")
    assert staff.text.startswith("You can, but take care.")


def test_every_clause_the_rules_and_advice_cite_is_in_the_knowledge_base(kb):
    clauses = {(c.source, c.number) for c in kb.clauses}
    from importlib import resources

    for name in ("friend_request.toml", "advice.toml"):
        data = tomllib.loads(resources.files("dialogs").joinpath(f"data/{name}").read_text(encoding="utf-8"))
        cited = []

        def walk(node):
            if isinstance(node, dict):
                cited.extend(tuple(c) for c in node.get("clauses", ()))
                for child in node.values():
                    walk(child)

        walk(data)
        assert cited, name
        assert not [c for c in cited if c not in clauses], name
