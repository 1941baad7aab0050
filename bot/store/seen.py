"""Inbound events already handled: a platform that retries (Slack's X-Slack-Retry-Num, a replayed Teams activity)
gets each event handled once, across restarts and processes, by a unique key in the database."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from bot.store.errors import unavailable
from bot.store.models import SeenEvent

log = logging.getLogger(__name__)
# Built once, on the table rather than the model: it runs before every turn, and the ORM's bulk-insert path added
# about 0.1 ms to each run.
_RECORD = insert(SeenEvent.__table__)


def first_time(db: Engine, key: str, now: datetime) -> bool:
    """Record the event; False when it was recorded before (by this process or any other).

    True when the database cannot be reached: the event goes on unchecked rather than unanswered. Handling it
    needs the database too, so the turn fails whole and the person is asked to send it again: nothing is done
    twice, and the platform, answered at once, does not retry behind the person's back.
    """
    with Session(db) as session:
        try:
            if not record_once(session, key, now):
                return False
            session.commit()
        except IntegrityError:  # the same key committed by another process between the flush and the commit
            return False
        except SQLAlchemyError as failure:
            if not unavailable(failure):
                raise
            log.warning("event not checked for a repeat: the database is unavailable (%s)", type(failure).__name__)
    return True


def record_once(session: Session, key: str, now: datetime) -> bool:
    """Record the event in the session's transaction, which must have done nothing yet; False (and the
    transaction rolled back) when it was recorded before. Recorded with the work it guards, an event is
    either handled and marked, or neither: a turn that fails leaves it free to be handled again."""
    try:  # a plain INSERT, not the ORM's unit of work
        # On PostgreSQL this waits for a concurrent holder of the same key to commit or roll back.
        session.execute(_RECORD, {"key": key[:200], "seen_at": now})
    except IntegrityError:
        session.rollback()
        return False
    return True
