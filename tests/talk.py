"""Talking to the core the way a person does: typing, and pressing buttons by their label."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.conversation import Conversation, Inbound
from bot.escalation import Person
from dialogs.replies import Choices, Confirmation, Option, Question, Quote, Reply, Summary, Text


class Clock:
    """A hand-moved clock."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock on."""
        self.now += timedelta(**delta)


@dataclass
class Staff:
    """A member of staff on some platform, talking to the core."""

    core: Conversation
    user: str = "staff1"
    platform: str = "terminal"
    replies: list[Reply] = field(default_factory=list)

    @property
    def person(self) -> Person:
        return Person(self.platform, "local", self.user, self.user.title())

    def say(self, text: str, files: int = 0) -> list[Reply]:
        """Type a message."""
        self.replies = self.core.handle(Inbound(self.person, "dm", text=text, files=files))
        return self.replies

    def press(self, label: str) -> list[Reply]:
        """Press the button with this label among the last replies."""
        option = self.option(label)
        self.replies = self.core.handle(Inbound(self.person, "dm", value=option.value))
        return self.replies

    def option(self, label: str) -> Option:
        """The button with this label (fails the test, listing the buttons, when there is none)."""
        options = [o for r in self.replies if isinstance(r, (Choices, Summary)) for o in r.options]
        for option in options:
            if option.label == label:
                return option
        raise AssertionError(f"no button {label!r}; buttons: {[o.label for o in options]}; said: {self.text}")

    def answers(self, *steps: str) -> list[Reply]:
        """Answer several questions in a row: a label of a shown button is pressed, anything else typed."""
        for step in steps:
            labels = {o.label for r in self.replies if isinstance(r, (Choices, Summary)) for o in r.options}
            self.press(step) if step in labels else self.say(step)
        return self.replies

    @property
    def text(self) -> str:
        """Everything the bot said last, as one string (prompts, texts, quotes, summary lines)."""
        parts: list[str] = []
        for r in self.replies:
            if isinstance(r, Text):
                parts.append(r.text)
            elif isinstance(r, (Choices, Question)):
                parts.append(r.prompt)
            elif isinstance(r, Quote):
                parts.append(f"[{r.citation}] {r.text}")
            elif isinstance(r, Summary):
                parts.extend(f"{f.label}: {f.value}" for f in r.fields)
            elif isinstance(r, Confirmation):
                parts.append(f"{r.reference} {r.text}")
        return "\n".join(parts)

    @property
    def asked(self) -> str:
        """The question the bot is waiting on."""
        prompts = [r.prompt for r in self.replies if isinstance(r, (Choices, Question))]
        return prompts[-1] if prompts else ""

    def of(self, kind: type) -> list:
        """The last replies of one kind."""
        return [r for r in self.replies if isinstance(r, kind)]


async def alert_attempts(core: Conversation, platform: str, attempts: int) -> None:
    """Wait until a channel alert's failed attempts on a platform are written to the outbox, so a test moves its
    clock only once the worker has scheduled the retry."""
    import asyncio

    from sqlmodel import Session, select

    from bot.store.models import OutboxMessage

    for _ in range(500):
        with Session(core.db) as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.platform == platform,
                                                            OutboxMessage.target_kind == "channel")).all()
        if rows and rows[0].attempts >= attempts:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{platform} alert attempts never reached {attempts}")
