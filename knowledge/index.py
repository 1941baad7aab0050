"""A BM25 index over clauses, with concept terms and typo correction, built for millisecond queries.

Each clause contributes the terms of three fields, weighted: its own text, the lead-in it depends on, and its
heading path. BM25 weights are computed once per (term, clause) at build time and stored as posting arrays,
so a query is a handful of vectorised additions (the "eager" scoring bm25s uses), and a 50,000-clause base
answers in a few milliseconds.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.analysis import STOPWORDS, Analysed, Vocabulary, analyse, analyse_words, stem, words
from knowledge.clause import Clause

FIELD_WEIGHTS = {"text": 1.0, "context": 0.8, "headings": 0.35}
K1 = 1.2
B = 0.5
ANSWER_TYPE_WEIGHT = 0.5  # "who ...?" looks for a role, "how quickly ...?" for a time limit: a hint, not a match
CONCEPT_WEIGHT = 1.4  # a concept counts like a word: "mum" finds "parents/carers" as surely as "parent"
TYPO_CUTOFF = 80.0  # rapidfuzz ratio (0-100) a misspelling must reach to be read as a known word
TYPO_MIN_LENGTH = 4  # shorter words are too easily a different real word
SHORT_CLAUSE_WORDS = 8  # clauses shorter than this ("Approve account creation") lose part of their score
REFERENCE_PRIOR = 0.6  # glossaries, filled-in forms and lists of examples describe things; they rarely say what
# staff should do
_REFERENCE_HEADING = re.compile(r"\b(definitions?|glossary|form)\b", re.IGNORECASE)
_EXAMPLES = re.compile(r"^\W*(?:\d+(?:\.\d+)*\s+)?examples? of\b[^.]*\binclude", re.IGNORECASE)  # a list of examples
ENGLISH_WORDS_FILE = Path(__file__).parent / "data" / "english_words.txt"


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words: a question's word on this list is meant as written, never read as a typo."""
    return frozenset(ENGLISH_WORDS_FILE.read_text(encoding="utf-8").split())


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked clause: its position in the index and its BM25 score."""

    doc: int
    score: float


@dataclass(frozen=True, slots=True)
class Query:
    """A question after analysis: the terms it searches for, with weights, and what each word contributes."""

    analysed: Analysed
    terms: dict[str, float]  # term -> query weight
    corrected: dict[str, str]  # misspelt word -> the known word it was read as
    words: tuple[str, ...]  # every word of the question, stop words included, misspellings corrected


class ClauseIndex:
    """BM25 over clause fields with concept terms; answers top-k queries with numpy."""

    def __init__(self, clauses: Sequence[Clause], vocab: Vocabulary) -> None:
        self.clauses = list(clauses)
        self.vocab = vocab
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        lengths = np.zeros(len(self.clauses), dtype=np.float32)
        text_words = np.zeros(len(self.clauses), dtype=np.float32)
        surface: set[str] = set(vocab.known)
        usage: Counter[str] = Counter()  # how many clauses use each surface word: breaks typo-correction ties
        # Lead-ins and headings repeat across clauses: each is analysed and counted once.
        shared: dict[str, tuple[Counter[str], int]] = {}
        text_weight = FIELD_WEIGHTS["text"]
        other_fields = [(field, weight) for field, weight in FIELD_WEIGHTS.items() if field != "text"]
        for doc, clause in enumerate(self.clauses):
            analysed = analyse(clause.text, vocab)
            surface.update(analysed.surface)
            usage.update(set(analysed.surface))
            tf: Counter[str] = Counter(analysed.terms())  # counted in C; weighted below if the text's weight is not 1
            if text_weight != 1.0:
                tf = Counter({term: count * text_weight for term, count in tf.items()})
            text_words[doc] = len(analysed.stems)
            length = text_weight * len(analysed.stems)
            for field, weight in other_fields:
                value = getattr(clause, field)
                if (known := shared.get(value)) is None:
                    field_analysed = analyse(value, vocab)
                    surface.update(field_analysed.surface)
                    known = shared[value] = (Counter(field_analysed.terms()), len(field_analysed.stems))
                counts, stems = known
                for term, count in counts.items():
                    tf[term] += count * weight
                length += weight * stems
            lengths[doc] = max(length, 1.0)
            for term, freq in tf.items():
                postings[term][doc] = freq
        self.size = len(self.clauses)
        average = float(lengths.mean()) if self.size else 1.0
        norm = K1 * (1 - B + B * lengths / average)
        # BM25 favours very short clauses; a list item of three words rarely answers a question by itself.
        prior = np.minimum(1.0, text_words / SHORT_CLAUSE_WORDS) ** 0.5
        reference = np.fromiter((bool(_REFERENCE_HEADING.search(c.headings or c.title)
                                      or _EXAMPLES.search(c.context) or _EXAMPLES.search(c.text))
                                 for c in self.clauses), dtype=bool, count=len(self.clauses))
        prior = np.where(reference, prior * REFERENCE_PRIOR, prior)
        self.idf: dict[str, float] = {}
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, docs in postings.items():
            ids = np.fromiter(docs.keys(), dtype=np.int32, count=len(docs))
            freqs = np.fromiter(docs.values(), dtype=np.float32, count=len(docs))
            order = np.argsort(ids)
            ids, freqs = ids[order], freqs[order]
            idf = math.log(1 + (self.size - len(ids) + 0.5) / (len(ids) + 0.5))
            self.idf[term] = idf
            weights = idf * freqs * (K1 + 1) / (freqs + norm[ids]) * prior[ids]
            self._postings[term] = (ids, weights.astype(np.float32))
        self.max_idf = max(self.idf.values(), default=1.0)
        self._surface = frozenset(surface)
        self._usage = usage
        self._by_length: dict[int, list[str]] = defaultdict(list)
        # Stop words are candidates too: "alowed" is a misspelt "allowed", not a rare word the policies never use
        # (which would count as meaning no clause covers, and make the question look unanswered).
        for word in sorted(surface | {w for w in STOPWORDS if len(w) >= TYPO_MIN_LENGTH}):
            if word.isalpha():
                self._by_length[len(word)].append(word)
        self._candidates: dict[int, list[str]] = {}

    # ---- queries ----------------------------------------------------------------------------------------
    def is_known(self, word: str) -> bool:
        """True when the word, or its stem, occurs in the policies or the staff vocabulary."""
        return word in self._surface or stem(word) in self.idf

    def correct(self, word: str) -> str | None:
        """The known word a misspelt word most likely means, or None when nothing is close enough."""
        if len(word) < TYPO_MIN_LENGTH or not word.isalpha() or word in STOPWORDS or self.is_known(word):
            return None
        if word in english_words():
            return None  # "evening" is not a misspelt "venting"
        size = len(word)
        candidates = self._candidates.get(size)
        if candidates is None:
            candidates = [w for n in range(size - 2, size + 3) for w in self._by_length.get(n, ())]
            self._candidates[size] = candidates
        close = process.extract(word, candidates, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF, limit=5)
        if not close:
            return None
        # Equally close candidates: the word more clauses use is the likelier meaning ("online", not "boline").
        return max(close, key=lambda c: (c[1], self._usage.get(c[0], 0)))[0]

    def parse(self, question: str) -> Query:
        """Analyse a question, reading misspelt words as the known words they are closest to."""
        corrected: dict[str, str] = {}
        fixed: list[str] = []
        for w in words(question):
            better = self.correct(w)
            if better is not None:
                corrected[w] = better
            fixed.append(better or w)
        analysed = analyse_words(fixed, self.vocab, broaden=True)
        terms: Counter[str] = Counter()
        for term, share in zip(analysed.stems, analysed.shares):
            terms[term] += share
        for term in analysed.concepts:
            terms[term] += CONCEPT_WEIGHT
        for term in self.vocab.answer_terms(fixed):
            terms[term] += ANSWER_TYPE_WEIGHT
        return Query(analysed, dict(terms), corrected, tuple(fixed))

    def search(self, query: Query, k: int) -> list[Hit]:
        """The k best clauses for a query, best first (fewer when fewer clauses match at all)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for term, weight in query.terms.items():
            posting = self._postings.get(term)
            if posting is not None:
                ids, contribution = posting
                scores[ids] += weight * contribution
        if k <= 0 or not self.size:
            return []
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(int(d), float(scores[d])) for d in top if scores[d] > 0]

    def holding(self, term: str, docs: np.ndarray) -> np.ndarray:
        """For each of the clauses `docs`, whether its fields contain a term (a stem or a concept)."""
        posting = self._postings.get(term)
        if posting is None or not len(docs):
            return np.zeros(len(docs), dtype=bool)
        ids = posting[0]
        at = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        return ids[at] == docs

    def term_idf(self, term: str) -> float:
        """The term's inverse document frequency; words the policies never use count as the rarest."""
        return self.idf.get(term, self.max_idf)
