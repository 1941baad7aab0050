"""Should I accept this friend request? Who sent it, and the school's adopted policy, decide.

The policies differ (one says no to under-18 former pupils, another to all former pupils; one says no to
parents, another only where a conflict of interest arises), so the rules are data per policy, in
`data/friend_request.toml`, each citing the clauses it rests on.
"""
from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from dialogs.engine import Answers, Choice, Context, Dialog, Kind, Step
from dialogs.replies import Reply, Text

SENDERS = ("current_pupil", "former_pupil_under_18", "former_pupil_adult", "parent", "pupil_family", "colleague",
           "other")
FALLBACK_POLICY = "school-template"  # the model policy: used when the adopted policy has no rules here
HEADLINES = {
    "decline": "Decline it.",
    "take_care": "You can, but take care.",
    "fine": "That's fine under your school's policy.",
}
# Which practical steps the policies give fit which outcome.
STEPS_FOR = {
    "decline": ("ignore_not_notified", "signpost_school_page", "discuss_in_class", "tell_manager"),
    "take_care": ("privacy_settings", "tell_manager"),
    "fine": ("privacy_settings",),
}
# Steps that only make sense for some senders.
STEP_SENDERS = {
    "signpost_school_page": {"current_pupil", "former_pupil_under_18", "parent", "pupil_family"},
    "discuss_in_class": {"current_pupil"},
}


@dataclass(frozen=True, slots=True)
class Rule:
    """What a policy says about one kind of sender."""

    decision: str  # "decline", "take_care" or "fine"
    why: str
    clauses: tuple[tuple[str, str], ...]


@cache
def rules() -> dict[str, Any]:
    """The per-policy rules and the practical steps, as shipped."""
    with resources.files("dialogs").joinpath("data/friend_request.toml").open("rb") as f:
        return tomllib.load(f)


def sender_kind(answers: Answers) -> str:
    """The rule key for who sent the request; a former pupil of unknown age is treated as under 18."""
    sender = answers.get("sender", "other")
    if sender == "former_pupil":
        return "former_pupil_adult" if answers.get("former_age") == "adult" else "former_pupil_under_18"
    return sender


def rule_for(policy: str, answers: Answers) -> tuple[Rule, str]:
    """The rule that applies, and the policy it came from (the model policy when the adopted one has none)."""
    table = rules()
    source = policy if policy in table else FALLBACK_POLICY
    entry = table[source][sender_kind(answers)]
    if answers.get("is_family") == "yes" and "if_family" in entry:
        entry = entry["if_family"]
    return Rule(entry["decision"], entry["why"], tuple(tuple(c) for c in entry.get("clauses", ()))), source


def conclude(answers: Answers, ctx: Context) -> Sequence[Reply]:
    """The decision, the clauses it rests on, and what to do next."""
    if answers.get("account") == "school":
        return _school_account(ctx)
    rule, source = rule_for(ctx.policy, answers)
    replies: list[Reply] = []
    if source != ctx.policy:
        replies.append(Text("I don't have friend-request rules for your school's own policy, so this follows the "
                            "model school policy. Check with your line manager if in doubt.", tone="warning"))
    replies.append(Text(f"{HEADLINES[rule.decision]} {rule.why}", tone="advice"))
    if answers.get("is_family") == "yes" and not _has_family_rule(source, answers):
        replies.append(Text("The policy makes no separate exception for your own family. If they are a relative, "
                            "tell your line manager so it is on record."))
    if answers.get("sender") == "former_pupil" and answers.get("former_age") == "unknown":
        replies.append(Text("You weren't sure of their age, so I've treated them as under 18, to be safe."))
    replies.extend(_quotes(ctx, rule.clauses))
    if answers.get("accepted") == "yes" and rule.decision == "decline":
        replies.append(Text("You've already accepted it, so remove them from your friends or followers.",
                            tone="advice"))
        replies.extend(_step(ctx, "unfriend_not_notified"))
    kind = sender_kind(answers)
    for key in STEPS_FOR[rule.decision]:
        if key in STEP_SENDERS and kind not in STEP_SENDERS[key]:
            continue
        if key == "ignore_not_notified" and answers.get("accepted") == "yes":
            continue  # too late to ignore it; removing them is the step, given above
        replies.extend(_step(ctx, key))
    return replies


def _has_family_rule(source: str, answers: Answers) -> bool:
    return "if_family" in rules()[source].get(sender_kind(answers), {})


def _quotes(ctx: Context, clauses: Sequence[Sequence[str]]) -> list[Reply]:
    return [q for q in (ctx.cite(src, num) for src, num in clauses) if q is not None]


def _step(ctx: Context, key: str) -> list[Reply]:
    step = rules().get("steps", {}).get(key)
    if not step:
        return []
    cited = _quotes(ctx, step.get("clauses", ())[:1])
    return [Text(step["text"], tone="advice"), *cited]


def _school_account(ctx: Context) -> list[Reply]:
    return [Text("A school account is for school business. Don't friend or follow individual pupils or parents "
                 "from it; let them follow the school's official page, and keep conversations to the school's "
                 "agreed channels.", tone="advice"), *_step(ctx, "signpost_school_page")]


FAMILY_SENDERS = ("current_pupil", "former_pupil", "parent", "pupil_family")

STEPS = (
    Step("sender", "Who sent the request?", Kind.CHOICE, "Sent by", choices=(
        Choice("current_pupil", "A current pupil", ("pupil", "student", "child")),
        Choice("former_pupil", "A former pupil", ("former", "ex", "old", "ex-pupil", "left")),
        Choice("parent", "A parent or carer of a pupil", ("parent", "carer", "mum", "dad", "guardian")),
        Choice("pupil_family", "A pupil's relative (not their parent)", ("sibling", "brother", "sister", "aunt",
                                                                          "uncle", "grandparent", "relative")),
        Choice("colleague", "A colleague", ("colleague", "staff", "teacher", "coworker")),
        Choice("other", "Someone else", ("else", "stranger", "other")),
    )),
    Step("former_age", "Are they under 18?", Kind.CHOICE, "Their age", when={"sender": ("former_pupil",)},
         choices=(Choice("under_18", "Under 18", ("under", "yes")), Choice("adult", "18 or over", ("over", "adult",
                                                                                                 "no")),
                  Choice("unknown", "Not sure", ("sure", "unsure", "know")))),
    Step("is_family", "Are they part of your own family (for example your own child, niece or nephew)?",
         Kind.YES_NO, "Your own family", when={"sender": FAMILY_SENDERS}),
    Step("account", "Which account did it come to?", Kind.CHOICE, "Account", choices=(
        Choice("personal", "My personal account", ("personal", "my", "own", "private")),
        Choice("school", "A school account I run", ("school", "work", "official")))),
    Step("accepted", "Have you already accepted it?", Kind.YES_NO, "Already accepted"),
)

FRIEND_REQUEST = Dialog(
    name="friend_request",
    title="Friend request check",
    intro="Let's work out what to do about this friend or follow request. Four or five quick questions.",
    steps=STEPS,
    submits=False,
    conclude=conclude,
)
