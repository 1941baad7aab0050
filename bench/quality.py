"""Answer quality of each search candidate, measured against the others in one run.

    .venv/bin/python bench/quality.py

Starts from off-the-shelf BM25 over Snowball stems and adds, one at a time, what the knowledge base does: the staff
vocabulary (concepts), typo correction, the clause priors (short clauses, glossary and form entries), question
types, the preference for clauses stating rules when a question asks whether something is allowed, the preference
for clauses saying what a thing is when a question asks what it is (and for the staff rule over the parents' one,
and for a clause saying a thing is not done when the question does), and variety among the three answers shown. Each
row is scored on the shared dev set and on our own two sets (held-out, blind), as ../shared/eval/score.py scores
them (top-1 / top-3 of answerable questions, answerable wrongly declined, out-of-scope declined, dialogs routed).
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import knowledge.index as index_module  # noqa: E402
import knowledge.search as search_module  # noqa: E402
from knowledge.analysis import Vocabulary  # noqa: E402
from knowledge.evaluation import load_questions, measure  # noqa: E402
from knowledge.library import BUNDLED_POLICIES, find_policies, read_policy  # noqa: E402
from knowledge.search import KnowledgeBase  # noqa: E402

SETS = {"dev": ROOT.parent / "shared" / "eval" / "dev_questions.jsonl",
        "held-out": ROOT / "tests" / "data" / "heldout_questions.jsonl",
        "blind": ROOT / "tests" / "data" / "blind_questions.jsonl"}


@contextlib.contextmanager
def patched(obj, **values):
    """Temporarily set attributes (module constants or methods) for one candidate."""
    old = {k: getattr(obj, k) for k in values}
    for k, v in values.items():
        setattr(obj, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(obj, k, v)


def main() -> None:
    """Print one row of figures per candidate."""
    read = [read_policy(p) for p in find_policies([BUNDLED_POLICIES])]
    policies, clauses = [p for p, _ in read], [c for _, cs in read for c in cs]
    full = Vocabulary.load()
    no_concepts = Vocabulary(full.shorthand, {}, 1, full.domain, full.known)
    no_question_types = Vocabulary(full.shorthand, full.phrases, full.longest, full.domain, full.known, (), full.exact)
    no_typos = {"correct": lambda self, word: None}
    no_priors = {"SHORT_CLAUSE_WORDS": 1e-9, "REFERENCE_PRIOR": 1.0}
    no_rules = {"RULE_PRIOR": 1.0, "SAME_SECTION": 1.0, "DEFINITION_PRIOR": 1.0, "OTHERS_RULE_PRIOR": 1.0,
                "NEGATION_AGREES": 1.0, "EXCLUSION_DISAGREES": 1.0}
    no_meaning = {"SAME_SECTION": 1.0, "DEFINITION_PRIOR": 1.0, "OTHERS_RULE_PRIOR": 1.0, "NEGATION_AGREES": 1.0,
                  "EXCLUSION_DISAGREES": 1.0}
    no_variety = {"SAME_SECTION": 1.0}
    candidates = [
        ("BM25 over stems", no_concepts, no_typos, no_priors, no_rules),
        ("+ staff vocabulary (concepts)", no_question_types, no_typos, no_priors, no_rules),
        ("+ typo correction", no_question_types, {}, no_priors, no_rules),
        ("+ clause priors", no_question_types, {}, {}, no_rules),
        ("+ question types", full, {}, {}, no_rules),
        ("+ rules for can-I questions", full, {}, {}, no_meaning),
        ("+ what-is, whose rule, negation", full, {}, {}, no_variety),
        ("+ section variety in top 3 (bot)", full, {}, {}, {}),
    ]
    sets = {name: load_questions(path) for name, path in SETS.items() if path.exists()}
    print(f"{'candidate':34}" + "".join(f"{name:>38}" for name in sets))
    for label, vocab, method_patch, constant_patch, search_patch in candidates:
        with patched(index_module.ClauseIndex, **method_patch), patched(index_module, **constant_patch), \
                patched(search_module, **search_patch):
            kb = KnowledgeBase(policies, clauses, vocab)
            cells = []
            for items in sets.values():
                f = measure(kb, items)
                cells.append(f"{100 * f['top1']:3.0f}% /{100 * f['top3']:3.0f}%  decl {f['false_declines']:2d}  "
                             f"oos {100 * f['oos_declined']:3.0f}%  dlg {100 * f['dialogs']:3.0f}%")
        print(f"{label:34}" + "".join(f"{c:>38}" for c in cells))


if __name__ == "__main__":
    main()
