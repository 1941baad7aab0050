"""The outbox: messages to leads and reporters, queued with what caused them, claimed by one worker at a time,
and marked sent once the platform has them (bot/delivery.py says how a retry avoids sending twice)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from bot.store.models import OutboxMessage
from bot.store.upsert import insert_for

MAX_ATTEMPTS = 12  # about a day of retries with the backoff below, then marked failed for a person to look at


QUEUED = "outbox.queued"  # the session.info key enqueue sets


def enqueue(session: Session, *, key: str, platform: str, target: str, target_kind: str, message: dict[str, Any],
            now: datetime, report_id: int | None = None, updates: str = "", due: datetime | None = None,
            attempted_at: datetime | None = None) -> None:
    """Queue a message once: a second enqueue with the same key does nothing. `attempted_at` says a send was
    already tried then and may have arrived, so the first delivery asks the platform before sending."""
    statement = insert_for(session, OutboxMessage).values(
        key=key, report_id=report_id, platform=platform, target=target, target_kind=target_kind, message=message,
        updates=updates, status="pending", attempts=0, next_attempt_at=due or now, created_at=now,
        attempted_at=attempted_at, external_ref="", last_error="")
    session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    session.info[QUEUED] = True


def queued(session: Session) -> bool:
    """Whether anything was queued in this session (the caller wakes the delivery worker after committing)."""
    return bool(session.info.get(QUEUED))


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int = 20,
              platforms: tuple[str, ...] | None = None) -> list[OutboxMessage]:
    """Claim pending messages that are due, so no other worker sends them while this one tries.

    On PostgreSQL, rows another worker is claiming are skipped (FOR UPDATE SKIP LOCKED); SQLite serialises
    writers, so the same query is safe there. A claim lapses after `lease`, so a worker killed mid-send
    leaves its messages to be claimed again. Each claim carries a fresh token (`claim`): `begin_attempt`
    checks it, so a worker that was too slow and lost a message to another worker does not send it too.
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
    token = uuid.uuid4().hex
    for message in claimed:
        message.claimed_until = now + lease
        message.claim = token
        session.add(message)
    session.commit()
    return claimed


def begin_attempt(session: Session, *, message: OutboxMessage, now: datetime, lease: timedelta) -> bool:
    """Just before a send: renew this worker's claim for a whole lease, and record that a send is going out
    (the first such time is kept in `attempted_at`; from then on the message is "in doubt" until marked sent).

    False when the claim is no longer this worker's (it lapsed and another worker claimed the message): the
    caller must not send. Renewing here, not only at claim time, gives every message of a claimed batch its
    own full lease, however long the messages before it took.
    """
    changed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim == message.claim,
               OutboxMessage.status == "pending")
        .values(claimed_until=now + lease,
                attempted_at=func.coalesce(OutboxMessage.attempted_at, now))).rowcount
    return changed == 1


def mark_sent(session: Session, *, message_id: int, external_ref: str, now: datetime,
              content: dict[str, Any] | None = None) -> None:
    """Record that a message went out (and the platform's id for it, for later edits). `content`, when given,
    replaces what the message said: one whose words nobody needs once it has gone is not kept."""
    forget = {} if content is None else {"message": content}
    session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        status="sent", sent_at=now, external_ref=external_ref[:300], claimed_until=None, **forget))


def mark_retry(session: Session, *, message_id: int, attempts: int, error: str, now: datetime,
               delay: timedelta, claim: str | None = None, content: dict[str, Any] | None = None) -> None:
    """Record a failed attempt and when to try again; after MAX_ATTEMPTS it is marked failed (`content` then as
    for `mark_sent`). With `claim`, only while that claim still holds (a worker that lost the message must not
    undo another worker's claim)."""
    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    forget = {"message": content} if content is not None and status == "failed" else {}
    session.execute(_still_claimed(update(OutboxMessage).where(OutboxMessage.id == message_id), claim).values(
        status=status, attempts=attempts, last_error=error[:500], next_attempt_at=now + delay, claimed_until=None,
        **forget))


def mark_failed(session: Session, *, message_id: int, attempts: int, error: str, claim: str | None = None,
                content: dict[str, Any] | None = None) -> None:
    """Give up on a message that can never be delivered as it is (e.g. the bot is not in that channel); `content`
    as for `mark_sent`."""
    forget = {} if content is None else {"message": content}
    session.execute(_still_claimed(update(OutboxMessage).where(OutboxMessage.id == message_id), claim).values(
        status="failed", attempts=attempts, last_error=error[:500], claimed_until=None, **forget))


def _still_claimed(statement, claim: str | None):  # noqa: ANN001, ANN202 (an UPDATE being built)
    return statement if claim is None else statement.where(OutboxMessage.claim == claim)


def hurry(session: Session, *, platform: str, waiting_for: str, now: datetime) -> int:
    """Make due now the pending messages that were put off only for `waiting_for` (as their last error says),
    now that it has passed; returns how many. A message being tried just now is left to its worker."""
    return session.execute(update(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.platform == platform,
        OutboxMessage.last_error == waiting_for[:500], OutboxMessage.next_attempt_at > now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
        .values(next_attempt_at=now)).rowcount


def sent_ref(session: Session, key: str) -> str:
    """The platform's id for a message already sent ("" if it has not gone yet)."""
    message = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
    return message.external_ref if message and message.status == "sent" else ""


def pending_for(session: Session, *, platform: str, target: str) -> list[OutboxMessage]:
    """Messages waiting for one recipient (the terminal collects its own)."""
    return list(session.exec(select(OutboxMessage).where(
        OutboxMessage.platform == platform, OutboxMessage.target == target, OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)))
