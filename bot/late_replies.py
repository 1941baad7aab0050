"""Answers a platform would not take when they were sent: kept in the outbox, so a failing API (HTTP 5xx, 429, a
timeout) delays an answer but never loses it.

A turn's answer is posted straight away, not through the outbox: that is what keeps a conversation quick. Only
when the post fails are the turn's neutral replies queued, for the delivery worker to send with its retries and
backoff; and so is an answer a stopped server left in the inbox, which it may or may not have posted. The failed
attempt may still have arrived (a timeout after Slack took the post), so it is queued as attempted: the worker
first asks the platform whether it landed (see bot/delivery.py), and a person is not answered twice.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.store import inbox, outbox
from bot.store.db import blocking
from dialogs.replies import Reply, as_data

log = logging.getLogger(__name__)
KIND = "reply"  # the outbox message type of a kept answer (the senders render it with the replies' renderer)


def spent(message: dict[str, Any]) -> dict[str, Any] | None:
    """What the outbox keeps of a message once it has gone (or been given up on): of an answer to a person, only
    that it was one, since its words may be what they typed and nothing reads them again; None (all of it) for
    any other message."""
    return {"type": KIND} if message.get("type") == KIND else None


def key_for(once: str) -> str:
    """The outbox key of a turn's answer: from the platform's id for the event when it has one, so the answer to
    a redelivered event is queued once; a fresh one otherwise."""
    if not once:
        return f"reply:{uuid.uuid4().hex}"
    # A Teams conversation id alone can be 150 characters: a long key is shortened to its digest (keys are unique
    # at 200 characters).
    return f"reply:{once}" if len(once) <= 150 else f"reply:{hashlib.sha256(once.encode()).hexdigest()}"


async def keep(db: Engine, clock: Callable[[], datetime], wake: Callable[[], None], *, key: str, platform: str,
               target: str, target_kind: str, replies: Sequence[Reply], reason: str, tried_at: datetime,
               delay: float | None = None, done: str = "", **where: str) -> None:
    """Queue an answer that was not posted (`reason` says why; `delay` is how long the platform asked us to
    wait), counted as attempted at `tried_at`, and `wake` the outbox worker. `done` names the kept inbox event it
    answers, taken out in the same transaction; `where` holds what the sender needs to put it in the same place
    (a thread). If even that fails (the database is away too), the answer is lost, and the log says so."""
    now = clock()
    message = {"type": KIND, "replies": as_data(replies), **where}
    due = now + timedelta(seconds=delay) if delay is not None else now

    def write() -> None:
        with Session(db) as session:
            outbox.enqueue(session, key=key, platform=platform, target=target, target_kind=target_kind,
                           message=message, now=now, due=due, attempted_at=tried_at)
            if done:
                inbox.handled(session, done)
            session.commit()

    try:
        await blocking(db, write)
    except SQLAlchemyError as failure:
        log.error("%s: an answer could not be posted (%s) nor kept to post later (%s)", platform, reason,
                  type(failure).__name__)
        return
    log.warning("%s: an answer was not posted (%s); the outbox will post it", platform, reason)
    wake()
