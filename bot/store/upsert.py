"""INSERT … ON CONFLICT in the dialect at hand (SQLite and PostgreSQL spell it the same; SQLAlchemy needs to know)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_for(session: Session, table: Any) -> Any:
    """An INSERT construct that understands on_conflict_do_nothing / on_conflict_do_update for this database."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
