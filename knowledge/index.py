"""A BM25 index over clauses, with concept terms and typo correction, built for millisecond queries.

Each clause contributes the terms of three fields, weighted: its own text, the lead-in it depends on, and its
heading path. BM25 weights are computed once per (term, clause) at build time and stored as posting arrays,
so a query is a handful of vectorised additions (the "eager" scoring bm25s uses), and a 50,000-clause base
answers in a few milliseconds.
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.analysis import STOPWORDS, Analysed, Vocabulary, analyse, analyse_words, stem, words
from knowledge.clause import Clause
from knowledge.splitter import LIST_ITEM

FIELD_WEIGHTS = {"text": 1.0, "context": 0.8, "headings": 0.35}
K1 = 1.2
B = 0.5
ANSWER_TYPE_WEIGHT = 0.5  # "who ...?" looks for a role, "how quickly ...?" for a time limit: a hint, not a match
# Words said for emphasis inside the words that ask ("what actually happens", "what exactly happens", "what do I
# really do"): they change nothing about the kind of answer wanted.
_EMPHASIS = frozenset("actually really exactly even ever honestly".split())
CONCEPT_WEIGHT = 1.4  # a concept counts like a word: "mum" finds "parents/carers" as surely as "parent"
SETTING_WEIGHT = 0.6  # a word said only in the story before a question counts for this much of one said in it
# A word of a phrase that names an idea ("teaching assistant", "senior leadership team", "open a" blog) counts for
# this much of a word in the search, besides the idea: the phrase's meaning is the idea, and its words, rarer than
# the idea, found clauses that use one of them in another sense ("assistant", "team", "open to scrutiny").
PHRASE_WORD_WEIGHT = 0.3
ROLE_WEIGHT = 0.3  # a word of the asker's self-introduction ("I'm a TA and ...") counts for this much of one
POINT_WORDS = 3  # a last sentence with fewer content words ("Is that a good idea?") asks about the story itself
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
# Where someone says who they are before asking: "I'm a TA and ...", "As the DSL, ...", "School business manager
# here." The introduction runs to the first word or mark that goes on to something else. "A governor here wants to
# connect" is someone else at the school: a signature names no one with an article.
_INTRODUCTION = re.compile(
    r"(?:\b(?:i'?m|i am)\s+|(?:^|[.!?]\s+)as\s+)(?:a|an|the|our|your)\s+(?P<role>[^,.;:!?()]+?)"
    r"(?=\s+(?:and|but|so|who|at|in|on|with|about|here|from|for|working|whose|that|&)\b|\s*[,.;:!?()-]|\s*$)"
    r"|^\s*(?!(?:a|an|the|one of)\s)(?P<signed>[a-z' -]{2,40}?)\s+here\b", re.IGNORECASE)
INTRODUCTION_WORDS = 6  # longer, and it is not a job title but a sentence
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
    # The content words that ask what kind of answer is wanted ("often" in "how often"), each with the terms an
    # answer of that kind holds ("annually", "regularly"): a clause that says "annually" answers "how often".
    answered_by: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


class ClauseIndex:
    """BM25 over clause fields with concept terms; answers top-k queries with numpy."""

    def __init__(self, clauses: Sequence[Clause], vocab: Vocabulary,
                 split: Callable[[str], list[str]] = words) -> None:
        self.clauses = list(clauses)
        self.vocab = vocab
        self.size = len(self.clauses)
        counts = _TermCounts(self.clauses, vocab, split)
        text_words = counts.text_words.astype(np.float32)
        lengths = np.maximum(counts.lengths, 1.0).astype(np.float32)
        average = float(lengths.mean()) if self.size else 1.0
        norm = K1 * (1 - B + B * lengths / average)
        # BM25 favours very short clauses; a list item of three words rarely answers a question by itself.
        prior = np.minimum(1.0, text_words / SHORT_CLAUSE_WORDS) ** 0.5
        reference = np.fromiter((bool(_REFERENCE_HEADING.search(c.headings or c.title)
                                      or _EXAMPLES.search(c.context) or _EXAMPLES.search(c.text))
                                 for c in self.clauses), dtype=bool, count=len(self.clauses))
        prior = np.where(reference, prior * REFERENCE_PRIOR, prior)
        terms, docs, freqs = counts.entries()
        df = np.bincount(terms, minlength=len(counts.term_ids))
        idf = [math.log(1 + (self.size - n + 0.5) / (n + 0.5)) for n in df.tolist()]
        self.idf: dict[str, float] = dict(zip(counts.term_ids, idf))
        # One array op over every (term, clause) pair rather than one per term: a 50k base has ~100k terms.
        weights = np.asarray(idf, dtype=np.float32)[terms] * freqs * (K1 + 1) / (freqs + norm[docs]) * prior[docs]
        ids = docs.astype(np.int32)
        bounds = np.concatenate(([0], np.cumsum(df))).tolist()
        # Each term's postings are slices (views) of the two arrays, in clause order.
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {
            term: (ids[bounds[t]:bounds[t + 1]], weights[bounds[t]:bounds[t + 1]])
            for term, t in counts.term_ids.items()}
        self.max_idf = max(self.idf.values(), default=1.0)
        surface = counts.surface
        self._surface = frozenset(surface)
        self._usage = counts.usage
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
        swapped = self._swapped(word)
        if swapped is not None:
            return swapped
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

    def _swapped(self, word: str) -> str | None:
        """The known word this one is with two neighbouring letters swapped back, if any: "wrok" is "work". A
        swap is one slip of the thumbs, but the ratio counts it as two edits, too many for a short word."""
        found = [w for i in range(len(word) - 1) if word[i] != word[i + 1]
                 for w in [word[:i] + word[i + 1] + word[i] + word[i + 2:]] if w in self._surface]
        return max(found, key=lambda w: self._usage.get(w, 0)) if found else None

    def parse(self, question: str) -> Query:
        """Analyse a question, reading misspelt words as the known words they are closest to."""
        corrected: dict[str, str] = {}
        fixed: list[str] = []
        for w in words(question):
            better = self.correct(w)
            if better is not None:
                corrected[w] = better
            fixed.append(better or w)
        analysed = self._point_weighed(question, fixed, analyse_words(fixed, self.vocab, broaden=True))
        analysed = self._asker_weighed(question, fixed, analysed)
        terms: Counter[str] = Counter()
        phrased = _in_phrases(analysed, self.vocab.broader)
        for at, (term, share) in enumerate(zip(analysed.stems, analysed.shares)):
            terms[term] += share * (PHRASE_WORD_WEIGHT if at in phrased else 1.0)
        for term in analysed.concepts:
            terms[term] += CONCEPT_WEIGHT
        asking = [w for w in fixed if w not in _EMPHASIS]
        for term in self.vocab.answer_terms(asking):
            terms[term] += ANSWER_TYPE_WEIGHT
        answered_by: dict[str, tuple[str, ...]] = {}
        for cue, targets in self.vocab.answer_cues(asking):
            for word in cue:
                if word not in STOPWORDS:
                    answered_by[stem(word)] = (*answered_by.get(stem(word), ()), *targets)
        return Query(analysed, dict(terms), corrected, tuple(fixed), answered_by)

    def _asker_weighed(self, question: str, fixed: list[str], analysed: Analysed) -> Analysed:
        """Who is asking is rarely what they ask about: in "I'm the school business manager and I write a personal
        blog. Do I need a disclaimer?" the manager found the clauses on managers. The words of such a
        self-introduction count for ROLE_WEIGHT of a word, and the ideas they name are dropped, unless the question
        asks whether the policy applies or must be followed (then who asks is the point: "I'm a governor. Does
        this cover me?")."""
        if not {"@scope", "@comply"}.isdisjoint(analysed.concepts):
            return analysed
        spans: list[tuple[int, int]] = []
        for found in _INTRODUCTION.finditer(question):
            group = "role" if found.group("role") is not None else "signed"
            role = words(found.group(group))
            if not role or len(role) > INTRODUCTION_WORDS or self.vocab.roles.isdisjoint(role):
                continue
            start = len(words(question[:found.start(group)]))
            before = len(analyse_words(fixed[:start], self.vocab).stems)
            spans.append((before, before + len(analyse_words(fixed[start:start + len(role)], self.vocab).stems)))
        if not spans:
            return analysed
        inside = [any(a <= i < b for a, b in spans) for i in range(len(analysed.stems))]
        elsewhere = {s for s, ins in zip(analysed.stems, inside) if not ins}
        shares = tuple(share * ROLE_WEIGHT if ins and s not in elsewhere else share
                       for s, share, ins in zip(analysed.stems, analysed.shares, inside))
        kept = [(c, span, p) for c, span, p in zip(analysed.concepts, analysed.concept_spans, analysed.phrased)
                if not any(a <= span[0] and span[1] <= b for a, b in spans)]
        return replace(analysed, shares=shares, concepts=tuple(c for c, _, _ in kept),
                       concept_spans=tuple(span for _, span, _ in kept), phrased=tuple(p for _, _, p in kept))

    def _point_weighed(self, question: str, fixed: list[str], analysed: Analysed) -> Analysed:
        """A question told as a story ("Our class pages are on Facebook. Do we need to think about the age limit
        for pupils?") asks its point in its last question; the other sentences set the scene. A word said only
        there counts for SETTING_WEIGHT of a word, so clauses that share the scene do not outrank the one on the
        point; the scene still counts, since it often says who or what the question is about. A last sentence of
        fewer than POINT_WORDS content words ("Is that a good idea?", "What's the school's line on that?") asks
        about the story, and then every word counts in full."""
        sentences = _SENTENCES.split(question.strip())
        if len(sentences) < 2:
            return analysed
        # The point is the last sentence that asks ("Should I turn off Snap Map? My Y10s have worked out where I
        # live"): what follows a question mark explains it; without one, the last sentence.
        at = max((i for i, s in enumerate(sentences) if s.rstrip().endswith("?")), default=len(sentences) - 1)
        start = sum(len(words(s)) for s in sentences[:at])
        point = set(analyse_words(fixed[start:start + len(words(sentences[at]))], self.vocab).stems)
        if len(point) < POINT_WORDS:
            return analysed
        return replace(analysed, shares=tuple(share if stem_ in point else share * SETTING_WEIGHT
                                              for stem_, share in zip(analysed.stems, analysed.shares)))

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


def _in_phrases(analysed: Analysed, broader: Mapping[str, tuple[str, ...]]) -> set[int]:
    """The content words (by position) that are part of a phrase of two or more words naming one idea, function words
    counted ("open a" blog is creating one, "think about" is considering: "open" and "think" are not meant alone). A
    phrase naming two ("add colleagues": befriending and a colleague) is made of its words, each meant; the wider
    idea a phrase's idea is a case of ("self-harm", a safeguarding concern) is not a second idea."""
    named: defaultdict[tuple[int, int], set[str]] = defaultdict(set)
    for concept, span, phrase in zip(analysed.concepts, analysed.concept_spans, analysed.phrased):
        if span[0] >= 0 and (span[1] - span[0] >= 2 or phrase):
            named[span].add(concept)
    ideas = {span: {c for c in concepts if not any(c in broader.get(o, ()) for o in concepts)}
             for span, concepts in named.items()}
    return {at for (start, end), found in ideas.items() if len(found) == 1 for at in range(start, end)}


def indexed_text(clause: Clause) -> str:
    """The part of a clause's text the index reads. A list kept whole is read as its lead-in alone: each bullet is
    a clause of its own, and counting the bullets again made the whole list match every question about any one of
    them, above the bullet that answers it ("what does an admin have to do?" found the business-case list)."""
    return clause.text.partition(LIST_ITEM)[0]


class _TermCounts:
    """Each clause's weighted term frequencies over its fields, gathered as flat arrays for a vectorised build."""

    def __init__(self, clauses: Sequence[Clause], vocab: Vocabulary, split: Callable[[str], list[str]]) -> None:
        self.term_ids: dict[str, int] = {}  # term -> id, in order of first use
        self.surface: set[str] = set(vocab.known)
        self.usage: Counter[str] = Counter()  # how many clauses use each surface word: breaks typo-correction ties
        self._size = len(clauses)
        ids = self.term_ids
        terms: list[int] = []
        counts: list[int] = []
        sizes: list[int] = []
        text_words: list[int] = []
        shared = [_SharedField(name, weight) for name, weight in FIELD_WEIGHTS.items() if name != "text"]
        for clause in clauses:
            analysed = analyse(indexed_text(clause), vocab, split)
            self.surface.update(analysed.surface)
            self.usage.update(set(analysed.surface))
            tf = Counter(analysed.terms())
            terms.extend([ids.setdefault(term, len(ids)) for term in tf])
            counts.extend(tf.values())
            sizes.append(len(tf))
            text_words.append(len(analysed.stems))
            for field in shared:
                if (new := field.add(getattr(clause, field.name), vocab, split, ids)) is not None:
                    self.surface.update(new.surface)
        weight = FIELD_WEIGHTS["text"]
        self.text_words = np.asarray(text_words, dtype=np.float64)
        self.lengths = weight * self.text_words  # in float64, field by field, as the sum was always made
        self._terms = [np.asarray(terms, dtype=np.int64)]
        self._docs = [np.repeat(np.arange(self._size, dtype=np.int64), sizes)]
        self._freqs = [np.asarray(counts, dtype=np.float64) * weight]
        for field in shared:
            field_terms, field_docs, field_freqs, field_lengths = field.spread()
            self._terms.append(field_terms)
            self._docs.append(field_docs)
            self._freqs.append(field_freqs)
            self.lengths = self.lengths + field_lengths

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (term, clause) pair with its weighted frequency (float32), sorted by term, then clause."""
        terms, docs, freqs = (np.concatenate(part) for part in (self._terms, self._docs, self._freqs))
        if not len(terms):
            return terms, docs, freqs.astype(np.float32)
        key = terms * self._size + docs
        # Stable, so a pair's counts add up in field order (text, lead-in, headings), as they always did.
        order = np.argsort(key, kind="stable")
        key, freqs = key[order], freqs[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        key = key[starts]
        return key // self._size, key % self._size, np.add.reduceat(freqs, starts).astype(np.float32)


class _SharedField:
    """A clause field whose values many clauses share (a lead-in, a heading path): each distinct value is analysed
    once, and its counts are copied to every clause that has it by array indexing, not by a Python loop."""

    def __init__(self, name: str, weight: float) -> None:
        self.name = name
        self.weight = weight
        self._ids: dict[str, int] = {}  # value -> its position below
        self._terms: list[list[int]] = []
        self._counts: list[list[int]] = []
        self._words: list[int] = []
        self._of_clause: list[int] = []  # each clause's value, by position

    def add(self, value: str, vocab: Vocabulary, split: Callable[[str], list[str]],
            term_ids: dict[str, int]) -> Analysed | None:
        """Note the next clause's value; the value's analysis when it is new, else None."""
        known = self._ids.get(value)
        analysed = None
        if known is None:
            analysed = analyse(value, vocab, split)
            tf = Counter(analysed.terms())
            self._terms.append([term_ids.setdefault(term, len(term_ids)) for term in tf])
            self._counts.append(list(tf.values()))
            self._words.append(len(analysed.stems))
            known = self._ids[value] = len(self._ids)
        self._of_clause.append(known)
        return analysed

    def spread(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per (term, clause) entry: term ids, clause ids, weighted counts; and each clause's weighted length."""
        of_clause = np.asarray(self._of_clause, dtype=np.int64)
        sizes = np.asarray([len(t) for t in self._terms], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        flat_terms = np.asarray([t for ts in self._terms for t in ts], dtype=np.int64)
        flat_counts = np.asarray([c for cs in self._counts for c in cs], dtype=np.float64)
        per_clause = sizes[of_clause]
        # Where each clause's run of entries starts in the flat arrays, repeated along the run, plus the step.
        first = np.repeat(starts[of_clause] - np.cumsum(per_clause) + per_clause, per_clause)
        at = first + np.arange(int(per_clause.sum()), dtype=np.int64)
        clause_ids = np.repeat(np.arange(len(of_clause), dtype=np.int64), per_clause)
        lengths = self.weight * np.asarray(self._words, dtype=np.float64)[of_clause]
        return flat_terms[at], clause_ids, flat_counts[at] * self.weight, lengths
