"""A request to POST /slack/events checked before Bolt reads it: signed by Slack within the last five minutes,
UTF-8, and shaped as Slack sends it.

Bolt parses a body before it checks the signature, so a forged request reached its JSON parser, and a signature
with an odd timestamp or a non-ASCII byte raised inside it. It also trusts the shape of what it parsed: a signed
request with a field of the wrong type (an `event` that is a list, a `user` that is a number) made it answer 500,
or stopped a listener half-way. Here the signature is checked on the raw bytes first (401), then the body is read
and the fields Bolt and our listeners use are checked for type (400). Fields nobody reads are left alone, so a new
field from Slack never breaks anything.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs

MAX_AGE = 300  # seconds: Slack's own rule for replayed requests
ID = "id"  # an identifier: a string of printable characters, at most ID_LENGTH (Slack's are about 11)
ID_OR_NULL = "id or null"  # an enterprise's id, null outside Enterprise Grid
ID_LENGTH = 100  # what the database keeps for a user, workspace or channel id

# The fields read from each kind of body, and their types. A dict is an object that may be absent or null and
# whose own fields are checked likewise ("*": every field); a list of one spec is a list whose items all match it.
Spec = Any
_TEAM = {"id": ID, "domain": str, "enterprise_id": ID_OR_NULL}
_EVENT = {"type": str, "user": ID, "channel": ID, "channel_type": str, "text": str, "ts": str, "thread_ts": str,
          "event_ts": str, "tab": str, "bot_id": str, "subtype": str, "team": ID, "files": [dict]}
_EVENT_BODY = {"type": str, "team_id": ID, "api_app_id": str, "event_id": ID, "enterprise_id": ID_OR_NULL,
               "event_time": int, "is_enterprise_install": bool, "authorizations": [dict], "event": _EVENT,
               "challenge": str}
_ACTION = {"action_id": str, "block_id": str, "value": str, "type": str, "selected_user": ID, "action_ts": str}
_INPUT = {"type": str, "value": str, "selected_user": str}
_VIEW = {"id": str, "type": str, "callback_id": str, "private_metadata": str, "team_id": ID,
         "state": {"values": {"*": {"*": _INPUT}}}}  # block id -> action id -> what was entered
_INTERACTIVE = {"type": str, "team": _TEAM, "enterprise": {"id": ID_OR_NULL}, "user": {"id": ID, "team_id": ID},
                "channel": {"id": ID}, "api_app_id": str, "token": str, "trigger_id": str, "container": dict,
                "actions": [_ACTION], "view": _VIEW, "is_enterprise_install": bool, "response_url": str}
HANDLED_EVENTS = ("message", "app_mention", "app_home_opened")  # the events whose fields the listeners read
_COMMAND = {"user_id": ID, "team_id": ID, "channel_id": ID, "enterprise_id": ID_OR_NULL}  # a slash command


def signed(secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
           ) -> bool:
    """Whether Slack signed this body with the app's signing secret, within the last five minutes."""
    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE:
        return False
    return hmac.compare_digest(signature_of(secret, body, timestamp).encode(), signature.encode("utf-8", "replace"))


def signature_of(secret: str, body: bytes, timestamp: str) -> str:
    """Slack's signature of a body sent at a time: `v0=` HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    return "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def _wrong(value: Any, spec: Spec, where: str) -> str | None:
    """Where `value` is not shaped as `spec` says, or None."""
    if value is None:  # absent or null: the listeners take both as missing, except an id that is there but null
        return f"{where} is null" if spec is ID else None
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        for key, inner in spec.items():
            for name in (value if key == "*" else [key] if key in value else []):
                if key == "*" and value[name] is None:
                    return f"{where}.{name} is null"
                if problem := _wrong(value[name], inner, f"{where}.{name}"):
                    return problem
        return None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return f"{where} is not a list"
        for i, item in enumerate(value):
            if item is None:
                return f"{where}[{i}] is null"
            if problem := _wrong(item, spec[0], f"{where}[{i}]"):
                return problem
        return None
    if spec in (ID, ID_OR_NULL):  # stored as it is and looked up by: no NUL (PostgreSQL refuses it), nothing odd
        ok = isinstance(value, str) and len(value) <= ID_LENGTH and value.isprintable() and " " not in value
        return None if ok else f"{where} is not an id"
    if spec is int and isinstance(value, bool) or not isinstance(value, spec):
        return f"{where} is not a {spec.__name__}"
    return None


def _required(payload: dict[str, Any], *paths: str) -> str | None:
    for path in paths:
        node: Any = payload
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node in (None, "", [], {}):
            return f"{path} is missing"
    return None


def problem_with(payload: Any) -> str | None:
    """What is wrong with a parsed body (an event, an interaction or a slash command), or None."""
    if not isinstance(payload, dict):
        return "the body is not an object"
    if "command" in payload and "type" not in payload:  # a slash command: form fields, so strings already
        return _required(payload, "command", "user_id") or _wrong(payload, _COMMAND, "command")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        return "type is missing"
    if kind in ("event_callback", "url_verification", "app_rate_limited"):
        problem = _wrong({k: v for k, v in payload.items() if k != "event"}, _EVENT_BODY, "body")
        event = payload.get("event")
        if problem is None and kind == "event_callback":
            if not isinstance(event, dict):
                return "event is not an object"
            spec = _EVENT if event.get("type") in HANDLED_EVENTS else {"type": str}
            problem = _wrong(event, spec, "event") or _required(payload, "event.type")
            if problem is None and event.get("type") in ("message", "app_mention"):
                problem = _required(payload, "event.channel")
        return problem
    problem = _wrong(payload, _INTERACTIVE, "payload")
    if problem is None and kind == "block_actions":
        problem = _required(payload, "user.id", "actions")
        for action in payload.get("actions") or []:
            problem = problem or _required(action, "action_id")
    if problem is None and kind in ("view_submission", "view_closed"):
        problem = _required(payload, "user.id", "view.type", "view.callback_id")
    return problem


def read(body: bytes, content_type: str | None) -> tuple[str, dict[str, Any] | None, str]:
    """The body as text, what it holds (read as Bolt will read it), and what is wrong with it ("" when nothing)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "", None, "the body is not UTF-8"
    try:
        if (content_type or "").split(";")[0] == "application/json" or text.startswith("{"):  # Bolt's own rule
            payload: Any = json.loads(text)
        else:
            parsed = parse_qs(text, keep_blank_values=True, errors="strict")
            if any(len(values) > 1 for values in parsed.values()):  # Bolt would read the last, we the first
                return text, None, "a form field is repeated"
            fields = {k: v[0] for k, v in parsed.items()}
            if "ssl_check" in fields:
                return text, fields, ""
            payload = json.loads(fields["payload"]) if "payload" in fields else fields
    except (ValueError, RecursionError):
        return text, None, "the body is not JSON or a form Slack would send"
    problem = problem_with(payload)
    return text, payload if problem is None else None, problem or ""
