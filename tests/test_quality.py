"""Answer quality floors, measured the way ../shared/eval/score.py measures it.

The held-out questions (tests/data/heldout_questions.jsonl) were written apart from the search code, from the policies
alone, so they show how search does on questions nobody tuned it for. The blind questions
(tests/data/blind_questions.jsonl) were written the same way later, in thirty-five batches (3,477 questions: chat
style, staff-FAQ style, mixed, new staff on their phones, scenarios told before the question, plain one-liners, leads'
and managers' questions, questions after a staff briefing, thumb-typed shorthand, many roles and styles, one section
of each policy after another, the shared dev set's kinds, situations told first, who is asking, the policies' less
obvious sections, platforms and people named on a phone, leads' and the IT lead's questions, the dev set's kinds in
everyday words the policies do not use, a teacher's phone shorthand and slang, staff who are not teachers saying who
they are before they ask, worries told as statements in school jargon, and long scenarios, leads' questions about
their own part and what terms mean, the dev set's kinds on topics it does not touch, staff checking what they heard or
believe, staff probing the edges of a rule, terse search-box queries, asking why a rule exists or whether it is ever
OK, asking when, who, where or how long, asking what happens if or what to do next, and formal enquiries written as to
HR or the head), by helpers who saw neither the code nor the other sets; each batch was first scored untouched and
then used to find what search missed.
The floors sit a little below the figures measured when they were set, to catch a change that makes search worse.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation import load_questions, measure
from knowledge.search import KnowledgeBase

HELD_OUT = Path(__file__).parent / "data" / "heldout_questions.jsonl"
BLIND = Path(__file__).parent / "data" / "blind_questions.jsonl"
DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_questions.jsonl"

# Each set's floors: top-1 and top-3 of answerable questions, out-of-scope declined, answerable questions wrongly
# declined at most, dialogs offered.
FLOORS = [
    pytest.param(HELD_OUT, 0.60, 0.80, 0.9, 2, 0.9, id="held-out"),
    pytest.param(BLIND, 0.69, 0.85, 0.9, 38, 0.95, id="blind"),
    pytest.param(DEV, 0.58, 0.88, 1.0, 1, 1.0, id="shared-dev", marks=pytest.mark.skipif(
        not DEV.exists(), reason="the shared question set is beside the project only in the workspace")),
]


@pytest.mark.parametrize("questions, top1, top3, out_of_scope, wrong_declines, dialogs", FLOORS)
def test_answer_quality_stays_above_its_floors(kb: KnowledgeBase, questions: Path, top1: float, top3: float,
                                               out_of_scope: float, wrong_declines: int, dialogs: float):
    figures = measure(kb, load_questions(questions))
    assert figures["top1"] >= top1 and figures["top3"] >= top3, figures
    assert figures["oos_declined"] >= out_of_scope, figures
    assert figures["false_declines"] <= wrong_declines, figures
    assert figures["dialogs"] >= dialogs, figures
