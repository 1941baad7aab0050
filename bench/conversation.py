"""How long a turn through the conversation core takes, beside the bare search it wraps, in the same run.

    .venv/bin/python bench/conversation.py [--turns N]

Prints p50/p99 per turn for: a bare `KnowledgeBase.ask` (the baseline), a question through the core (search +
database round trip), the same question as a Slack message takes it (kept in the inbox before the ack, handled
once, its answer stored with it, taken out once posted), and a dialog step (load draft, engine, save draft), on a
SQLite file; plus a whole incident report from first message to submitted report. Ratios are against the
baseline; each row also gives the CPU time per turn, which moves less than wall time on a shared machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session  # noqa: E402

from bot.conversation import Conversation, Inbound  # noqa: E402
from bot.escalation import Person  # noqa: E402
from bot.school import load_config  # noqa: E402
from bot.store import inbox  # noqa: E402
from bot.store.db import open_database  # noqa: E402
from knowledge.search import KnowledgeBase  # noqa: E402

QUESTIONS = ["can i frend a parnt on fb", "Can I post photos of pupils on my own Instagram?",
             "what should a business case for a school account cover?", "where do I park my car?"]
REPORT = ["help", {"start": "incident_report"}, "no", "1", "me", "A parent posted abusive comments about me",
          "yesterday", "Facebook", "a parent", "4", "nothing yet"]


@dataclass
class Timings:
    wall: list[float]  # ms per turn
    cpu: float  # ms of this process's CPU per turn, on average: steadier than wall time on a shared machine


def timed(fn, n: int) -> Timings:
    out = []
    cpu = time.process_time()
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return Timings(out, (time.process_time() - cpu) * 1000 / n)


def line(name: str, timings: Timings, base: float) -> str:
    ms = timings.wall
    p50 = statistics.median(ms)
    p99 = sorted(ms)[int(len(ms) * 0.99) - 1]
    return (f"{name:34} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  x{p50 / base:5.1f} of baseline  "
            f"CPU {timings.cpu:5.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=400)
    args = parser.parse_args()
    kb = KnowledgeBase.load()
    with tempfile.TemporaryDirectory() as folder:
        core = Conversation(kb=kb, db=open_database(f"sqlite:///{folder}/bench.sqlite3"), config=load_config())
        baseline = timed(lambda i: kb.ask(QUESTIONS[i % len(QUESTIONS)]), args.turns)
        base = statistics.median(baseline.wall)
        print(line("search only (baseline)", baseline, base))
        ask = timed(lambda i: core.handle(Inbound(Person("terminal", "w", f"q{i}"), text=QUESTIONS[i % 4])),
                    args.turns)
        print(line("question through the core", ask, base))

        def slack_question(i: int) -> None:
            key = f"slack:Ev{i}"
            with Session(core.db) as session:  # what the HTTP handler does before the ack
                inbox.keep(session, key, "{}", core.clock())
                session.commit()
            core.respond(Inbound(Person("slack", "T1", f"s{i}"), "D1", text=QUESTIONS[i % 4], once=key, kept=True))
            with Session(core.db) as session:  # what slack_inbox.Answered does, for many at once, once posted
                inbox.done(session, [key])
                session.commit()
        print(line("the same, as Slack's messages go", timed(slack_question, args.turns), base))

        def step(i: int) -> None:
            who = Person("terminal", "w", f"d{i // 2}")
            core.handle(Inbound(who, value={"start": "friend_request"}) if i % 2 == 0 else Inbound(who, text="2"))
        print(line("dialog step (draft load/save)", timed(step, args.turns), base))

        def whole_report(i: int) -> None:
            who = Person("terminal", "w", f"r{i}")
            for turn in REPORT + ["1"]:
                core.handle(Inbound(who, value=turn) if isinstance(turn, dict) else Inbound(who, text=turn))
        runs = max(20, args.turns // 20)
        reports = timed(whole_report, runs)
        print(f"{'whole incident report (13 turns)':34} p50 {statistics.median(reports.wall):7.2f} ms over {runs} "
              "reports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
