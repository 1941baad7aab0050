"""Teams conversation references, kept so the bot can post to a channel or a person when nobody spoke to it."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.store.models import TeamsAddress
from bot.store.upsert import insert_for

FIELDS = ("service_url", "tenant_id", "conversation_id", "member_id", "bot_id")


def remember(session: Session, *, key: str, now: datetime, **fields: str) -> None:
    """Store (or refresh) an address; empty fields never overwrite known ones."""
    values = {name: str(fields.get(name) or "")[:300] for name in FIELDS}
    statement = insert_for(session, TeamsAddress).values(key=key[:250], updated_at=now, **values)
    changes = {name: statement.excluded[name] for name in FIELDS if values[name]}
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={**changes, "updated_at": now}))


def find(session: Session, key: str) -> TeamsAddress | None:
    """The stored address under a key, if any."""
    return session.get(TeamsAddress, key)


def newest(session: Session) -> TeamsAddress | None:
    """The most recently seen tenant address: where to reach Teams when nothing more specific is known."""
    query = select(TeamsAddress).where(TeamsAddress.key.startswith("tenant:"))  # type: ignore[attr-defined]
    return session.exec(query.order_by(TeamsAddress.updated_at.desc()).limit(1)).first()  # type: ignore[attr-defined]
