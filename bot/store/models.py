"""The tables. Reports and their events are append-only: a change is a new row with who, when and why."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Draft(SQLModel, table=True):
    """A dialog in progress for one person on one platform: resumed after a restart, expired when stale."""

    __tablename__ = "dialog_draft"
    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id", name="uq_draft_person"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(max_length=100)
    user_id: str = Field(max_length=100)
    conversation: str = Field(default="", max_length=200)
    dialog: str = Field(max_length=50)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1  # bumped on every save, so two processes cannot both apply a turn to the same draft
    created_at: datetime
    updated_at: datetime
    expires_at: datetime = Field(index=True)


class Report(SQLModel, table=True):
    """A submitted report or request. Never updated: its words stay exactly as the reporter submitted them."""

    __tablename__ = "report"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=30, unique=True)
    dialog: str = Field(max_length=50)
    category: str = Field(max_length=50, index=True)
    urgency: str = Field(max_length=10)
    lead_role: str = Field(max_length=50)
    reporter_platform: str = Field(max_length=20)
    reporter_workspace: str = Field(max_length=100)
    reporter_id: str = Field(max_length=100)
    reporter_name: str = Field(default="", max_length=200)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fields: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(index=True)


class ReportEvent(SQLModel, table=True):
    """One thing that happened to a report: submitted, viewed, acknowledged, assigned, a note, closed, a reminder,
    re-escalated, or a refused attempt. The report's status is its latest status-changing event."""

    __tablename__ = "report_event"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    at: datetime
    actor: str = Field(max_length=150)  # "platform:user id", or "system"
    actor_name: str = Field(default="", max_length=200)
    action: str = Field(max_length=30)
    status: str = Field(default="", max_length=20)  # the report's status after this event, where it changed
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    assignee: str = Field(default="", max_length=150)


class OutboxMessage(SQLModel, table=True):
    """A message waiting to go to a lead or a reporter. Written in the same transaction as what caused it;
    sent by a worker that claims it, so a crash or an API failure delays it but never loses it. A send that may
    have reached the platform is recorded first (`attempted_at`), so a retry asks the platform before repeating
    it (see bot/delivery.py for where that can and cannot be asked)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # what the message is about, so it is queued once only
    report_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    platform: str = Field(max_length=20)
    target: str = Field(max_length=200)  # a channel or user id on that platform
    target_kind: str = Field(max_length=10)  # "channel", "user", or "reply" (in the conversation of a Teams answer)
    message: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updates: str = Field(default="", max_length=200)  # key of an earlier message this one edits in place
    status: str = Field(default="pending", max_length=10, index=True)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    claimed_until: datetime | None = None
    claim: str = Field(default="", max_length=32)  # the claiming worker's token: a lapsed claim cannot send
    attempted_at: datetime | None = None  # the first send that may have reached the platform ("in doubt" after)
    sent_at: datetime | None = None
    external_ref: str = Field(default="", max_length=300)  # the platform's id for it (Slack ts, Teams id)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime


class Counter(SQLModel, table=True):
    """The last reference number given out, per prefix and year (INC-2026-0007)."""

    __tablename__ = "reference_counter"

    name: str = Field(primary_key=True, max_length=30)
    value: int = 0


class SeenEvent(SQLModel, table=True):
    """An inbound event already handled (Slack retries the same event_id): a unique key makes it once only."""

    __tablename__ = "seen_event"

    key: str = Field(primary_key=True, max_length=200)
    seen_at: datetime = Field(index=True)


class InboxEvent(SQLModel, table=True):
    """An event the platform delivered and the bot acknowledged but has not yet answered: kept from before the
    acknowledgement until the answer is known to have been posted, so a process killed in between loses nothing.
    The turn that handles it stores its answer here in the same transaction; a row left behind without an answer
    is handled again, one with an answer has that answer posted (once). It holds what someone typed, and the
    answer, for those milliseconds only (a second, while removals are batched)."""

    __tablename__ = "inbox"

    key: str = Field(primary_key=True, max_length=200)  # the same key as SeenEvent's ("slack:<event_id>")
    body: str = Field(sa_column=Column(Text, nullable=False))  # the request body exactly as it arrived
    received_at: datetime = Field(index=True)
    attempts: int = 0  # times it was handled again after being left behind
    answer: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # as_data


class Feedback(SQLModel, table=True):
    """Whether an answer helped: the clause given and a yes or no (never the question's words)."""

    __tablename__ = "answer_feedback"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    platform: str = Field(max_length=20)
    source: str = Field(max_length=100)
    clause: str = Field(max_length=200)
    helpful: bool


class TeamsAddress(SQLModel, table=True):
    """Where the bot can reach someone or somewhere in Teams without being spoken to first (a conversation
    reference): captured from every activity, since Teams gives a service URL only with an inbound message."""

    __tablename__ = "teams_address"

    key: str = Field(primary_key=True, max_length=250)  # "user:<id>", "channel:<id>" or "tenant:<id>"
    service_url: str = Field(max_length=300)
    tenant_id: str = Field(default="", max_length=100)
    conversation_id: str = Field(default="", max_length=300)  # a user's personal chat with the bot, or the channel
    member_id: str = Field(default="", max_length=200)  # a user's Teams id (29:…), which the connector wants
    bot_id: str = Field(default="", max_length=200)
    updated_at: datetime
