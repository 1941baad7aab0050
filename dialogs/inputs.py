"""Reading what a person typed as an answer: a choice, yes or no, a date, a link, or free text.

Each reader returns the value to keep, or raises `Invalid` with a kind sentence saying what would work.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process


class Invalid(ValueError):
    """The answer cannot be used; the message says, kindly, what would work."""


YES = {"yes", "y", "yeah", "yep", "yup", "ya", "sure", "ok", "okay", "correct", "true", "i have", "it is",
       "they are", "definitely", "already accepted", "accepted"}
NO = {"no", "n", "nope", "nah", "not", "false", "no they are not", "i have not", "not yet", "none"}
UNKNOWN = {"not sure", "unsure", "don't know", "dont know", "do not know", "not known", "unknown", "no idea",
           "i don't know", "i dont know", "idk"}

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t]+")


def clean(text: str) -> str:
    """User text as it is kept: control, zero-width and direction-override characters removed, trimmed."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("\u2019", "'")).strip()


def read_yes_no(text: str) -> bool:
    """Yes or no, as people type it."""
    key = _key(text)
    if key in UNKNOWN:
        raise Invalid("Please answer yes or no. If you're not sure, choose the safer answer; you can explain "
                      "in your own words later.")
    if key in YES or key.startswith(("yes ", "yeah ", "yep ")):
        return True
    if key in NO or key.startswith(("no ", "nope ", "not ")):
        return False
    raise Invalid("Please answer yes or no.")


def read_choice(text: str, labels: Sequence[str], keywords: Sequence[Sequence[str]] = ()) -> int:
    """Which of the labelled options the text picks: by number, by label, by a keyword, or by a close spelling."""
    key = _key(text)
    if not key:
        raise Invalid("Please pick one of the options.")
    if key.isdigit() and 1 <= int(key) <= len(labels):
        return int(key) - 1
    keyed = [_key(label) for label in labels]
    if key in keyed:
        return keyed.index(key)
    words = set(key.split())
    hits = {i for i, kws in enumerate(keywords) for kw in kws if kw in words or (" " in kw and kw in key)}
    if not hits:  # a misspelt keyword ("colleage") still picks its option
        hits = {i for i, kws in enumerate(keywords) for kw in kws for word in words
                if len(word) >= 4 and len(kw) >= 4 and fuzz.ratio(word, kw) >= 85}
    if len(hits) == 1:
        return hits.pop()
    best = process.extract(key, keyed, scorer=fuzz.WRatio, limit=2)
    if best and best[0][1] >= 86 and (len(best) == 1 or best[0][1] - best[1][1] >= 6):
        return best[0][2]
    raise Invalid("I didn't catch which one you meant. Please pick one of the options"
                  + (" (you can type its number)." if len(labels) > 1 else "."))


def read_text(text: str, min_chars: int, max_chars: int) -> str:
    """Free text within length limits."""
    if len(text) < min_chars:
        if not text:
            raise Invalid("I need an answer to this one before we go on.")
        raise Invalid("Could you tell me a little more? A sentence or two is enough.")
    if len(text) > max_chars:
        raise Invalid(f"That's longer than I can keep ({len(text)} characters; the limit is {max_chars}). "
                      "Please shorten it to the main facts.")
    return text


_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*:(?://)?\S+|www\.\S+)")
_HANDLE = re.compile(r"(?<![\w.])@[A-Za-z0-9_.]{2,}")


def read_link(text: str, max_chars: int = 500) -> str:
    """Where something is: a web link (http or https only), an @account, or the platform named in words."""
    if len(text) > max_chars:
        raise Invalid(f"Please keep this to the platform and link or account name (under {max_chars} characters).")
    for url in _URL.findall(text):
        if url.lower().startswith("www."):
            url = "https://" + url
        parts = urlsplit(url.rstrip(").,;"))
        if parts.scheme.lower() not in {"http", "https"} or "." not in parts.netloc:
            raise Invalid("That link doesn't look like a web address. Paste a link that starts with https://, "
                          "or tell me the platform and the account name.")
    if _URL.search(text) or _HANDLE.search(text) or sum(ch.isalpha() for ch in text) >= 3:
        return text
    raise Invalid("Tell me the platform (for example Facebook, Instagram or TikTok) and, if you have it, "
                  "the link or the account name.")


_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_TIME = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)\b|\b(\d{1,2}):(\d{2})\b")
_NUMERIC = re.compile(r"\b(\d{1,4})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")
_WORDY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?(?:\s+(\d{4}))?\b")
_AGO = re.compile(r"\b(\d{1,3}|a|an|one|two|three|four|five|six|seven)\s+(day|days|week|weeks)\s+ago\b")
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def read_when(text: str, now: datetime) -> dict[str, str]:
    """When something happened: 'today', 'yesterday at 3pm', 'last Tuesday', '20/11/2026', '20 Nov'. UK order.

    Returns the words as given plus the date read from them (ISO), and the time where one was given. A date
    in the future is refused; "not sure" is kept as unknown.
    """
    key = text.lower().strip()
    if _key(key) in UNKNOWN:
        return {"text": text, "date": ""}
    when = _read_date(key, now.date())
    if when is None:
        raise Invalid("I couldn't read that as a date. Try 'today', 'yesterday evening', 'last Friday' or a date "
                      "like 20/11/2026. If you don't know, say 'not sure'.")
    if when > now.date():
        raise Invalid("That date is in the future. When did it happen (or when did you first see it)?")
    out = {"text": text, "date": when.isoformat()}
    clock = _read_time(key)
    if clock:
        out["time"] = clock
    return out


def _read_date(key: str, today: date) -> date | None:
    explicit = _explicit_date(key, today)
    if explicit is not None:
        return explicit if explicit != date.min else None
    relative = {"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0,
                "earlier": 0, "just now": 0, "yesterday": 1, "last night": 1, "last week": 7}
    for words, back in relative.items():
        if words in key:
            return today - timedelta(days=back)
    if m := _AGO.search(key):
        n = int(m.group(1)) if m.group(1).isdigit() else _NUMBER_WORDS[m.group(1)]
        return today - timedelta(days=n * (7 if m.group(2).startswith("week") else 1))
    for i, day in enumerate(_WEEKDAYS):
        if re.search(rf"\b{day}\b", key):
            back = (today.weekday() - i) % 7 or (7 if "last" in key else 0)
            return today - timedelta(days=back)
    return None


def _explicit_date(key: str, today: date) -> date | None:
    """A date written out (20/11/2026, 2026-11-20, 20 Nov); date.min when it is written but impossible."""
    if m := _NUMERIC.search(key):
        a, b, c = m.groups()
        try:
            if len(a) == 4:  # 2026-11-20
                return date(int(a), int(b), int(c or 1))
            year = int(c) if c else today.year
            year += 2000 if year < 100 else 0
            found = date(year, int(b), int(a))  # day first, as in the UK
        except ValueError:
            return date.min
        return found if c or found <= today else found.replace(year=found.year - 1)
    for m in _WORDY.finditer(key):
        month = _MONTHS.get(m.group(2)[:3])
        if month:
            try:
                found = date(int(m.group(3) or today.year), month, int(m.group(1)))
            except ValueError:
                return date.min
            return found if m.group(3) or found <= today else found.replace(year=found.year - 1)
    return None


def _read_time(key: str) -> str:
    m = _TIME.search(key)
    if not m:
        return ""
    if m.group(3):
        hour, minute = int(m.group(1)) % 12 + (12 if m.group(3) == "pm" else 0), int(m.group(2) or 0)
    else:
        hour, minute = int(m.group(4)), int(m.group(5))
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else ""
