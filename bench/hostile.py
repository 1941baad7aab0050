"""The whole hostile-input corpus against the bot, with figures.

    .venv/bin/python bench/hostile.py                      # the corpus, on a temporary SQLite file: about 30 s
    .venv/bin/python bench/hostile.py --all-values         # every wrong value at every field (about 3,500 cases)
    .venv/bin/python bench/hostile.py --database-url postgresql://postgres@127.0.0.1:5432/test

The corpus is tests/hostile_corpus.py; the harness (servers, fakes, checks) is tests/hostile.py, the same one
tests/test_hostile.py runs in the suite. Everything runs on loopback in this process: one server with Slack and
Teams on (Teams without an app id, as the Bot Framework Emulator talks to it), a second whose Teams endpoint
demands a Bot Framework token checked against a local OpenID fake, the fake Slack Web API and the fake Bot
Connector. Each text case goes to Slack (a signed DM), Teams (a personal-chat message) and the terminal channel;
each request case is one HTTP request; then whole reports with markup in every answer and name go through
Slack, Teams and the terminal; finally `python -m bot ask --batch` reads every text case and `python -m bot chat`
is fed them.

Printed: cases per family, the status codes each channel answered, latency per channel (p50, p99, max, the
slowest cases), and every failure: a 5xx, no answer within 15 s, work that never finished, an error or a
traceback in the log, a status other than the case expects, live markup in anything sent, control characters
printed to a terminal, or a half-written record. A PostgreSQL URL gets a schema of its own, dropped at the end.
Exit status 1 when anything failed.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlmodel import create_engine  # noqa: E402

from bot.channels.terminal import TerminalChannel  # noqa: E402
from bot.conversation import Conversation  # noqa: E402
from bot.school import load_config  # noqa: E402
from bot.store.db import database_url, open_database  # noqa: E402
from knowledge.search import KnowledgeBase  # noqa: E402
from tests.hostile import (HostileWorld, Outcome, batch_input, cli_problems, inject_via_slack,  # noqa: E402
                           inject_via_teams, inject_via_terminal, run_cli, secured_database, slack_leaks,
                           slack_texts, store_problems, tags_in, teams_leaks, teams_texts, terminal_leaks)
from tests.hostile_corpus import INJECTIONS, corpus, families  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


async def run(core: Conversation, tmp: Path, everything: bool) -> tuple[list[Outcome], list[str], dict]:
    cases = corpus(everything)
    outcomes: list[Outcome] = []
    problems: list[str] = []
    extra: dict = {}
    async with HostileWorld(core, secured_database(tmp)) as world:
        terminal = TerminalChannel(world.core, user="hostile")
        for case in cases:
            if case.channel == "text":
                outcomes += [await world.text_on_slack(case), await world.text_on_teams(case),
                             await world.text_on_terminal(case, terminal)]
            elif case.channel == "slack":
                outcomes.append(await world.slack_case(case))
            else:
                outcomes.append(await world.teams_case(case))
        await world.deliver()
        started = time.perf_counter()
        world.log.current = "flows"
        await inject_via_slack(world)
        await inject_via_teams(world)
        _, printed = inject_via_terminal(world.core)
        extra["whole reports with markup (3 channels)"] = time.perf_counter() - started
        wanted = tags_in(t for _, t in INJECTIONS)
        for where, seen in (("slack", tags_in(slack_texts(world.fake_slack))),
                            ("teams", tags_in(teams_texts(world.fake_teams))), ("terminal", tags_in(printed))):
            if missing := wanted - seen:
                problems.append(f"{where}: payloads never shown back, so not checked: {sorted(missing)}")
        problems += [f"terminal: {leak}" for text_ in printed for leak in terminal_leaks(text_)]
        problems += [f"slack: live markup: {leak}" for leak in slack_leaks(world.fake_slack)]
        problems += [f"teams: live markup: {leak}" for leak in teams_leaks(world.fake_teams)]
        problems += [f"store: {p}" for p in store_problems(world.core.db, world.core.config)]
        problems += [f"log: {c}" for c in world.log.crashes("flows")]
        extra["keys fetched from the OpenID fake"] = ", ".join(sorted(set(world.openid.requests)))
        extra["slack calls recorded"] = len(world.fake_slack.calls)
        extra["teams connector calls recorded"] = len(world.fake_teams.calls)
    texts = [c.text for c in cases if c.channel == "text"]
    data, lines = batch_input(texts)
    started = time.perf_counter()
    result = run_cli("ask", "--batch", "-", "--json", stdin=data)
    extra["ask --batch - --json"] = f"{lines} lines in, {len(result.stdout.splitlines())} out, " \
                                    f"{time.perf_counter() - started:.2f} s"
    problems += [f"ask: {p}" for p in cli_problems(result)]
    if len(result.stdout.decode().splitlines()) != lines:
        problems.append("ask: not one answer per line")
    started = time.perf_counter()
    chat_lines = [t.replace("\n", " ").replace("\r", " ") for t in texts if "\x00" not in t and len(t) < 5000]
    result = run_cli("chat", "--as", "hostile", env={"BOT_DATA_DIR": str(tmp / "chat")},
                     stdin=("\n".join(chat_lines) + "\n").encode("utf-8", "surrogatepass") + b"\xff\xfe\nexit\n")
    extra["chat (stdin)"] = f"{len(chat_lines) + 1} lines, {time.perf_counter() - started:.2f} s"
    problems += [f"chat: {p}" for p in cli_problems(result) + terminal_leaks(result.stdout.decode("utf-8", "replace"))]
    return outcomes, problems, extra


def report(cases_run: list[Outcome], problems: list[str], extra: dict, everything: bool, seconds: float,
           where: str) -> int:
    cases = corpus(everything)
    tried = "every wrong value at every field" if everything else "four wrong values per field"
    print(f"hostile-input corpus: {len(cases)} cases ({tried}), {len(cases_run)} runs (text cases run on Slack, "
          f"Teams and the terminal), database: {where}\n")
    print("cases per family")
    for family, n in sorted(families(cases).items()):
        print(f"  {family:28} {n:5}")
    print("\nstatus codes seen")
    by_channel: dict[str, Counter] = defaultdict(Counter)
    for o in cases_run:
        by_channel[o.where][o.status if o.status is not None else "none"] += 1
    for channel, counts in sorted(by_channel.items()):
        print(f"  {channel:9} " + ", ".join(f"{code}: {n}" for code, n in sorted(counts.items(), key=str)))
    print("\nlatency per case (request sent to all work it started finished), ms")
    print(f"  {'':9} {'runs':>6} {'p50':>8} {'p99':>8} {'max':>8}")
    for channel in sorted(by_channel):
        ms = [o.seconds * 1000 for o in cases_run if o.where == channel]
        print(f"  {channel:9} {len(ms):6} {statistics.median(ms):8.1f} {percentile(ms, 99):8.1f} {max(ms):8.1f}")
    print("  slowest: " + "; ".join(f"{o.where}:{o.case.id} {o.seconds * 1000:.0f} ms"
                                    for o in sorted(cases_run, key=lambda o: -o.seconds)[:5]))
    print("\nalso")
    for name, value in extra.items():
        print(f"  {name}: {round(value, 2) if isinstance(value, float) else value}")
    failed = [f"{o.where}:{o.case.id} -> {o.status}: {'; '.join(o.problems)}" for o in cases_run if o.problems]
    failed += problems
    print(f"\nfailures: {len(failed)}" + ("" if failed else " (no 5xx, no hang, no traceback, no live markup, "
                                                          "nothing half-written)"))
    for line in failed[:60]:
        print(f"  {line[:300]}")
    print(f"\ntotal {seconds:.1f} s")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-values", action="store_true", help="try every wrong value at every field")
    parser.add_argument("--database-url", help="run on this database (PostgreSQL gets a schema of its own)")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)  # the harness records warnings and errors, and prints none
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url, schema, admin = f"sqlite:///{tmp / 'bot.sqlite3'}", "", None
        if args.database_url:
            base = database_url(args.database_url, tmp)
            if base.startswith("postgresql"):
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                admin = create_engine(base)
                with admin.begin() as connection:
                    connection.execute(text(f"CREATE SCHEMA {schema}"))
                url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
            else:
                url = base
        engine = open_database(url)
        try:
            core = Conversation(kb=KnowledgeBase.load(), db=engine, config=load_config())
            outcomes, problems, extra = asyncio.run(run(core, tmp, args.all_values))
        finally:
            engine.dispose()
            if admin is not None:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
        where = "PostgreSQL" if schema else "SQLite"
        return report(outcomes, problems, extra, args.all_values, time.perf_counter() - started, where)


if __name__ == "__main__":
    sys.exit(main())
