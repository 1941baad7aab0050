"""The knowledge base: policies split into clauses, indexed, and asked questions in staff's own words.

`KnowledgeBase.ask` ranks clauses with BM25 over stems and staff-vocabulary concepts, then decides whether
the best clause really answers the question. A BM25 score says how well a clause matches compared with other
clauses, not whether the policy answers at all, so the decision uses its own signal: how much of the
question's meaning (each content word weighted by how rare it is) the best clause covers, and whether the
question is about online conduct at all.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.analysis import Vocabulary, WordSplits, analyse, negated_terms, normalise
from knowledge.clause import Clause
from knowledge.index import ClauseIndex, Hit, Query, indexed_text
from knowledge.library import BUNDLED_POLICIES, Policy, find_policies, merge_duplicates, read_policy
from knowledge.routing import route

MAX_QUESTION_CHARS = 2000  # a question longer than this is read from its start; nobody types more on a phone
ANSWER_COVERAGE = 0.30  # share of the question's meaning the best clause must cover to be given as the answer
CONDUCT_COVERAGE = 0.55  # the share for a question whose one idea of the domain is also used of other things
LONG_QUESTION_WORDS = 7  # content words a question may have before the share an answer must cover shrinks
OFF_TOPIC_COVERAGE = 0.75  # the stricter share for a question that mentions nothing about online conduct
COVERAGE_NEEDED = {"online": ANSWER_COVERAGE, "conduct": CONDUCT_COVERAGE, "other": OFF_TOPIC_COVERAGE}
SHOWN = 3  # answers a person sees; an on-topic question is answered when one of them covers enough of it
NEAR_TIE = 0.92  # a runner-up scoring this close to the best is offered as "did you mean"
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")  # terminal colour codes, control bytes
_CANDIDATES = 30  # clauses scored for coverage before the final order is set
SAME_SECTION = 0.9  # a clause from a section already among the answers shown counts for this much of its score
RULE_PRIOR = 1.15  # "can I ...?" is answered by a clause that says what staff must, should or may not do
# A clause that states a rule: a modal of obligation or permission in its text or lead-in, or a Do's/Don'ts list.
_RULE = re.compile(r"\b(must|should|shall|never|permits?|permitted|allowed|required|expected to|advised|"
                   r"encouraged|don'?t|do not|ensure|prohibited|may not|cannot|can only|will not|"
                   r"under no circumstances|need to|have to)\b")
_RULE_LIST = re.compile(r"\bdo'?s\b|\bdon'?ts\b")
DEFINITION_PRIOR = 1.5  # "what is geo tagging?" is answered by the clause that says what it is, not one that uses it
# A question asking what something is: "what is a microblog", "what does the policy mean by", "what counts as
# social media", "the difference between defamation and libel", "what is geo tagging and why does it matter", "can you
# explain what defamation is".
# "What is the rule on ...", "what is allowed" ask for a rule.
_ASKS_MEANING = re.compile(r"^((what|wat|wot) (is|are|s)|whats|wats)( an?)? "
                           r"(?!(the|my|our|your|their|it|this|that|there|is|are|allowed|permitted|expected|"
                           r"required|acceptable|ok|okay|banned|forbidden)\b)\w+( \w+){0,2}"
                           r"( and (why|how|what|when|who)\b.*)?$|"
                           r"\bmean(s|t)? by\b|\bwhat does \w+( \w+)? mean\b|\bmeaning of\b|"
                           r"\bdefin(e|es|ed|ing|itions?)\b|\b(counts?|counted|class(ed|ified)?) as\b|"
                           r"\bdifference between\b|^explain\b|\bexplain (to me )?what\b")
# A clause saying what something is: a glossary entry, or "X is the act of", "X is a broad term for", "X means", or
# a list of what X includes ("Confidential information includes, but is not limited to:").
_DEFINES = re.compile(r"\b(is|are) (a|an|the) (\w+ ){0,2}(term|act|ability|name|word|practice|process|way)\b|"
                      r"^(\w+ ){1,4}(can |may )?includes?\b|"
                      r"(?<!by )(?<!other )\bmeans\b(?! of)|\bis referred to as\b|\bis defined as\b")
_DEFINES_CUES = (" is a", " are a", " is the", " are the", "means", "referred to as", "defined as", " include")
_NAMES_POLICY = re.compile(r"\b((in|under|by|according to|does|do) )?(the|this|our|your) (school s )?"
                           r"(social media )?(policy|policies|code of conduct)\b")
# "Does any of this apply to me?", "Are governors covered by all this?": in a question to the policy bot, "this" is the
# policy, though the words that name it are left out; so is "policy" with no word saying which ("policy apply outside
# school hours", "does policy cover supply staff").
_POINTS_AT_POLICY = re.compile(r"\b(any|all|none) of this\b|\ball this\b|(^|\b(does|do|is|will|would|can) )policy\b")
OTHERS_RULE_PRIOR = 0.75  # a rule for parents answers a staff question only when the question is about parents
_FOR_PARENTS = re.compile(r"\W*parents\b")
# A parent a question is about, not one who acts: "slagging off a parent", "a rant about one of the dads", "talk to
# parents", "friends with a mum" (but "about parents posting" is about what they do). The parents' rules (what
# parents may post) do not answer what staff say of them.
_PARENT_AS_OBJECT = re.compile(r"\b(about|off|at|to|with)( (a|an|the|my|our|one|some|this|that|these|those|their|his|"
                               r"her|of|difficult|certain|particular|other|another|angry|rude|pushy))* "
                               r"(parent|parents|mum|mums|mom|dad|dads|mother|father|carer|carers)\b(?! \w+ing\b)")
# In a question asking what something means, the asking, not the subject: "mean", "explain", and "counts"/"classed" as
_MEAN = re.compile(r"\bmean(s|t)?\b|\b(counts?|counted|class(ed|ified)?)(?= as\b)|\bexplain\b")
# "Is my account covered if I never mention the school?" asks about the case the clause "personal communications
# which do not refer to the school" is about, not the one on communications "using the school name": a clause that
# says the same thing is not done counts for this much more.
NEGATION_AGREES = 1.4
# "Decline friend requests from pupils who are not family members" is about every pupil but the asker's niece: a
# clause that sets aside the case a question names ("my niece is in my class, can we be friends") counts for this
# much of its score, so the clause on that case ("unless the pupils are family members") comes first.
EXCLUSION_DISAGREES = 0.8
_EXCLUDES = re.compile(r"\b(?:who|that|which) (?:is|are|was|were) not ((?:\w+ ?){1,4})")  # "pupils who are not X"
_GLOSSARY = re.compile(r"\b(definitions?|glossary)\b", re.IGNORECASE)
# A question asking whether something is allowed: "can I", "am I allowed to", "is it ok to", "do I have to".
_PERMISSION = re.compile(r"\b(can|could|may|should|must) (i|we)\b|\b(am i|are we|is it|is that) (allowed|ok|okay|"
                         r"acceptable|fine|alright|permitted)\b|\b(do|does) (i|we) (have|need) to\b|"
                         r"\ballowed to\b|\b(ok|okay) to\b|\b(banned|forbidden|prohibited|against the rules)\b")


@dataclass(frozen=True, slots=True)
class Answer:
    """A clause offered as an answer, with a score from 0 to 1."""

    clause: Clause
    score: float


@dataclass(frozen=True, slots=True)
class Result:
    """What the knowledge base says to a question."""

    question: str
    confident: bool  # False: the policy does not answer this; say so and say who to ask
    answers: tuple[Answer, ...]  # best first
    dialog: str | None = None  # the guided dialog that fits the message, if any
    reason: str = ""  # why the bot declined: "empty", "unreadable", "not_covered", "off_topic"
    did_you_mean: tuple[Answer, ...] = ()  # near ties to the best answer, from other parts of the policies
    corrected: dict[str, str] = field(default_factory=dict)  # misspelt words and how they were read
    truncated: bool = False  # the question was too long and only its start was read
    elsewhere: str = ""  # declined as a matter others deal with: "pay", "it_support", "data_rights" (vocabulary)


@dataclass(frozen=True, slots=True)
class _Scored:
    hit: Hit
    coverage: float


class KnowledgeBase:
    """The policies, split and indexed, ready to answer questions."""

    def __init__(self, policies: Sequence[Policy], clauses: Sequence[Clause], vocab: Vocabulary | None = None):
        self.policies = {p.id: p for p in policies}
        self.vocab = vocab or Vocabulary.load()
        split = WordSplits()  # both passes read every clause's words: each text is split once
        self.clauses = merge_duplicates(clauses, split.__getitem__)
        self.index = ClauseIndex(self.clauses, self.vocab, split.__getitem__)
        self.states_rule = [bool(_RULE.search(normalise(f"{c.context} {c.text}")))
                            or bool(_RULE_LIST.search(normalise(c.headings))) for c in self.clauses]
        self.sections = [(c.source, c.headings or c.title) for c in self.clauses]
        # Clauses telling parents what to do ("Parents should not post ..."): staff ask about them only when they
        # ask about parents; otherwise "can I post a picture of the kids" would be answered with the parents' rule.
        texts = [normalise(c.text) for c in self.clauses]
        self.for_parents = [bool(_FOR_PARENTS.match(t)) for t in texts]
        self.defines = [bool(_GLOSSARY.search(c.headings or c.title)) or _says_what_it_is(t)
                        for c, t in zip(self.clauses, texts)]
        # What a clause says is not done, and what it sets aside: read when it is first a candidate.
        self._negated: list[frozenset[str] | None] = [None] * len(self.clauses)
        self._excluded: list[frozenset[str] | None] = [None] * len(self.clauses)

    @classmethod
    def load(cls, folders: Iterable[Path] | None = None) -> "KnowledgeBase":
        """Read every policy in the folders (the bundled sample policies when none are given)."""
        policies: list[Policy] = []
        clauses: list[Clause] = []
        for policy in find_policies(list(folders) if folders is not None else [BUNDLED_POLICIES]):
            named, split = read_policy(policy)
            policies.append(named)
            clauses.extend(split)
        return cls(policies, clauses)

    def policy_name(self, source: str) -> str:
        """A policy's display name."""
        policy = self.policies.get(source)
        return policy.name if policy else source

    def ask(self, question: str, top: int = 3) -> Result:
        """Answer a question with the clauses that answer it, or decline when the policies do not."""
        text = question if isinstance(question, str) else ""
        truncated = len(text) > MAX_QUESTION_CHARS
        text = _ESCAPES.sub(" ", text[:MAX_QUESTION_CHARS])
        if not text.strip():
            return Result(question, False, (), reason="empty")
        query = self.index.parse(text)
        said = " ".join(query.words)
        asks_meaning = bool(_ASKS_MEANING.search(said))
        if asks_meaning and (_NAMES_POLICY.search(said) or _MEAN.search(said)):
            # "What does the policy mean by a microblog?" asks what a microblog is: the policy is where the answer
            # is, not what the question is about, and clauses that say "this policy" (or "by means of") would
            # outrank the glossary.
            query = self.index.parse(_MEAN.sub(" ", _NAMES_POLICY.sub(" ", said)))
        dialog = route(query.analysed, query.words)
        if not query.analysed.concepts and all(s.isdigit() for s in query.analysed.stems):
            # Nothing but numbers ("2", a menu choice typed where there is no menu) would match section numbers
            # and dates, and be answered with whatever clause held them. A number that means something ("999")
            # names a concept.
            return Result(question, False, (), dialog, reason="unreadable", truncated=truncated)
        hits = self.index.search(query, max(top, _CANDIDATES))
        if not hits:
            return Result(question, False, (), dialog, reason="not_covered", corrected=query.corrected,
                          truncated=truncated, elsewhere=self.vocab.dealt_with_elsewhere(query.analysed))
        scored = [_Scored(h, c) for h, c in zip(hits, self._coverage(query, [h.doc for h in hits]))]
        ranked = self._rerank(scored, asks_permission=bool(_PERMISSION.search(said)), asks_meaning=asks_meaning,
                              about_parents=_about_parents(query.analysed.concepts, said),
                              not_done=negated_terms(_corrected(text, query.corrected), self.vocab),
                              named=frozenset(query.analysed.stems) | frozenset(query.analysed.concepts))
        best = ranked[0]
        topic = self.vocab.topic(query.analysed)
        if _NAMES_POLICY.search(said) or _POINTS_AT_POLICY.search(said):
            # "Is this policy based on any national guidance?" asks about the policy itself, the policies' business
            # though no word in it is about conduct online. As sure as one conduct idea and no surer: "what's the
            # policy on uniform" names a policy too, and must still be covered well to be answered.
            topic = "conduct" if topic == "other" else topic
        on_topic = topic != "other"
        # The order weighs BM25 as well as coverage, so the clause that covers most of a question about online
        # conduct may sit second; the policies answer it if one of the clauses shown covers enough. The less surely
        # the question is about online conduct, the more of it that clause must cover ("who do I complain to about
        # my timetable" names a grievance, and the policies' clauses on grievances cover a third of it). A question
        # that mentions nothing about online conduct needs its first answer to cover it squarely.
        covered = max(s.coverage for s in ranked[:SHOWN]) if on_topic else best.coverage
        confident = covered >= self._coverage_needed(topic, query)
        answers = tuple(self._answer(s, best) for s in ranked[:max(top, 0)])
        ties = tuple(self._answer(s, best) for s in ranked[1:4]
                     if s.hit.score >= NEAR_TIE * best.hit.score and s.hit.doc != best.hit.doc)
        return Result(question, confident, answers, dialog,
                      reason="" if confident else ("not_covered" if on_topic else "off_topic"),
                      did_you_mean=ties if confident else (), corrected=query.corrected, truncated=truncated,
                      elsewhere="" if confident else self.vocab.dealt_with_elsewhere(query.analysed))

    @staticmethod
    def _coverage_needed(topic: str, query: Query) -> float:
        """The share of a question's meaning an answer must cover. A long question about online conduct tells a
        story ("At sports day I got some great shots of the kids on my phone. Can I stick them on my own
        Facebook?") whose setting no clause repeats: past LONG_QUESTION_WORDS different words, the share shrinks
        as the question grows. A question less surely about online conduct keeps its stricter share, however
        long: there the extra words are as likely a sign that it is about something else."""
        needed = COVERAGE_NEEDED[topic]
        if topic == "online":
            needed *= min(1.0, LONG_QUESTION_WORDS / max(len(set(query.analysed.stems)), 1))
        return needed

    # ---- scoring ----------------------------------------------------------------------------------------
    def _coverage(self, query: Query, docs: Sequence[int]) -> list[float]:
        """The share of the question's meaning each clause covers: each content word weighted by its rarity,
        counted as covered when the clause has the word's stem or a concept the word is part of. All the
        candidates at once: one look-up per word, not one per word and clause."""
        analysed = query.analysed
        covering: list[set[str]] = [{s} for s in analysed.stems]
        for concept, (start, end) in zip(analysed.concepts, analysed.concept_spans):
            for i in range(max(start, 0), max(end, 0)):
                covering[i].add(concept)
        candidates = np.asarray(docs, dtype=np.int64)
        total = 0.0
        matched = np.zeros(len(candidates), dtype=np.float64)
        seen: set[str] = set()
        for stem_, terms, share in zip(analysed.stems, covering, analysed.shares):
            if stem_ in seen:
                continue  # a word said twice ("blah blah") is one piece of meaning
            seen.add(stem_)
            weight = max(self.index.term_idf(t) for t in terms) if len(terms) > 1 else self.index.term_idf(stem_)
            weight *= share
            total += weight
            holding = np.zeros(len(candidates), dtype=bool)
            for term in (*terms, *query.answered_by.get(stem_, ())):
                holding |= self.index.holding(term, candidates)
            matched[holding] += weight
        for concept, (start, _) in zip(analysed.concepts, analysed.concept_spans):
            # An idea said in function words alone ("about me", "go against") covers no content word: it is a
            # piece of meaning of its own, or the clause written to its target would count for nothing more.
            if start < 0 and concept not in seen:
                seen.add(concept)
                weight = self.index.term_idf(concept)
                total += weight
                matched[self.index.holding(concept, candidates)] += weight
        return (matched / total).tolist() if total else [0.0] * len(candidates)

    def _rerank(self, scored: list[_Scored], asks_permission: bool = False, asks_meaning: bool = False,
                about_parents: bool = True, not_done: frozenset[str] = frozenset(),
                named: frozenset[str] = frozenset()) -> list[_Scored]:
        """Order by BM25 scaled by coverage, so a clause that answers all of a question beats one that
        repeats part of it many times. A question asking whether something is allowed prefers, a little, the
        clauses that state rules over those that describe (introductions, risks, definitions); one asking what
        something is prefers the clauses that say what things are; a rule for parents gives way unless the
        question is about parents; a question about something not done prefers the clauses that say it is not, and
        one naming a case prefers the clauses that do not set that case aside."""
        asserted = named - not_done

        def key(s: _Scored) -> float:
            prior = RULE_PRIOR if asks_permission and self.states_rule[s.hit.doc] else 1.0
            if self.for_parents[s.hit.doc] and not about_parents:
                prior *= OTHERS_RULE_PRIOR
            if asks_meaning and self.defines[s.hit.doc]:
                prior *= DEFINITION_PRIOR
            if not_done and not not_done.isdisjoint(self._negated_in(s.hit.doc)):
                prior *= NEGATION_AGREES
            if asserted and not asserted.isdisjoint(self._excluded_in(s.hit.doc)):
                prior *= EXCLUSION_DISAGREES
            return s.hit.score * (0.5 + s.coverage) * prior
        keyed = sorted(((key(s), s) for s in scored), key=lambda ks: ks[0], reverse=True)
        return self._diversify(keyed)

    def _negated_in(self, doc: int) -> frozenset[str]:
        """What a clause says is not done, read once, when it is first a candidate."""
        found = self._negated[doc]
        if found is None:
            found = self._negated[doc] = negated_terms(indexed_text(self.clauses[doc]), self.vocab)
        return found

    def _excluded_in(self, doc: int) -> frozenset[str]:
        """The stems and ideas a clause sets aside ("pupils who are not family members": family), read once."""
        found = self._excluded[doc]
        if found is None:
            terms: set[str] = set()
            for match in _EXCLUDES.finditer(normalise(self.clauses[doc].text)):
                analysed = analyse(match.group(1), self.vocab)
                terms.update(analysed.stems, analysed.concepts)
            found = self._excluded[doc] = frozenset(terms)
        return found

    def _diversify(self, keyed: list[tuple[float, _Scored]]) -> list[_Scored]:
        """Fill the places a person sees one at a time, a clause from a section already shown giving way to a
        near-equal one from elsewhere."""
        # Bullets of one section often say the same thing in turn ("Who will run the account", "Will the
        # account be open"); a second view of the question is worth more than a third bullet of the first.
        chosen: list[_Scored] = []
        sections: set[tuple[str, str]] = set()
        rest = list(keyed)  # best first
        while rest and len(chosen) < SHOWN:
            pick = 0
            if self.sections[rest[0][1].hit.doc] in sections:
                # The best clause from a section not yet shown is the only one that can overtake the best.
                fresh = next((i for i, (_, s) in enumerate(rest) if self.sections[s.hit.doc] not in sections), None)
                if fresh is not None and rest[fresh][0] > rest[0][0] * SAME_SECTION:
                    pick = fresh
            _, best = rest.pop(pick)
            chosen.append(best)
            sections.add(self.sections[best.hit.doc])
        return chosen + [s for _, s in rest]

    def _answer(self, scored: _Scored, best: _Scored) -> Answer:
        relative = scored.hit.score / best.hit.score if best.hit.score else 0.0
        return Answer(self.clauses[scored.hit.doc], round(min(1.0, scored.coverage * min(relative, 1.0)), 3))


_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z\"'“‘(])")


def _corrected(text: str, corrected: dict[str, str]) -> str:
    """The question with its misspelt words as they were read, its marks kept for where a negation ends."""
    if not corrected:
        return text
    return re.sub(r"[A-Za-z]+", lambda m: corrected.get(m.group(0).lower(), m.group(0)), text)


def _about_parents(concepts: Sequence[str], said: str) -> bool:
    """Whether a question is about what parents do: it names a parent other than as the one spoken of."""
    return concepts.count("@parent") > len(_PARENT_AS_OBJECT.findall(said))


def _says_what_it_is(text: str) -> bool:
    """Whether a clause's (normalised) text says what something is; the cheap look for the verbs first, because
    most clauses have none and the pattern is slow over tens of thousands of them."""
    return any(cue in text for cue in _DEFINES_CUES) and bool(_DEFINES.search(text))


def key_sentence(clause: Clause, question: str, vocab: Vocabulary, limit: int = 240) -> str | None:
    """For a long clause, the one sentence that bears most on the question (None when the clause is short)."""
    if len(clause.text) <= limit:
        return None
    sentences = _sentences(clause.text, vocab)
    if len(sentences) < 2:
        return None
    wanted = set(analyse(question, vocab).terms())
    return max(sentences, key=lambda sentence: len(wanted & sentence[1]))[0]


_SENTENCES_KEPT = 4096  # long clauses whose sentences are kept analysed: all of a school's policies, many times over
_sentence_cache: dict[tuple[int, str], tuple[Vocabulary, list[tuple[str, frozenset[str]]]]] = {}


def _sentences(text: str, vocab: Vocabulary) -> list[tuple[str, frozenset[str]]]:
    """A clause's sentences with their terms, analysed once per clause rather than once per answer."""
    key = (id(vocab), text)
    kept = _sentence_cache.get(key)
    if kept is not None and kept[0] is vocab:  # the same vocabulary, not another one at a reused address
        return kept[1]
    sentences = [(s, frozenset(analyse(s, vocab).terms()))
                 for s in (part.strip() for part in _SENTENCE.split(text)) if s]
    if len(_sentence_cache) >= _SENTENCES_KEPT:
        _sentence_cache.clear()
    _sentence_cache[key] = (vocab, sentences)
    return sentences
