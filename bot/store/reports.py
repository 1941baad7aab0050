"""Reports and their history: created once, then only appended to."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from bot.store.models import Counter, Report, ReportEvent
from bot.store.upsert import insert_for

STATUS_ACTIONS = {"submitted": "open", "acknowledged": "acknowledged", "assigned": "assigned", "closed": "closed",
                  "reopened": "open"}


def next_reference(session: Session, *, prefix: str, year: int) -> str:
    """The next reference for the prefix and year (INC-2026-0007), unique across processes."""
    name = f"{prefix}-{year}"
    statement = insert_for(session, Counter).values(name=name, value=1)
    statement = statement.on_conflict_do_update(index_elements=["name"],
                                                set_={"value": Counter.value + 1}).returning(Counter.value)
    value = session.execute(statement).scalar_one()
    return f"{name}-{value:04d}"


def create_report(session: Session, *, reference: str, dialog: str, category: str, urgency: str, lead_role: str,
                  reporter: tuple[str, str, str], reporter_name: str, answers: dict[str, Any],
                  fields: Sequence[tuple[str, str]], now: datetime) -> Report:
    """Store a submitted report and its first event."""
    platform, workspace, user_id = reporter
    report = Report(reference=reference, dialog=dialog, category=category, urgency=urgency, lead_role=lead_role,
                    reporter_platform=platform, reporter_workspace=workspace, reporter_id=user_id,
                    reporter_name=reporter_name, answers=answers, fields=[list(f) for f in fields], created_at=now)
    session.add(report)
    session.flush()
    add_event(session, report=report, actor=f"{platform}:{user_id}", actor_name=reporter_name, action="submitted",
              now=now)
    return report


def add_event(session: Session, *, report: Report, actor: str, action: str, now: datetime, actor_name: str = "",
              detail: str = "", assignee: str = "") -> ReportEvent:
    """Append one event to a report's history."""
    event = ReportEvent(report_id=report.id, at=now, actor=actor, actor_name=actor_name, action=action,
                        status=STATUS_ACTIONS.get(action, ""), detail=detail, assignee=assignee)
    session.add(event)
    session.flush()
    return event


def find_report(session: Session, reference: str) -> Report | None:
    """The report with this reference (case-insensitive), if any."""
    return session.exec(select(Report).where(func.upper(Report.reference) == reference.strip().upper())).first()


def history(session: Session, report: Report) -> list[ReportEvent]:
    """Every event on a report, oldest first."""
    return list(session.exec(select(ReportEvent).where(ReportEvent.report_id == report.id)
                             .order_by(ReportEvent.at, ReportEvent.id)))


def status(events: Sequence[ReportEvent]) -> str:
    """A report's status: that of its latest status-changing event."""
    return next((e.status for e in reversed(events) if e.status), "open")


def list_reports(session: Session, *, lead_roles: Sequence[str] | None = None) -> list[Report]:
    """Reports, newest first; only those routed to the given lead roles when roles are given."""
    query = select(Report).order_by(Report.created_at.desc(), Report.id.desc())
    if lead_roles is not None:
        query = query.where(Report.lead_role.in_(list(lead_roles)))
    return list(session.exec(query))


def reports_by(session: Session, *, platform: str, workspace: str, user_id: str) -> list[Report]:
    """The reports a person submitted, newest first."""
    return list(session.exec(select(Report).where(Report.reporter_platform == platform,
                                                  Report.reporter_workspace == workspace,
                                                  Report.reporter_id == user_id)
                             .order_by(Report.created_at.desc(), Report.id.desc())))
