"""The outbox: messages to leads and reporters, queued with what caused them and sent exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, select

from bot.store.models import OutboxMessage
from bot.store.upsert import insert_for

MAX_ATTEMPTS = 12  # about a day of retries with the backoff below, then marked failed for a person to look at


def enqueue(session: Session, *, key: str, platform: str, target: str, target_kind: str, message: dict[str, Any],
            now: datetime, report_id: int | None = None, updates: str = "") -> None:
    """Queue a message once: a second enqueue with the same key does nothing."""
    statement = insert_for(session, OutboxMessage).values(
        key=key, report_id=report_id, platform=platform, target=target, target_kind=target_kind, message=message,
        updates=updates, status="pending", attempts=0, next_attempt_at=now, created_at=now, external_ref="",
        last_error="")
    session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int = 20,
              platforms: tuple[str, ...] | None = None) -> list[OutboxMessage]:
    """Claim pending messages that are due, so no other worker sends them while this one tries.

    On PostgreSQL, rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED); SQLite serialises
    writers, so the same query is safe there. A claim lapses after `lease`, so a worker killed mid-send
    leaves its messages to be claimed again.
    """
    query = (select(OutboxMessage)
             .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
             .order_by(OutboxMessage.id).limit(limit))
    if platforms is not None:
        query = query.where(OutboxMessage.platform.in_(platforms))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = list(session.exec(query))
    for message in claimed:
        message.claimed_until = now + lease
        session.add(message)
    session.commit()
    return claimed


def mark_sent(session: Session, *, message_id: int, external_ref: str, now: datetime) -> None:
    """Record that a message went out (and the platform's id for it, for later edits)."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="sent", sent_at=now, external_ref=external_ref[:300], claimed_until=None))


def mark_retry(session: Session, *, message_id: int, attempts: int, error: str, now: datetime,
               delay: timedelta) -> None:
    """Record a failed attempt and when to try again; after MAX_ATTEMPTS it is marked failed."""
    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status=status, attempts=attempts, last_error=error[:500], next_attempt_at=now + delay, claimed_until=None))


def mark_failed(session: Session, *, message_id: int, attempts: int, error: str) -> None:
    """Give up on a message that can never be delivered as it is (e.g. the bot is not in that channel)."""
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="failed", attempts=attempts, last_error=error[:500], claimed_until=None))


def sent_ref(session: Session, key: str) -> str:
    """The platform's id for a message already sent ("" if it has not gone yet)."""
    message = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
    return message.external_ref if message and message.status == "sent" else ""


def pending_for(session: Session, *, platform: str, target: str) -> list[OutboxMessage]:
    """Messages waiting for one recipient (the terminal collects its own)."""
    return list(session.exec(select(OutboxMessage).where(
        OutboxMessage.platform == platform, OutboxMessage.target == target, OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)))
