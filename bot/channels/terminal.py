"""The terminal channel: the conversation in a terminal, choices as numbered options.

It is also the in-memory channel the tests use: `TerminalChannel.say` takes what a person types and returns the
rendered reply, exactly as the terminal prints it.
"""
from __future__ import annotations

import textwrap
from typing import Any

from sqlmodel import Session

from bot.conversation import Conversation, Inbound
from bot.escalation import Person
from bot.store import outbox
from dialogs.replies import Alert, Choices, Confirmation, Option, Question, Quote, Reply, Summary, Text

WIDTH = 96
TONE_MARKS = {"urgent": "!! ", "warning": "! ", "advice": "> ", "plain": ""}


def render(replies: list[Reply]) -> tuple[str, list[Option]]:
    """Replies as terminal text, and the options in the order they were numbered."""
    lines: list[str] = []
    options: list[Option] = []

    def numbered(items: tuple[Option, ...]) -> None:
        for option in items:
            options.append(option)
            lines.append(f"  {len(options)}. {option.label}")

    for reply in replies:
        if isinstance(reply, Text):
            mark = TONE_MARKS.get(reply.tone, "")
            for paragraph in reply.text.split("\n"):
                lines.append(textwrap.fill(paragraph, WIDTH, initial_indent=mark,
                                           subsequent_indent=" " * len(mark)) if paragraph else "")
        elif isinstance(reply, Quote):
            lines.append(f"From {reply.citation}:")
            for paragraph in reply.text.split("\n"):
                lines.append(textwrap.fill(paragraph, WIDTH, initial_indent="  ", subsequent_indent="  "))
            if reply.also_in:
                lines.append(f"  The same wording is in: {', '.join(reply.also_in)}.")
            if reply.gist:
                lines.append(textwrap.fill(f"In short: {reply.gist}", WIDTH))
        elif isinstance(reply, Choices):
            lines.append(reply.prompt)
            if reply.hint:
                lines.append(f"  {reply.hint}")
            numbered(reply.options)
        elif isinstance(reply, Question):
            lines.append(reply.prompt)
            if reply.hint:
                lines.append(textwrap.fill(reply.hint, WIDTH, initial_indent="  ", subsequent_indent="  "))
            if reply.current:
                lines.append(f"  Currently: {reply.current}")
        elif isinstance(reply, Summary):
            lines.append(reply.title)
            for item in reply.fields:
                value = item.value.replace("\n", "\n      ")
                lines.append(f"  - {item.label}: {value}")
            numbered(reply.options)
        elif isinstance(reply, Confirmation):
            lines.append(f"Submitted: {reply.reference}")
            lines.append(textwrap.fill(reply.text, WIDTH))
        elif isinstance(reply, Alert):
            lines.append(f"[{reply.reference}] {reply.kind}: {reply.category}, urgency {reply.urgency}, "
                         f"status {reply.status}")
    return "\n".join(lines), options


def render_message(message: dict[str, Any]) -> str:
    """An outbox message addressed to a terminal user, as text."""
    if message.get("type") == "alert":
        return (f"New for you: {message['reference']} ({message['kind']}): {message['category']}, urgency "
                f"{message['urgency']}, from {message['reporter']}, status {message['status']}. "
                f"See it with: python -m bot reports show {message['reference']} --as YOU")
    if message.get("type") == "question":
        return f"A question from {message.get('from')}: {message.get('text')}"
    return str(message.get("text", ""))


class TerminalChannel:
    """One person talking to the bot in a terminal."""

    def __init__(self, core: Conversation, user: str = "you", name: str = ""):
        self.core = core
        self.person = Person(platform="terminal", workspace="local", user_id=user, name=name or user)
        self.options: list[Option] = []

    def say(self, typed: str) -> str:
        """Send what the person typed (a number, or an option's exact words, picks one of the options just shown)
        and return the reply text."""
        key = typed.strip()
        labels = [o.label.lower() for o in self.options]
        if key.isdigit() and 1 <= int(key) <= len(self.options):
            event = Inbound(self.person, conversation="terminal", value=self.options[int(key) - 1].value)
        elif labels.count(key.lower()) == 1:  # typing a button's words presses it, as a click would
            event = Inbound(self.person, conversation="terminal", value=self.options[labels.index(key.lower())].value)
        else:
            event = Inbound(self.person, conversation="terminal", text=typed)
        text, self.options = render(self.core.handle(event))
        return text

    def inbox(self) -> list[str]:
        """Messages waiting for this person (alerts, updates on their reports), each collected once."""
        with Session(self.core.db) as session:
            waiting = outbox.pending_for(session, platform="terminal", target=self.person.user_id)
            texts = [render_message(m.message) for m in waiting]
            for message in waiting:
                outbox.mark_sent(session, message_id=message.id, external_ref="terminal", now=self.core.clock())
            session.commit()
        return texts


def run(core: Conversation, user: str = "you") -> int:
    """The interactive loop behind `python -m bot chat`."""
    channel = TerminalChannel(core, user)
    print(f"Hello. I'm the {core.config.school.name} social media policy assistant. Ask me a question, or type "
          "'help' to see what I can do. Type 'exit' to leave.")
    while True:
        for note in channel.inbox():
            print(textwrap.fill(f"* {note}", WIDTH))
        try:
            typed = input("\nyou> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if typed.strip().lower() in {"exit", "bye", "goodbye"}:
            return 0
        print(channel.say(typed))
