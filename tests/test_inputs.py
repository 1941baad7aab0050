"""Reading typed answers: dates in UK order and everyday words, choices by number or misspelt, links, yes/no."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialogs.inputs import Invalid, clean, read_choice, read_link, read_when, read_yes_no

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize("typed, day, time", [
    ("today", "2026-11-20", None), ("yesterday at 8pm", "2026-11-19", "20:00"), ("last night", "2026-11-19", None),
    ("on Tuesday", "2026-11-17", None), ("last Friday", "2026-11-13", None), ("3 days ago", "2026-11-17", None),
    ("18/11/2026", "2026-11-18", None), ("18/11", "2026-11-18", None), ("2026-11-02", "2026-11-02", None),
    ("2nd Nov at 14:30", "2026-11-02", "14:30"), ("25 December", "2025-12-25", None),
])
def test_dates_people_type_are_read(typed, day, time):
    when = read_when(typed, NOW)
    assert when["date"] == day and when.get("time") == time and when["text"] == typed


@pytest.mark.parametrize("typed, complaint", [("21/11/2026", "future"), ("31/02/2026", "couldn't read"),
                                              ("purple", "couldn't read")])
def test_impossible_or_future_dates_are_refused_kindly(typed, complaint):
    with pytest.raises(Invalid, match=complaint):
        read_when(typed, NOW)


def test_an_unknown_date_is_allowed_as_unknown():
    assert read_when("not sure", NOW) == {"text": "not sure", "date": ""}


@pytest.mark.parametrize("typed, index", [("2", 1), ("a parent", 1), ("Parent or carer", 1), ("colleage", 2),
                                          ("my mum", 1)])
def test_a_choice_is_read_by_number_words_or_a_close_spelling(typed, index):
    labels = ["A current pupil", "A parent or carer", "A colleague"]
    keywords = [("pupil",), ("parent", "mum"), ("colleague",)]
    assert read_choice(typed, labels, keywords) == index


def test_an_unclear_choice_is_asked_again():
    with pytest.raises(Invalid, match="didn't catch"):
        read_choice("banana", ["A current pupil", "A parent or carer"])


@pytest.mark.parametrize("typed", ["https://facebook.com/groups/123", "www.tiktok.com/@someone", "Instagram",
                                   "@angry_parent on X"])
def test_links_accounts_and_platform_names_are_accepted(typed):
    assert read_link(typed) == typed


@pytest.mark.parametrize("typed", ["javascript:alert(1)", "file:///etc/passwd", "ftp://x.y/z", "??"])
def test_unsafe_or_empty_links_are_refused(typed):
    with pytest.raises(Invalid):
        read_link(typed)


def test_yes_and_no_in_everyday_words():
    assert read_yes_no("Yeah") is True and read_yes_no("nope") is False
    with pytest.raises(Invalid):
        read_yes_no("maybe")


def test_clean_drops_control_zero_width_and_direction_override_characters():
    assert clean("  he\u200bllo\x00 \u202eworld\r\n ") == "hello world"
