"""Measure answer quality on a question set, exactly as ../shared/eval/score.py scores the batch command."""
from __future__ import annotations

import json
import re
from pathlib import Path

from knowledge.search import KnowledgeBase

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                         "\u00a0": " "})


def norm(s: str) -> str:
    """The scorer's comparison: lower case, straight quotes, no markup, folded spaces."""
    s = s.translate(_QUOTES).replace("*", "").replace("_", " ")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", s)).strip().lower()


def load_questions(path: Path) -> list[dict]:
    """A question set: one JSON object per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure(kb: KnowledgeBase, items: list[dict]) -> dict[str, float]:
    """Top-1 and top-3 hit rates, wrong declines, out-of-scope declines and dialog routing on a question set."""
    top1 = top3 = answerable = false_declines = oos = oos_declined = dialogs = dialogs_right = 0
    for item in items:
        result = kb.ask(item["q"], top=3)
        texts = [norm(a.clause.text) for a in result.answers]
        if item.get("any"):
            answerable += 1
            phrases = [norm(p) for p in item["any"]]
            ranks = [i for i, t in enumerate(texts) if any(p in t for p in phrases)]
            top1 += bool(ranks) and ranks[0] == 0
            top3 += bool(ranks) and ranks[0] < 3
            false_declines += not result.confident
        if item.get("oos"):
            oos += 1
            oos_declined += not result.confident
        if item.get("dialog"):
            dialogs += 1
            dialogs_right += result.dialog == item["dialog"]
    return {"top1": top1 / max(answerable, 1), "top3": top3 / max(answerable, 1), "false_declines": false_declines,
            "oos_declined": oos_declined / max(oos, 1), "oos": oos, "dialogs": dialogs_right / max(dialogs, 1)}
