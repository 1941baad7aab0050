"""Retention: `python -m bot reports purge` deletes reports past the school's rule, with their history and messages,
and expired drafts and old event ids, in one transaction; a dry run (the default) deletes nothing. SQLite and, when
TEST_DATABASE_URL is set, PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot import escalation
from bot.escalation import Person
from bot.school import ConfigError, Retention, load_config
from bot.store import outbox, retention
from bot.store.models import Draft, OutboxMessage, Report, ReportEvent, SeenEvent
from bot.store.seen import first_time
from tests.talk import Staff
from tests.test_incident_report import WHAT, report

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PUPIL = "A worrying post or message by or about a pupil"
STAFF_ABUSE = "Cyberbullying or abuse of a staff member"
COLLEAGUE = "A colleague's conduct online"
HEAD = Person("terminal", "local", "head", "Head")


def at(clock, year: int, month: int = 1, day: int = 10) -> None:
    clock.now = datetime(year, month, day, 10, 0, tzinfo=UTC)


def file(core, clock, when: tuple[int, ...], category: str, user: str) -> str:
    at(clock, *when)
    return report(Staff(core, user=user), category)


@pytest.fixture
def history(core, clock):
    """Reports of each retention class, filed over the years, and some later activity on them."""
    refs = {
        "pupil_2000": file(core, clock, (2000, 3), PUPIL, "a"),          # 26 years: past 25
        "pupil_2003": file(core, clock, (2003, 3), PUPIL, "b"),          # 23 years: kept
        "abuse_2019": file(core, clock, (2019, 6), STAFF_ABUSE, "c"),    # 7 years: past 6
        "abuse_2022": file(core, clock, (2022, 6), STAFF_ABUSE, "d"),    # 4 years: kept
        "colleague_2015": file(core, clock, (2015, 6), COLLEAGUE, "e"),  # 11 years: past 10
        "colleague_2019": file(core, clock, (2019, 6), COLLEAGUE, "f"),  # 7 years: kept
        "noted_2012": file(core, clock, (2012, 6), STAFF_ABUSE, "g"),    # old, but a note in 2024 keeps it
        "viewed_2012": file(core, clock, (2012, 6), STAFF_ABUSE, "h"),   # old; being read in 2025 does not
    }
    with Session(core.db) as session:
        at(clock, 2013, 2)
        escalation.act(session, core.config, refs["noted_2012"], HEAD, "acknowledge", clock())
        escalation.act(session, core.config, refs["viewed_2012"], HEAD, "close", clock(), detail="Dealt with")
        at(clock, 2024, 2)
        escalation.act(session, core.config, refs["noted_2012"], HEAD, "note", clock(), detail="Parent called again")
        at(clock, 2025, 2)
        escalation.act(session, core.config, refs["viewed_2012"], HEAD, "view", clock())
        escalation.act(session, core.config, refs["viewed_2012"], Person("terminal", "local", "slt"), "view",
                       clock())  # refused, and recorded: not activity either
        # A question passed to the Headteacher long ago (sent), and one recently.
        for key, year in (("question:old", 2018), ("question:new", 2025)):
            at(clock, year, 5)
            outbox.enqueue(session, key=key, platform="slack", target="UHEAD", target_kind="user",
                           message={"type": "question", "text": "a question"}, now=clock())
            session.flush()
            message = session.execute(select(OutboxMessage).where(OutboxMessage.key == key)).scalar_one()
            outbox.mark_sent(session, message_id=message.id, external_ref="D1:1", now=clock())
        session.commit()
    at(clock, 2026, 11, 10)  # a dialog left unfinished ten days ago (expired), and one from this morning
    Staff(core, user="wanderer").answers("I want to report cyberbullying", "Report it")
    clock.now = NOW - timedelta(hours=1)
    Staff(core, user="busy").answers("I want to report cyberbullying", "Report it")
    first_time(core.db, "slack:EvOLD", NOW - timedelta(days=30))
    first_time(core.db, "slack:EvNEW", NOW - timedelta(hours=2))
    clock.now = NOW
    return refs


GONE = {"pupil_2000", "abuse_2019", "colleague_2015", "viewed_2012"}


def counts(db) -> dict[str, int]:
    with Session(db) as session:
        return {table.__name__: session.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (Report, ReportEvent, OutboxMessage, Draft, SeenEvent)}


def rule(core):
    return {"years_for": core.config.retention.years_for,
            "general_years": core.config.retention.keep_reports_years, "now": NOW}


def test_the_default_rule_follows_common_school_retention_periods():
    kept = load_config().retention
    assert kept.years_for("pupil_concern") == 25  # a child protection record: until the pupil is 25
    assert kept.years_for("colleague_conduct") == kept.years_for("headteacher_allegation") == 10
    assert kept.years_for("staff_abuse") == kept.years_for("media") == kept.years_for("account_request") == 6


def test_a_dry_run_lists_what_is_past_the_rule_and_deletes_nothing(core, history):
    before = counts(core.db)
    with Session(core.db) as session:
        found = retention.plan(session, **rule(core))
    assert {r.reference for r in found.reports} == {history[k] for k in GONE}
    assert found.drafts == 1 and found.seen_events == 1 and found.questions == 1
    assert found.events > len(GONE) and found.messages >= len(GONE)  # each has its submission and its alert
    assert counts(core.db) == before


def test_purge_deletes_old_reports_with_their_events_and_messages_and_keeps_the_rest(core, history):
    before = counts(core.db)
    with Session(core.db) as session:
        planned = retention.plan(session, **rule(core))
        done = retention.purge(session, **rule(core))
        session.commit()
    assert {r.reference for r in done.reports} == {history[k] for k in GONE}
    assert (done.events, done.messages, done.questions, done.drafts, done.seen_events) == \
        (planned.events, planned.messages, planned.questions, planned.drafts, planned.seen_events)
    after = counts(core.db)
    assert after["Report"] == before["Report"] - len(GONE)
    assert after["ReportEvent"] == before["ReportEvent"] - done.events
    assert after["OutboxMessage"] == before["OutboxMessage"] - done.messages - done.questions
    assert (after["Draft"], after["SeenEvent"]) == (before["Draft"] - 1, before["SeenEvent"] - 1)
    with Session(core.db) as session:
        left = set(session.execute(select(Report.reference)).scalars())
        assert left == {ref for key, ref in history.items() if key not in GONE}
        orphans = session.execute(select(func.count()).select_from(ReportEvent).where(
            ReportEvent.report_id.not_in(select(Report.id)))).scalar_one()
        assert orphans == 0
        assert session.execute(select(Draft.user_id)).scalars().all() == ["busy"]
        assert session.execute(select(SeenEvent.key)).scalars().all() == ["slack:EvNEW"]
        assert session.execute(select(OutboxMessage.key).where(OutboxMessage.report_id.is_(None))).scalars().all() \
            == ["question:new"]
        # What is left is as append-only as before: the purge did not loosen anything.
        with pytest.raises(DBAPIError):
            session.execute(text("UPDATE report SET urgency = 'low'"))
        session.rollback()
    with Session(core.db) as session:  # and a second purge finds nothing more
        assert retention.plan(session, **rule(core)).reports == []


def test_the_schools_own_periods_apply(core, history):
    longer = core.config.model_copy(update={"retention": Retention(keep_reports_years=8,
                                                                   keep_pupil_concerns_years=30)})
    with Session(core.db) as session:
        found = retention.plan(session, years_for=longer.retention.years_for, general_years=8, now=NOW)
    assert {r.reference for r in found.reports} == {history["colleague_2015"], history["viewed_2012"]}


def test_a_purge_that_fails_part_way_deletes_nothing(core, history, monkeypatch):
    before = counts(core.db)

    def broken(session, ids):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(retention, "delete_reports", broken)
    with Session(core.db) as session, pytest.raises(RuntimeError):
        retention.purge(session, **rule(core))  # events and messages already deleted in this transaction
    assert counts(core.db) == before


def test_the_retention_periods_are_checked_when_the_configuration_is_read(tmp_path):
    path = tmp_path / "school.toml"
    config = (ROOT / "bot" / "config" / "school.toml").read_text(encoding="utf-8")
    path.write_text(config.replace("keep_pupil_concerns_years = 25", "keep_pupil_concerns_years = 0"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="retention.keep_pupil_concerns_years"):
        load_config(path)
    path.write_text(config.replace("[retention]", "[retention]\nkeep_forever = true"), encoding="utf-8")
    with pytest.raises(ConfigError, match="retention.keep_forever"):
        load_config(path)


def purge_cli(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "BOT_DATA_DIR": str(tmp_path)}
    env.pop("BOT_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "bot", "reports", "purge", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_the_command_deletes_only_with_yes_and_says_what_without_the_content(core, clock, db_url, tmp_path):
    old = file(core, clock, (1990, 4), PUPIL, "x")  # decades before any clock this test runs under
    recent = file(core, clock, (datetime.now(UTC).year, 1), PUPIL, "y")
    before = counts(core.db)
    for dry in ((), ("--dry-run",)):
        out = purge_cli(db_url, tmp_path, *dry)
        assert out.returncode == 0, out.stderr
        assert f"Would delete 1 report(s):\n  {old}" in out.stdout and recent not in out.stdout
        assert "Nothing was deleted" in out.stdout
        assert counts(core.db) == before
    out = purge_cli(db_url, tmp_path, "--yes")
    assert out.returncode == 0, out.stderr
    assert f"Deleted 1 report(s):\n  {old}" in out.stdout
    assert "reports purge: deleted 1 report(s) (pupil_concern 1)" in out.stderr  # the record that it happened
    assert WHAT not in out.stdout + out.stderr and "Year 5" not in out.stdout + out.stderr
    with Session(core.db) as session:
        assert session.execute(select(Report.reference)).scalars().all() == [recent]
    assert purge_cli(db_url, tmp_path, "--yes", "--dry-run").returncode == 2  # one or the other
