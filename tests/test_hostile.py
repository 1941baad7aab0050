"""Hostile input: the corpus in tests/hostile_corpus.py (huge texts, control, zero-width and right-to-left
characters, lone surrogates and bytes that are not UTF-8, mrkdwn and card markup, SQL-looking text, wrong types in
every field Slack and Teams send, malformed and truncated JSON, wrong content types, forged and replayed Slack
signatures, missing, expired and wrongly signed Teams tokens) over real HTTP to both endpoints, through the terminal
channel, `python -m bot ask` and `python -m bot chat`.

Each case must get an answer below 500, in time, with nothing logged as an error and no traceback; afterwards
nothing is half-written, nothing stored carries control characters, and nothing the bot sent carries live markup
from what someone typed. `python bench/hostile.py` runs the same corpus and prints the figures.
"""
from __future__ import annotations

import csv
import asyncio
import io
import json
import time
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from bot import cli
from bot.channels import teams as teams_channel
from bot.channels.terminal import TerminalChannel
from bot.conversation import Inbound
from bot.escalation import Person
from bot.store.models import Report
from tests.hostile import (HostileWorld, Outcome, batch_input, cli_problems, inject_via_slack, inject_via_teams,
                           inject_via_terminal, run_cli, secured_database, slack_leaks, slack_texts, store_problems,
                           tags_in, teams_leaks, teams_texts, terminal_leaks)
from tests.hostile_corpus import INJECTIONS, TEXTS, corpus, families, slack_cases, teams_cases, text_cases
from tests.talk import Staff
from tests.test_incident_report import report


@dataclass
class NamedStaff(Staff):
    """A member of staff whose display name is whatever the test says."""

    display: str = ""

    @property
    def person(self) -> Person:
        return Person(self.platform, "local", self.user, self.display)


@pytest.fixture
async def hostile(core, db, tmp_path):
    """Both endpoints (and a Teams endpoint that demands tokens) on loopback, with the fakes they talk to."""
    async with HostileWorld(core, secured_database(tmp_path)) as world:
        yield world


def failures(outcomes: list[Outcome]) -> list[str]:
    return [f"{o.where}:{o.case.id} -> {o.status}: {'; '.join(o.problems)}" for o in outcomes if o.problems]


def no_damage(world: HostileWorld) -> None:
    assert store_problems(world.core.db, world.core.config) == []
    assert slack_leaks(world.fake_slack) == []
    assert teams_leaks(world.fake_teams) == []


def test_the_corpus_has_every_family_and_over_200_cases():
    cases = corpus()
    assert len(cases) >= 200 and len({c.id for c in cases}) == len(cases)
    counts = families(cases)
    for wanted in ["text/huge", "text/control", "text/zero_width", "text/rtl", "text/surrogates", "text/emoji",
                   "text/mrkdwn", "text/card_markdown", "text/sql", "slack/wrong_type", "slack/missing_field",
                   "slack/malformed_json", "slack/content_type", "slack/empty", "slack/invalid_utf8",
                   "slack/signature", "slack/replay", "teams/wrong_type", "teams/missing_field",
                   "teams/malformed_json", "teams/content_type", "teams/empty", "teams/invalid_utf8", "teams/token"]:
        assert counts[wanted] > 0, wanted
    assert max(len(t) for _, t in TEXTS["huge"]) >= 50_000


async def test_every_text_case_through_slack_teams_and_the_terminal(hostile):
    terminal = TerminalChannel(hostile.core, user="hostile")
    outcomes = []
    for case in text_cases():
        outcomes += [await hostile.text_on_slack(case), await hostile.text_on_teams(case),
                     await hostile.text_on_terminal(case, terminal)]
    await hostile.deliver()
    assert failures(outcomes) == []
    no_damage(hostile)


async def test_every_slack_request_case_gets_a_clean_answer(hostile):
    outcomes = [await hostile.slack_case(case) for case in slack_cases()]
    assert failures(outcomes) == []
    by_family = {}
    for o in outcomes:
        by_family.setdefault(o.case.family, set()).add(o.status)
    assert by_family["signature"] == {401} and by_family["valid"] == {200}
    no_damage(hostile)


async def test_every_teams_request_case_gets_a_clean_answer(hostile):
    outcomes = [await hostile.teams_case(case) for case in teams_cases()]
    assert failures(outcomes) == []
    tokens = {o.case.name: o.status for o in outcomes if o.case.family == "token"}
    assert tokens.pop("valid_control") == 200, "a token signed by the published key is accepted"
    assert tokens.pop("huge_token") in (400, 431) and set(tokens.values()) == {401}
    assert "/keys" in hostile.openid.requests, "the keys came from the local OpenID fake"
    no_damage(hostile)


async def test_markup_in_every_answer_and_name_reaches_no_one_live(hostile):
    """A whole report through each channel with markup in every free-text answer, in the reporter's and an
    assignee's display name, in the lead's note and reason, and in a question passed to the Headteacher."""
    await inject_via_slack(hostile)
    await inject_via_teams(hostile)
    _, printed = inject_via_terminal(hostile.core)
    wanted = tags_in(text for _, text in INJECTIONS)
    assert wanted <= tags_in(slack_texts(hostile.fake_slack)), "every payload was shown back on Slack"
    assert wanted <= tags_in(teams_texts(hostile.fake_teams)), "every payload was shown back on Teams"
    assert wanted <= tags_in(printed)
    assert [leak for text in printed for leak in terminal_leaks(text)] == []
    assert hostile.log.crashes() == []
    no_damage(hostile)


def test_ask_answers_every_text_case_one_line_each():
    texts = [text for _, text in text_cases_texts()]
    data, lines = batch_input(texts)
    result = run_cli("ask", "--batch", "-", "--json", stdin=data)
    assert cli_problems(result) == []
    answers = result.stdout.decode().splitlines()
    assert len(answers) == lines and all("question" in json.loads(a) for a in answers)
    for text in (TEXTS["huge"][0][1], TEXTS["rtl"][1][1], TEXTS["mrkdwn"][0][1], TEXTS["sql"][0][1]):
        assert cli_problems(run_cli("ask", text)) == []


def text_cases_texts() -> list[tuple[str, str]]:
    return [(c.id, c.text) for c in text_cases()]


def test_chat_survives_hostile_lines_and_prints_no_control_characters(tmp_path):
    lines = [text.replace("\n", " ").replace("\r", " ") for _, text in text_cases_texts()
             if "\x00" not in text and len(text) < 5000]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass") + b"\xff\xfe\xc0\xaf\nexit\n"
    result = run_cli("chat", "--as", "hostile", stdin=data, env={"BOT_DATA_DIR": str(tmp_path)})
    assert cli_problems(result) == []
    assert terminal_leaks(result.stdout.decode("utf-8", "replace")) == []


def test_the_lead_commands_print_no_control_characters_and_export_no_formulas(core, db_url, tmp_path, monkeypatch,
                                                                               capsys):
    inject_via_terminal(core)
    reference = report(NamedStaff(core, user="formula", display='=HYPERLINK("http://evil.example","x")'),
                       "A worrying post or message by or about a pupil")
    core.handle(Inbound(Person("terminal", "local", "dsl", "Ms Patel"), "alerts",
                        value={"lead": "note", "reference": reference, "detail": "@SUM(1+1)*cmd|' /C calc'!A0"}))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    with Session(core.db) as session:
        references = [r.reference for r in session.exec(select(Report))]
    for ref in references:
        assert cli.main(["reports", "--as", "dsl", "show", ref]) == 0
    assert cli.main(["reports", "--as", "dsl", "list"]) == 0
    shown = capsys.readouterr().out
    assert references[0] in shown and terminal_leaks(shown) == []
    assert cli.main(["reports", "--as", "dsl", "export"]) == 0
    exported = capsys.readouterr().out
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


async def test_a_slow_key_server_holds_up_only_the_teams_request_waiting_for_it(core, db, tmp_path, monkeypatch):
    """botbuilder fetches the signing keys with blocking calls: they must not stall the rest of the server."""
    async with HostileWorld(core, secured_database(tmp_path), key_delay=2.0) as world:
        case = next(c for c in teams_cases() if c.name == "wrong_key_known_kid")
        started = time.perf_counter()
        waiting = asyncio.create_task(world.teams_case(case))
        await asyncio.sleep(0.3)  # the keys are being fetched
        async with world.http.get(f"{world.url}/healthz") as health:
            assert health.status == 200
        assert time.perf_counter() - started < 1.0, "the event loop was held up by the key fetch"
        outcome = await waiting
        assert outcome.status == 401 and outcome.problems == [] and outcome.seconds >= 1.5

    # Keys that take longer than the bot waits: a 503 (the Bot Framework tries again later), in bounded time.
    monkeypatch.setattr(teams_channel, "AUTH_TIMEOUT", 0.5)
    async with HostileWorld(core, secured_database(tmp_path), key_delay=3.0) as world:
        outcome = await world.teams_case(next(c for c in teams_cases() if c.name == "valid_control"))
        assert outcome.status == 503 and outcome.seconds < 2.0
