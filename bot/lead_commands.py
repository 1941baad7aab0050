"""The commands that use the conversation core and the database: chat, a lead's reports, reminders, diagrams."""
from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path

from sqlmodel import Session

from bot import escalation, settings
from bot.app import build
from bot.channels import terminal
from bot.conversation import Conversation, report_view
from bot.escalation import Person
from bot.school import load_config
from bot.store import retention
from bot.store.db import open_database, utcnow
from bot.store.drafts import purge_expired_drafts
from bot.store.models import Report
from bot.store.reports import history, status
from dialogs import diagram

log = logging.getLogger(__name__)


def _core(args: argparse.Namespace) -> Conversation:
    return build(policy_folders=[Path(p) for p in args.policies] if args.policies else None)


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: questions, and the guided dialogs, until you type exit."""
    return terminal.run(_core(args), user=args.as_user)


def _lead(args: argparse.Namespace, core: Conversation) -> Person | None:
    person = Person("terminal", "local", args.as_user or "", args.as_user or "")
    if not args.as_user or not core.config.roles_of("terminal", args.as_user):
        leads = sorted(u for lead in core.config.leads.values() for u in lead.terminal.users)
        who = f"'{args.as_user}' is not" if args.as_user else "Say which lead you are: you must be"
        print(f"{who} a designated lead in the school configuration. Leads here: "
              f"{', '.join(leads) or 'none'} (give one with --as).", file=sys.stderr)
        return None
    return person


def cmd_reports(args: argparse.Namespace) -> int:
    """A lead's view of reports: list, show (with the audit trail), act on them, export as CSV."""
    core = _core(args)
    if getattr(args, "reference", None) and args.as_user:
        # Anyone may try a report by its reference: the core refuses whoever is not one of its leads, and the
        # attempt goes in the report's history, as it does from Slack or Teams.
        person: Person | None = Person("terminal", "local", args.as_user, args.as_user)
    else:
        person = _lead(args, core)
    if person is None:
        return 2
    now = core.clock()
    with Session(core.db) as session:
        if args.action in ("list", "export"):
            visible = escalation.visible_reports(session, core.config, person)
            if args.action == "list":
                for report in visible:
                    state = status(history(session, report))
                    print(f"{report.reference:15} {report.created_at:%Y-%m-%d %H:%M}  {report.urgency:7} "
                          f"{state:13} {escalation.category_name(report.category)}")
                if not visible:
                    print("No reports for you.")
                return 0
            return _export(session, visible, args.out)
        action = {"show": "view", "ack": "acknowledge"}.get(args.action, args.action)
        outcome = escalation.act(session, core.config, args.reference, person, action, now,
                                 detail=" ".join(getattr(args, "text", None) or []) or (args.reason or "")
                                 if action in ("note", "close") else "",
                                 assignee=getattr(args, "assignee", "") or "")
        session.commit()
        if not outcome.ok:
            print(outcome.message, file=sys.stderr)
            return 1
        if action == "view":
            print(terminal.render(report_view(session, outcome.report))[0])
        else:
            print(outcome.message)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete what the school's retention rule says is old enough, in one transaction; only with --yes."""
    config = load_config(settings.config_path())
    rule = config.retention
    db = open_database(settings.database_url())
    # After the migrations, so the log (standard error; cron keeps it) holds the purge's one line.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    now = utcnow()
    kept = (f"{rule.keep_pupil_concerns_years} years for concerns about pupils, {rule.keep_staff_allegations_years} "
            f"for allegations about staff, {rule.keep_reports_years} for other reports, from the last thing "
            "recorded on each")
    try:
        with Session(db) as session:
            if not args.yes:
                found = retention.plan(session, years_for=rule.years_for, general_years=rule.keep_reports_years,
                                       now=now)
                _print_purge(found, kept, done=False)
                print("Nothing was deleted. Run `python -m bot reports purge --yes` to delete this.")
                return 0
            done = retention.purge(session, years_for=rule.years_for, general_years=rule.keep_reports_years,
                                   now=now)
            session.commit()
    finally:
        db.dispose()
    _print_purge(done, kept, done=True)
    categories = ", ".join(f"{c} {n}" for c, n in done.by_category().items()) or "none"
    log.info("reports purge: deleted %d report(s) (%s), %d event(s), %d message(s) about them, %d question(s) "
             "passed to a lead, %d expired draft(s), %d seen event id(s); retention %d/%d/%d years",
             len(done.reports), categories, done.events, done.messages, done.questions, done.drafts,
             done.seen_events, rule.keep_pupil_concerns_years, rule.keep_staff_allegations_years,
             rule.keep_reports_years)
    return 0


def _print_purge(found: retention.Purge, kept: str, *, done: bool) -> None:
    """What a purge deletes: counts and references, never any content."""
    verb = "Deleted" if done else "Would delete"
    print(f"Retention: {kept}.")
    print(f"{verb} {len(found.reports)} report(s)" + (":" if found.reports else "."))
    for report in found.reports:
        print(f"  {report.reference:15} {report.category:24} last activity {report.last_activity:%Y-%m-%d}")
    print(f"{verb} {found.events} event(s) and {found.messages} message(s) about them, {found.questions} old "
          f"question(s) passed to a lead, {found.drafts} expired draft(s), {found.seen_events} seen event id(s) "
          f"older than {retention.SEEN_EVENTS_KEPT.days} days.")


def _export(session: Session, reports: list[Report], out: str) -> int:
    """Reports as CSV: one row per report, its answers as columns, and its status."""
    stream = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")
    try:
        writer = csv.writer(stream)
        writer.writerow(["reference", "submitted", "category", "urgency", "status", "reporter", "answers"])
        for report in reports:
            answers = "\n".join(f"{label}: {value}" for label, value in report.fields)
            writer.writerow([_csv_safe(cell) for cell in (  # a display name can be a formula as well
                report.reference, report.created_at.isoformat(), report.category, report.urgency,
                status(history(session, report)), report.reporter_name or report.reporter_id, answers)])
    finally:
        if stream is not sys.stdout:
            stream.close()
    return 0


def _csv_safe(text: str) -> str:
    """Stop a spreadsheet from running a cell as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def cmd_reminders(args: argparse.Namespace) -> int:
    """Remind leads of unacknowledged reports, re-escalate old ones, discard expired drafts (run it hourly)."""
    core = _core(args)
    with Session(core.db) as session:
        queued = escalation.run_reminders(session, core.config, core.clock())
        purged = purge_expired_drafts(session, now=core.clock())
        session.commit()
    print(f"{queued} reminder(s) or re-escalation(s) queued; {purged} expired draft(s) discarded.")
    return 0


def cmd_diagrams(args: argparse.Namespace) -> int:
    """Write each dialog's Mermaid diagram, generated from its definition."""
    return diagram.main([args.out])


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web server: Slack on /slack/events (or Socket Mode), Teams, /healthz, and the outbox worker."""
    from bot.channels import slack_socket
    from bot.server import serve

    socket = bool(getattr(args, "socket", False))
    if socket and (problem := slack_socket.problem(os.environ)):
        print(problem, file=sys.stderr)  # checked before anything starts, so the reason is the only output
        return 2
    try:
        serve(_core(args), args.host, args.port, socket=socket)
    except slack_socket.SocketModeRefused as refused:
        print(refused, file=sys.stderr)
        return 2
    return 0
