"""Reports reach their lead: submitting, the lead's actions, telling the reporter, reminders and re-escalation.

Everything here writes to the database in the caller's transaction and queues messages in the outbox, so a
report and the messages about it are stored together or not at all. Only the leads for a report's category
(and their deputy) see its content or act on it; every action, and every refused attempt, is in its history.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.school import PLATFORMS, SchoolConfig
from bot.store import locks, outbox
from bot.store.models import Report, ReportEvent
from bot.store.reports import (add_event, create_report, find_report, history, list_reports, next_reference,
                               status)
from dialogs.account_request import ACCOUNT_REQUEST_CATEGORY
from dialogs.engine import Submission
from dialogs.inputs import clean
from dialogs.incident_report import CATEGORY_NAMES

PREFIXES = {"incident_report": "INC", "account_request": "ACC"}
KINDS = {"incident_report": "Incident report", "account_request": "Account request"}
ACTIONS = ("view", "acknowledge", "assign", "note", "close")
TOLD_REPORTER = {  # what the reporter hears when a lead acts (notes stay between leads)
    "acknowledged": "{ref} has been acknowledged by {lead}.",
    "assigned": "{ref} has been passed to {assignee} to follow up.",
    "closed": "{ref} has been closed by {lead}. Reason: {detail}",
    "escalated": "{ref} has been passed to {lead}, as it had not been picked up yet.",
}


@dataclass(frozen=True, slots=True)
class Person:
    """Someone on a platform: who submits reports or acts on them."""

    platform: str
    workspace: str
    user_id: str
    name: str = ""

    def __post_init__(self) -> None:
        # A display name is chosen by its owner and shown to leads, in cards, chats and terminals: kept on one line,
        # without control, zero-width or direction-override characters, at a length the database holds.
        object.__setattr__(self, "name", " ".join(clean(self.name).split())[:200])

    @property
    def actor(self) -> str:
        """How the person is written in a report's history."""
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened when someone acted on a report: whether it was allowed, and what to tell them."""

    ok: bool
    message: str
    report: Report | None = None
    events: tuple[ReportEvent, ...] = ()


REPORT_CATEGORIES = {**CATEGORY_NAMES, ACCOUNT_REQUEST_CATEGORY: "Request for a school social media account"}


def category_name(category: str) -> str:
    """A report category in words."""
    return REPORT_CATEGORIES.get(category, category.replace("_", " ").capitalize())


def submit(session: Session, config: SchoolConfig, submission: Submission, reporter: Person,
           now: datetime) -> Report:
    """Store a submitted dialog as a report, and queue its alert to the lead's channel on every platform."""
    prefix = PREFIXES.get(submission.dialog, "REP")
    reference = next_reference(session, prefix=prefix, year=now.year)
    role = config.lead_for(submission.category)
    report = create_report(session, reference=reference, dialog=submission.dialog, category=submission.category,
                           urgency=submission.urgency, lead_role=role,
                           reporter=(reporter.platform, reporter.workspace, reporter.user_id),
                           reporter_name=reporter.name, answers=submission.answers,
                           fields=[(f.label, f.value) for f in submission.fields], now=now)
    _alert(session, config, report, role, now, key_suffix="alert")
    return report


def alert_message(report: Report, status_now: str, reporter_shown: str) -> dict[str, object]:
    """The neutral alert for a lead's channel: what, how urgent, who reported, its status; never the content."""
    return {"type": "alert", "reference": report.reference, "kind": KINDS.get(report.dialog, "Report"),
            "category": category_name(report.category), "urgency": report.urgency, "reporter": reporter_shown,
            "status": status_now}


def _alert(session: Session, config: SchoolConfig, report: Report, role: str, now: datetime, *, key_suffix: str,
           status_now: str = "open", updates_suffix: str = "") -> None:
    """Queue an alert (or an edit of an earlier one) to every place the lead is on."""
    lead = config.leads[role]
    message = alert_message(report, status_now, report.reporter_name or report.reporter_id)
    for platform in PLATFORMS:
        presence = lead.on(platform)
        if platform == "terminal":
            # The terminal has no channels: each terminal lead collects alerts addressed to them.
            for user in presence.users:
                outbox.enqueue(session, key=f"{report.reference}:{key_suffix}:{role}:terminal:{user}",
                               platform="terminal", target=user, target_kind="user", message=message,
                               now=now, report_id=report.id)
        elif presence.channel:
            outbox.enqueue(session, key=f"{report.reference}:{key_suffix}:{role}:{platform}", platform=platform,
                           target=presence.channel, target_kind="channel", message=message, now=now,
                           report_id=report.id,
                           updates=f"{report.reference}:{updates_suffix}:{role}:{platform}" if updates_suffix
                           else "")


def may_act(config: SchoolConfig, report: Report, person: Person) -> bool:
    """Whether a person is a designated lead for this report (its lead, or that lead's deputy)."""
    roles = config.roles_of(person.platform, person.user_id)
    lead = config.leads.get(report.lead_role)
    allowed = {report.lead_role} | ({lead.deputy} if lead and lead.deputy else set())
    return bool(allowed & set(roles))


def act(session: Session, config: SchoolConfig, reference: str, person: Person, action: str, now: datetime, *,
        detail: str = "", assignee: str = "") -> Outcome:
    """A lead views, acknowledges, assigns, notes or closes a report. Anyone else is refused, and it is recorded."""
    report = find_report(session, reference)
    if report is None:
        return Outcome(False, f"I can't find a report with the reference {reference[:30]!r}.")
    # One action on a report at a time, on any replica: a double press of Acknowledge, or two leads closing at
    # once, then finds the first one done ("already acknowledged") rather than recording it twice.
    locks.one_at_a_time(session, locks.REPORT, report.id)
    if action not in ACTIONS:
        return Outcome(False, f"I don't know how to {action[:20]!r} a report. You can: {', '.join(ACTIONS)}.")
    if not may_act(config, report, person):
        add_event(session, report=report, actor=person.actor, actor_name=person.name, action="refused",
                  detail=action, now=now)
        return Outcome(False, "Sorry, only the designated leads for this report can see it or act on it. "
                              "Nothing has changed.", report)
    events = history(session, report)
    current = status(events)
    lead = config.leads[report.lead_role]
    if action == "view":
        event = add_event(session, report=report, actor=person.actor, actor_name=person.name, action="viewed",
                          now=now)
        return Outcome(True, "", report, (event,))
    if action == "note":
        if not detail.strip():
            return Outcome(False, "Please write the note to add.", report)
        event = add_event(session, report=report, actor=person.actor, actor_name=person.name, action="note",
                          detail=detail, now=now)
        return Outcome(True, f"Note added to {report.reference}.", report, (event,))
    if current == "closed":
        return Outcome(False, f"{report.reference} is closed. You can still add a note.", report)
    if action == "acknowledge":
        if current != "open":
            return Outcome(False, f"{report.reference} was already acknowledged.", report)
        event = add_event(session, report=report, actor=person.actor, actor_name=person.name,
                          action="acknowledged", now=now)
    elif action == "assign":
        if not assignee.strip():
            return Outcome(False, "Please say who to assign it to.", report)
        event = add_event(session, report=report, actor=person.actor, actor_name=person.name, action="assigned",
                          assignee=assignee.strip(), now=now)
    else:
        if not detail.strip():
            return Outcome(False, "Please give a reason for closing it; it is kept in the report's history.",
                           report)
        event = add_event(session, report=report, actor=person.actor, actor_name=person.name, action="closed",
                          detail=detail.strip(), now=now)
    _tell_reporter(session, report, event, who=person.name or lead.called, now=now)
    _alert(session, config, report, report.lead_role, now, key_suffix=f"event{event.id}", status_now=event.status,
           updates_suffix="alert")
    return Outcome(True, f"{report.reference} is now {event.status}.", report, (event,))


def _tell_reporter(session: Session, report: Report, event: ReportEvent, *, who: str, now: datetime) -> None:
    text = TOLD_REPORTER[event.action].format(ref=report.reference, lead=who, assignee=event.assignee,
                                              detail=event.detail)
    outbox.enqueue(session, key=f"{report.reference}:event{event.id}:reporter", platform=report.reporter_platform,
                   target=report.reporter_id, target_kind="user",
                   message={"type": "reporter_update", "reference": report.reference, "text": text,
                            "status": event.status}, now=now, report_id=report.id)


def run_reminders(session: Session, config: SchoolConfig, now: datetime) -> int:
    """Remind leads of reports nobody has acknowledged, then pass them to the deputy. Returns messages queued.

    Every replica runs this hourly, and cron may too: one at a time, so a second round sees the first's
    "reminded" and "escalated" and adds neither again (nor tells the reporter twice)."""
    locks.one_at_a_time(session, locks.REMINDERS)
    queued = 0
    remind_after = timedelta(hours=config.escalation.remind_after_hours)
    escalate_after = timedelta(hours=config.escalation.reescalate_after_hours)
    for report in session.exec(select(Report).where(Report.created_at <= now - remind_after)):
        events = history(session, report)
        if status(events) != "open":
            continue
        done = {e.action for e in events}
        if "reminded" not in done:
            add_event(session, report=report, actor="system", action="reminded", now=now)
            _alert(session, config, report, report.lead_role, now, key_suffix="reminder")
            queued += 1
        deputy = config.leads[report.lead_role].deputy
        if deputy and "escalated" not in done and report.created_at <= now - escalate_after:
            event = add_event(session, report=report, actor="system", action="escalated", assignee=deputy, now=now)
            _alert(session, config, report, deputy, now, key_suffix="escalated")
            _tell_reporter(session, report, event, who=config.leads[deputy].called, now=now)
            queued += 1
    return queued


def visible_reports(session: Session, config: SchoolConfig, person: Person) -> Sequence[Report]:
    """The reports a person may see: those routed to a role they hold, or to a role they are deputy for."""
    roles = set(config.roles_of(person.platform, person.user_id))
    covered = roles | {r for r, lead in config.leads.items() if lead.deputy in roles}
    return list_reports(session, lead_roles=sorted(covered)) if covered else []
