"""The commands that use the conversation core and the database: chat, a lead's reports, reminders, diagrams."""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from sqlmodel import Session

from bot import escalation
from bot.app import build
from bot.channels import terminal
from bot.conversation import Conversation, report_view
from bot.escalation import Person
from bot.store.drafts import purge_expired_drafts
from bot.store.models import Report
from bot.store.reports import history, status
from dialogs import diagram


def _core(args: argparse.Namespace) -> Conversation:
    return build(policy_folders=[Path(p) for p in args.policies] if args.policies else None)


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: questions, and the guided dialogs, until you type exit."""
    return terminal.run(_core(args), user=args.as_user)


def _lead(args: argparse.Namespace, core: Conversation) -> Person | None:
    person = Person("terminal", "local", args.as_user, args.as_user)
    if not core.config.roles_of("terminal", args.as_user):
        leads = sorted(u for lead in core.config.leads.values() for u in lead.terminal.users)
        print(f"'{args.as_user}' is not a designated lead in the school configuration. Leads here: "
              f"{', '.join(leads) or 'none'} (give one with --as).", file=sys.stderr)
        return None
    return person


def cmd_reports(args: argparse.Namespace) -> int:
    """A lead's view of reports: list, show (with the audit trail), act on them, export as CSV."""
    core = _core(args)
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


def _export(session: Session, reports: list[Report], out: str) -> int:
    """Reports as CSV: one row per report, its answers as columns, and its status."""
    stream = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")
    try:
        writer = csv.writer(stream)
        writer.writerow(["reference", "submitted", "category", "urgency", "status", "reporter", "answers"])
        for report in reports:
            answers = "\n".join(f"{label}: {value}" for label, value in report.fields)
            writer.writerow([report.reference, report.created_at.isoformat(), report.category, report.urgency,
                             status(history(session, report)), report.reporter_name or report.reporter_id,
                             _csv_safe(answers)])
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
