"""Slack Block Kit rendering: user words cannot ping or disguise links, buttons come back as sent, limits hold."""
from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.channels.slack_blocks import (LEAD_ACTION, PRESS_ACTION, alert, assign_reference, escape, lead_modal,
                                       parse_value, question_for_lead, render, reporter_update)
from dialogs.replies import Choices, Confirmation, Field, Option, Question, Quote, Summary, Text

NASTY = "Hi <!channel> and <@U123>, see <https://evil.example|Your bank> & more"
SAFE = "Hi &lt;!channel&gt; and &lt;@U123&gt;, see &lt;https://evil.example|Your bank&gt; &amp; more"
ALERT = {"type": "alert", "reference": "INC-0042", "kind": "Incident report", "category": "Harassment",
         "urgency": "urgent", "reporter": "Sam Jones", "status": "open"}


def shown_texts(blocks: list[dict[str, Any]], kind: str = "") -> list[str]:
    """Every string shown in the blocks (section texts, section fields and context elements), or those of one kind
    ("mrkdwn" or "plain_text"); buttons and headers aside."""
    texts = []
    for block in blocks:
        parts = ([block["text"]] if "text" in block and block["type"] != "header" else []) + block.get("fields", [])
        if block["type"] == "context":
            parts += block["elements"]
        texts += [part["text"] for part in parts if kind in ("", part["type"])]
    return texts


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn string in the blocks."""
    return shown_texts(blocks, "mrkdwn")


def assert_safe(text: str) -> None:
    """No raw "<" at all, "&" only in entities, ">" only as a block quote marker at a line start."""
    assert "<" not in text, text
    assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
    assert ">" not in re.sub(r"(?m)^> ", "", text), text


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"]


def assert_within_limits(blocks: list[dict[str, Any]], fallback: str) -> None:
    assert 0 < len(blocks) <= 50
    assert len(fallback) <= 300
    for block in blocks:
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
    for button in buttons(blocks):
        assert 0 < len(button["text"]["text"]) <= 75
        assert len(button["value"]) <= 2000
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids))


def test_escape_turns_pings_and_links_into_plain_words():
    assert escape(NASTY) == SAFE
    assert escape("a && b") == "a &amp;&amp; b"


@pytest.mark.parametrize("reply", [
    Text(NASTY), Text(NASTY, tone="urgent"), Text(NASTY, tone="warning"),
    Question("When did it happen?", hint="Any date", current=NASTY),
    Summary("Check your report", (Field("What happened", NASTY), Field("Where", "Instagram")),
            (Option("Submit", {"do": "submit"}),)),
    Confirmation("INC-0001", NASTY),
    Choices(NASTY, (Option("Yes", {"a": 1}),), hint=NASTY),
    Quote(NASTY, policy="Social media <policy>", number="4.2", also_in=("Staff & code",), gist=NASTY),
])
def test_user_words_are_escaped_in_every_kind_of_reply(reply):
    blocks, fallback = render([reply])
    texts = shown_texts(blocks)
    assert any("&lt;!channel&gt; and &lt;@U123&gt;" in t for t in texts)  # shown, as words
    for text in texts + [fallback]:
        assert_safe(text)
    assert "<!channel>" not in json.dumps(blocks) and "<@U123>" not in json.dumps(blocks)


def test_a_quote_is_a_block_quote_with_its_citation():
    blocks, _ = render([Quote("Staff must not > accept\nfriend requests.", policy="Social media policy",
                              number="4.2", title="Friend requests", also_in=("Staff code",), gist="Say no.")])
    assert blocks[0]["text"]["text"] == "> Staff must not &gt; accept\n> friend requests."
    notes = " ".join(e["text"] for e in blocks[1]["elements"])
    assert "Social media policy, clause 4.2 (Friend requests)" in notes
    assert "Same wording in: Staff code" in notes and "In short: Say no." in notes


def test_tones_are_marked_and_urgent_text_is_bold():
    texts = [render([Text("Call now.\nThen log it.", tone=tone)])[0][0]["text"]["text"]
             for tone in ("urgent", "warning", "advice", "plain")]
    assert texts == [":rotating_light: *Call now.*\n*Then log it.*", ":warning: Call now.\nThen log it.",
                     ":bulb: Call now.\nThen log it.", "Call now.\nThen log it."]


def test_every_button_value_comes_back_as_its_option_value_and_action_ids_are_unique():
    first = (Option("Yes", {"answer": "yes", "step": 2}), Option("No <thanks>", {"answer": "no", "n": [1, "é"]}))
    second = (Option("Submit", {"do": "submit"}), Option("Change", {"do": "edit", "field": "date"}),
              Option("Cancel", {"do": "cancel"}))
    blocks, _ = render([Choices("Pick one", first), Summary("Your report", (Field("Date", "today"),), second)])
    pressed = buttons(blocks)
    assert [parse_value(b["value"]) for b in pressed] == [o.value for o in first + second]
    assert all(PRESS_ACTION.match(b["action_id"]) for b in pressed)
    assert len({b["action_id"] for b in pressed}) == len(pressed) == 5
    assert [b.get("style") for b in pressed[2:]] == ["primary", None, "danger"]


def test_a_question_says_what_it_has_and_that_typing_answers_it():
    blocks, fallback = render([Question("Where did it happen?", hint="For example, Instagram", current="Tik<Tok>")])
    texts = shown_texts(blocks)
    assert texts == ["Where did it happen?", "For example, Instagram", "Currently:", "Tik&lt;Tok&gt;",
                     "Type your answer below."]
    assert fallback == "Where did it happen?"


def test_confirmation_shows_the_reference():
    blocks, _ = render([Confirmation("INC-0007", "A lead will look at it today.")])
    assert blocks[0]["text"]["text"] == ":white_check_mark: *Submitted: INC-0007*\nA lead will look at it today."


def test_a_very_long_text_is_split_into_sections_that_keep_every_word():
    text = " ".join(f"word{i}&" for i in range(1500))  # about 12,000 characters once escaped
    blocks, fallback = render([Text(text[:10_000])])
    assert_within_limits(blocks, fallback)
    assert len(blocks) > 3
    assert " ".join(b["text"]["text"] for b in blocks) == escape(text[:10_000])


def test_a_long_word_is_split_without_breaking_an_escape():
    blocks, fallback = render([Text("&" * 4000)])
    assert_within_limits(blocks, fallback)
    for block in blocks:
        assert re.fullmatch(r"(&amp;)+", block["text"]["text"])


def test_a_long_quote_keeps_its_marker_on_every_piece():
    blocks, fallback = render([Quote("x" * 7000, policy="Policy", number="1")])
    assert_within_limits(blocks, fallback)
    pieces = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(pieces) == 3 and all(p.startswith("> x") for p in pieces)
    assert "".join(p.removeprefix("> ") for p in pieces) == "x" * 7000


def test_forty_choices_fit_in_actions_blocks_of_twenty_five():
    options = tuple(Option(f"Option number {i} " + "x" * 100, {"i": i}) for i in range(40))
    blocks, fallback = render([Choices("Which one?", options, hint="Pick one")])
    assert_within_limits(blocks, fallback)
    assert [len(b["elements"]) for b in blocks if b["type"] == "actions"] == [25, 15]
    assert all(b["text"]["text"].endswith("…") for b in buttons(blocks))
    assert [parse_value(b["value"]) for b in buttons(blocks)] == [{"i": i} for i in range(40)]


def test_a_summary_with_thirty_long_fields_fits():
    fields = tuple(Field(f"Question {i}", "<b>" * 1000) for i in range(30))
    blocks, fallback = render([Summary("T" * 200, fields, (Option("Submit", {"do": "submit"}),))])
    assert_within_limits(blocks, fallback)
    assert sum(len(b.get("fields", [])) for b in blocks) == 60  # a label and an answer for each
    assert blocks[-1]["type"] == "actions"


def test_a_message_over_fifty_blocks_is_cut_and_says_so():
    blocks, fallback = render([Text(f"Paragraph {i}") for i in range(80)])
    assert_within_limits(blocks, fallback)
    assert len(blocks) == 50 and blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "…"}]}


def test_fallback_text_is_the_first_prompt_escaped_and_short():
    _, fallback = render([Summary("Your report", ()), Choices("<!here> " + "x" * 400, ())])
    assert fallback.startswith("&lt;!here&gt; x") and len(fallback) == 300 and fallback.endswith("…")
    assert render([Confirmation("ACC-0001", "Done.")])[1] == "Submitted: ACC-0001"


@pytest.mark.parametrize("raw", ["", "not json", "[1, 2]", "\"text\"", "42", "null", "{", "[" * 100_000])
def test_parse_value_returns_none_for_anything_but_a_json_object(raw):
    assert parse_value(raw) is None


def test_parse_value_reads_an_object():
    assert parse_value('{"do":"submit"}') == {"do": "submit"}


def test_an_alert_shows_what_and_how_urgent_but_never_the_content():
    message = dict(ALERT, reporter="Sam <@U999>", text="SECRET details of the incident", answers={"x": "SECRET"})
    blocks, fallback = alert(message)
    dumped = json.dumps(blocks) + fallback
    assert "SECRET" not in dumped
    head = blocks[0]["text"]["text"]
    assert head.startswith(":rotating_light: ") and "Incident report: Harassment" in head and "INC-0042" in head
    assert "Sam &lt;@U999&gt;" in head and "open" in head
    assert_safe(head)
    assert render([])[0] == [] and alert(dict(ALERT, urgency="high"))[0][0]["text"]["text"].startswith(
        ":large_orange_circle: ")


def controls(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in alert(message)[0] if b["type"] == "actions" for e in b["elements"]]


def test_alert_controls_follow_the_status():
    assert controls(ALERT) == ["lead:view", "lead:acknowledge", "lead:note", "lead:close", "lead:assign"]
    assert controls(dict(ALERT, status="acknowledged")) == ["lead:view", "lead:note", "lead:close", "lead:assign"]
    assert controls(dict(ALERT, status="closed")) == ["lead:view", "lead:note"]  # notes are still appended


def test_alert_buttons_carry_the_action_and_reference():
    blocks, _ = alert(ALERT)
    for button in buttons(blocks):
        action = LEAD_ACTION.match(button["action_id"]).group(1)
        assert parse_value(button["value"]) == {"lead": action, "reference": "INC-0042"}
    select = next(e for e in blocks[-1]["elements"] if e["type"] == "users_select")
    assert select["placeholder"]["text"] == "Assign to…" and LEAD_ACTION.match(select["action_id"])
    assert assign_reference(blocks[-1]["block_id"]) == "INC-0042"
    assert assign_reference("something|else") is None


@pytest.mark.parametrize(("action", "title"), [("note", "Add a note"), ("close", "Close report")])
def test_lead_modal_remembers_what_and_which_report(action, title):
    view = lead_modal(action, "INC-0042")
    assert view["type"] == "modal" and view["callback_id"] == "lead_modal"
    assert json.loads(view["private_metadata"]) == {"lead": action, "reference": "INC-0042"}
    assert view["title"]["text"] == title and len(view["title"]["text"]) <= 24
    assert len(view["submit"]["text"]) <= 24 and len(view["close"]["text"]) <= 24
    (field,) = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["block_id"] == "detail" and field["element"] == {
        "type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 2000}
    if action == "close":
        assert field["label"]["text"] == "Reason for closing"


def test_lead_modal_refuses_an_unknown_action():
    with pytest.raises(ValueError):
        lead_modal("delete", "INC-0042")


def test_reporter_update_and_question_for_lead_escape_their_words():
    blocks, fallback = reporter_update({"type": "reporter_update", "reference": "INC-1", "text": NASTY})
    assert shown_texts(blocks, "plain_text") == [SAFE] and fallback == SAFE
    blocks, fallback = question_for_lead({"type": "question", "from": "Al <@U1>", "text": NASTY + "\n> more"})
    assert mrkdwn_texts(blocks) == ["A question from *Al &lt;@U1&gt;*:"]
    assert shown_texts(blocks, "plain_text") == [f"{SAFE}\n&gt; more"]
    for text in shown_texts(blocks) + [fallback]:
        assert_safe(text)


EMPHASIS = "he wrote *f*** off* and _die_ ~now~ `rm`"


@pytest.mark.parametrize("reply", [
    Summary("Check your report", (Field("What happened", EMPHASIS),), (Option("Submit", {"do": "submit"}),)),
    Question("What happened?", current=EMPHASIS),
    Text(EMPHASIS, literal=True),
])
def test_someones_own_words_are_shown_as_written_never_formatted(reply):
    # mrkdwn has no escape for * _ ~ `, so the words go in plain_text, which Slack never formats
    blocks, _ = render([reply])
    assert EMPHASIS in shown_texts(blocks, "plain_text")
    assert not any("f***" in t for t in mrkdwn_texts(blocks))


def test_a_summary_row_is_the_label_in_bold_beside_the_answer_as_written():
    blocks, _ = render([Summary("Your report", (Field("Where", "*Insta*"), Field("When", "")))])
    assert blocks[1]["fields"] == [
        {"type": "mrkdwn", "text": "*Where*"}, {"type": "plain_text", "text": "*Insta*", "emoji": True},
        {"type": "mrkdwn", "text": "*When*"}, {"type": "plain_text", "text": "—", "emoji": True}]


def test_someones_own_words_over_a_section_are_split_and_keep_every_word():
    text = " ".join(f"w{i}*" for i in range(2000))
    blocks, _ = render([Text(text, literal=True)])
    assert len(blocks) == 5
    assert all(b["text"]["type"] == "plain_text" and len(b["text"]["text"]) <= 3000 for b in blocks)
    assert " ".join(shown_texts(blocks)) == text


def test_a_button_value_too_long_for_slack_is_refused_not_cut():
    with pytest.raises(ValueError):
        render([Choices("Pick", (Option("Big", {"blob": "x" * 3000}),))])
