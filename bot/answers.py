"""Turn the knowledge base's result into what a person reads, or into the JSON the batch contract names."""
from __future__ import annotations

import textwrap
import unicodedata
from typing import Any

from bot.school import Elsewhere
from knowledge.routing import ACCOUNT_REQUEST, FRIEND_REQUEST, INCIDENT_REPORT
from knowledge.search import Answer, KnowledgeBase, Result, key_sentence

DIALOG_OFFERS = {
    INCIDENT_REPORT: "This sounds like something to report. I can take you through an incident report, one "
                     "question at a time.",
    FRIEND_REQUEST: "I can walk you through whether to accept this friend or follow request, step by step.",
    ACCOUNT_REQUEST: "I can help you put together a request for a new school social media account.",
}

DECLINES = {
    "empty": "Ask me a question about the social media policy, for example: "
             "\"Can I accept a friend request from a parent?\"",
    "unreadable": "I couldn't find any words I understand in that. I answer questions in English about the "
                  "school's social media and online conduct policy.",
    "not_covered": "The policy doesn't answer that, and I'd rather not guess.",
    "off_topic": "That isn't something the social media policy covers, so I can't answer it from the policy.",
}


def elsewhere_decline(who: str) -> str:
    """The decline for a matter someone else deals with, naming them."""
    return f"That's a question for {who}; the social media policy doesn't cover it. Please ask them."


def safe_text(text: str) -> str:
    """Drop control and invisible format characters, so pasted text cannot garble a terminal or a log."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def citation(kb: KnowledgeBase, answer: Answer) -> str:
    """Where a clause comes from, in words: policy, clause number and heading."""
    clause = answer.clause
    where = f"{kb.policy_name(clause.source)}, clause {clause.number}"
    if clause.title and clause.title not in clause.number:
        where += f" ({clause.title})"
    return where


def render_text(kb: KnowledgeBase, result: Result, contact: str, elsewhere: Elsewhere = Elsewhere()) -> str:
    """The answer as a person reads it in a terminal: the clause quoted, its source, and what to do next."""
    lines: list[str] = []
    if result.truncated:
        lines.append("That was a long message, so I read only its beginning.")
    if not result.confident and elsewhere.who(result.elsewhere):
        lines.append(elsewhere_decline(elsewhere.who(result.elsewhere)))
    elif not result.confident:
        lines.append(DECLINES.get(result.reason, DECLINES["not_covered"]))
        if result.reason != "empty":
            lines.append(f"Please ask {contact}.")
    else:
        best = result.answers[0]
        lines.append(f"From {citation(kb, best)}:")
        quoted = safe_text(best.clause.quoted())
        lines.extend(textwrap.indent(textwrap.fill(part, 96), "  ") for part in quoted.split("\n"))
        others = [kb.policy_name(s) for s in best.clause.also_in]
        if others:
            lines.append(f"  The same wording is in: {', '.join(others)}.")
        gist = key_sentence(best.clause, result.question, kb.vocab)
        if gist:
            lines.append(f"In short: {gist}")
        if result.did_you_mean:
            lines.append("Did you mean:")
            lines.extend(f"  - {citation(kb, a)}: {_snippet(a)}" for a in result.did_you_mean)
    if result.dialog:
        lines.append(DIALOG_OFFERS[result.dialog])
    return "\n".join(lines)


def _snippet(answer: Answer, width: int = 90) -> str:
    return textwrap.shorten(safe_text(answer.clause.text).replace("\n", " "), width, placeholder=" …")


def to_json(result: Result) -> dict[str, Any]:
    """The result in the shape of the batch contract (../shared/eval/README.md), plus a few extra fields."""
    return {
        "question": result.question,
        "confident": result.confident,
        "dialog": result.dialog,
        "answers": [
            {
                "source": a.clause.source,
                "clause": a.clause.number,
                "title": a.clause.title,
                "text": a.clause.text,
                "score": a.score,
                "context": a.clause.context,
                "also_in": list(a.clause.also_in),
            }
            for a in result.answers
        ],
        "reason": result.reason or None,
        "did_you_mean": [{"source": a.clause.source, "clause": a.clause.number} for a in result.did_you_mean],
    }
