"""Inbound events already handled: a platform that retries (Slack's X-Slack-Retry-Num, a replayed Teams activity)
gets each event handled once, across restarts and processes, by a unique key in the database."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from bot.store.errors import unavailable
from bot.store.models import SeenEvent

log = logging.getLogger(__name__)


def first_time(db: Engine, key: str, now: datetime) -> bool:
    """Record the event; False when it was recorded before (by this process or any other).

    True when the database cannot be reached: the event goes on unchecked rather than unanswered. Handling it
    needs the database too, so the turn fails whole and the person is asked to send it again: nothing is done
    twice, and the platform, answered at once, does not retry behind the person's back.
    """
    with Session(db) as session:
        session.add(SeenEvent(key=key[:200], seen_at=now))
        try:
            session.commit()
        except IntegrityError:
            return False
        except SQLAlchemyError as failure:
            if not unavailable(failure):
                raise
            log.warning("event not checked for a repeat: the database is unavailable (%s)", type(failure).__name__)
    return True
