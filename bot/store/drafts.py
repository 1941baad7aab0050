"""Dialogs in progress, one per person per platform, saved after every turn."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlmodel import Session, select

from bot.store.models import Draft


class DraftConflict(RuntimeError):
    """Another process saved this draft first (two messages from one person raced); the turn is retried."""


# Built once: every turn runs it, and building a statement costs more than SQLite takes to run it.
_DRAFT_OF = select(Draft).where(Draft.platform == bindparam("platform"), Draft.workspace == bindparam("workspace"),
                                Draft.user_id == bindparam("user_id"))
_TABLE = Draft.__table__


def load_draft(session: Session, *, platform: str, workspace: str, user_id: str) -> Draft | None:
    """The person's dialog in progress, if any (expired or not: the caller decides what to say)."""
    return session.exec(_DRAFT_OF, params={"platform": platform, "workspace": workspace,
                                           "user_id": user_id}).first()


def save_draft(session: Session, *, draft: Draft | None, platform: str, workspace: str, user_id: str,
               conversation: str, dialog: str, state: dict[str, Any], now: datetime, ttl: timedelta) -> None:
    """Save the dialog state: a new draft, or the loaded one if nobody has changed it since it was loaded."""
    if draft is None:
        session.add(Draft(platform=platform, workspace=workspace, user_id=user_id, conversation=conversation,
                          dialog=dialog, state=state, created_at=now, updated_at=now, expires_at=now + ttl))
        return
    changed = session.execute(  # on the table, not the model: the ORM's bulk path costs more than the UPDATE
        update(_TABLE).where(_TABLE.c.id == draft.id, _TABLE.c.version == draft.version)
        .values(state=state, dialog=dialog, conversation=conversation, version=draft.version + 1,
                updated_at=now, expires_at=now + ttl)).rowcount
    if changed != 1:
        raise DraftConflict(f"draft {draft.id} changed since it was loaded")


def discard_draft(session: Session, *, draft: Draft) -> None:
    """Forget a dialog in progress (cancelled, finished or expired)."""
    session.execute(delete(_TABLE).where(_TABLE.c.id == draft.id))


def purge_expired_drafts(session: Session, *, now: datetime) -> int:
    """Delete drafts nobody has touched for longer than their lifetime; returns how many."""
    return session.execute(delete(Draft).where(Draft.expires_at < now)).rowcount
