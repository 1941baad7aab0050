"""Policy advice shown along the way in a dialog ("don't engage", "keep a screen grab"), with its clauses."""
from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from dialogs.replies import Quote, Reply, Text

Cite = Callable[[str, str], Quote | None]


@cache
def topics() -> dict[str, Any]:
    """Every advice topic as shipped: its text and the clauses (source, number) that say it."""
    with resources.files("dialogs").joinpath("data/advice.toml").open("rb") as f:
        return tomllib.load(f)


def advice(topic: str, policy: str, cite: Cite, adopted: Callable[[Quote], bool]) -> Sequence[Reply]:
    """The advice on a topic and one clause that says it: the school's adopted policy's, where it has one."""
    entry = topics().get(topic)
    if not entry:
        return ()
    quotes = [q for q in (cite(src, num) for src, num in entry.get("clauses", ())) if q is not None]
    quotes.sort(key=lambda q: not adopted(q))  # stable: the adopted policy's clause first, else the listed order
    return (Text(entry["text"], tone="advice"), *quotes[:1])
