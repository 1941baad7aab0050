"""Policy documents on disk: find them, name them, split them, and merge wording shared between them.

Adding a school's own policy is dropping a `.txt` or `.md` file into a policies folder. A `catalog.toml`
beside the files may give each a display name; otherwise the document's own title or its file name is used.
"""
from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.analysis import words
from knowledge.clause import Clause
from knowledge.splitter import document_title, split_document

BUNDLED_POLICIES = Path(__file__).with_name("policies")
POLICY_SUFFIXES = (".txt", ".md", ".markdown")
CATALOG = "catalog.toml"
DUPLICATE_RATIO = 90.0  # rapidfuzz ratio at which two clauses count as the same wording
_BLOCK_WORDS = 4
_MATRIX_FROM = 16  # block size from which one matrix call beats the pair loop


@dataclass(frozen=True, slots=True)
class Policy:
    """One policy document: its id (file stem), display name and file."""

    id: str
    name: str
    path: Path


def find_policies(folders: Iterable[Path]) -> list[Policy]:
    """Every policy document in the folders, in a stable order; a later folder's file overrides an earlier one."""
    found: dict[str, Policy] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        catalog = _read_catalog(folder / CATALOG)
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in POLICY_SUFFIXES and path.is_file() and not path.name.startswith("."):
                found[path.stem] = Policy(path.stem, catalog.get(path.stem, ""), path)
    return sorted(found.values(), key=lambda p: p.id)


def _read_catalog(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {key: str(value.get("name", "")) for key, value in data.items() if isinstance(value, dict)}


def read_policy(policy: Policy) -> tuple[Policy, list[Clause]]:
    """Split one policy into clauses, and settle its display name."""
    text = policy.path.read_text(encoding="utf-8", errors="replace")
    name = policy.name or document_title(text) or policy.id.replace("-", " ").replace("_", " ").title()
    return replace(policy, name=name), split_document(policy.id, text)


def _joined(lead_in: str, text: str) -> str:
    return f"{lead_in} {text}" if lead_in and text else lead_in or text


def _similar_pairs(members: list[int], strings: list[str]) -> Iterable[tuple[int, int]]:
    """The pairs in a block whose strings are near the same. A big block (many bullets under one lead-in) is
    compared in one rapidfuzz call in C rather than pair by pair in Python."""
    if len(members) < _MATRIX_FROM:
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1:]:
                if fuzz.ratio(strings[a], strings[b], score_cutoff=DUPLICATE_RATIO):
                    yield a, b
        return
    block = [strings[i] for i in members]
    scores = process.cdist(block, block, scorer=fuzz.ratio, score_cutoff=DUPLICATE_RATIO, dtype=np.uint8,
                           workers=-1)
    for a_pos, b_pos in zip(*np.nonzero(np.triu(scores, k=1))):
        yield members[a_pos], members[b_pos]


def merge_duplicates(clauses: Sequence[Clause], split: Callable[[str], list[str]] = words) -> list[Clause]:
    """Keep one clause for wording that several policies share, naming every policy it appears in.

    Clauses are compared only within blocks that share their first or their last few words, so the cost grows
    with the number of clauses, not its square.
    """
    lead_ins = {context: " ".join(split(context)) for context in {c.context for c in clauses}}  # shared: once each
    texts = [" ".join(split(c.text)) for c in clauses]
    keys = [_joined(lead_ins[c.context], text) for c, text in zip(clauses, texts)]
    parent = list(range(len(clauses)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        ws = key.split()
        blocks[("head", " ".join(ws[:_BLOCK_WORDS]))].append(i)
        blocks[("tail", " ".join(ws[-_BLOCK_WORDS:]))].append(i)
    for members in blocks.values():
        # The clause's own words must match, and with its lead-in too: bullets under one long lead-in ("Key words
        # to consider are: - Engaging - Friendly") are different clauses. The texts are compared first: they are
        # shorter than the keys, and fewer pairs pass.
        for a, b in _similar_pairs(members, texts):
            if clauses[a].source == clauses[b].source or root(a) == root(b):
                continue
            if fuzz.ratio(keys[a], keys[b], score_cutoff=DUPLICATE_RATIO):
                parent[root(b)] = root(a)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(clauses)):
        groups[root(i)].append(i)
    merged: list[Clause] = []
    for i, clause in enumerate(clauses):
        members = groups.get(i)
        if members is None:
            continue  # not the first of its group: already represented
        others = tuple(dict.fromkeys(clauses[j].source for j in members if clauses[j].source != clause.source))
        merged.append(replace(clause, also_in=others) if others else clause)
    return merged
