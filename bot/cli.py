"""`python -m bot`: ask the policy a question, chat in the terminal, and manage the policy documents."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from bot import settings
from bot.answers import render_text, to_json
from bot.school import Elsewhere, load_config
from knowledge.library import POLICY_SUFFIXES, Policy, find_policies, read_policy
from knowledge.search import KnowledgeBase


def _folders(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in args.policies] if args.policies else settings.policy_folders()


def _knowledge_base(args: argparse.Namespace) -> KnowledgeBase:
    return KnowledgeBase.load(_folders(args))


def _questions(source: str) -> Iterator[str]:
    """One question per line from a file, or from standard input for "-"."""
    stream: TextIO
    if source == "-":
        stream = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    else:
        stream = open(source, encoding="utf-8", errors="replace")
    with stream:
        for line in stream:
            yield line.rstrip("\r\n")


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question, or every line of a batch."""
    if args.question is None and args.batch is None:
        print("Give a question in quotes, or --batch FILE (--batch - reads standard input).", file=sys.stderr)
        return 2
    kb = _knowledge_base(args)
    questions = _questions(args.batch) if args.batch is not None else iter([args.question])
    elsewhere = Elsewhere() if args.json else load_config(settings.config_path()).elsewhere
    out = sys.stdout
    for i, question in enumerate(questions):
        result = kb.ask(question, top=args.top)
        if args.json:
            out.write(_json_line(to_json(result)) + "\n")
        else:
            if i:
                out.write("\n")
            out.write(render_text(kb, result, settings.contact(), elsewhere) + "\n")
    out.flush()
    return 0


LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_line(value: object) -> str:
    """One JSON object on one line: the line breaks JSON may leave raw in a string (NEL, U+2028, U+2029) are escaped
    too, since a reader splitting with Python's splitlines() would break the line at them."""
    text = json.dumps(value, ensure_ascii=False)
    for raw, escaped in LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command whose module is imported only when it runs: `ask` starts without loading the database layer."""
    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), name)(args)
    return run


def cmd_policies_list(args: argparse.Namespace) -> int:
    """List the policy documents the knowledge base reads, with their clause counts."""
    for policy in find_policies(_folders(args)):
        named, clauses = read_policy(policy)
        print(f"{named.id:40} {len(clauses):4} clauses  {named.name}")
    return 0


def cmd_policies_add(args: argparse.Namespace) -> int:
    """Copy a policy document into the school's policies folder, after checking it splits into clauses."""
    source = Path(args.file)
    if not source.is_file() or source.suffix.lower() not in POLICY_SUFFIXES:
        print(f"{source}: give a .txt or .md policy document.", file=sys.stderr)
        return 2
    target_dir = settings.school_policies_dir()
    named, clauses = read_policy(Policy(source.stem, "", source))
    if not clauses:
        print(f"{source}: no clauses found in it; is it the policy text?", file=sys.stderr)
        return 2
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target_dir / source.name)
    print(f"Added {named.name!r} ({len(clauses)} clauses) to {target_dir}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (kept separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--policies", action="append", metavar="DIR",
                        help="read policies from DIR instead of the defaults (repeatable)")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="answer a question from the policy")
    ask.add_argument("question", nargs="?", help="the question, in quotes")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (one object per question)")
    ask.add_argument("--top", type=int, default=3, metavar="K", help="return at most K clauses (default 3)")
    ask.add_argument("--batch", metavar="FILE", help="answer every line of FILE ('-' for standard input)")
    ask.set_defaults(run=cmd_ask)

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--as", dest="as_user", default="you", metavar="USER",
                      help="who you are in the terminal (a lead's terminal id to receive their alerts)")
    chat.set_defaults(run=_lazy("bot.lead_commands", "cmd_chat"))

    reports = commands.add_parser("reports", help="a designated lead's view of reports")
    reports.add_argument("--as", dest="as_user", metavar="USER",
                         help="the lead's terminal id in the school configuration (e.g. dsl); not for purge")
    actions = reports.add_subparsers(dest="action", required=True)
    purge = actions.add_parser("purge", help="delete reports past the school's retention rule (for cron)",
                               description="Delete reports older than the retention rule in the school "
                                           "configuration ([retention]), with their history and messages, and "
                                           "expired drafts and old event ids, in one transaction. Without --yes "
                                           "nothing is deleted: it prints what would be.")
    purge_mode = purge.add_mutually_exclusive_group()
    purge_mode.add_argument("--dry-run", action="store_true", help="print what would be deleted (the default)")
    purge_mode.add_argument("--yes", action="store_true", help="delete it")
    purge.set_defaults(run=_lazy("bot.lead_commands", "cmd_purge"))
    actions.add_parser("list", help="the reports you may see, newest first")
    export = actions.add_parser("export", help="the reports you may see, as CSV")
    export.add_argument("--out", default="-", metavar="FILE", help="write to FILE (default standard output)")
    for name, text in (("show", "a report's content and history"), ("ack", "acknowledge a report")):
        actions.add_parser(name, help=text).add_argument("reference")
    assign = actions.add_parser("assign", help="assign a report to someone")
    assign.add_argument("reference")
    assign.add_argument("assignee")
    note = actions.add_parser("note", help="add a note to a report")
    note.add_argument("reference")
    note.add_argument("text", nargs="+")
    close = actions.add_parser("close", help="close a report, with a reason")
    close.add_argument("reference")
    close.add_argument("--reason", required=True)
    reports.set_defaults(run=_lazy("bot.lead_commands", "cmd_reports"), reason=None)

    serve = commands.add_parser("serve", help="run the web server for Slack (and Teams)")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3978") or 3978))
    serve.add_argument("--socket", action="store_true",
                       help="take Slack's events over Socket Mode (SLACK_APP_TOKEN), for a server without a public "
                            "URL")
    serve.set_defaults(run=_lazy("bot.lead_commands", "cmd_serve"))

    reminders = commands.add_parser("reminders", help="remind leads of unacknowledged reports (run from cron)")
    reminders.set_defaults(run=_lazy("bot.lead_commands", "cmd_reminders"))

    diagrams = commands.add_parser("diagrams", help="write the dialogs' Mermaid diagrams")
    diagrams.add_argument("--out", default="dialogs/diagrams", metavar="DIR")
    diagrams.set_defaults(run=_lazy("bot.lead_commands", "cmd_diagrams"))

    manifests = commands.add_parser("manifest", help="build an app package to install the bot").add_subparsers(
        dest="platform", required=True)
    teams = manifests.add_parser("teams", help="the Teams app package (manifest.json and icons, zipped)")
    teams.add_argument("--app-id", metavar="GUID", help="the bot's Microsoft app id (default: MICROSOFT_APP_ID)")
    teams.add_argument("--out", default="policy-assistant-teams.zip", metavar="FILE")
    teams.add_argument("--bot-domain", metavar="HOST", help="the bot's public host, added to validDomains")
    teams.add_argument("--website", metavar="URL", help="the school's website, linked from the app's details")
    teams.add_argument("--privacy-url", metavar="URL", help="the school's privacy notice (default: --website)")
    teams.add_argument("--terms-url", metavar="URL", help="terms of use (default: the privacy notice)")
    teams.add_argument("--app-version", metavar="X.Y.Z", help="raise it to upload a changed package (default 1.0.0)")
    teams.set_defaults(run=_lazy("bot.teams_manifest", "cmd_manifest_teams"))

    policies = commands.add_parser("policies", help="the policy documents").add_subparsers(dest="action",
                                                                                        required=True)
    listing = policies.add_parser("list", help="list the policies and their clause counts")
    listing.set_defaults(run=cmd_policies_list)
    add = policies.add_parser("add", help="add a school's own policy document")
    add.add_argument("file")
    add.set_defaults(run=cmd_policies_add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    args = build_parser().parse_args(argv)
    if getattr(args, "top", 3) < 0:
        print("--top must be 0 or more.", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except ValueError as problem:
        if type(problem).__name__ != "ConfigError":
            raise
        print(f"Configuration problem: {problem}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
