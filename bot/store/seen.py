"""Inbound events already handled: a platform that retries (Slack's X-Slack-Retry-Num, a replayed Teams activity)
gets each event handled once, across restarts and processes, by a unique key in the database."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.store.models import SeenEvent


def first_time(db: Engine, key: str, now: datetime) -> bool:
    """Record the event; False when it was recorded before (by this process or any other)."""
    with Session(db) as session:
        session.add(SeenEvent(key=key[:200], seen_at=now))
        try:
            session.commit()
        except IntegrityError:
            return False
    return True
