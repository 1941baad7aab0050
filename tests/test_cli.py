"""`python -m bot ask` keeps the contract in ../shared/eval/README.md: one JSON object per question line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={**os.environ, **(env or {})})


def test_ask_json_prints_one_object_in_the_contract_shape():
    out = run("ask", "Can I accept a parent's friend request?", "--json")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["question"] == "Can I accept a parent's friend request?"
    assert obj["confident"] is True
    assert obj["dialog"] == "friend_request"
    assert 1 <= len(obj["answers"]) <= 3
    for answer in obj["answers"]:
        assert set(answer) >= {"source", "clause", "title", "text", "score"}
        assert 0.0 <= answer["score"] <= 1.0


def test_batch_answers_every_line_in_order_and_nothing_else_on_stdout():
    questions = ["Where do I park my car?", "", "Can I tag colleagues in photos?", "😀", "x" * 50_000]
    out = run("ask", "--batch", "-", "--json", "--top", "2", stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(questions)
    objects = [json.loads(line) for line in lines]
    assert [o["question"] for o in objects] == questions
    assert objects[0]["confident"] is False
    assert objects[2]["confident"] is True
    assert all(len(o["answers"]) <= 2 for o in objects)


def test_plain_ask_reads_like_an_answer_with_its_citation():
    out = run("ask", "should I keep my personal account private?")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("From ")
    assert "clause" in out.stdout


def test_a_declined_question_says_who_to_ask():
    out = run("ask", "Where do I park my car?")
    assert out.returncode == 0
    assert "doesn't answer" in out.stdout or "isn't something" in out.stdout
    assert "Please ask your Headteacher or Designated Safeguarding Lead." in out.stdout


def test_a_question_for_someone_else_names_them_as_the_school_configured(tmp_path):
    config = (ROOT / "bot" / "config" / "school.toml").read_text(encoding="utf-8")
    path = tmp_path / "school.toml"
    path.write_text(config.replace('"the School Business Manager"', '"Mrs Patel, the bursar"'), encoding="utf-8")
    out = run("ask", "can I claim mileage for the trip to the museum", env={"BOT_CONFIG": str(path)})
    assert out.returncode == 0, out.stderr
    assert "Mrs Patel, the bursar" in out.stdout and "Headteacher" not in out.stdout


def test_ask_without_a_question_explains_itself():
    out = run("ask")
    assert out.returncode == 2
    assert "question" in out.stderr and "Traceback" not in out.stderr


def test_a_school_adds_its_own_policy_by_dropping_a_file(tmp_path: Path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "oakfield.md").write_text("# Oakfield Policy\n\n## 1 Pets\n\n1.1 Staff must not post photos of the "
                                        "school hamster online.\n", encoding="utf-8")
    out = run("--policies", str(folder), "ask", "can i put the hamster on instagram", "--json")
    obj = json.loads(out.stdout)
    assert obj["confident"] and obj["answers"][0]["source"] == "oakfield"
    assert obj["answers"][0]["clause"] == "1.1"
