"""Work only one process may do at a time, however many replicas run: each kind has a PostgreSQL advisory lock,
held until the end of the caller's transaction. (SQLite is one process's database; nothing to take there.)"""
from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

REMINDERS = 7_310_486_219_500_002  # numbers every process of the bot agrees on (db.MIGRATION_LOCK is ...001)
REPORT = 731_048_622  # with a report's id: one lead action on a report at a time (a separate key space)


def one_at_a_time(session: Session, key: int, item: int | None = None) -> None:
    """Wait until no other transaction holds `key` (for `item`, when given), then hold it until this one ends. A
    second process doing the same work therefore starts only after the first has committed, and sees what it
    did."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if item is None:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:  # the two-number form: its keys never meet the one-number form's
        session.execute(text("SELECT pg_advisory_xact_lock(:key, :item)"), {"key": key, "item": item})
