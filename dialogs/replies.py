"""The neutral replies the bot speaks in: every channel renders these and nothing else.

A reply says what to show, never how: Slack turns it into Block Kit, Teams into an Adaptive Card, the terminal
into lines of text. Button values are small JSON-able dicts that come back as the `value` of an inbound event.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

Tone = Literal["plain", "advice", "warning", "urgent"]


@dataclass(frozen=True, slots=True)
class Text:
    """A paragraph of text: the bot's words, or (`literal`) someone's own words shown exactly as they wrote them."""

    text: str
    tone: Tone = "plain"
    # A reporter's answers or a lead's note: never formatted, so a "*" in "f*** off" stays a "*" and not bold.
    literal: bool = False


@dataclass(frozen=True, slots=True)
class Quote:
    """A policy clause quoted word for word, with where it comes from."""

    text: str
    policy: str  # the policy's display name
    number: str  # the clause number or heading path
    title: str = ""
    also_in: tuple[str, ...] = ()  # display names of other policies with the same wording
    gist: str = ""  # one sentence of what it means, for a long clause

    @property
    def citation(self) -> str:
        """Where the clause comes from, in words."""
        where = f"{self.policy}, clause {self.number}"
        if self.title and self.title not in self.number:
            where += f" ({self.title})"
        return where


@dataclass(frozen=True, slots=True)
class Option:
    """One button: what it says, and the value that comes back when it is pressed."""

    label: str
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Choices:
    """A question with buttons (the terminal numbers them). Typing an answer works too."""

    prompt: str
    options: tuple[Option, ...]
    hint: str = ""  # one line under the prompt, e.g. what a good answer looks like


@dataclass(frozen=True, slots=True)
class Question:
    """A question answered by typing (free text, a date, a link)."""

    prompt: str
    hint: str = ""
    current: str = ""  # the answer given before, when the user is changing it


@dataclass(frozen=True, slots=True)
class Field:
    """One line of a summary: a label and the answer the user gave (user text: escape when rendering)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Summary:
    """What the user is about to submit, with the actions they can take on it."""

    title: str
    fields: tuple[Field, ...]
    options: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Something was submitted: its reference and what happens next."""

    reference: str
    text: str


@dataclass(frozen=True, slots=True)
class Alert:
    """A report's alert in a lead's channel: what and how urgent, never the content."""

    reference: str
    kind: str  # e.g. "Incident report" or "Account request"
    category: str
    urgency: str
    reporter: str
    status: str
    options: tuple[Option, ...] = field(default=())


Reply = Text | Quote | Choices | Question | Summary | Confirmation | Alert


_KINDS: dict[str, type] = {kind.__name__: kind for kind in (Text, Quote, Choices, Question, Summary, Confirmation,
                                                           Alert)}
_PARTS: dict[str, type] = {"options": Option, "fields": Field}  # tuples of parts inside a reply


def as_data(replies: Sequence[Reply]) -> list[dict[str, Any]]:
    """Replies as JSON-able dicts, to be kept (a reply waiting in the outbox) and read back by `from_data`."""
    return [{"reply": type(reply).__name__, **_plain(reply)} for reply in replies]


def _plain(value: Any) -> Any:
    # Not dataclasses.asdict: that deep-copies every value, and every Slack turn keeps its answer (a third of the
    # cost of keeping it); what is returned here is encoded as JSON at once, so sharing a button's dict is safe.
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value


def from_data(items: Sequence[Mapping[str, Any]]) -> list[Reply]:
    """The replies `as_data` wrote (a kind this version does not know is an error: it would be lost silently)."""
    replies: list[Reply] = []
    for item in items:
        fields = dict(item)
        kind = _KINDS[fields.pop("reply")]
        for name, part in _PARTS.items():
            if name in fields:
                fields[name] = tuple(part(**p) for p in fields[name])
        if "also_in" in fields:
            fields["also_in"] = tuple(fields["also_in"])
        replies.append(kind(**fields))
    return replies
