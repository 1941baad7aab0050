"""Events acknowledged and not yet answered. The channel keeps the event here before it acknowledges it; the turn
that handles it stores its answer here in the same transaction, and the row goes once the answer has been posted
(or handed to the outbox). What is left behind belongs to a process that died in between: an event without an
answer is handled again (the event's key in seen_event makes a second handling a no-op), and one with an answer
has it posted, after a look at whether it had been posted already."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlmodel import Session

from bot.store.models import InboxEvent
from bot.store.upsert import insert_for

GIVE_UP_AFTER = 3  # handlings of one left-behind event: one that fails every time is a bug, not a lost event


@dataclass(frozen=True, slots=True)
class LeftBehind:
    """An event to handle again."""

    key: str
    body: str
    attempts: int
    received_at: datetime


# Statements built once (per database dialect), on the table rather than the model: they run for every message,
# building one costs more than SQLite takes to run it, and the ORM's bulk paths add about 0.1 ms to each run.
_TABLE = InboxEvent.__table__
_KEEP: dict[str, Any] = {}
_HANDLED = delete(_TABLE).where(_TABLE.c.key == bindparam("key"))
_UNANSWERED = delete(_TABLE).where(_TABLE.c.key == bindparam("key"), _TABLE.c.answer.is_(None))
# (An UPDATE's parameters may not share a column's name, so these two are "event" and "given".)
_ANSWERED = update(_TABLE).where(_TABLE.c.key == bindparam("event")).values(answer=bindparam("given"))
_DONE = delete(_TABLE).where(_TABLE.c.key.in_(bindparam("keys", expanding=True)))


def keep(session: Session, key: str, body: str, now: datetime) -> None:
    """Keep an event until it is handled (a platform's retry of one already kept changes nothing)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _KEEP:
        _KEEP[dialect] = insert_for(session, _TABLE).on_conflict_do_nothing(index_elements=["key"])
    session.execute(_KEEP[dialect], {"key": key[:200], "body": body, "received_at": now, "attempts": 0})


def handled(session: Session, key: str) -> None:
    """The event is handled: in the transaction that handled it, so it is either both handled and gone, or
    neither."""
    session.execute(_HANDLED, {"key": key[:200]})


def answered(session: Session, key: str, answer: list[dict[str, Any]]) -> None:
    """Store the answer a turn gave (dialogs.replies.as_data), in the turn's transaction: from here until it is
    posted, a process that dies leaves the answer to be posted, not the message to be answered again."""
    session.execute(_ANSWERED, {"event": key[:200], "given": answer})


def unanswered_handled(session: Session, key: str) -> None:
    """Take out a kept copy that has no answer: a platform's retry of an event already answered, kept again by its
    delivery. One with an answer stays until that answer is known to have been posted."""
    session.execute(_UNANSWERED, {"key": key[:200]})


def answer_of(session: Session, key: str) -> list[dict[str, Any]] | None:
    """The stored answer to an event, if its turn stored one and it is still waiting to be known as posted."""
    return session.execute(select(InboxEvent.answer).where(InboxEvent.key == key[:200])).scalar()


def done(session: Session, keys: Collection[str]) -> None:
    """Take out events whose answers were posted (many at once: the poster batches them)."""
    if keys:
        session.execute(_DONE, {"keys": [k[:200] for k in keys]})


def left_behind(session: Session, *, older_than: datetime, limit: int = 50) -> tuple[list[LeftBehind], int]:
    """Events kept before `older_than` and still not handled, each counted as one more attempt, and how many
    were dropped instead, having been tried GIVE_UP_AFTER times already."""
    rows = session.execute(select(InboxEvent.key, InboxEvent.body, InboxEvent.attempts, InboxEvent.received_at)
                           .where(InboxEvent.received_at < older_than)
                           .order_by(InboxEvent.received_at).limit(limit)).all()
    again = [LeftBehind(key, body, attempts + 1, _utc(at)) for key, body, attempts, at in rows
             if attempts < GIVE_UP_AFTER]
    dropped = [key for key, _, attempts, _ in rows if attempts >= GIVE_UP_AFTER]
    if dropped:
        session.execute(delete(InboxEvent).where(InboxEvent.key.in_(dropped)))
    for event in again:
        session.execute(update(InboxEvent).where(InboxEvent.key == event.key).values(attempts=event.attempts))
    return again, len(dropped)


def first_kept_since(session: Session, since: datetime) -> datetime | None:
    """When the first event kept at or after `since` arrived: the next one that can come to be left behind."""
    first = session.execute(select(func.min(InboxEvent.received_at)).where(InboxEvent.received_at >= since)).scalar()
    return None if first is None else _utc(first)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
