"""Neutral replies and outbox messages as Slack Block Kit: plain dicts, no network, no Slack SDK.

Everything that reaches mrkdwn is escaped first, because a reporter's words are shown to leads and a bare
`<!channel>` or `<http://evil|Your bank>` would ping a whole channel or disguise a link. mrkdwn has no escape for
`*`, `_` or `~`, so someone's own words (a report's answers, a lead's note) go in plain_text objects instead,
which Slack shows as written: a quoted "f*** off *now*" is evidence, and must not turn bold. Slack rejects a message
that breaks any of its size limits outright, so every piece is clipped or split to fit before it is sent.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from dialogs.replies import Alert, Choices, Confirmation, Field, Option, Question, Quote, Reply, Summary, Text

# Slack's limits (https://api.slack.com/reference/block-kit): over any of them and the whole post is refused.
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTIONS_ELEMENTS = 25
CONTEXT_TEXT = 3000
MESSAGE_BLOCKS = 50
FALLBACK_TEXT = 300  # our own limit: the notification preview needs only the first words

PRESS_ACTION = re.compile(r"^press:\d+$")
LEAD_ACTION = re.compile(r"^lead:(view|acknowledge|assign|note|close)$")
LEAD_MODAL = "lead_modal"  # the callback id of the note and close forms
ASSIGN_BLOCK = "assign|"  # the block holding the lead's controls is `assign|REF`: a select's payload has no value

TONE_MARKS = {"urgent": ":rotating_light: ", "warning": ":warning: ", "advice": ":bulb: ", "plain": ""}
URGENCY_MARKS = {"urgent": ":rotating_light: ", "high": ":large_orange_circle: "}
MODALS = {  # action -> (title, label, hint, submit)
    "note": ("Add a note", "Your note", "Notes stay between the leads; the reporter is not told.", "Add note"),
    "close": ("Close report", "Reason for closing", "The reporter is told it was closed, with this reason.",
              "Close report"),
}

Block = dict[str, Any]


def escape(text: str) -> str:
    """User text made safe for mrkdwn: no pings, no disguised links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut_point(text: str, at: int) -> int:
    """`at`, moved back so the cut does not split an `&amp;`-style entity in two."""
    amp = text.rfind("&", max(0, at - 4), at)
    return amp if amp != -1 and ";" not in text[amp:at] else at


def clip(text: str, limit: int) -> str:
    """Text shortened to `limit` characters, ending in "…" when something was cut."""
    if len(text) <= limit:
        return text
    return text[:_cut_point(text, limit - 1)] + "…"


def _split(text: str, limit: int = SECTION_TEXT) -> Iterator[str]:
    """Escaped text in pieces of at most `limit` characters, broken at a line end or a space where possible."""
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:  # a space in the second half only: an early one (a quote's "> ") would leave a stub
            cut = text.rfind(" ", limit // 2, limit + 1)
        if cut <= 0:
            cut = _cut_point(text, limit)
        yield text[:cut]
        text = text[cut + 1:] if text[cut] in "\n " else text[cut:]  # the break itself goes
    if text:
        yield text


def _sections(mrkdwn: str) -> list[Block]:
    """One section per piece of (already escaped) mrkdwn, as many as its length needs."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in _split(mrkdwn) if piece.strip()]


def _context(*texts: str) -> Block:
    """A small grey line (each text is already escaped mrkdwn)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(t, CONTEXT_TEXT)} for t in texts]}


def _quoted(escaped: str) -> str:
    """Escaped text as a mrkdwn block quote: the marker is a literal ">" added after escaping, so it stays one."""
    return "\n".join(f"> {line}" for line in escaped.split("\n"))


def _quote_sections(escaped: str) -> list[Block]:
    """A block quote in sections, each piece still starting with the quote marker."""
    pieces = _split(_quoted(escaped), SECTION_TEXT - 2)  # room for the marker a hard-split piece gets back
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p if p.startswith(">") else f"> {p}"}}
            for p in pieces]


def _bold(escaped: str) -> str:
    """Every line in bold: a mrkdwn `*…*` does not reach across a line break."""
    return "\n".join(f"*{line.strip()}*" if line.strip() else "" for line in escaped.split("\n"))


def _plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object for the bot's own short labels and titles."""
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def _literal(text: str, limit: int) -> dict[str, Any]:
    """Someone's own words as a plain_text object: never formatted; `&`, `<` and `>` escaped as in any text object."""
    return {"type": "plain_text", "text": clip(escape(text), limit) or " ", "emoji": True}


def _literal_sections(text: str) -> list[Block]:
    """Someone's own words in plain_text sections, as many as their length needs."""
    return [{"type": "section", "text": {"type": "plain_text", "text": piece, "emoji": True}}
            for piece in _split(escape(text)) if piece.strip()]


def _button(label: str, action_id: str, value: str, style: str = "") -> Block:
    """One button; refuses a value Slack would refuse, since a cut-short value could not be read back."""
    if len(value) > BUTTON_VALUE:
        raise ValueError(f"button value for {label!r} is {len(value)} characters; Slack allows {BUTTON_VALUE}")
    button: Block = {"type": "button", "text": _plain(label, BUTTON_TEXT), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _actions(elements: list[Block], block_id: str = "") -> list[Block]:
    """Actions blocks of at most 25 elements each."""
    blocks: list[Block] = []
    for start in range(0, len(elements), ACTIONS_ELEMENTS):
        block: Block = {"type": "actions", "elements": elements[start:start + ACTIONS_ELEMENTS]}
        if block_id:
            block["block_id"] = block_id if start == 0 else f"{block_id}|{start}"  # block ids must be unique
        blocks.append(block)
    return blocks


def _summary_fields(fields: Sequence[Field]) -> list[Block]:
    """Each field a row of two columns, its label in bold and the answer as written; five rows to a section."""
    texts = [part for f in fields for part in ({"type": "mrkdwn", "text": clip(f"*{escape(f.label)}*", FIELD_TEXT)},
                                               _literal(f.value or "—", FIELD_TEXT))]
    return [{"type": "section", "fields": texts[i:i + FIELDS_PER_SECTION]}
            for i in range(0, len(texts), FIELDS_PER_SECTION)]


def _alert_line(kind: str, category: str, urgency: str, reporter: str, status: str, reference: str) -> str:
    """What a lead needs to triage a report, and nothing of what it says."""
    mark = URGENCY_MARKS.get(urgency.lower(), "")
    return (f"{mark}*{escape(kind)}: {escape(category)}* ({escape(reference)})\n"
            f"Urgency: *{escape(urgency)}* · Reported by {escape(reporter)} · Status: *{escape(status)}*")


def _cap(blocks: list[Block]) -> list[Block]:
    """At most 50 blocks, the last saying that there was more."""
    if len(blocks) <= MESSAGE_BLOCKS:
        return blocks
    return blocks[:MESSAGE_BLOCKS - 1] + [_context("…")]


def _headline(reply: Reply) -> str:
    """The words a notification would show for one reply."""
    if isinstance(reply, Text):
        return reply.text
    if isinstance(reply, (Question, Choices)):
        return reply.prompt
    if isinstance(reply, Summary):
        return reply.title
    if isinstance(reply, Confirmation):
        return f"Submitted: {reply.reference}"
    if isinstance(reply, Quote):
        return f"From {reply.citation}"
    return f"{reply.kind} {reply.reference}: {reply.category}"


def render(replies: Sequence[Reply]) -> tuple[list[Block], str]:
    """Replies as Block Kit blocks, and the plain text Slack shows in notifications."""
    blocks: list[Block] = []
    pressed = 0  # a running count, so every button in the message has its own action_id

    def buttons(options: Sequence[Option], summary: bool = False) -> list[Block]:
        nonlocal pressed
        elements = []
        for i, option in enumerate(options):
            style = ""
            if summary:  # a summary's first option is the one that submits; Cancel is the one to think twice about
                style = "danger" if option.label.strip().lower() == "cancel" else "primary" if i == 0 else ""
            value = json.dumps(option.value, separators=(",", ":"), ensure_ascii=False)  # an emoji: 1 character, not 12
            elements.append(_button(option.label, f"press:{pressed}", value, style))
            pressed += 1
        return _actions(elements)

    for reply in replies:
        if isinstance(reply, Text):
            if not reply.text.strip():
                continue  # Slack refuses an empty section
            if reply.literal:
                blocks += _literal_sections(reply.text)
                continue
            escaped = escape(reply.text)
            mark = TONE_MARKS.get(reply.tone, "")
            blocks += _sections(mark + (_bold(escaped) if reply.tone == "urgent" else escaped))
        elif isinstance(reply, Quote):
            blocks += _quote_sections(escape(reply.text))
            notes = [f"From {escape(reply.citation)}"]
            if reply.also_in:
                notes.append(f"Same wording in: {escape(', '.join(reply.also_in))}")
            if reply.gist:
                notes.append(f"In short: {escape(reply.gist)}")
            blocks.append(_context(*notes))
        elif isinstance(reply, Choices):
            blocks += _sections(escape(reply.prompt))
            if reply.hint:
                blocks.append(_context(escape(reply.hint)))
            blocks += buttons(reply.options)
        elif isinstance(reply, Question):
            blocks += _sections(escape(reply.prompt))
            if reply.hint:
                blocks.append(_context(escape(reply.hint)))
            if reply.current:
                blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Currently:"},
                                                               _literal(reply.current, CONTEXT_TEXT)]})
            blocks.append(_context("Type your answer below."))
        elif isinstance(reply, Summary):
            if reply.title.strip():
                blocks.append({"type": "header", "text": _plain(reply.title, HEADER_TEXT)})
            blocks += _summary_fields(reply.fields)
            blocks += buttons(reply.options, summary=True)
        elif isinstance(reply, Confirmation):
            blocks += _sections(f":white_check_mark: *Submitted: {escape(reply.reference)}*\n{escape(reply.text)}")
        elif isinstance(reply, Alert):
            blocks += _sections(_alert_line(reply.kind, reply.category, reply.urgency, reply.reporter, reply.status,
                                            reply.reference))
            blocks += buttons(reply.options)
    prompts = [_headline(r) for r in replies if isinstance(r, (Text, Question, Choices))]
    headline = prompts[0] if prompts else (_headline(replies[0]) if replies else "")
    return _cap(blocks), clip(escape(headline), FALLBACK_TEXT)


def parse_value(raw: str) -> dict[str, Any] | None:
    """A pressed button's value read back: the option's dict, or None for anything else."""
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):  # a forged payload is not our problem to crash on
        return None
    return value if isinstance(value, dict) else None


def assign_reference(block_id: str) -> str | None:
    """The report reference carried in the block id of a lead's controls, or None."""
    return block_id.removeprefix(ASSIGN_BLOCK) if block_id.startswith(ASSIGN_BLOCK) else None


def alert(message: dict[str, Any]) -> tuple[list[Block], str]:
    """A lead's channel alert from the neutral alert message: what, how urgent, who, status; never content."""
    # Only the named keys are read, so content passed by mistake in another key can never reach the channel.
    ref, kind, category, urgency, reporter, status = (str(message.get(key, "")) for key in (
        "reference", "kind", "category", "urgency", "reporter", "status"))
    blocks = _sections(_alert_line(kind, category, urgency, reporter, status, ref))

    def lead_button(action: str, label: str, style: str = "") -> Block:
        return _button(label, f"lead:{action}", json.dumps({"lead": action, "reference": ref},
                                                           separators=(",", ":")), style)

    elements = [lead_button("view", "View details")]
    if status == "open":
        elements.append(lead_button("acknowledge", "Acknowledge", "primary"))
    elements.append(lead_button("note", "Add a note"))  # a closed report still takes notes (appended, never edited)
    if status != "closed":
        elements += [lead_button("close", "Close", "danger"),
                     {"type": "users_select", "action_id": "lead:assign",
                      "placeholder": _plain("Assign to…", BUTTON_TEXT)}]
    blocks += _actions(elements, block_id=f"{ASSIGN_BLOCK}{ref}")
    mark = URGENCY_MARKS.get(urgency.lower(), "")
    return blocks, clip(escape(f"{mark}{kind} {ref}: {category}, urgency {urgency}, {status}"), FALLBACK_TEXT)


def lead_modal(action: str, reference: str) -> dict[str, Any]:
    """The `views.open` modal where a lead writes a note, or the reason for closing a report."""
    if action not in MODALS:
        raise ValueError(f"no modal for {action!r}; expected one of {', '.join(MODALS)}")
    title, label, hint, submit = MODALS[action]
    return {
        "type": "modal",
        "callback_id": LEAD_MODAL,
        "private_metadata": json.dumps({"lead": action, "reference": reference}, separators=(",", ":")),
        "title": _plain(title, 24),
        "submit": _plain(submit, 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _context(f"Report {escape(reference)}"),
            {"type": "input", "block_id": "detail", "label": _plain(label, 2000), "hint": _plain(hint, 2000),
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 2000}},
        ],
    }


def reporter_update(message: dict[str, Any]) -> tuple[list[Block], str]:
    """A message to a reporter about their report (acknowledged, assigned, closed)."""
    text = str(message.get("text", ""))  # it may carry a lead's reason for closing, in their own words
    return _cap(_literal_sections(text)), clip(escape(text), FALLBACK_TEXT)


def question_for_lead(message: dict[str, Any]) -> tuple[list[Block], str]:
    """A staff member's question passed on to a lead, their words quoted."""
    asker, text = escape(str(message.get("from", "someone"))), str(message.get("text", ""))
    blocks = _sections(f"A question from *{asker}*:") + _literal_sections(text)
    return _cap(blocks), clip(f"A question from {asker}: {escape(text)}", FALLBACK_TEXT)
