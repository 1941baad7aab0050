"""`python -m bot chat` and `python -m bot reports`, as a new user runs them: real processes, a fresh data folder."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bot(tmp_path):
    """Run `python -m bot ...` with its own empty data folder (the embedded defaults otherwise)."""
    env = {**os.environ, "BOT_DATA_DIR": str(tmp_path / "data")}
    for name in ("DATABASE_URL", "BOT_CONFIG", "BOT_POLICIES"):
        env.pop(name, None)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=120)
    return run


FRIEND_REQUEST = ["help", "2", "A parent or carer of a pupil", "no", "1", "no", "exit"]
INCIDENT = ["I want to report cyberbullying", "report it", "no", "1", "me",
            "A parent posted that I am a useless teacher who should be sacked", "yesterday at 8pm",
            "Facebook, Town Mums group", "a parent of a Year 5 pupil", "1", "skip", "Told my line manager", "1", "exit"]


def test_a_new_user_checks_a_friend_request_in_the_terminal(bot):
    out = bot("chat", stdin="\n".join(FRIEND_REQUEST) + "\n")
    assert out.returncode == 0, out.stderr
    assert "Who sent the request?" in out.stdout
    assert "You can, but take care." in out.stdout
    assert "Model School Social Media Policy" in out.stdout  # the adopted policy's clauses are quoted


def test_a_new_user_reports_an_incident_and_the_lead_acts_on_it_from_the_terminal(bot):
    out = bot("chat", stdin="\n".join(INCIDENT) + "\n")
    assert out.returncode == 0, out.stderr
    assert "Submitted: INC-" in out.stdout
    reference = out.stdout.split("Submitted: ")[1].split()[0]

    listed = bot("reports", "--as", "head", "list")
    assert reference in listed.stdout
    assert reference not in bot("reports", "--as", "dsl", "list").stdout  # the DSL doesn't get staff matters
    assert bot("reports", "--as", "dsl", "show", reference).returncode == 1
    assert bot("reports", "--as", "head", "ack", reference).returncode == 0
    assert bot("reports", "--as", "head", "close", reference, "--reason", "Spoke to the parent").returncode == 0
    shown = bot("reports", "--as", "head", "show", reference).stdout
    assert "useless teacher" in shown and "acknowledged by head" in shown and "Spoke to the parent" in shown
    assert "refused by dsl" in shown

    exported = bot("reports", "--as", "head", "export").stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["reference"], r["status"]) for r in rows] == [(reference, "closed")]

    later = bot("chat", stdin="exit\n").stdout  # the reporter comes back: they are told what happened
    assert f"{reference} has been acknowledged" in later and f"{reference} has been closed" in later


def test_reports_needs_a_designated_lead(bot):
    out = bot("reports", "--as", "someone", "list")
    assert out.returncode == 2 and "not a designated lead" in out.stderr


def test_a_broken_configuration_file_is_reported_with_where_it_is(bot, tmp_path):
    bad = tmp_path / "school.toml"
    bad.write_text('[routing]\npupil_concern = "nobody"\n[leads.dsl]\ntitle = "DSL"\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "chat"], input="exit\n", capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "BOT_CONFIG": str(bad), "BOT_DATA_DIR": str(tmp_path)},
                         timeout=60)
    assert out.returncode == 2
    assert "routing.pupil_concern names lead 'nobody'" in out.stderr


def test_csv_export_neutralises_spreadsheet_formulas():
    from bot.lead_commands import _csv_safe

    assert _csv_safe("=HYPERLINK(\"http://x\")").startswith("'=")
    assert _csv_safe("plain words") == "plain words"
