"""Split one policy document (plain text or Markdown) into citable clauses.

Policies arrive as text converted from Word or PDF, so the structure is implied rather than marked up:
numbered clauses (`5.3`, sometimes behind a bullet marker), numbered or Markdown or plain short headings,
bullets whose meaning depends on the sentence that introduces them, bold bullets used as sub-headings,
paragraphs broken in two by a page break, and tab-separated tables. The splitter reads the document line by
line, classifies each line, and assembles clauses that keep their number (or heading path and position),
their nearest heading, and the lead-in a bullet depends on.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from knowledge.clause import Clause

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•·▪●]|👑)(?:\s+(.*))?$")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?(?:\s+(.*))?$")
_TAG = re.compile(r"<[^>]*>")
_FORM_BLANK = re.compile(r"_{4,}")
_TERMINAL = tuple(".;,!?")
_LEAD_IN_END = re.compile(r":-?\s*$")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,4}\b")
_HEADING_WORDS = 12
_NUMBERED_HEADING_WORDS = 7
_SUBHEADING_WORDS = 5
_LABEL_WORDS = 8  # "Managing your personal use of Social Media:" labels the bullets below it
_FRAGMENT_WORDS = 8  # "5.3 As an employee you must" only introduces its bullets
_LIST_CHARS = 700  # a lead-in and its bullets up to this length are also kept whole, as one clause
LIST_ITEM = "\n- "  # how a list kept whole writes each of its bullets after the lead-in


def clean(text: str) -> str:
    """Remove markup (emphasis, HTML tags and entities) and fold whitespace, keeping the words as written."""
    text = html.unescape(_TAG.sub(" ", text))
    text = text.replace("**", "").replace("*", "").replace("👑", " ")  # the crown is a converted bullet glyph
    return " ".join(text.split())


def _is_lead_in(text: str) -> bool:
    return bool(_LEAD_IN_END.search(text))


def _strip_lead_in_colon(text: str) -> str:
    return _LEAD_IN_END.sub("", text).rstrip()


def _looks_like_heading(text: str) -> bool:
    """Short, unpunctuated lines that start with a capital are headings in converted documents."""
    words = text.split()
    if not words or len(words) > _HEADING_WORDS or text.endswith(_TERMINAL):
        return False
    return text[0].isupper() or text[0] in "\"'“‘"


def _is_bold_only(raw: str) -> bool:
    raw = raw.strip()
    return raw.startswith("**") and raw.endswith("**") and len(raw.strip("*").split()) <= _SUBHEADING_WORDS


@dataclass(slots=True)
class _Line:
    kind: str  # "heading" | "numbered" | "bullet" | "subheading" | "para" | "row"
    text: str
    number: str | None = None
    level: int = 0
    cells: list[str] = field(default_factory=list)


def _classify(lines: list[str]) -> list[_Line | None]:
    """Classify each line; None marks a blank line (or one we drop, such as a form's fill-in blank)."""
    out: list[_Line | None] = []
    in_table = False
    for raw in lines:
        if not raw.strip() or _FORM_BLANK.search(raw):
            out.append(None)
            in_table = False
            continue
        if "\t" in raw:
            cells = [clean(c) for c in raw.split("\t")]
            header = not in_table
            in_table = True
            if cells and cells[-1].isdigit() or cells[-1].upper() == "PAGE":
                out.append(None)  # a table of contents: page numbers are not policy
            elif header and all(len(c.split()) <= 3 for c in cells if c):
                out.append(None)  # a header row names the columns; the rows carry the content
            else:
                out.append(_Line("row", " ".join(c for c in cells[1:] if c), number=cells[0], cells=cells))
            continue
        in_table = False
        if m := _MD_HEADING.match(raw):
            title = clean(m.group(2))
            number = None
            if n := _NUMBERED.match(title):
                number, title = n.group(1), n.group(2) or ""
            out.append(_Line("heading", _strip_lead_in_colon(title), number=number, level=len(m.group(1))))
            continue
        is_bullet = False
        body = raw
        if m := _BULLET.match(raw):
            is_bullet = True
            body = m.group(1) or ""
            if not body.strip():
                out.append(None)
                continue
            if _is_bold_only(body):
                out.append(_Line("subheading", _strip_lead_in_colon(clean(body))))
                continue
        text = clean(body)
        if n := _NUMBERED.match(text):
            if n.group(2):
                out.append(_Line("numbered", n.group(2), number=n.group(1)))
                continue
        out.append(_Line("bullet" if is_bullet else "para", text))
    return _promote_numbered_headings(out)


def _promote_numbered_headings(lines: list[_Line | None]) -> list[_Line | None]:
    """A numbered line is a heading when it is short or in capitals, or when the next numbered line is its
    first child; never when bullets follow it, since then it introduces them."""
    present = [ln for ln in lines if ln is not None]
    following = {id(ln): present[i + 1] if i + 1 < len(present) else None for i, ln in enumerate(present)}
    numbered = [ln for ln in present if ln.kind == "numbered"]
    for i, ln in enumerate(numbered):
        nxt = numbered[i + 1].number if i + 1 < len(numbered) else ""
        after = following[id(ln)]
        if after is not None and after.kind == "bullet":
            continue
        short = len(ln.text.split()) <= _NUMBERED_HEADING_WORDS and not _is_lead_in(ln.text)
        has_child = bool(nxt) and nxt.startswith(ln.number + ".")
        if short or ln.text.isupper() or (has_child and "." not in ln.number):
            ln.kind = "heading"
            ln.text = _strip_lead_in_colon(ln.text.rstrip("."))
            ln.level = ln.number.count(".") + 1
    return lines


def _merge_continuations(lines: list[_Line | None]) -> list[_Line]:
    """Join text broken by a page break: a line starting in lower case continues the one before it."""
    merged: list[_Line] = []
    for ln in lines:
        if ln is None:
            continue
        starts_lower = ln.text[:1].islower()
        if ln.kind == "para" and starts_lower and merged and merged[-1].kind in ("para", "bullet", "numbered", "row"):
            merged[-1].text = f"{merged[-1].text} {ln.text}"
            continue
        merged.append(ln)
    return merged


def _sentence_case(title: str, acronyms: set[str]) -> str:
    if not title.isupper():
        return title
    words = [w if w in acronyms or len(w) == 1 else w.lower() for w in title.split()]
    first = words[0]
    words[0] = first if first in acronyms else first[:1].upper() + first[1:]
    return " ".join(words)


@dataclass(slots=True)
class _Heading:
    level: int
    title: str
    number: str | None
    plain: bool  # a short unmarked line, not a numbered or Markdown heading


class _Assembler:
    """Walks classified lines, keeping the heading stack and the current lead-in, and emits clauses."""

    def __init__(self, source: str, acronyms: set[str], parents: set[str], marked: bool) -> None:
        self.source = source
        self.marked = marked  # the document marks its headings (Markdown), so unmarked short lines are prose
        self.parents = parents  # section numbers that have explicitly numbered clauses under them
        self.acronyms = acronyms
        self.headings: list[_Heading] = []
        self.subheading: str | None = None
        self.lead: tuple[str, str] | None = None  # (id, text) of the clause that introduces the bullets
        self.bullet_index = 0
        self.counters: dict[tuple[str, ...], int] = {}
        self.last_number: str | None = None
        self.just_headed = False
        self.clauses: list[Clause] = []
        self.lists: dict[str, list[str]] = {}  # lead-in clause number -> the bullets it introduces

    # ---- headings -------------------------------------------------------------------------------------
    def heading(self, ln: _Line) -> None:
        title = _sentence_case(ln.text, self.acronyms)
        if ln.number is not None:
            level = ln.level if ln.level else ln.number.count(".") + 1
            self._push(_Heading(level, title, ln.number, plain=False))
        elif ln.level:  # Markdown
            self._push(_Heading(ln.level, title, None, plain=False))
        else:
            self._push_plain(title, lead_in=False)
        self.last_number = None

    def _push_plain(self, title: str, lead_in: bool) -> None:
        deepest = self.headings[-1].level if self.headings else 0
        if self.just_headed or lead_in:
            # Directly under another heading, or a "Roles & Responsibilities:" label: a child of what is open.
            if lead_in and self.headings and self.headings[-1].plain and not self.just_headed:
                level = deepest  # a second label replaces the first
            else:
                level = deepest + 1
        else:
            level = 1  # an unmarked heading after body text starts a new top-level section
        self._push(_Heading(level, _sentence_case(title, self.acronyms), None, plain=True))

    def _push(self, heading: _Heading) -> None:
        while self.headings and self.headings[-1].level >= heading.level:
            self.headings.pop()
        self.headings.append(heading)
        self.subheading = None
        self.lead = None
        self.just_headed = True

    # ---- numbering ------------------------------------------------------------------------------------
    def _path(self) -> tuple[str, ...]:
        return tuple(h.title for h in self.headings if h.title)

    def _section_number(self) -> str | None:
        for h in reversed(self.headings):
            if h.number is not None:
                return h.number
            if not h.plain:
                return None
        return None

    def _next_position(self) -> int:
        key = (*self._path(), self.subheading or "")
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    def _paragraph_id(self) -> str:
        position = self._next_position()
        section = self._section_number()
        path = self._path()
        if self.last_number is not None:
            return self.last_number  # prose that continues an explicitly numbered clause
        if section is not None:
            if section in self.parents:
                return section  # the introduction of a section whose clauses carry their own numbers
            if "." in section:
                return section if position == 1 else f"{section} ¶{position}"
            return f"{section}.{position}"
        label = " › ".join(p for p in (*path, self.subheading or "") if p) or "Preamble"
        return f"{label} #{position}"

    # ---- clauses --------------------------------------------------------------------------------------
    def _title(self) -> str:
        for h in reversed(self.headings):
            if h.title:
                return h.title
        return ""

    def _emit(self, number: str, text: str, context: str = "") -> None:
        if not text or not any(ch.isalnum() for ch in text):
            return
        path = " › ".join(self._path())
        self.clauses.append(Clause(self.source, number, self._title(), text, context, headings=path))

    def numbered(self, ln: _Line) -> None:
        self.last_number = ln.number
        introduces = _is_lead_in(ln.text)
        if self.lead and self.lead[0].count(".") == ln.number.count(".") and _is_lead_in(self.lead[1]):
            context = self._lead_context()  # "2.2" under "2.1 This policy can:"
        else:
            context = ""
            self.lead = None
        fragment = len(ln.text.split()) < _FRAGMENT_WORDS and not ln.text.endswith(_TERMINAL) and not introduces
        if not fragment:  # "5.3 As an employee you must" lives on only as its bullets' lead-in
            self._emit(ln.number, ln.text, context)
        if introduces or not context:
            self.lead = (ln.number, ln.text)
            self.bullet_index = 0
        self.just_headed = False

    def para(self, ln: _Line) -> None:
        if not self.marked and _is_lead_in(ln.text) and len(ln.text.split()) <= _LABEL_WORDS and "," not in ln.text and ln.text[:1].isupper():
            self._push_plain(_strip_lead_in_colon(ln.text), lead_in=True)  # "Employees should:"
            self.lead = None
            return
        if not self.marked and _looks_like_heading(ln.text) and not _is_lead_in(ln.text):
            self.heading(ln)
            return
        number = self._paragraph_id()
        if not (_is_lead_in(ln.text) and len(ln.text.split()) < _FRAGMENT_WORDS):  # "This policy:" only leads in
            self._emit(number, ln.text)
        self.lead = (number, ln.text) if _is_lead_in(ln.text) else None
        self.bullet_index = 0
        self.subheading = None if self.lead else self.subheading
        self.just_headed = False

    def subhead(self, ln: _Line) -> None:
        self.subheading = ln.text
        self.lead = None
        self.just_headed = False

    def _lead_context(self) -> str:
        assert self.lead is not None
        number, text = self.lead
        prefix = f"{number} " if number[:1].isdigit() else ""
        return prefix + _strip_lead_in_colon(text)

    def bullet(self, ln: _Line) -> None:
        if self.lead is not None:
            self.bullet_index += 1
            number = f"{self.lead[0]}({_letter(self.bullet_index)})"
            self.lists.setdefault(self.lead[0], []).append(ln.text)
            self._emit(number, ln.text, self._lead_context())
        else:
            number = self._paragraph_id()
            self._emit(number, ln.text, self.subheading or "")
        self.just_headed = False

    def row(self, ln: _Line) -> None:
        label = ln.number or ""
        title = self._title()
        number = f"{title} › {label}" if title and label else (label or self._paragraph_id())
        self._emit(number, ln.text, label)
        self.just_headed = False


def _letter(index: int) -> str:
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def _acronyms(text: str) -> set[str]:
    """Words written in capitals inside ordinary sentences (SLT, QEII): kept when a heading is sentence-cased."""
    found: set[str] = set()
    for line in text.splitlines():
        stripped = clean(line)
        if stripped and not stripped.isupper():
            found.update(_ACRONYM.findall(stripped))
    return found


def document_title(text: str) -> str | None:
    """The document's own title: a Markdown H1, or a first line that reads like a title."""
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if m := _MD_HEADING.match(raw):
            return clean(m.group(2))
        first = clean(raw)
        if len(first.split()) <= 20 and not first.endswith(_TERMINAL) and not _is_lead_in(first):
            return first
        return None
    return None


def split_document(source: str, text: str) -> list[Clause]:
    """Split a policy's text into clauses, in document order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title = document_title(text)
    classified = _classify(lines)
    if title is not None:  # the title is not a clause
        for i, ln in enumerate(classified):
            if ln is not None:
                classified[i] = None
                break
    parents = {ln.number.rsplit(".", 1)[0] for ln in classified if ln is not None and ln.number and "." in ln.number
               and ln.kind in ("numbered", "heading")}
    marked = any(ln is not None and ln.kind == "heading" and ln.level and ln.number is None for ln in classified)
    assembler = _Assembler(source, _acronyms(text), parents, marked)
    handlers = {
        "heading": assembler.heading,
        "numbered": assembler.numbered,
        "para": assembler.para,
        "bullet": assembler.bullet,
        "subheading": assembler.subhead,
        "row": assembler.row,
    }
    for ln in _merge_continuations(classified):
        handlers[ln.kind](ln)
    return _with_whole_lists(assembler.clauses, assembler.lists)


def _with_whole_lists(clauses: list[Clause], lists: dict[str, list[str]]) -> list[Clause]:
    """Let a short list's lead-in clause carry its bullets too, so "what should a business case cover?" is
    answered by the whole list rather than by one arbitrary item of it."""
    out = []
    for clause in clauses:
        items = lists.get(clause.number)
        if not items and _is_lead_in(clause.text) and len(clause.text.split()) < _FRAGMENT_WORDS:
            continue  # "2.1 This policy can:" says nothing until the clauses it introduces
        if items and not clause.context:
            whole = clause.text + "".join(f"{LIST_ITEM}{item}" for item in items)
            if len(whole) <= _LIST_CHARS:
                clause = Clause(clause.source, clause.number, clause.title, whole, clause.context, clause.headings)
        out.append(clause)
    return out
