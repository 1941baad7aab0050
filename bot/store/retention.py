"""Retention: what is old enough to delete, and deleting it (reports with their history and messages, expired
drafts, old event keys), all in the caller's transaction.

Reports and their events refuse UPDATE (see the first migration) but not DELETE: removing a whole record when
its retention period ends is the one change the database allows.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from bot.store.models import Draft, OutboxMessage, Report, ReportEvent, SeenEvent

SEEN_EVENTS_KEPT = timedelta(days=7)  # Slack retries an event for minutes, not days; a week is ample
NOT_ACTIVITY = ("viewed", "refused")  # reading a report, or being refused, does not keep it longer
BATCH = 500  # ids per DELETE … IN (…), well inside SQLite's limit on parameters


@dataclass(frozen=True, slots=True)
class Expired:
    """A report whose retention period has ended: what it is, never what it says."""

    id: int
    reference: str
    category: str
    last_activity: datetime


@dataclass
class Purge:
    """What a purge deletes (or, in a dry run, would delete)."""

    reports: list[Expired] = field(default_factory=list)
    events: int = 0
    messages: int = 0  # outbox messages about those reports
    questions: int = 0  # questions passed to a lead (no report), sent or failed, as old as the general period
    drafts: int = 0  # dialogs left unfinished past their expiry
    seen_events: int = 0  # inbound event ids older than SEEN_EVENTS_KEPT

    def by_category(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.reports:
            counts[report.category] = counts.get(report.category, 0) + 1
        return dict(sorted(counts.items()))


def years_before(moment: datetime, years: int) -> datetime:
    """The same date and time `years` whole years earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expired_reports(session: Session, *, years_for: Callable[[str], int], now: datetime) -> list[Expired]:
    """Reports whose last activity is older than their category's retention period, oldest first."""
    last = (select(ReportEvent.report_id, func.max(ReportEvent.at).label("at"))
            .where(ReportEvent.action.not_in(NOT_ACTIVITY)).group_by(ReportEvent.report_id).subquery())
    rows = session.execute(select(Report.id, Report.reference, Report.category, Report.created_at, last.c.at)
                           .outerjoin(last, last.c.report_id == Report.id).order_by(Report.id))
    found = []
    for report_id, reference, category, created_at, last_at in rows:
        activity = max(_aware(created_at), _aware(last_at)) if last_at is not None else _aware(created_at)
        if activity < years_before(now, years_for(category)):
            found.append(Expired(report_id, reference, category, activity))
    return sorted(found, key=lambda e: (e.last_activity, e.id))


def plan(session: Session, *, years_for: Callable[[str], int], general_years: int, now: datetime) -> Purge:
    """Count what a purge at `now` deletes, without deleting anything."""
    reports = expired_reports(session, years_for=years_for, now=now)
    ids = [r.id for r in reports]
    return Purge(
        reports=reports,
        events=sum(_count(session, ReportEvent, ReportEvent.report_id.in_(chunk)) for chunk in _chunks(ids)),
        messages=sum(_count(session, OutboxMessage, OutboxMessage.report_id.in_(chunk)) for chunk in _chunks(ids)),
        questions=_count(session, OutboxMessage, *_old_questions(general_years, now)),
        drafts=_count(session, Draft, Draft.expires_at < now),
        seen_events=_count(session, SeenEvent, SeenEvent.seen_at < now - SEEN_EVENTS_KEPT),
    )


def purge(session: Session, *, years_for: Callable[[str], int], general_years: int, now: datetime) -> Purge:
    """Delete everything past its retention in the caller's transaction (commit it, or roll it all back)."""
    reports = expired_reports(session, years_for=years_for, now=now)
    ids = [r.id for r in reports]
    if ids and session.get_bind().dialect.name == "postgresql":
        # Lock the reports first: a lead acting on one meanwhile waits for this transaction, then finds it gone,
        # instead of this purge failing on the event they added.
        for chunk in _chunks(ids):
            session.execute(select(Report.id).where(Report.id.in_(chunk)).with_for_update())
    done = Purge(reports=reports)
    for chunk in _chunks(ids):
        done.messages += session.execute(delete(OutboxMessage).where(OutboxMessage.report_id.in_(chunk))).rowcount
        done.events += session.execute(delete(ReportEvent).where(ReportEvent.report_id.in_(chunk))).rowcount
    delete_reports(session, ids)
    done.questions = session.execute(delete(OutboxMessage).where(*_old_questions(general_years, now))).rowcount
    done.drafts = session.execute(delete(Draft).where(Draft.expires_at < now)).rowcount
    done.seen_events = session.execute(delete(SeenEvent).where(SeenEvent.seen_at < now - SEEN_EVENTS_KEPT)).rowcount
    return done


def delete_reports(session: Session, ids: Sequence[int]) -> None:
    """Delete the reports themselves (their events and messages first: they refer to them)."""
    for chunk in _chunks(ids):
        session.execute(delete(Report).where(Report.id.in_(chunk)))


def _old_questions(general_years: int, now: datetime) -> tuple:
    return (OutboxMessage.report_id.is_(None), OutboxMessage.status.in_(("sent", "failed")),
            OutboxMessage.created_at < years_before(now, general_years))


def _count(session: Session, table: type, *where: object) -> int:
    return session.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]
