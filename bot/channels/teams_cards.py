"""Neutral replies and outbox messages as Adaptive Cards for Teams: plain dicts, no network, no Bot Framework.

Card text is Markdown, so a reporter's words are escaped before they reach a card: `[Your bank](http://…)` or
`**URGENT**` typed by someone must show as typed, not as a disguised link or a shout. Buttons are
`Action.Submit`; their data carries the neutral value under one key, and inputs (a note, a reason, a person
picked) arrive beside it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dialogs.replies import Alert, Choices, Confirmation, Option, Question, Quote, Reply, Summary, Text, from_data

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"  # what Teams renders on desktop, web and mobile
VALUE_KEY = "bot"  # the neutral value inside a button's data; Teams adds inputs beside it
INPUTS = ("detail", "assignee")  # the inputs a lead's card collects
TEXT_LIMIT = 4000  # per text block; Teams refuses a message over about 28 KB, so every piece is bounded
BUTTON_TITLE = 60
VERTICAL_AFTER = 3  # more options than this are stacked, one per row, so none hides in an overflow menu
TONE = {"urgent": ("🚨 ", "Attention"), "warning": ("⚠️ ", "Warning"), "advice": ("💡 ", "Default"),
        "plain": ("", "Default")}
URGENCY_COLOUR = {"urgent": "Attention", "high": "Warning"}
MARKDOWN = re.compile(r"([\\`*_\[\]<>~])")  # emphasis, code, links and autolinks; lists and full stops stay

Element = dict[str, Any]


def escape(text: str) -> str:
    """User text made safe for a card's Markdown: the characters that make emphasis, code or a link are backslashed."""
    return MARKDOWN.sub(r"\\\1", text)


def clip(text: str, limit: int) -> str:
    """Text shortened to `limit` characters, ending in "…" when something was cut (never mid-escape)."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    if text[cut - 1] == "\\":
        cut -= 1
    return text[:cut] + "…"


def card(body: list[Element], actions: list[Element] | None = None) -> dict[str, Any]:
    """An Adaptive Card as Teams wants it, full width so a quoted clause reads comfortably on a phone."""
    content: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body,
                               "msteams": {"width": "Full"}}
    if actions:
        content["actions"] = actions
    return content


def _text(markdown: str, **style: Any) -> Element:
    """A wrapping text block of (already escaped) Markdown."""
    return {"type": "TextBlock", "text": clip(markdown, TEXT_LIMIT), "wrap": True, **style}


def _submit(title: str, value: Mapping[str, Any], style: str = "") -> Element:
    action: Element = {"type": "Action.Submit", "title": clip(title, BUTTON_TITLE), "data": {VALUE_KEY: dict(value)}}
    if style:
        action["style"] = style
    return action


def _buttons(options: Sequence[Option], summary: bool = False) -> list[Element]:
    """Options as action sets: side by side when few, stacked when many."""
    actions = []
    for i, option in enumerate(options):
        style = ""
        if summary:  # the first option submits; Cancel is the one to think twice about
            style = "destructive" if option.label.strip().lower() == "cancel" else "positive" if i == 0 else ""
        actions.append(_submit(option.label, option.value, style))
    if len(actions) <= VERTICAL_AFTER:
        return [{"type": "ActionSet", "actions": actions}] if actions else []
    return [{"type": "ActionSet", "actions": [action], "spacing": "Small"} for action in actions]


def _facts(pairs: Sequence[tuple[str, str]]) -> Element:
    return {"type": "FactSet", "facts": [{"title": clip(escape(title), 200), "value": clip(escape(value) or "—",
                                                                                            TEXT_LIMIT)}
                                         for title, value in pairs]}


def body(replies: Sequence[Reply]) -> list[Element]:
    """The card body for a turn's replies, in order."""
    elements: list[Element] = []
    for reply in replies:
        if isinstance(reply, Text):
            if reply.text.strip():
                mark, colour = TONE.get(reply.tone, TONE["plain"])
                style = {"color": colour, "weight": "Bolder"} if reply.tone == "urgent" else {}
                elements.append(_text(mark + escape(reply.text), **style))
        elif isinstance(reply, Quote):
            notes = [_text(f"From {escape(reply.citation)}", isSubtle=True, size="Small", spacing="Small")]
            if reply.also_in:
                notes.append(_text(f"Same wording in: {escape(', '.join(reply.also_in))}", isSubtle=True,
                                   size="Small", spacing="None"))
            if reply.gist:
                notes.append(_text(f"In short: {escape(reply.gist)}", spacing="Small"))
            elements.append({"type": "Container", "style": "emphasis", "items": [_text(escape(reply.text))]})
            elements += notes
        elif isinstance(reply, Choices):
            elements.append(_text(escape(reply.prompt)))
            if reply.hint:
                elements.append(_text(escape(reply.hint), isSubtle=True, size="Small", spacing="None"))
            elements += _buttons(reply.options)
        elif isinstance(reply, Question):
            elements.append(_text(escape(reply.prompt), weight="Bolder"))
            if reply.hint:
                elements.append(_text(escape(reply.hint), isSubtle=True, size="Small", spacing="None"))
            if reply.current:
                elements.append(_text(f"Currently: {escape(reply.current)}", isSubtle=True, size="Small"))
            elements.append(_text("Type your answer below.", isSubtle=True, size="Small", spacing="None"))
        elif isinstance(reply, Summary):
            if reply.title.strip():
                elements.append(_text(escape(reply.title), size="Medium", weight="Bolder"))
            elements.append(_facts([(f.label, f.value) for f in reply.fields]))
            elements += _buttons(reply.options, summary=True)
        elif isinstance(reply, Confirmation):
            elements.append(_text(f"✅ Submitted: {escape(reply.reference)}", weight="Bolder", color="Good"))
            elements.append(_text(escape(reply.text), spacing="Small"))
        elif isinstance(reply, Alert):
            elements += _alert_body(reply.kind, reply.category, reply.urgency, reply.reporter, reply.status,
                                    reply.reference)
            elements += _buttons(reply.options)
    return elements


def summary_line(replies: Sequence[Reply]) -> str:
    """Plain words for the notification preview (Teams shows the activity's summary there)."""
    for reply in replies:
        if isinstance(reply, Text) and reply.text.strip():
            return clip(reply.text, 200)
        if isinstance(reply, (Question, Choices)):
            return clip(reply.prompt, 200)
        if isinstance(reply, Quote):
            return clip(f"From {reply.citation}", 200)
        if isinstance(reply, Confirmation):
            return f"Submitted: {reply.reference}"
        if isinstance(reply, Summary):
            return clip(reply.title, 200)
    return "Policy assistant"


def render(replies: Sequence[Reply]) -> tuple[dict[str, Any], str]:
    """A turn's replies as one Adaptive Card, and the preview text."""
    return card(body(replies)), summary_line(replies)


def read_submit(value: Any) -> dict[str, Any] | None:
    """A pressed button's data read back: the neutral value, with a lead's inputs beside it; None otherwise."""
    if not isinstance(value, Mapping) or not isinstance(value.get(VALUE_KEY), Mapping):
        return None
    read = dict(value[VALUE_KEY])
    for name in INPUTS:
        given = value.get(name)
        if isinstance(given, str):
            read[name] = given
    return read


# ---- outbox messages ---------------------------------------------------------------------------------------
def _alert_body(kind: str, category: str, urgency: str, reporter: str, status: str, reference: str) -> list[Element]:
    """What a lead needs to triage a report, and nothing of what it says."""
    colour = URGENCY_COLOUR.get(urgency.lower(), "Default")
    return [_text(f"{escape(kind)}: {escape(category)}", size="Medium", weight="Bolder", color=colour),
            _facts([("Reference", reference), ("Urgency", urgency), ("Reported by", reporter), ("Status", status)])]


def _lead_form(title: str, action: str, reference: str, field: Element) -> Element:
    """A button that opens a small form on the card: a note, a reason, a person to assign."""
    return {"type": "Action.ShowCard", "title": title, "card": {
        "type": "AdaptiveCard", "version": VERSION, "body": [field],
        "actions": [_submit(title, {"lead": action, "reference": reference}, "positive")]}}


def _detail_input(label: str) -> Element:
    return {"type": "Input.Text", "id": "detail", "label": label, "isMultiline": True, "isRequired": True,
            "maxLength": 2000, "errorMessage": "Please write something here."}


def alert(message: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """A lead's channel alert from the neutral alert message: what, how urgent, who, status; never content."""
    # Only the named keys are read, so content passed by mistake in another key can never reach the channel.
    ref, kind, category, urgency, reporter, status = (str(message.get(key, "")) for key in (
        "reference", "kind", "category", "urgency", "reporter", "status"))
    actions = [_submit("View details", {"lead": "view", "reference": ref})]
    if status == "open":
        actions.append(_submit("Acknowledge", {"lead": "acknowledge", "reference": ref}, "positive"))
    if status != "closed":
        actions.append(_lead_form("Assign", "assign", ref, {
            "type": "Input.ChoiceSet", "id": "assignee", "label": "Assign to", "isRequired": True,
            "errorMessage": "Please pick someone.", "choices": [],
            "choices.data": {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}}))
    actions.append(_lead_form("Add a note", "note", ref, _detail_input("Your note (the reporter is not told)")))
    if status != "closed":
        actions.append(_lead_form("Close", "close", ref, _detail_input("Reason for closing (the reporter is told)")))
    preview = f"{kind} {ref}: {category}, urgency {urgency}, {status}"
    return card(_alert_body(kind, category, urgency, reporter, status, ref), actions), clip(preview, 200)


def reporter_update(message: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """A message to a reporter about their report (acknowledged, assigned, closed)."""
    text = str(message.get("text", ""))
    return card([_text(escape(text))]), clip(text, 200)


def question_for_lead(message: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """A staff member's question passed on to a lead, their words quoted."""
    asker, text = str(message.get("from", "someone")), str(message.get("text", ""))
    return (card([_text(f"A question from **{escape(asker)}**:"),
                  {"type": "Container", "style": "emphasis", "items": [_text(escape(text))]}]),
            clip(f"A question from {asker}", 200))


def outbox_card(message: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Any outbox message as a card, by its type."""
    kind = message.get("type")
    if kind == "alert":
        return alert(message)
    if kind == "question":
        return question_for_lead(message)
    if kind == "reply":  # an answer kept to send later (bot/late_replies.py)
        return render(from_data(message.get("replies") or []))
    return reporter_update(message)
