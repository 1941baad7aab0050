"""Text analysis shared by clauses and questions: normalise, tokenise, stem, and name the ideas mentioned.

A question and a clause are compared as bags of terms. A term is a stemmed word ("parent"), or a concept
("@parent") that the staff vocabulary recognises in a word or phrase ("mum", "parents/carers"). Both sides
are analysed by the same function, so a concept matches whichever words each side uses.
"""
from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from pathlib import Path

import Stemmer

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.toml")

# The months but "march" and "may", which are other words too: the policies name months only in their own dates, and
# "left in July" says when, not what is asked.
_MONTHS = frozenset("january february april june july august september october november december".split())
# Ordinary English function words: they carry no meaning a clause could match on.
STOPWORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more
most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same
shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through to too under
until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which
while who who's whom why why's with won't would wouldn't you you'd you'll you're you've your yours yourself
yourselves im ive id dont cant wont isnt arent shouldnt wouldnt couldnt didnt doesnt also just really
ok okay please hi hello thanks thank yes get gets getting got go going want wants like would may might must shall will
e g eg etc ie s t allowed fine alright able anyone someone something thing things need needs put puts putting
difference differences define defines defined defining definition definitions meaning meant count counts whats
wats wat wot supposed whos sensible wise unwise advisable much
""".split()) | frozenset("""
lol tbh ngl omg honestly actually actual surely reckon reckons reckoned basically literally bit stuff loads lots
kind kinda sort sorta guys hey quick
wondering wonder ever still anyway though maybe probably yeah yep nope hmm now people anything everything
nothing else elses one ones instead rather
""".split()) | frozenset("""
happen happens happened happening took let lets goes went gone somebody anybody nobody everyone
everybody someones theres hes shes theyre youre weve theyve theyll youll wasnt werent hasnt havent hadnt itll thats wed
unless youve youd theyd hed itd wouldve shouldve couldve mightve mustve mustnt shant aint thatll hows wheres
whys heres whens
""".split()) | _MONTHS  # chat fillers and the words that frame a question ("what happens if", "I took a photo",
# "there's"), and months: staff type them, no clause means anything by them, and as words no clause uses they would
# lower coverage

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": "-", "\u00a0": " "})
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_DIGITS_S = re.compile(r"[0-9]s|\by(?:ea)?r?[0-9]")  # "year 9s", "under 13s", "yr11": words `words` rewrites
# "What's the harm in ...", "any problem with that?", "anything wrong with ...", "anything stopping me ...": ways
# of asking whether something is allowed, read as "is it ok". Their "harm" found the clauses on content that puts a
# young person at risk of harm, and "stopping" the ones on stopping abuse; no clause frames a rule this way.
_IS_IT_OK = re.compile(r"\b(?:(?:is there |there's )?(?:any|anything|no) (?:harm|problems?|issues?) (?:in|with)"
                       r"|what(?:'?s| is) (?:the )?(?:harm|problem|issue|big deal) (?:in|with|about)"
                       r"|(?:is there )?anything (?:actually |really |so )?wrong (?:with|in|about)"
                       r"|what(?:'?s| is) (?:actually |really |so )?wrong (?:with|in|about)"
                       r"|(?:is there )?anything stopping|what(?:'?s| is) stopping|what stops)\b")
_IS_IT_OK_CUES = ("harm", "problem", "issue", "wrong", "big deal", "stop")
_DIGITS = frozenset("0123456789")  # most texts have none, and a set look is cheaper than the pattern below
_YEAR_GROUP = re.compile(r"y(?:ea)?r?([0-9]{1,2})s?")  # "yr11", "y7s", "year10": the year group, written as one word
# "As long as" and "so long as" set a condition ("can I post it as long as I don't name him?"): their "long" is no
# length of time, and found the clauses on how long a site will last. "As long as possible" is a length of time.
_CONDITIONAL_LONG = re.compile(r"\b(as|so) long (as)\b(?! (?:possible|necessary|needed|required)\b)")
# The past forms of verbs with a meaning of their own, which a stemmer leaves as they are: "wrote a post" is
# "writes", "sent me a message" is "send". Light verbs ("took a photo", "kept", "made", "gave") are left alone:
# matched with "take steps", "take control" and "make sure" they would find clauses by a word that means little.
_IRREGULAR = {"broken": "break", "wrote": "write", "written": "write", "sent": "send", "saw": "see", "seen": "see", "said": "say",
              "told": "tell", "thought": "think", "spoke": "speak", "spoken": "speak", "knew": "know",
              "met": "meet", "caught": "catch", "felt": "feel", "chose": "choose", "chosen": "choose",
              "stole": "steal", "stolen": "steal", "hid": "hide", "hidden": "hide"}
_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of one lower-case word (cached: vocabularies are small and words repeat)."""
    return _STEMMER.stemWord(_IRREGULAR.get(word, word))


def normalise(text: str) -> str:
    """Lower-case, straighten quotes and dashes, and fold accents, so spelling variants compare equal."""
    if text.isascii():  # most text: no curly quote, dash or accent to fold, and each pass costs a copy
        return text.lower()
    text = text.translate(_QUOTES)
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.lower()


# "What's", "who's", "there's": "is" cut short, not a possessive. Read as "whats": "what's a blog" asks what it is.
_IS_CONTRACTED = frozenset("what's who's that's it's there's here's where's how's when's why's he's she's let's"
                           .split())


def words(text: str) -> list[str]:
    """The words of a text, lower-cased, possessive 's dropped ("pupils'" and "pupil's" become "pupil")."""
    text = normalise(text)
    if "long as" in text:
        text = _CONDITIONAL_LONG.sub(r"\1 \2", text)
    if any(cue in text for cue in _IS_IT_OK_CUES):
        text = _IS_IT_OK.sub(" is it ok ", text)
    found = _WORD.findall(text)
    if "'" not in text and (_DIGITS.isdisjoint(text) or _DIGITS_S.search(text) is None):
        return found  # most clauses: no apostrophe or "9s" to rewrite, and the per-word pass is the slow part
    out = []
    for w in found:
        if w.endswith("'s") and w not in _IS_CONTRACTED:
            w = w[:-2]  # then read like any other word: "a Y10's TikTok" is a year 10 pupil's
        elif w[:1].isdigit() and w.endswith("s") and w[:-1].isdigit():
            w = w[:-1]  # "my year 9s", "under 13s": the year group, the age
        if w[:1] == "y" and (group := _YEAR_GROUP.fullmatch(w)):
            out += ["year", group.group(1)]
            continue
        out.append(w.replace("'", ""))
    return out


class WordSplits(dict[str, list[str]]):
    """`words` of each text asked for, remembered for one build: the duplicate merge and the index both read every
    clause, and lead-ins repeat, so each distinct text is split once. Callers must not change the lists."""

    def __missing__(self, text: str) -> list[str]:
        found = self[text] = words(text)
        return found


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The staff vocabulary: shorthand to expand, concepts to recognise, and the ideas that mark the domain."""

    shorthand: dict[str, tuple[str, ...]]
    phrases: dict[tuple[str, ...], tuple[str, ...]]  # a stemmed word sequence -> the concepts it names
    longest: int  # the most words in any phrase, to bound the phrase scan
    domain: frozenset[str]  # concept terms ("@social_media") that mark a question as about online conduct
    known: frozenset[str]  # every surface word the vocabulary knows, for the typo corrector
    question_types: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # opening words -> answer terms
    exact: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)  # words as written -> concepts
    broader: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "@self_harm" -> ("@safeguarding",)
    # Ideas the policies deal with that are as often about something else ("complain about my timetable", "in
    # breach of contract"): a question is about online conduct with two of them, or one and a `domain` idea.
    conduct: frozenset[str] = frozenset()
    # Words that name the domain only loosely ("online", "app", "contact"): "can parents pay for trips online" is not
    # about online conduct, so a `domain` idea named only in such words counts like a `conduct` one.
    loose: frozenset[str] = frozenset()
    # Words after which a question word describes someone rather than asks ("a pupil who posts"): no cue there.
    describing: frozenset[str] = frozenset()
    asking: frozenset[str] = frozenset()  # ... unless the next word goes on as a question does ("who do I ask")
    elsewhere: frozenset[str] = frozenset()  # matters other policies deal with: pay, IT support, data rights (`topic`)
    # A platform (`platforms`) named after one of `owners` ("a class instagram", "the school twitter") is an account.
    platforms: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()
    # Year groups under 13, the minimum age most networks set ("year" then one of `young_years`, or one of
    # `young_words`): named with one of the `age_with` ideas (a page), they raise the age limit (see `analyse_words`).
    young_years: frozenset[str] = frozenset()
    young_words: frozenset[str] = frozenset()
    age_with: frozenset[str] = frozenset()
    # The jobs people name when they say who is asking ("I'm a TA and ...", "School business manager here."): a
    # self-introduction holding one says who asks, not what about (see `ClauseIndex._asker_weighed`).
    roles: frozenset[str] = frozenset()
    # Ideas that, named together, ask a third: whether some people must follow the policy asks whom it covers.
    together: tuple[tuple[frozenset[str], str], ...] = ()  # ({"@scope_people", "@comply"}, "@scope")
    # Conduct ideas that name a task, not conduct ("running" a page): they leave a question about pay or IT support
    # to whoever deals with those ("do I get paid extra for running the school's social media?").
    tasks: frozenset[str] = frozenset()
    # A platform named after an owner is an account when a part of it follows too: "the dept insta login".
    account_parts: frozenset[str] = frozenset()
    # Which words can start a phrase at all (most start none), as a stem (stem_starts) or as written (word_starts),
    # and which can start one alone (a one-word entry). Common words start many phrases ("of" starts "of me"),
    # so a position is looked at only when its next word fits too: the phrase lengths that start at each pair of
    # words, longest first, are all the scan tries there.
    stem_starts: frozenset[str] = field(init=False, default=frozenset())
    word_starts: frozenset[str] = field(init=False, default=frozenset())
    single_starts: frozenset[str] = field(init=False, default=frozenset())
    stem_pairs: dict[tuple[str, str], tuple[int, ...]] = field(init=False, default_factory=dict)
    word_pairs: dict[tuple[str, str], tuple[int, ...]] = field(init=False, default_factory=dict)
    # Which question types (by position in `question_types`) can start at a word: a question is read once.
    cue_starts: dict[str, tuple[int, ...]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        singles: set[str] = set()
        for table, starts, pairs in (("phrases", "stem_starts", self.stem_pairs), ("exact", "word_starts",
                                                                                    self.word_pairs)):
            keys = getattr(self, table)
            for key in keys:
                if len(key) == 1:
                    singles.add(key[0])
                else:
                    pairs[key[:2]] = (*pairs.get(key[:2], ()), len(key))
            for pair, lengths in pairs.items():
                pairs[pair] = tuple(sorted(set(lengths), reverse=True))
            object.__setattr__(self, starts, frozenset(key[0] for key in keys))  # a frozen dataclass, completed here
        object.__setattr__(self, "single_starts", frozenset(singles))
        for k, (cue, _) in enumerate(self.question_types):
            self.cue_starts[cue[0]] = (*self.cue_starts.get(cue[0], ()), k)

    @classmethod
    def load(cls, path: Path = VOCABULARY_FILE) -> "Vocabulary":
        """Read the vocabulary file (TOML) into lookup tables.

        An entry matches by stems ("parent" also finds "parents"), or, written with a leading "=", only in
        the forms written: "=relatives" must not find "relating", which has the same stem. A phrase listed
        under two concepts names both ("look through" a pupil's profile is looking at it and accessing it).
        """
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        shorthand = {k.lower(): tuple(words(v)) for k, v in data.get("shorthand", {}).items()}
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        exact: dict[tuple[str, ...], tuple[str, ...]] = {}
        first_written: dict[tuple[str, ...], tuple[str, ...]] = {}  # stem key -> the words that claimed it
        known: set[str] = set(shorthand)
        for concept, entries in data.get("concepts", {}).items():
            for entry in entries:
                as_written = entry.startswith("=")
                ws = tuple(_expand(words(entry.lstrip("=")), shorthand))
                known.update(ws)
                if not ws:
                    continue
                if as_written:
                    exact[ws] = (*exact.get(ws, ()), "@" + concept)
                    continue
                key = tuple(stem(w) for w in ws)
                claimed = first_written.setdefault(key, ws)
                if claimed == ws and "@" + concept not in phrases.get(key, ()):
                    # The same words under two concepts name both; a different word that only shares the stem
                    # ("reporter" under media, "report" under reporting) leaves the stem to the first listing.
                    phrases[key] = (*phrases.get(key, ()), "@" + concept)
        for entry in data.get("not_ideas", {}).get("phrases", []):
            # Words that, together, are not the idea one of them names alone: read as a phrase naming nothing.
            phrases.setdefault(tuple(stem(w) for w in _expand(words(entry), shorthand)), ())
        domain = frozenset("@" + c for c in data.get("domain", {}).get("concepts", []))
        conduct = frozenset("@" + c for c in data.get("domain", {}).get("conduct", []))
        longest = max((len(k) for k in (*phrases, *exact)), default=1)
        question_types = tuple(
            (tuple(words(cue)), tuple(t if t.startswith("@") else stem(t) for t in targets))
            for cue, targets in data.get("question_types", {}).items())
        broader = {"@" + c: tuple("@" + b for b in bs) for c, bs in data.get("broader", {}).items()}
        together = tuple((frozenset("@" + c for c in named), "@" + asks)
                         for asks, named in data.get("together", {}).items())
        loose = frozenset(w for entry in data.get("domain", {}).get("loose", []) for w in words(entry))
        describing = frozenset(w for entry in data.get("describing", {}).get("after", []) for w in words(entry))
        asking = frozenset(w for entry in data.get("describing", {}).get("asking", []) for w in words(entry))
        elsewhere = frozenset("@" + c for c in data.get("domain", {}).get("elsewhere", []))
        accounts = data.get("platform_accounts", {})
        young = data.get("under_13", {})
        return cls(shorthand, phrases, longest, domain, frozenset(known), question_types, exact, broader, conduct,
                   loose, describing, asking, elsewhere, frozenset(accounts.get("platforms", [])),
                   frozenset(accounts.get("after", [])), frozenset(young.get("years", [])),
                   frozenset(young.get("words", [])), frozenset("@" + c for c in young.get("with", [])),
                   frozenset(w for entry in data.get("asker", {}).get("roles", []) for w in words(entry)),
                   together=together, tasks=frozenset("@" + c for c in data.get("domain", {}).get("tasks", [])),
                   account_parts=frozenset(accounts.get("parts", [])))

    def topic(self, analysed: "Analysed") -> str:
        """How surely the ideas a question names make it one about online conduct: "online" (a `domain` idea, or two
        `conduct` ideas), "conduct" (one `conduct` idea: "complain", "in breach" are as often about other things), or
        "other". A `domain` idea named only in `loose` words ("online", "app") counts as a `conduct` one. A question
        that names a matter dealt with `elsewhere` (pay, IT support) and no `conduct` idea is "other", however surely
        it names a platform: "can I claim overtime for running the school's Facebook page?" asks about pay, and "get
        TikTok unblocked on the school network" asks IT; neither asks about conduct."""
        named = set(analysed.concepts)
        firmly = {c for c, (start, end) in zip(analysed.concepts, analysed.concept_spans) if c in self.domain
                  and (start < 0 or any(analysed.surface[i] not in self.loose for i in range(start, end)))}
        loosely = (named & self.domain) - firmly
        conduct = len(named & self.conduct) + len(loosely)
        found = "online" if firmly or conduct >= 2 else "conduct" if conduct else "other"
        return "other" if self.dealt_with_elsewhere(analysed) else found

    def dealt_with_elsewhere(self, analysed: "Analysed") -> str:
        """The matter others deal with that a question names ("pay", "it_support"), or "" when it names none or also
        names a conduct idea other than a task (then the policies are where to look: `topic` reads it as online
        conduct)."""
        if any(c in self.conduct and c not in self.tasks for c in analysed.concepts):
            return ""
        return next((c[1:] for c in analysed.concepts if c in self.elsewhere), "")

    def _describes(self, question_words: list[str], at: int, length: int) -> bool:
        """Whether the cue at `at` describes someone ("a pupil who posts") rather than asks."""
        after = question_words[at + length] if at + length < len(question_words) else ""
        return at > 0 and question_words[at - 1] in self.describing and after not in self.asking

    def answer_cues(self, question_words: list[str]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """The kinds of question asked ("how often" ...), each with the terms its answer tends to contain, in the
        vocabulary's order."""
        named = sorted({k for i, word in enumerate(question_words) for k in self.cue_starts.get(word, ())
                        if tuple(question_words[i:i + len(self.question_types[k][0])]) == self.question_types[k][0]
                        and not self._describes(question_words, i, len(self.question_types[k][0]))})
        return [self.question_types[k] for k in named]

    def answer_terms(self, question_words: list[str]) -> list[str]:
        """Terms the answer to this kind of question tends to contain ("who" -> roles)."""
        found: list[str] = []
        for _, targets in self.answer_cues(question_words):  # in the vocabulary's order, as the weights were set
            found.extend(t for t in targets if t not in found)
        return found


def _expand(ws: list[str], shorthand: dict[str, tuple[str, ...]]) -> list[str]:
    if shorthand.keys().isdisjoint(ws):
        return list(ws)  # most texts: nothing to expand, and the per-word pass is the slow part of a 50k build
    out: list[str] = []
    for w in ws:
        out.extend(shorthand.get(w, (w,)))
    return out


def _shares(ws: list[str], shorthand: dict[str, tuple[str, ...]]) -> list[float]:
    # "slt" is one word of the question however many words it expands to: its words share one word's weight.
    if shorthand.keys().isdisjoint(ws):
        return [1.0] * len(ws)
    out: list[float] = []
    for w in ws:
        n = len(shorthand.get(w, (w,)))
        out.extend([1.0 / n] * n)
    return out


@dataclass(frozen=True, slots=True)
class Analysed:
    """A text as the index sees it: content stems in order, and the concepts found in it."""

    stems: tuple[str, ...]  # content words only (stop words removed), stemmed
    surface: tuple[str, ...]  # the same words unstemmed, for the typo corrector and the summary line
    concepts: tuple[str, ...]  # "@parent", ... in order of appearance, repeated if mentioned twice
    concept_spans: tuple[tuple[int, int], ...]  # which content words each concept covers
    shares: tuple[float, ...] = ()  # each content word's share of a written word (1/3 for each word of "slt")
    phrased: tuple[bool, ...] = ()  # for each concept, whether a phrase of two or more written words named it

    def terms(self) -> list[str]:
        """Every term the text contributes to a bag of words: stems and concepts."""
        return [*self.stems, *self.concepts]


def analyse(text: str, vocab: Vocabulary, split: Callable[[str], list[str]] = words) -> Analysed:
    """Analyse a clause or a question into stems and concepts (`split` gives a text's words; see `WordSplits`)."""
    return analyse_words(split(text), vocab)


# What a negation applies to: the few words after "not", "never", "don't", up to the end of the clause of the sentence
# it is in (a mark, or a word that starts another clause). "Not a pupil" contrasts rather than negates.
_NEGATORS = frozenset("not never dont doesnt didnt isnt arent wasnt werent wont cannot cant shouldnt mustnt "
                      "havent hasnt without nothing".split())
_NEGATION_ENDS = frozenset("or and but so because if when while though although".split())
_CLAUSE_MARKS = re.compile(r"[,.;:!?()\n]+|\s-+\s")  # a dash between words, not in "self-harm"
NEGATION_WORDS = 4  # words after a negator it applies to: "never mention the school", "don't use their names"


def negated_terms(text: str, vocab: Vocabulary) -> frozenset[str]:
    """The stems and ideas a text says are not done or not so ("if they never mention school": mention)."""
    found: set[str] = set()
    for part in _CLAUSE_MARKS.split(normalise(text)):
        ws = words(part)
        for at, word in enumerate(ws):
            if word not in _NEGATORS or ws[at + 1:at + 2] in (["a"], ["an"]):
                continue
            scope: list[str] = []
            for w in ws[at + 1:at + 1 + NEGATION_WORDS]:
                if w in _NEGATION_ENDS:
                    break
                scope.append(w)
            analysed = analyse_words(scope, vocab)
            found.update(analysed.stems, analysed.concepts)
    return frozenset(found)


def analyse_words(text_words: list[str], vocab: Vocabulary, broaden: bool = False) -> Analysed:
    """Analyse text already split into words (see `words`). With `broaden` (for questions), a concept also
    names the wider ideas it is a case of: a question about self-harm is answered by the clauses on
    safeguarding concerns, though a clause on safeguarding in general does not become one about self-harm."""
    all_words = _expand(text_words, vocab.shorthand)
    all_shares = _shares(text_words, vocab.shorthand)
    all_stems = [stem(w) for w in all_words]
    concepts: list[str] = []
    spans: list[tuple[int, int]] = []
    phrased: list[bool] = []
    content = [w not in STOPWORDS for w in all_words]
    stem_starts, word_starts = vocab.stem_starts, vocab.word_starts
    singles, stem_pairs, word_pairs = vocab.single_starts, vocab.stem_pairs, vocab.word_pairs
    # Most words start no phrase: find the ones that do in one pass, and look for phrases only there.
    starting = [i for i, (s, w, s2, w2) in enumerate(zip(all_stems, all_words, [*all_stems[1:], ""],
                                                          [*all_words[1:], ""]))
                if (s in stem_starts or w in word_starts)
                and (s in singles or w in singles or (s, s2) in stem_pairs or (w, w2) in word_pairs)]
    # Map each word position to its index among content words, so concept spans refer to content words.
    content_index: list[int] = []
    if starting:
        count = 0
        for is_content in content:
            content_index.append(count if is_content else -1)
            count += is_content
    n = len(all_stems)
    i = 0
    for at in starting:
        if at < i:
            continue  # inside a phrase found already
        i = at
        nexts = (all_stems[i + 1], all_words[i + 1]) if i + 1 < n else ("", "")
        lengths = stem_pairs.get((all_stems[i], nexts[0]), ())
        if (by_word := word_pairs.get((all_words[i], nexts[1]))) is not None:
            lengths = tuple(sorted({*lengths, *by_word}, reverse=True))
        # Longest phrase first, so "friend request" wins over "friend".
        for length in (*lengths, 1):
            if length > n - i:
                continue
            named = vocab.exact.get(tuple(all_words[i:i + length])) if vocab.exact else None
            if named is None:
                named = vocab.phrases.get(tuple(all_stems[i:i + length]))
            if named is not None:
                covered = [content_index[j] for j in range(i, i + length) if content_index[j] >= 0]
                if covered or length > 1:
                    span = (min(covered), max(covered) + 1) if covered else (-1, -1)
                    for concept in named:
                        for c in (concept, *(vocab.broader.get(concept, ()) if broaden else ())):
                            concepts.append(c)
                            spans.append(span)
                            phrased.append(length > 1)
                i += length - 1
                break
        i += 1
    if broaden and vocab.platforms:
        for at in _platforms_as_accounts(all_words, vocab):
            word = sum(content[:at])  # the platform's place among the content words, as spans count them
            concepts.append("@account")
            spans.append((word, word + 1))
            phrased.append(False)
    if broaden:
        for named, asks in vocab.together:
            if asks not in concepts and named <= set(concepts):
                # Covering the words of the last idea named: "follow the policy" is what asks whom it covers.
                concepts.append(asks)
                spans.append(max(span for concept, span in zip(concepts, spans) if concept in named))
                phrased.append(False)
    if broaden and vocab.age_with and not vocab.age_with.isdisjoint(concepts):
        if (young := _young_year_group(all_words, vocab)) is not None:
            start = sum(content[:young[0]])  # the year group's place among the content words, as spans count them
            concepts.append("@age")
            spans.append((start, start + sum(content[young[0]:young[1]])))
            phrased.append(False)
    return Analysed(tuple(compress(all_stems, content)), tuple(compress(all_words, content)), tuple(concepts),
                    tuple(spans), tuple(compress(all_shares, content)), tuple(phrased))


def _young_year_group(all_words: list[str], vocab: Vocabulary) -> tuple[int, int] | None:
    """Where a question names pupils under 13 by their year group ("my year 5s", "the KS2 choir"), as a word
    range; None when it names none. A page for them meets the networks' minimum age: "can I make a class TikTok for
    my year 5s?" is answered by the clauses on age limits, which the question never mentions."""
    for i, word in enumerate(all_words):
        if word == "year" and i + 1 < len(all_words) and all_words[i + 1] in vocab.young_years:
            return i, i + 2
        if word in vocab.young_words:
            return i, i + 1
    return None


def _platforms_as_accounts(all_words: list[str], vocab: Vocabulary) -> list[int]:
    """Where a question names a platform as a thing someone has, an account: "a class instagram", "set up a twitter
    for fixtures", "the school tiktok". Not where another word says what on it is meant: "a youtube video", "a
    snapchat add", "our facebook page" (which names the page already). A part of the account after it ("the dept
    insta login", "the school twitter password") still means the account."""
    if vocab.platforms.isdisjoint(all_words):
        return []
    last = len(all_words) - 1
    return [i for i, w in enumerate(all_words) if w in vocab.platforms and i > 0 and all_words[i - 1] in vocab.owners
            and (i == last or all_words[i + 1] in STOPWORDS or all_words[i + 1] in vocab.account_parts)]
