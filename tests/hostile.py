"""Running the hostile-input corpus (tests/hostile_corpus.py) against the bot, and the checks on what came of it.

`HostileWorld` is one bot server with Slack and Teams on (Teams without an app id, as the Emulator talks to it),
a second server whose Teams endpoint demands a Bot Framework token (checked against a local OpenID fake), the fake
Slack Web API and the fake Bot Connector, all on loopback. Each case is sent over real HTTP and timed; after each,
the runner waits until the work it started has finished (Slack's listeners run after the request is acked). Then:

- `store_problems`: nothing half-written (every report has its history and its alerts queued, every draft can be
  resumed, nothing stored holds control or direction-override characters, no Slack delivery kept before its ack
  is left untaken, to be replayed later);
- `slack_leaks` / `teams_leaks` / `terminal_leaks`: no live markup from user text in anything the bot sent;
- the log: no traceback and no error from any case.

tests/test_hostile.py asserts these; bench/hostile.py prints the figures.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.channels.teams import TeamsSettings
from bot.channels.terminal import TerminalChannel
from bot.conversation import Conversation
from bot.escalation import PREFIXES
from bot.school import PLATFORMS, Presence, SchoolConfig
from bot.server import SlackSettings, make_server
from bot.store.db import open_database
from bot.store.models import Counter, Draft, InboxEvent, OutboxMessage, Report, ReportEvent
from bot.store.reports import history
from dialogs.catalog import DIALOGS
from dialogs.engine import State
from tests.fake_connector import FakeConnector, start_fake_connector
from tests.fake_openid import APP_ID, FakeOpenId
from tests.fake_slack import FakeSlack, start_fake_slack
from tests.hostile_corpus import INJECTIONS, SERVICE_URL, TAG, TRIGGER, Case
from tests.slack_world import SECRET  # SlackWorld signs with it

ROOT = Path(__file__).resolve().parent.parent
SAFE_CHANNEL, HEAD_CHANNEL, CHAIR_CHANNEL = "CSAFE", "CHEAD", "CCHAIR"
TEAMS_SAFE, TEAMS_HEADS, TEAMS_CHAIR = ("19:safeguarding@thread.tacv2", "19:heads@thread.tacv2",
                                       "19:chair@thread.tacv2")
SETTLE_TIMEOUT = 15.0  # a case whose work has not finished by then has hung
IDS = count(1)
IDLE_TASKS = {"RequestHandler.start", "Event.wait"}  # a server's idle keep-alive connection; a worker between rounds


def _qualname(task: asyncio.Task) -> str:
    return getattr(task.get_coro(), "__qualname__", "")


def hostile_config(config: SchoolConfig) -> SchoolConfig:
    """The embedded configuration with the DSL, the Headteacher and the Chair on Slack and Teams."""
    leads = dict(config.leads)
    for role, slack_user, slack_channel, aad, teams_channel in [
            ("dsl", "UDSL", SAFE_CHANNEL, "aad-DSL", TEAMS_SAFE), ("headteacher", "UHEAD", HEAD_CHANNEL, "aad-HEAD",
                                                                   TEAMS_HEADS),
            ("chair", "UCHAIR", CHAIR_CHANNEL, "aad-CHAIR", TEAMS_CHAIR)]:
        leads[role] = leads[role].model_copy(update={"slack": Presence(users=(slack_user,), channel=slack_channel),
                                                     "teams": Presence(users=(aad,), channel=teams_channel)})
    return config.model_copy(update={"leads": leads})


# ---- what happened -----------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """One case on one channel: the status it got, how long it took, and anything wrong."""

    case: Case
    where: str  # slack, teams, terminal, ask, chat
    status: int | None
    seconds: float
    problems: list[str] = field(default_factory=list)


class LogRecorder(logging.Handler):
    """Every warning or worse logged while a case ran, filed under the case."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.current = ""
        self.records: list[tuple[str, logging.LogRecord]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((self.current, record))

    def crashes(self, case_id: str | None = None) -> list[str]:
        """Errors and tracebacks (for one case, or all): each as 'logger: message (exception)'."""
        out = []
        for current, record in self.records:
            if case_id is not None and current != case_id:
                continue
            error = record.exc_info[1] if record.exc_info else None
            if isinstance(error, HttpProcessingError) and record.name == "aiohttp.server":
                continue  # a request that is not HTTP (a 100 kB header): aiohttp answers 400 itself
            if record.levelno >= logging.ERROR or error is not None:
                out.append(f"{record.name}: {record.getMessage()[:200]}"
                           + (f" ({type(error).__name__}: {str(error)[:200]})" if error else ""))
        return out


# ---- the world -------------------------------------------------------------------------------------------------
class HostileWorld:
    """The servers, the fakes, and a client that sends each case on a fresh connection."""

    def __init__(self, core: Conversation, secured_db: Engine, key_delay: float = 0.0):
        self.core = Conversation(kb=core.kb, db=core.db, config=hostile_config(core.config), clock=core.clock)
        self.secured_core = Conversation(kb=core.kb, db=secured_db, config=self.core.config, clock=core.clock)
        self.log = LogRecorder()
        self.runners: list[web.AppRunner] = []
        self.fake_slack: FakeSlack
        self.fake_teams: FakeConnector
        self.openid = FakeOpenId(delay=key_delay)
        self.http: aiohttp.ClientSession

    async def __aenter__(self) -> "HostileWorld":
        logging.getLogger().addHandler(self.log)
        self.fake_slack, slack_runner, api_url = await start_fake_slack()
        self.fake_teams, teams_runner = await start_fake_connector()
        self.openid.start()
        self.runners += [slack_runner, teams_runner]
        self.url = await self._serve(make_server(self.core, SlackSettings("xoxb-test", SECRET, api_url),
                                                 TeamsSettings(), delivery_interval=0.05, teams_timeout=2.0))
        # A second core on a database of its own: its outbox worker holds Teams credentials it could never use.
        self.secured_url = await self._serve(make_server(
            self.secured_core, None, TeamsSettings(app_id=APP_ID, password="not-used",
                                                   openid_metadata_url=self.openid.url), teams_timeout=2.0))
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                          timeout=aiohttp.ClientTimeout(total=SETTLE_TIMEOUT))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        for runner in reversed(self.runners):
            await runner.cleanup()
        self.openid.stop()
        logging.getLogger().removeHandler(self.log)

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.insert(0, runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # noqa: SLF001

    # ---- sending ---------------------------------------------------------------------------------------------
    async def settle(self, before: set[asyncio.Task]) -> bool:
        """Wait until every task started since `before` has finished (Bolt runs listeners after its ack)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        me = asyncio.current_task()
        while time.monotonic() < deadline:
            pending = [t for t in asyncio.all_tasks() if t not in before and t is not me and not t.done()
                       and _qualname(t) not in IDLE_TASKS]
            if not pending:
                return True
            await asyncio.sleep(0.005)
        return False

    async def post(self, url: str, body: bytes, content_type: str | None, headers: dict[str, str]
                   ) -> tuple[int | None, str]:
        """POST and return (status, problem): a 5xx, a broken connection or a timeout is a problem."""
        if content_type is not None:
            headers = {"Content-Type": content_type, **headers}
        try:
            async with self.http.post(url, data=body, headers=headers,
                                      skip_auto_headers=() if content_type else ("Content-Type",)) as response:
                text = await response.text(errors="replace")
                if response.status >= 500:
                    return response.status, f"HTTP {response.status}: {text[:200]}"
                if "Traceback" in text:
                    return response.status, "a traceback in the response body"
                return response.status, ""
        except asyncio.TimeoutError:
            return None, "no answer (timed out)"
        except aiohttp.ClientError as failure:
            return None, f"connection failed: {type(failure).__name__}: {failure}"

    async def run(self, case: Case, where: str, send) -> Outcome:  # noqa: ANN001 (a coroutine function)
        """Send one case, wait for what it set off, and note everything wrong."""
        self.log.current = f"{where}:{case.id}"
        before = set(asyncio.all_tasks())
        started = time.perf_counter()
        status, problem = await send()
        settled = await self.settle(before)
        outcome = Outcome(case, where, status, time.perf_counter() - started)
        if problem:
            outcome.problems.append(problem)
        if not settled:
            outcome.problems.append("the work it started did not finish (hang)")
        if status is not None and status not in case.expect:
            outcome.problems.append(f"status {status}, expected {sorted(case.expect)[:6]}")
        if case.quiet:
            outcome.problems += [f"logged: {c}" for c in self.log.crashes(self.log.current)]
        self.log.current = ""
        return outcome

    def slack_headers(self, case: Case, body: bytes) -> tuple[bytes, dict[str, str]]:
        """The body as sent and its signature headers, right or wrong as the case says."""
        now = int(time.time())
        ts = {"old_301s": now - 301, "old_1h": now - 3600, "future_1h": now + 3600}.get(case.auth, now)

        def sign(data: bytes, stamp: str = str(ts), secret: str = SECRET) -> str:
            return "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + data,
                                    hashlib.sha256).hexdigest()
        good = sign(body)
        headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": good}
        auth = case.auth
        if auth == "none":
            return body, {}
        if auth == "no_timestamp":
            return body, {"X-Slack-Signature": good}
        if auth == "no_signature":
            return body, {"X-Slack-Request-Timestamp": str(ts)}
        if auth == "wrong_secret":
            headers["X-Slack-Signature"] = sign(body, secret="not-the-secret")
        elif auth in ("timestamp_text", "timestamp_huge", "timestamp_negative", "timestamp_float"):
            stamp = {"timestamp_text": "abc", "timestamp_huge": "9" * 40, "timestamp_negative": "-5",
                     "timestamp_float": f"{now}.5"}[auth]
            headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(body, stamp)}
        elif auth == "v1_scheme":
            headers["X-Slack-Signature"] = "v1=" + good[3:]
        elif auth == "short_hex":
            headers["X-Slack-Signature"] = good[:-2]
        elif auth == "uppercase_hex":
            headers["X-Slack-Signature"] = "v0=" + good[3:].upper()
        elif auth == "empty_signature":
            headers["X-Slack-Signature"] = ""
        elif auth == "tampered_body":
            body = body.replace(b"friend", b"fiend", 1)
        elif auth == "appended_byte":
            body = body + b" "
        elif auth == "signed_other_body":
            headers["X-Slack-Signature"] = sign(b'{"type":"event_callback"}')
        elif auth == "signature_of_empty":
            headers["X-Slack-Signature"] = sign(b"")
        elif auth == "non_ascii_signature":
            headers["X-Slack-Signature"] = "v0=\u00e9" + good[4:]
        elif auth == "two_signatures":
            headers["X-Slack-Signature"] = f"v0=0000,{good}"
        elif auth == "retry":
            headers.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
        return body, headers

    def teams_authorization(self, case: Case, service_url: str) -> dict[str, str]:
        """The Authorization header a Teams case carries on the secured server."""
        o = self.openid
        now = int(time.time())
        tokens = {
            "empty_bearer": "Bearer ", "bearer_only": "Bearer", "basic": "Basic dXNlcjpwYXNz",
            "garbage": "Bearer abc", "three_dots": "Bearer a.b.c", "not_base64": "Bearer !!!.###.$$$",
            "alg_none": "Bearer " + jwt.encode({"iss": "https://api.botframework.com", "aud": APP_ID,
                                                "serviceurl": service_url}, None, algorithm="none"),
            "hs256_with_kid": "Bearer " + jwt.encode({"iss": "https://api.botframework.com", "aud": APP_ID,
                                                      "serviceurl": service_url, "exp": now + 600},
                                                     "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256",
                                                     headers={"kid": "fake-bf-key-1"}),
            "expired": "Bearer " + o.token(service_url, expires_in=-600),
            "not_yet_valid": "Bearer " + o.token(service_url, nbf=now + 3600, iat=now + 3600),
            "wrong_key_unknown_kid": "Bearer " + o.token(service_url, key=o.stranger, kid="stranger"),
            "wrong_key_known_kid": "Bearer " + o.token(service_url, key=o.stranger),
            "wrong_issuer": "Bearer " + o.token(service_url, issuer="https://evil.example"),
            "wrong_audience": "Bearer " + o.token(service_url, audience="another-bot"),
            "other_service_url": "Bearer " + o.token("https://evil.example/"),
            "no_service_url_claim": "Bearer " + jwt.encode(
                {"iss": "https://api.botframework.com", "aud": APP_ID, "exp": now + 600}, o.key, algorithm="RS256",
                headers={"kid": "fake-bf-key-1"}),
            "emulator_issuer_wrong_key": "Bearer " + o.token(
                service_url, key=o.stranger, issuer="https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/",
                ver="1.0", appid=APP_ID),
            "huge_token": "Bearer " + "A" * 100_000,
            "lowercase_bearer": "bearer " + o.token(service_url),
            "two_tokens": f"Bearer {o.token(service_url)} Bearer {o.token(service_url)}",
            "non_ascii_token": "Bearer \u00e9\u00e8.\u00e0.\u00fc",
            "valid": "Bearer " + o.token(service_url),
        }
        return {} if case.auth == "none" else {"Authorization": tokens[case.auth]}

    async def slack_case(self, case: Case) -> Outcome:
        body = case.body.replace(b"@@EVENT_ID@@", f"EvH{next(IDS):07d}".encode()) \
            .replace(TRIGGER.encode(), f"trigH{next(IDS):07d}".encode())
        sent, headers = self.slack_headers(case, body)

        async def send():
            status, problem = await self.post(f"{self.url}/slack/events", sent, case.content_type, headers)
            if case.auth == "replay" and not problem:  # the very same signed request again
                status, problem = await self.post(f"{self.url}/slack/events", sent, case.content_type, headers)
            return status, problem
        return await self.run(case, "slack", send)

    async def teams_case(self, case: Case) -> Outcome:
        url = self.fake_teams.url
        body = (case.body.replace(b"@@SERVICE_URL_NO_SLASH@@", url.rstrip("/").encode())
                .replace(SERVICE_URL.encode(), url.encode())
                .replace(b"@@ACTIVITY_ID@@", f"h{next(IDS):07d}".encode()))
        secured = case.family == "token"
        headers = self.teams_authorization(case, url) if secured else {}
        target = (self.secured_url if secured else self.url) + "/api/messages"
        return await self.run(case, "teams", lambda: self.post(target, body, case.content_type, headers))

    async def text_on_slack(self, case: Case, user: str = "UTEXT") -> Outcome:
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": f"EvT{next(IDS):07d}", "event_time": int(time.time()),
                           "event": {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                                     "text": case.text, "ts": f"{time.time():.6f}"}}).encode()
        _, headers = self.slack_headers(Case("", "", "slack"), body)
        return await self.run(case, "slack", lambda: self.post(f"{self.url}/slack/events", body, "application/json",
                                                               headers))

    async def text_on_teams(self, case: Case, user: str = "text") -> Outcome:
        body = json.dumps(teams_activity(self.fake_teams.url, user, text=case.text)).encode()
        return await self.run(case, "teams", lambda: self.post(f"{self.url}/api/messages", body, "application/json",
                                                               {}))

    async def text_on_terminal(self, case: Case, terminal: TerminalChannel) -> Outcome:
        async def send():
            said = await asyncio.to_thread(terminal.say, case.text)
            leaks = terminal_leaks(said)
            return 200, "; ".join(leaks)
        return await self.run(case, "terminal", send)

    async def deliver(self) -> None:
        """Wait until the outbox has nothing due for Slack or Teams (the worker runs every 50 ms)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            with Session(self.core.db) as session:
                waiting = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending",
                                                                   OutboxMessage.platform.in_(("slack", "teams")),
                                                                   OutboxMessage.attempts == 0)).first()
            if waiting is None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the outbox did not empty")


def teams_activity(service_url: str, user: str, *, text: str | None = None, value: Any = None,
                   conversation: str | None = None, channel: str = "", reply_to: str = "", name: str = ""
                   ) -> dict[str, Any]:
    """A Teams message activity from a user (in personal chat, or in a channel)."""
    activity: dict[str, Any] = {
        "type": "message", "id": f"h{next(IDS):07d}", "channelId": "msteams", "timestamp": "2026-11-20T10:00:00Z",
        "serviceUrl": service_url, "locale": "en-GB",
        "from": {"id": f"29:{user}", "name": name or user.title(), "aadObjectId": f"aad-{user}"},
        "recipient": {"id": "28:policy-bot", "name": "Policy assistant"},
        "conversation": {"conversationType": "channel" if channel else "personal", "tenantId": "tenant-1",
                         "id": conversation or channel or f"a:personal-{user}", **({"isGroup": True} if channel
                                                                                     else {})},
        "channelData": {"tenant": {"id": "tenant-1"}, **({"channel": {"id": channel}} if channel else {})}}
    if text is not None:
        activity["text"] = text
    if value is not None:
        activity["value"] = value
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


# ---- checks ------------------------------------------------------------------------------------------------------
SLACK_RENDERED = ("chat.postMessage", "chat.postEphemeral", "chat.update", "views.open", "views.publish")
NOT_SHOWN = {"value", "private_metadata", "action_id", "block_id", "callback_id", "trigger_id", "channel", "user",
             "ts", "user_id", "token", "thread_ts", "external_id"}
SLACK_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
CARD_SPECIAL = set("\\`*_[]<>~")


def _shown_texts(node: Any, top: bool = False) -> Iterable[str]:
    """Every string Slack shows from a Web API call's arguments: mrkdwn and plain_text objects (both read `&`, `<`
    and `>` as control characters), and the notification text."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["text"]
        if top and isinstance(node.get("text"), str):
            yield node["text"]
        for key, child in node.items():
            if key not in NOT_SHOWN:
                yield from _shown_texts(child)
    elif isinstance(node, list):
        for child in node:
            yield from _shown_texts(child)


def slack_leaks(fake: FakeSlack) -> list[str]:
    """Live markup in anything the bot sent to Slack: a '<' starts every ping and link in mrkdwn, and the bot writes
    none itself; and an '&' that is not one of the three entities would be read as one."""
    leaks = []
    for call in fake.calls:
        if call.method.split("!")[0] not in SLACK_RENDERED:
            continue
        for text in _shown_texts(call.args, top=True):
            if "<" in text or SLACK_ENTITY.search(text):
                leaks.append(f"{call.method}: {text[:160]!r}")
    return leaks


def _unescaped(text: str) -> list[str]:
    """The Markdown characters in a card text that are not backslashed."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in CARD_SPECIAL:
            out.append(text[i])
        i += 1
    return out


def _card_texts(node: Any) -> Iterable[str]:
    """Every string a card renders as Markdown: text blocks and facts."""
    if isinstance(node, dict):
        if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
            yield node["text"]
        for fact in node.get("facts") or [] if node.get("type") == "FactSet" else []:
            for key in ("title", "value"):
                if isinstance(fact.get(key), str):
                    yield fact[key]
        for key, child in node.items():
            if key != "data":
                yield from _card_texts(child)
    elif isinstance(node, list):
        for child in node:
            yield from _card_texts(child)


MD_LINK = re.compile(r"(?<!\\)\]\(")


def teams_leaks(fake: FakeConnector) -> list[str]:
    """Live markup from user text in anything the bot sent to Teams: a Markdown link anywhere, and in every text that
    carries a tagged payload, any Markdown character left unescaped (the bot's own texts carry no tag)."""
    leaks = []
    for sent in fake.calls:
        if sent.kind.endswith(("member",)) or "!" in sent.kind:
            continue
        activity = sent.body.get("activity", sent.body) if sent.kind == "create" else sent.body
        texts = list(_card_texts(sent.card))
        if isinstance(activity.get("text"), str):
            texts.append(activity["text"])
        for text in texts:
            if MD_LINK.search(text) or (TAG in text and _unescaped(text)) or re.search(r"(?<!\\)<at>", text):
                leaks.append(f"{sent.kind} {sent.conversation}: {text[:160]!r}")
    return leaks


def _controls(text: str) -> list[str]:
    return sorted({f"U+{ord(ch):04X}" for ch in text
                   if ch not in "\n\t" and (unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"))})


def terminal_leaks(text: str) -> list[str]:
    """Characters a terminal would act on, or hide text with, in what the terminal channel printed."""
    found = _controls(text)
    return [f"printed control characters {', '.join(found[:8])}"] if found else []


def store_problems(db: Engine, config: SchoolConfig) -> list[str]:
    """Anything half-written, or stored with characters a lead's terminal or a CSV would act on."""
    problems: list[str] = []
    with Session(db) as session:
        reports = list(session.exec(select(Report)))
        for report in reports:
            events = history(session, report)
            if not events or events[0].action != "submitted":
                problems.append(f"{report.reference}: no 'submitted' event first")
            keys = {m.key for m in session.exec(select(OutboxMessage).where(OutboxMessage.report_id == report.id))}
            lead = config.leads[report.lead_role]
            wanted = set()
            for platform in PLATFORMS:
                presence = lead.on(platform)
                if platform == "terminal":
                    wanted |= {f"{report.reference}:alert:{report.lead_role}:terminal:{u}" for u in presence.users}
                elif presence.channel:
                    wanted.add(f"{report.reference}:alert:{report.lead_role}:{platform}")
            if missing := wanted - keys:
                problems.append(f"{report.reference}: alerts not queued: {sorted(missing)}")
            if not report.fields:
                problems.append(f"{report.reference}: no content")
            texts = [report.reporter_name, *(v for pair in report.fields for v in pair)]
            texts += [t for e in events for t in (e.detail, e.assignee, e.actor_name)]
            for text in texts:
                if found := _controls(text or ""):
                    problems.append(f"{report.reference}: stored control characters {found[:5]} in {text[:60]!r}")
        for message in session.exec(select(OutboxMessage)):
            if not isinstance(message.message, dict) or "type" not in message.message:
                problems.append(f"outbox {message.id}: unreadable message")
            if message.status not in ("pending", "sent", "failed"):
                problems.append(f"outbox {message.id}: status {message.status!r}")
        for kept in session.exec(select(InboxEvent).where(InboxEvent.answer.is_(None))):  # type: ignore[union-attr]
            problems.append(f"inbox {kept.key[:40]}: kept before its ack and never taken, so it would be replayed")
        for draft in session.exec(select(Draft)):
            try:
                State.from_json(draft.state)
                assert draft.dialog in DIALOGS
            except Exception as problem:  # noqa: BLE001
                problems.append(f"draft {draft.id}: cannot be resumed ({type(problem).__name__})")
        counters = {c.name: c.value for c in session.exec(select(Counter))}
        for prefix in set(PREFIXES.values()):
            made = [r for r in reports if r.reference.startswith(prefix + "-")]
            for year in {r.reference.split("-")[1] for r in made}:
                numbered = len([r for r in made if r.reference.split("-")[1] == year])
                if counters.get(f"{prefix}-{year}") != numbered:
                    problems.append(f"{prefix}-{year}: counter {counters.get(f'{prefix}-{year}')} for {numbered} "
                                    "reports")
        orphans = session.exec(select(ReportEvent).where(ReportEvent.report_id.not_in(
            [r.id for r in reports] or [-1]))).first()
        if orphans is not None:
            problems.append("an event without its report")
    return problems


# ---- injections through whole dialogs ---------------------------------------------------------------------------
def bundles() -> dict[str, str]:
    """The injection payloads packed into the free-text answers of one incident report."""
    payloads = [text for _, text in INJECTIONS]
    return {"affected": " ".join(p for p in payloads[:4])[:290],
            "what": "\n".join(payloads) + "\n\x1b[31mANSI\x1b[0m \u202eRLO\u202c end",
            "involved": "\n".join(payloads[4:14])[:990],
            "actions": "\n".join(payloads[14:])[:1990]}


REPORT_ANSWERS = [("press", "Report an incident"), ("press", "No"),
                  ("press", "A worrying post or message by or about a pupil"), ("type", "@affected"),
                  ("type", "@what"), ("type", "today"), ("type", "Instagram @ab"), ("type", "@involved"),
                  ("press", "Nothing yet"), ("type", "@actions")]


def answers() -> list[tuple[str, str]]:
    given = bundles()
    return [(how, given[what[1:]] if what.startswith("@") else what) for how, what in REPORT_ANSWERS]


def expected_echoes() -> int:
    """How many payloads at least must be seen (escaped) in the summary and the lead's view."""
    return len(INJECTIONS)


def run_cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess:
    """`python -m bot ...` in a fresh process, from the project folder."""
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def batch_input(texts: list[str]) -> tuple[bytes, int]:
    """Texts as `ask --batch -` reads them (lone surrogates become bytes that are not UTF-8), and how many lines
    Python's reader will see in them."""
    data = "\n".join(texts).encode("utf-8", "surrogatepass") + b"\n\xff\xfe raw bytes\n\xc0\xaf\n"
    import io
    lines = sum(1 for _ in io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace"))
    return data, lines


def cli_problems(result: subprocess.CompletedProcess) -> list[str]:
    problems = []
    if result.returncode != 0:
        problems.append(f"exit status {result.returncode}")
    stderr = result.stderr.decode("utf-8", "replace")
    if "Traceback" in stderr:
        problems.append("traceback: " + stderr.strip().splitlines()[-1][:200])
    return problems


def unique_db_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / f'secured-{uuid.uuid4().hex[:8]}.sqlite3'}"


def secured_database(tmp: Path) -> Engine:
    return open_database(unique_db_url(tmp))


# ---- the injection flows: a whole report through each channel, with markup in every free-text answer ------------
NAMES = {  # display names are typed by people too
    "slack:UREP": f"<!channel> *Boss* <http://evil.example|HR> {TAG}51",
    "slack:UINJ": f"<!here> <@U999> {TAG}52",
    "teams:REP": f"<at>Head</at> **Boss** [HR](http://evil.example) {TAG}53",
    "teams:aad-INJ": f"[Pat](http://evil.example) _x_ {TAG}54",
}
NOTE = f"<!channel> [note](http://evil.example) **N** \x1b[2J\x07 {TAG}55"
REASON = f"<!here> [closed](http://evil.example) `R` \u202eesolc {TAG}56"
ASKED = "where do I park my car at the weekend?"


class _NamedTeamsWorld:
    """TeamsWorld with each user's display name taken from NAMES."""

    @staticmethod
    def make(url: str, fake: FakeConnector, core: Conversation):
        from tests.teams_world import TeamsWorld

        class Named(TeamsWorld):
            def activity(self, user: str, **kw: Any) -> dict[str, Any]:
                activity = super().activity(user, **kw)
                activity["from"]["name"] = NAMES.get(f"teams:{user}", user.title())
                return activity
        return Named(url, fake, core)


async def _step(world: HostileWorld, action) -> None:  # noqa: ANN001 (an awaitable)
    """One thing a person does, and everything it set off."""
    before = set(asyncio.all_tasks())
    response = await action
    assert response.status < 500, f"HTTP {response.status}"
    assert await world.settle(before), "did not settle"


def _report_of(core: Conversation, platform: str, user: str) -> str:
    with Session(core.db) as session:
        found = session.exec(select(Report).where(Report.reporter_platform == platform,
                                                  Report.reporter_id == user).order_by(Report.id.desc())).first()
    assert found is not None, f"no report from {platform}:{user}"
    return found.reference


async def inject_via_slack(world: HostileWorld) -> str:
    """A report through Slack with markup in every answer and name; the DSL views, notes, assigns and closes it;
    a declined question with markup is passed on to the Headteacher. Returns the reference."""
    from tests.slack_world import SlackWorld

    slack = SlackWorld(world.url, world.fake_slack, world.core)
    world.fake_slack.names.update({"UREP": NAMES["slack:UREP"], "UINJ": NAMES["slack:UINJ"]})
    try:
        await _step(world, slack.dm("UREP", "help"))
        for how, what in answers():
            await _step(world, slack.press("UREP", what) if how == "press" else slack.dm("UREP", what))
        await _step(world, slack.press("UREP", "Submit"))
        reference = _report_of(world.core, "slack", "UREP")
        await world.deliver()
        await _step(world, slack.press("UDSL", "View details", channel=SAFE_CHANNEL))
        for action, text in (("Add a note", NOTE), ("Close", REASON)):
            if action == "Close":
                await _step(world, slack.pick_user("UDSL", "UINJ", SAFE_CHANNEL))
                await world.deliver()
            await _step(world, slack.press("UDSL", action, channel=SAFE_CHANNEL))
            view = world.fake_slack.of("views.open")[-1].args["view"]
            await _step(world, slack.submit_form("UDSL", view, text))
        await _step(world, slack.press("UDSL", "View details", channel=SAFE_CHANNEL))  # the history, as written
        await _step(world, slack.dm("UASK", f"{ASKED} <!here> <http://evil.example|map> {TAG}57"))
        await _step(world, slack.press("UASK", "Ask Headteacher"))
        await world.deliver()
        return reference
    finally:
        await slack.http.close()


async def inject_via_teams(world: HostileWorld) -> str:
    """The same through Teams: markup in every answer and in the reporter's display name; the DSL acts from the
    alert's card; a declined question with markup goes to the Headteacher's personal chat."""
    teams = _NamedTeamsWorld.make(world.url, world.fake_teams, world.core)
    world.fake_teams.names["aad-INJ"] = NAMES["teams:aad-INJ"]
    try:
        for user in ("HEAD", "DSL"):  # leads the bot has met, so their personal chats are known
            await _step(world, teams.say(user, "hello"))
        await _step(world, teams.say("REP", "help"))
        for how, what in answers():
            await _step(world, teams.press("REP", what) if how == "press" else teams.say("REP", what))
        await _step(world, teams.press("REP", "Submit"))
        reference = _report_of(world.core, "teams", "aad-REP")
        await world.deliver()
        alert = [c for c in world.fake_teams.of("create")
                 if c.body.get("channelData", {}).get("channel", {}).get("id") == TEAMS_SAFE][-1]
        where = {"conversation": alert.conversation, "channel": TEAMS_SAFE}
        await _step(world, teams.press("DSL", "View details", **where))
        await _step(world, teams.press("DSL", "Add a note", detail=NOTE, **where))
        await _step(world, teams.press("DSL", "Assign", assignee="aad-INJ", **where))
        await world.deliver()
        await _step(world, teams.press("DSL", "Close", detail=REASON, **where))
        await _step(world, teams.press("DSL", "View details", **where))  # the history, as written
        await _step(world, teams.say("ASK", f"{ASKED} [map](http://evil.example) <at>Head</at> {TAG}58"))
        await _step(world, teams.press("ASK", "Ask Headteacher"))
        await world.deliver()
        return reference
    finally:
        await teams.http.close()


def inject_via_terminal(core: Conversation) -> tuple[str, list[str]]:
    """The same through the terminal channel and the core, returning the reference and everything printed."""
    from bot.channels.terminal import render
    from bot.conversation import Inbound
    from bot.escalation import Person

    terminal = TerminalChannel(core, user="termrep", name=f"\x1b[31mRep\x1b[0m {TAG}59")
    printed = [terminal.say("help")]
    for _, what in answers():
        printed.append(terminal.say(what))
    printed.append(terminal.say("Submit"))
    reference = _report_of(core, "terminal", "termrep")
    dsl = Person("terminal", "local", "dsl", "\x1b]0;pwned\x07Ms Patel")
    for action, extra in (("view", {}), ("note", {"detail": NOTE}), ("assign", {"assignee": NAMES["slack:UINJ"]}),
                          ("close", {"detail": REASON}), ("view", {})):
        replies = core.handle(Inbound(dsl, "alerts", value={"lead": action, "reference": reference, **extra}))
        printed.append(render(replies)[0])
    printed += terminal.inbox()
    return reference, printed


def tags_in(texts: Iterable[str]) -> set[str]:
    """The injection tags (ZQX1, ZQX2, ...) that appear in some text."""
    return {m for text in texts for m in re.findall(rf"{TAG}\d+", text)}


def slack_texts(fake: FakeSlack) -> list[str]:
    return [t for c in fake.calls if c.method.split("!")[0] in SLACK_RENDERED for t in _shown_texts(c.args, True)]


def teams_texts(fake: FakeConnector) -> list[str]:
    return [t for c in fake.calls if "!" not in c.kind and c.kind != "member" for t in _card_texts(c.card)]
