"""Steady load on both endpoints: simulated staff asking questions and working through dialogs on Slack and Teams.

    .venv/bin/python bench/load.py                  # 200 staff for 60 s, then on to 10,000 turns: about 3 minutes
    .venv/bin/python bench/load.py --quick          # 40 staff for 10 s, then on to 1,000 turns: about 30 s
    .venv/bin/python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/load.py --help           # staff, seconds, turns, think time, timeouts

Bounded and loopback only. The fake Slack Web API (`tests/fake_slack.py`) and the fake Bot Connector
(`tests/fake_connector.py`) run in this process; the bot runs as a subprocess, `python -m bot serve`, on a
temporary SQLite file or, with `--database-url`, in a fresh schema of that PostgreSQL database (dropped at the
end). A school configuration is written for the run with every lead on Slack and on Teams (a channel each).

Each simulated member of staff is on one platform (half on Slack, half on Teams) and repeats, with think time
between turns (`--think`, seconds, mean; uniform between half and one and a half times it) and a longer pause
between sessions:

- a question from a list of varied staff questions (misspellings, chat shorthand, questions the policy does not
  answer), sometimes followed by pressing a feedback or "No, thanks" button;
- the friend-request dialog, started by typing or from `help`, answered with buttons;
- an incident report, started by typing, from `help` or (Slack) with `/report`, completed by typing and pressing
  buttons through to Submit.

Buttons are read from what the bot sent to the fakes, as the tests do. A turn counts when its reply has arrived:
for Slack (which acks first and answers afterwards through the Web API) when the fake Slack received the post in
the person's DM; for Teams (which answers within the request) when the connector received the reply.

Errors are any non-2xx answer, any request that failed, any reply that did not arrive within `--reply-timeout`,
and any reply without the button the script expected. At the end, once the outbox has drained, each report
filed must have exactly one alert in its lead's Slack channel and exactly one new thread in its lead's Teams
channel, and the database must hold exactly those reports with every outbox message sent.

Printed: requests and errors; HTTP latency p50/p99/max per endpoint (Slack's is the ack; Teams' includes the
reply) and turn latency (request to reply received); throughput in turns/s over the timed phase; reports and
alerts; the server's resident memory (VmRSS) at start, at the end of the timed phase, after `--turns` turns and
at the end. It exits 1 when there were errors or an alert was missing or repeated, 0 otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from tests.fake_connector import FakeConnector, Sent, submits  # noqa: E402
from tests.fake_slack import Call, FakeSlack  # noqa: E402

SECRET = "load-signing-secret"
TOKEN = "xoxb-load-token"
TEAM = "T1"
TENANT = "tenant-load"
BOT = "28:policy-bot"
REFERENCE = re.compile(r"\b(?:INC|ACC)-\d{4}-\d{4}\b")

# Who gets what: every lead on both platforms, each with a channel of their own.
LEADS = {  # role: (Slack channel, Teams channel)
    "dsl": ("CSAFE", "19:safeguarding@thread.tacv2"),
    "deputy": ("CDEPUTY", "19:deputy@thread.tacv2"),
    "headteacher": ("CHEAD", "19:heads@thread.tacv2"),
    "slt": ("CSLT", "19:slt@thread.tacv2"),
    "chair": ("CCHAIR", "19:chair@thread.tacv2"),
}

QUESTIONS = [
    "Can I accept a friend request from a parent on Facebook?",
    "can i frend a parnt on fb",
    "Am I allowed to post photos of pupils on my own Instagram?",
    "What should a business case for a new school account cover?",
    "Can I use my personal phone to take pictures on a school trip?",
    "is it ok to follow the school's twitter from my own account",
    "Where do I park my car?",
    "Can I comment on a news story about the school?",
    "what are the rules about whatsapp groups with parents",
    "Can I share a post from the school page on my personal Facebook?",
    "How long can we keep photos of pupils on the school website?",
    "who approves a new school social media account",
    "Can I message a pupil on Teams out of school hours?",
    "tbh is it ok to have ex pupils on linkedin",
    "Can I post about my job on TikTok if I don't name the school?",
    "What do I do if a parent is abusing me online?",
    "Should I report a colleague who posts about pupils?",
    "Can we livestream the school play?",
    "Do I need consent before putting a child's name next to their photo?",
    "can i vent about a bad day at work on my private insta",
    "What privacy settings should staff use on Facebook?",
    "Is it ok to play online games with pupils?",
    "What happens if I break the social media policy?",
    "Can slt see what I post on my own accounts?",
    "How do I report a fake account pretending to be the school?",
    "Can I use my own email to contact parents?",
    "Are we allowed to use ChatGPT for marking?",
    "What time does the canteen close?",
    "can yr 9s follow the school insta",
    "Can I accept a LinkedIn request from a former pupil who is now 20?",
    "Is it alright to tag colleagues in photos from the staff party?",
    "Who do I tell if I see something worrying about a pupil online?",
    "Can I text parents from my personal mobile?",
    "What should I do if a journalist phones me about a pupil?",
    "Can I blog about teaching?",
    "My mum wants to friend the head on facebook lol, is that allowed",
    "Do the rules apply to supply staff?",
    "Can I join a Facebook group for parents at the school?",
    "How do I set up a class Twitter account?",
    "what if a pupil sends me a snapchat",
]
FRIEND_OPENERS = ["someone sent me a friend request on facebook", "a parent added me on fb what do i do",
                  "an ex-pupil sent me a friend request", "a pupil wants to follow me on instagram"]
INCIDENT_OPENERS = ["I want to report cyberbullying", "a parent is posting abuse about me on facebook",
                    "Who do I tell if I see something worrying about a pupil online?",
                    "How do I report a fake account pretending to be the school?"]
SENDERS = [["A current pupil"], ["A former pupil", "Under 18"], ["A former pupil", "18 or over"],
           ["A former pupil", "Not sure"], ["A parent or carer of a pupil"],
           ["A pupil's relative (not their parent)"], ["A colleague"], ["Someone else"]]
FAMILY_ASKED = {"A current pupil", "A former pupil", "A parent or carer of a pupil",
                "A pupil's relative (not their parent)"}
CATEGORIES = {  # the button, and the lead role its report goes to
    "Cyberbullying or abuse of a staff member": "headteacher",
    "A worrying post or message by or about a pupil": "dsl",
    "An offensive or damaging post about the school": "headteacher",
    "A colleague's conduct online": "headteacher",  # "chair" when it is about the Headteacher
    "Contact from a journalist or the media": "headteacher",
    "Something else": "headteacher",
}
EVIDENCE = ["Screen grabs with the time, date and web address", "Screen grabs without the time, date or address",
            "A link only", "Nothing yet"]
WHAT = ["A parent posted that I am a useless teacher who should be sacked",
        "A pupil in Year 8 posted a story saying they feel unsafe at home and nobody listens",
        "Someone made a page using the school logo and posted rude memes about staff",
        "A colleague shared a photo of a Year 10 class on their public Instagram story",
        "An anonymous account keeps commenting 'we know where you live' under my posts"]
WHEN = ["today", "yesterday at 8pm", "last Friday", "this morning", "18/11/2026"]
WHERE = ["Facebook, Town Mums group", "Instagram @anon_account_123", "https://www.facebook.com/groups/townmums",
         "TikTok", "Snapchat story"]
INVOLVED = ["a parent of a Year 5 pupil", "a former pupil", "an anonymous account", "a Year 8 pupil",
            "a colleague in the maths department"]
DONE = ["Told my line manager", "Nothing yet", "Blocked the account and told the office",
        "Spoke to the DSL on the phone"]


# ---------------------------------------------------------------- the fakes, indexed for many readers

class Mailbox:
    """What was sent into one DM or personal chat: a count, the latest message with buttons, and who waits."""

    __slots__ = ("count", "last", "waiters")

    def __init__(self) -> None:
        self.count = 0
        self.last: Any = None
        self.waiters: list[tuple[int, asyncio.Future]] = []

    def add(self, item: Any) -> None:
        self.count += 1
        self.last = item
        still = []
        for wanted, future in self.waiters:
            if future.done():
                continue
            if self.count >= wanted:
                future.set_result(item)
            else:
                still.append((wanted, future))
        self.waiters = still

    async def wait(self, count: int, timeout: float) -> bool:
        """Wait until at least `count` messages have arrived; False on timeout."""
        if self.count >= count:
            return True
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((count, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True


class Recorder(list):
    """A fake's `calls` list that files each call as it is appended: DMs and personal chats by conversation (only
    the latest kept, so a long run does not fill this process's memory), everything else kept in full."""

    def __init__(self, file: Callable[[Any], bool]):
        super().__init__()
        self._file = file

    def append(self, item: Any) -> None:
        if self._file(item):
            super().append(item)


class LoadSlack(FakeSlack):
    """The fake Slack Web API, with each person's DM as a mailbox and channel posts kept for checking."""

    def __init__(self) -> None:
        super().__init__()
        self.dms: dict[str, Mailbox] = defaultdict(Mailbox)
        self.calls = Recorder(self._file)
        self.methods: Counter[str] = Counter()

    def _file(self, call: Call) -> bool:
        self.methods[call.method] += 1
        channel = str(call.args.get("channel") or "")
        if call.method == "chat.postMessage" and channel.startswith("D"):
            self.dms[channel].add(call)
            return False
        return call.method != "conversations.open"  # alerts, edits, failures: kept


class LoadConnector(FakeConnector):
    """The fake Bot Connector, with each personal chat as a mailbox and channel threads kept for checking."""

    def __init__(self) -> None:
        super().__init__()
        self.chats: dict[str, Mailbox] = defaultdict(Mailbox)
        self.calls = Recorder(self._file)
        self.kinds: Counter[str] = Counter()

    def _file(self, sent: Sent) -> bool:
        self.kinds[sent.kind] += 1
        if sent.kind == "reply" and sent.conversation.startswith("a:personal-"):
            self.chats[sent.conversation].add(sent)
            return False
        return True


async def start_fakes() -> tuple[LoadSlack, LoadConnector, list[web.AppRunner], str]:
    slack, connector = LoadSlack(), LoadConnector()
    slack_app = web.Application(client_max_size=4 * 1024 * 1024)
    slack_app.router.add_post("/api/{method}", slack.handle)
    slack_app.router.add_get("/api/{method}", slack.handle)
    teams_app = web.Application(client_max_size=4 * 1024 * 1024)
    teams_app.router.add_post("/v3/conversations", connector.create)
    teams_app.router.add_post("/v3/conversations/{conversation}/activities", connector.post)
    teams_app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", connector.reply)
    teams_app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", connector.update)
    teams_app.router.add_get("/v3/conversations/{conversation}/members/{member}", connector.member)
    runners, ports = [], []
    for app in (slack_app, teams_app):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        ports.append(site._server.sockets[0].getsockname()[1])  # noqa: SLF001
    connector.url = f"http://127.0.0.1:{ports[1]}/"
    return slack, connector, runners, f"http://127.0.0.1:{ports[0]}/api/"


# ---------------------------------------------------------------- measurements

@dataclass
class Stats:
    """Every request's outcome, with when it ended, so a window of the run can be summarised."""

    http: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))  # (end, ms)
    turns: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # sessions started, by kind
    references: dict[str, str] = field(default_factory=dict)  # reference -> lead role expected

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_examples) < 12:
            self.error_examples.append(f"{kind}: {detail}")

    @property
    def turn_count(self) -> int:
        return sum(len(v) for v in self.turns.values())


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


# ---------------------------------------------------------------- the people

class Unexpected(Exception):
    """The bot's reply was not what the script expected (no such button), or never came."""


class Person:
    """One member of staff on one platform: types, presses buttons by their label, and waits for each reply."""

    platform = ""

    def __init__(self, n: int, http: aiohttp.ClientSession, url: str, stats: Stats, args: argparse.Namespace):
        self.n, self.http, self.url, self.stats, self.args = n, http, url, stats, args

    async def _post(self, path: str, data: bytes, headers: dict[str, str]) -> None:
        start = time.perf_counter()
        try:
            async with self.http.post(f"{self.url}{path}", data=data, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
            self.stats.error(f"{self.platform} request failed", type(failure).__name__)
            raise Unexpected("request failed") from failure
        end = time.perf_counter()
        self.stats.http[self.platform].append((end, (end - start) * 1000))
        if not 200 <= status < 300:
            self.stats.error(f"{self.platform} HTTP {status}", path)
            raise Unexpected(f"HTTP {status}")

    async def _turn(self, send: Callable[[], Any]) -> None:
        box = self.mailbox
        expected = box.count + 1
        start = time.perf_counter()
        await send()
        if not await box.wait(expected, self.args.reply_timeout):
            self.stats.error(f"{self.platform} missing reply", f"staff {self.n}")
            raise Unexpected("no reply")
        end = time.perf_counter()
        self.stats.turns[self.platform].append((end, (end - start) * 1000))

    async def type(self, text: str) -> None:
        await self._turn(lambda: self._say(text))

    async def press(self, label: str) -> None:
        button = self.button(label)
        if button is None:
            self.stats.error(f"{self.platform} unexpected reply", f"no button {label!r}; have {self.labels()}")
            raise Unexpected(f"no button {label!r}")
        await self._turn(lambda: self._press(button))

    def said(self) -> str:
        """The last reply, as text (JSON of what the fake received)."""
        raise NotImplementedError

    def labels(self) -> list[str]:
        raise NotImplementedError

    def button(self, label: str) -> Any:
        raise NotImplementedError

    @property
    def mailbox(self) -> Mailbox:
        raise NotImplementedError

    async def _say(self, text: str) -> None:
        raise NotImplementedError

    async def _press(self, button: Any) -> None:
        raise NotImplementedError

    async def start_report(self, rng: random.Random) -> None:
        """Open the incident report (the platforms differ only in Slack's /report)."""
        if rng.random() < 0.5:
            await self.type("help")
            await self.press("Report an incident")
        else:
            await self.type(rng.choice(INCIDENT_OPENERS))
            await self.press("Report it")


class SlackPerson(Person):
    platform = "slack"

    def __init__(self, *a: Any, fake: LoadSlack, **kw: Any):
        super().__init__(*a, **kw)
        self.user = f"U{self.n:05d}"
        self.channel = f"D{self.user}"
        self.fake = fake
        self.events = 0

    @property
    def mailbox(self) -> Mailbox:
        return self.fake.dms[self.channel]

    def _signed(self, body: str, content_type: str) -> tuple[bytes, dict[str, str]]:
        ts = str(int(time.time()))
        signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        return body.encode(), {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                               "X-Slack-Signature": signature}

    async def _say(self, text: str) -> None:
        self.events += 1
        now = time.time()
        body = json.dumps({
            "token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{self.user}x{self.events:07d}", "event_time": int(now),
            "event": {"type": "message", "channel_type": "im", "channel": self.channel, "user": self.user,
                      "text": text, "ts": f"{now:.6f}", "event_ts": f"{now:.6f}"}})
        await self._post("/slack/events", *self._signed(body, "application/json"))

    async def _interact(self, payload: dict[str, Any]) -> None:
        payload = {"team": {"id": TEAM}, "api_app_id": "A1", "token": "x", **payload}
        await self._post("/slack/events", *self._signed(urlencode({"payload": json.dumps(payload)}),
                                                        "application/x-www-form-urlencoded"))

    async def _press(self, button: dict[str, str]) -> None:
        await self._interact({"type": "block_actions", "user": {"id": self.user}, "trigger_id": uuid.uuid4().hex,
                              "channel": {"id": self.channel}, "container": {"type": "message"},
                              "actions": [{**button, "type": "button", "action_ts": "1"}]})

    async def slash_report(self) -> None:
        body = urlencode({"command": "/report", "text": "", "user_id": self.user, "channel_id": "CSTAFF",
                          "team_id": TEAM, "trigger_id": uuid.uuid4().hex, "response_url": "http://127.0.0.1:9/"})
        await self._turn(lambda: self._post("/slack/events", *self._signed(body, "application/x-www-form-urlencoded")))

    async def start_report(self, rng: random.Random) -> None:
        if rng.random() < 0.3:
            await self.slash_report()
        else:
            await super().start_report(rng)

    def _buttons(self) -> list[dict[str, str]]:
        last = self.mailbox.last
        found = []
        for block in (last.args.get("blocks") or []) if last is not None else []:
            for element in block.get("elements", []) if isinstance(block, dict) else []:
                if element.get("type") == "button":
                    found.append({"action_id": element["action_id"], "value": element.get("value", ""),
                                  "block_id": block.get("block_id", "b"), "label": element["text"]["text"]})
        return found

    def labels(self) -> list[str]:
        return [b["label"] for b in self._buttons()]

    def button(self, label: str) -> dict[str, str] | None:
        for b in self._buttons():
            if b["label"] == label:
                return {k: v for k, v in b.items() if k != "label"}
        return None

    def said(self) -> str:
        last = self.mailbox.last
        return json.dumps(last.args) if last is not None else ""


class TeamsPerson(Person):
    platform = "teams"

    def __init__(self, *a: Any, fake: LoadConnector, **kw: Any):
        super().__init__(*a, **kw)
        self.user = f"staff{self.n:05d}"
        self.conversation = f"a:personal-{self.user}"
        self.fake = fake
        self.activities = 0

    @property
    def mailbox(self) -> Mailbox:
        return self.fake.chats[self.conversation]

    def _activity(self, **content: Any) -> bytes:
        self.activities += 1
        activity = {
            "type": "message", "id": f"{self.user}-{self.activities:07d}", "channelId": "msteams",
            "timestamp": "2026-11-20T10:00:00.000Z", "serviceUrl": self.fake.url, "locale": "en-GB",
            "from": {"id": f"29:{self.user}", "name": f"Staff {self.n}", "aadObjectId": f"aad-{self.user}"},
            "recipient": {"id": BOT, "name": "Policy assistant"},
            "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": self.conversation},
            "channelData": {"tenant": {"id": TENANT}}, **content}
        return json.dumps(activity).encode()

    async def _say(self, text: str) -> None:
        await self._post("/api/messages", self._activity(text=text, textFormat="plain"),
                         {"Content-Type": "application/json"})

    async def _press(self, button: tuple[str, dict[str, Any]]) -> None:
        reply_to, data = button
        await self._post("/api/messages", self._activity(value=data, replyToId=reply_to),
                         {"Content-Type": "application/json"})

    def _submits(self) -> list[dict[str, Any]]:
        last = self.mailbox.last
        return submits(last.card) if last is not None else []

    def labels(self) -> list[str]:
        return [a.get("title", "") for a in self._submits()]

    def button(self, label: str) -> tuple[str, dict[str, Any]] | None:
        for action in self._submits():
            if action.get("title") == label:
                return self.mailbox.last.activity_id, action.get("data") or {}
        return None

    def said(self) -> str:
        last = self.mailbox.last
        return last.text if last is not None else ""


# ---------------------------------------------------------------- what staff do

class Pacing:
    """Think time between turns, and whether the run is still on."""

    def __init__(self, think: float, stop: asyncio.Event):
        self.think, self.stop = think, stop

    async def pause(self, rng: random.Random, factor: float = 1.0) -> None:
        mean = self.think * factor
        delay = rng.uniform(0.5 * mean, 1.5 * mean)
        try:
            await asyncio.wait_for(self.stop.wait(), delay)
        except TimeoutError:
            pass
        if self.stop.is_set():
            raise asyncio.CancelledError  # stop between turns, never in the middle of one


async def ask(person: Person, rng: random.Random, pace: Pacing) -> None:
    """A question; sometimes a button: feedback, another clause it suggests, turning down the dialog it offers, or
    passing a question the policy does not answer to the Headteacher."""
    await person.type(rng.choice(QUESTIONS))
    labels = person.labels()
    clauses = [label for label in labels if label not in ("Yes", "No", "No, thanks", "Report it",
                                                          "Check the request", "Start a request")]
    if "Ask Headteacher" in labels:
        if rng.random() < 0.3:
            await pace.pause(rng)
            await person.press("Ask Headteacher")
    elif clauses and rng.random() < 0.2:
        await pace.pause(rng)
        await person.press(rng.choice(clauses))
    elif "No, thanks" in labels and rng.random() < 0.5:
        await pace.pause(rng)
        await person.press("No, thanks")
    elif "Yes" in labels and rng.random() < 0.3:
        await pace.pause(rng)
        await person.press(rng.choice(["Yes", "Yes", "No"]))


async def friend_request(person: Person, rng: random.Random, pace: Pacing) -> None:
    """The friend-request dialog, all buttons after the opening."""
    if rng.random() < 0.5:
        await person.type("help")
        await pace.pause(rng)
        await person.press("Check a friend request")
    else:
        await person.type(rng.choice(FRIEND_OPENERS))
        await pace.pause(rng)
        await person.press("Check the request")
    sender = rng.choice(SENDERS)
    steps = list(sender)
    if sender[0] in FAMILY_ASKED:
        steps.append(rng.choice(["No", "No", "Yes"]))
    steps += [rng.choice(["My personal account", "My personal account", "A school account I run"]),
              rng.choice(["No", "No", "Yes"])]
    for label in steps:
        await pace.pause(rng)
        await person.press(label)


async def incident(person: Person, rng: random.Random, pace: Pacing) -> None:
    """An incident report, typed and pressed through to Submit; notes the reference and who should be alerted."""
    await person.start_report(rng)
    category = rng.choice(list(CATEGORIES))
    lead = CATEGORIES[category]
    script: list[tuple[str, str]] = [("press", rng.choice(["No", "No", "No", "I'm not sure"])), ("press", category)]
    if category == "A colleague's conduct online":
        about_head = rng.choice(["No", "No", "Yes"])
        script.append(("press", about_head))
        lead = "chair" if about_head == "Yes" else lead
    if category == "Contact from a journalist or the media":
        script += [("type", "A reporter from the Gazette, by phone to the school office"),
                   ("type", "The reporter asked about a pupil's exclusion and wanted a comment"),
                   ("type", rng.choice(WHEN)), ("type", "Gazette reporter"), ("type", "Said I would pass it on")]
    else:
        evidence = rng.choice(EVIDENCE)
        script += [("type", rng.choice(["me", "a colleague, Mr Jones", "AB, Year 9"])), ("type", rng.choice(WHAT)),
                   ("type", rng.choice(WHEN)), ("type", rng.choice(WHERE)), ("type", rng.choice(INVOLVED)),
                   ("press", evidence)]
        if evidence != "Nothing yet":
            script.append(("type", rng.choice(["skip", "It shows the post with the account name and the time"])))
        script.append(("type", rng.choice(DONE)))
    script.append(("press", "Submit"))
    for how, what in script:
        await pace.pause(rng)
        await (person.press(what) if how == "press" else person.type(what))
    found = REFERENCE.findall(person.said())
    if not found:
        person.stats.error(f"{person.platform} unexpected reply", "no reference after Submit")
        raise Unexpected("no reference")
    person.stats.references[found[0]] = lead


SESSIONS = [(ask, 0.70), (friend_request, 0.18), (incident, 0.12)]


async def staff_loop(person: Person, seed: int, pace: Pacing) -> None:
    rng = random.Random(seed)
    try:
        await pace.pause(rng, factor=rng.uniform(0.0, 2.0))  # staggered arrivals
        while True:
            session = rng.choices([s for s, _ in SESSIONS], [w for _, w in SESSIONS])[0]
            person.stats.kinds[session.__name__] += 1
            try:
                await session(person, rng, pace)
            except Unexpected:
                await pace.pause(rng)
                try:
                    await person.type("cancel")  # leave whatever dialog the failure left behind
                except Unexpected:
                    pass
            await pace.pause(rng, factor=2.0)  # a longer gap between one thing and the next
    except asyncio.CancelledError:
        return


# ---------------------------------------------------------------- the run

def school_config() -> str:
    """The embedded example configuration, with every lead on Slack and Teams, a channel each."""
    from bot.school import load_config

    config = load_config()
    lines = ["[school]", f'name = "Load Test School"', f'policy = "{config.school.policy}"',
             f'contact = "{config.school.contact}"', f'ask_role = "{config.school.ask_role}"', "", "[routing]"]
    lines += [f'{category} = "{role}"' for category, role in config.routing.items()]
    for role, lead in config.leads.items():
        slack_channel, teams_channel = LEADS[role]
        lines += ["", f"[leads.{role}]", f'title = "{lead.title}"', f'name = "{lead.name}"']
        if lead.deputy:
            lines.append(f'deputy = "{lead.deputy}"')
        lines += [f'slack = {{ users = ["U{role.upper()}"], channel = "{slack_channel}" }}',
                  f'teams = {{ users = ["aad-{role}"], channel = "{teams_channel}" }}']
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """Where the bot's data goes: a SQLite file in the run's folder, or a fresh schema in a PostgreSQL database."""

    def __init__(self, url: str | None, folder: Path):
        from bot.store.db import database_url

        self.schema = ""
        if not url:
            self.url = f"sqlite:///{folder / 'bot.sqlite3'}"
            self.label = "SQLite (WAL, one file)"
            return
        base = database_url(url, folder)
        if not base.startswith("postgresql"):
            raise SystemExit("--database-url must be postgresql://... (the default is a SQLite file)")
        self.schema = f"load_{uuid.uuid4().hex[:10]}"
        self._base = base
        self._admin(f"CREATE SCHEMA {self.schema}")
        self.url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{self.schema}"
        self.label = f"PostgreSQL (schema {self.schema}, dropped afterwards)"

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self._base)
        with engine.begin() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def contents(self) -> dict[str, Any]:
        """What the bot stored: reports by reference, and outbox messages by status."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        with engine.connect() as connection:
            references = [r for (r,) in connection.execute(text("SELECT reference FROM report"))]
            outbox = dict(connection.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all())
            events = connection.execute(text("SELECT count(*) FROM seen_event")).scalar_one()
        engine.dispose()
        return {"references": references, "outbox": outbox, "seen_events": events}

    def drop(self) -> None:
        if self.schema:
            self._admin(f"DROP SCHEMA {self.schema} CASCADE")


async def wait_ready(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            async with http.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"the bot did not start (exit {proc.poll()}):\n{log.read_text(errors='replace')[-3000:]}")


async def install_in_lead_channels(http: aiohttp.ClientSession, url: str, connector: LoadConnector) -> None:
    """Add the bot to each lead's Teams channel, as a Teams admin would: the bot stores where the channel is."""
    for role, (_, channel) in LEADS.items():
        activity = {"type": "conversationUpdate", "id": f"install-{role}", "channelId": "msteams",
                    "serviceUrl": connector.url, "from": {"id": "29:admin", "aadObjectId": "aad-admin"},
                    "recipient": {"id": BOT, "name": "Policy assistant"}, "membersAdded": [{"id": BOT}],
                    "conversation": {"conversationType": "channel", "tenantId": TENANT, "id": channel,
                                     "isGroup": True},
                    "channelData": {"tenant": {"id": TENANT}, "channel": {"id": channel},
                                    "team": {"id": "19:team@thread.tacv2"}}}
        async with http.post(f"{url}/api/messages", json=activity) as response:
            await response.read()
            if response.status != 200:
                raise SystemExit(f"installing in {channel} answered {response.status}")


def alerts(slack: LoadSlack, connector: LoadConnector) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """(reference, channel) -> how many new alerts were posted there, on Slack and on Teams."""
    slack_alerts: Counter[tuple[str, str]] = Counter()
    for call in slack.calls:
        if call.method == "chat.postMessage":
            for reference in set(REFERENCE.findall(json.dumps(call.args))):
                slack_alerts[(reference, str(call.args.get("channel")))] += 1
    teams_alerts: Counter[tuple[str, str]] = Counter()
    for sent in connector.calls:
        if sent.kind == "create":
            for reference in set(REFERENCE.findall(sent.text)):
                teams_alerts[(reference, sent.conversation.partition(";")[0])] += 1
    return slack_alerts, teams_alerts


async def run(args: argparse.Namespace) -> int:
    slack, connector, fake_runners, api_url = await start_fakes()
    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="bot-load-") as tmp:
        folder = Path(tmp)
        db = Database(args.database_url, folder)
        (folder / "school.toml").write_text(school_config(), encoding="utf-8")
        port = free_port()
        env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
               "DATABASE_URL": db.url, "BOT_DATA_DIR": str(folder / "data"), "BOT_CONFIG": str(folder / "school.toml"),
               "PYTHONUNBUFFERED": "1"}
        for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "BOT_POLICIES", "SLACK_APP_TOKEN"):
            env.pop(name, None)
        log = folder / "bot.log"
        with log.open("wb") as out:  # a file, not a pipe nobody reads while the load runs
            proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        memory: dict[str, float] = {}
        try:
            connector_pool = aiohttp.TCPConnector(limit=0, limit_per_host=0)
            timeout = aiohttp.ClientTimeout(total=args.reply_timeout)
            async with aiohttp.ClientSession(connector=connector_pool, timeout=timeout) as http:
                await wait_ready(http, url, proc, log)
                await install_in_lead_channels(http, url, connector)
                memory["at start"] = rss_mb(proc.pid)
                print(f"bot up (pid {proc.pid}) on {db.label}; RSS {memory['at start']:.0f} MB; {os.cpu_count()} "
                      f"cores; load average {os.getloadavg()[0]:.1f}", flush=True)
                print(f"{args.staff} staff, think time ~{args.think:g} s; timed phase {args.seconds:g} s, then on "
                      f"to {args.turns} turns ...", flush=True)
                stop = asyncio.Event()
                pace = Pacing(args.think, stop)
                people: list[Person] = [
                    SlackPerson(n, http, url, stats, args, fake=slack) if n % 2 == 0 else
                    TeamsPerson(n, http, url, stats, args, fake=connector) for n in range(args.staff)]
                t0 = time.perf_counter()
                cpu0 = cpu_seconds(proc.pid)
                tasks = [asyncio.create_task(staff_loop(p, args.seed * 100_000 + p.n, pace)) for p in people]
                timed_end = t0 + args.seconds
                window: dict[str, Any] = {}
                next_report = t0 + 10
                while True:
                    await asyncio.sleep(0.2)
                    now = time.perf_counter()
                    if not window and now >= timed_end:
                        window = {"end": now, "turns": stats.turn_count, "cpu": cpu_seconds(proc.pid) - cpu0}
                        memory[f"after the {args.seconds:g} s phase ({window['turns']} turns)"] = rss_mb(proc.pid)
                    if stats.turn_count >= args.turns and f"after {args.turns} turns" not in memory:
                        memory[f"after {args.turns} turns"] = rss_mb(proc.pid)
                    if now >= next_report:
                        next_report += 10
                        print(f"  {now - t0:5.0f} s: {stats.turn_count} turns, {sum(stats.errors.values())} errors, "
                              f"RSS {rss_mb(proc.pid):.0f} MB", flush=True)
                    if window and f"after {args.turns} turns" in memory:
                        break
                    if proc.poll() is not None:
                        stats.error("server exited", f"exit {proc.returncode}")
                        break
                stop.set()
                await asyncio.gather(*tasks)
                total_elapsed = time.perf_counter() - t0
                drained = await drain(slack, connector, stats, args.drain)
                memory["at the end"] = rss_mb(proc.pid)
                contents = db.contents()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down cleanly on SIGINT
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for runner in fake_runners:
                await runner.cleanup()
            db.drop()
            if args.server_log:
                Path(args.server_log).write_bytes(log.read_bytes())
        problems = report(args, stats, t0, window, total_elapsed, memory, slack, connector, contents, drained,
                          db.label)
        if problems and args.show_log:
            print(log.read_text(errors="replace")[-5000:])
    return 1 if problems else 0


async def drain(slack: LoadSlack, connector: LoadConnector, stats: Stats, timeout: float) -> float:
    """Wait until every report has its alerts on both platforms; the seconds it took (nan if they never came)."""
    start = time.perf_counter()
    while True:
        slack_alerts, teams_alerts = alerts(slack, connector)
        done = all((ref, LEADS[lead][0]) in slack_alerts and (ref, LEADS[lead][1]) in teams_alerts
                   for ref, lead in stats.references.items())
        if done:
            await asyncio.sleep(1.0)  # long enough for a duplicate, if there were to be one, to arrive too
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            return math.nan
        await asyncio.sleep(0.2)


def report(args: argparse.Namespace, stats: Stats, t0: float, window: dict[str, Any], total_elapsed: float,
           memory: dict[str, float], slack: LoadSlack, connector: LoadConnector, contents: dict[str, Any],
           drained: float, label: str) -> list[str]:
    problems: list[str] = []
    end = window.get("end", t0 + total_elapsed)
    print()
    print(f"database: {label}; {args.staff} staff, think ~{args.think:g} s; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at the end (this script and the bot share the machine)")
    print(f"timed phase: {end - t0:.1f} s, {window.get('turns', stats.turn_count)} turns "
          f"({window.get('turns', stats.turn_count) / (end - t0):.1f} turns/s), server CPU "
          f"{window.get('cpu', math.nan) / (end - t0) * 100:.0f} % of one core")
    print(f"whole run:   {total_elapsed:.1f} s, {stats.turn_count} turns ({stats.turn_count / total_elapsed:.1f} "
          f"turns/s); sessions: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.kinds.items())))
    print()
    print(f"{'latency, ms':28} {'requests':>9} {'p50':>8} {'p99':>8} {'max':>8}   (timed phase | whole run)")
    for platform, path in (("slack", "POST /slack/events"), ("teams", "POST /api/messages")):
        for what, samples in ((f"{path} (HTTP)", stats.http[platform]), (f"  {platform} turn (to reply)",
                                                                         stats.turns[platform])):
            timed = [ms for at, ms in samples if at <= end]
            every = [ms for _, ms in samples]
            print(f"{what:28} {len(timed):9d} {pct(timed, 50):8.1f} {pct(timed, 99):8.1f} {max(timed, default=0):8.1f}"
                  f"   | {len(every)} {pct(every, 50):.1f} {pct(every, 99):.1f} {max(every, default=0):.1f}")
    requests = sum(len(v) for v in stats.http.values())
    errors = sum(stats.errors.values())
    print()
    print(f"requests: {requests}; errors: {errors}" + (f" {dict(stats.errors)}" if errors else ""))
    for example in stats.error_examples:
        print(f"  e.g. {example}")
    if errors:
        problems.append(f"{errors} errors")

    slack_alerts, teams_alerts = alerts(slack, connector)
    missing, repeated = [], []
    for reference, lead in sorted(stats.references.items()):
        for platform, found, channel in (("slack", slack_alerts, LEADS[lead][0]), ("teams", teams_alerts,
                                                                                    LEADS[lead][1])):
            n = found.get((reference, channel), 0)
            if n == 0:
                missing.append(f"{reference} on {platform}")
            elif n > 1:
                repeated.append(f"{reference} on {platform} x{n}")
    stray = [key for key in list(slack_alerts) + list(teams_alerts) if key[0] not in stats.references]
    stored = sorted(contents["references"])
    print(f"reports filed: {len(stats.references)} (confirmed to their reporters); in the database: {len(stored)}")
    print(f"alerts delivered: Slack {sum(slack_alerts.values())}, Teams {sum(teams_alerts.values())} "
          f"(expected {len(stats.references)} each); missing {len(missing)}, repeated {len(repeated)}, "
          f"for unknown reports {len(stray)}; outbox {contents['outbox']}; caught up "
          f"{drained:.1f} s after the load stopped")
    for problem, found in (("missing", missing), ("repeated", repeated), ("stray", stray)):
        if found:
            problems.append(f"alerts {problem}: {found[:5]}")
    if stored != sorted(stats.references):
        problems.append(f"the database holds {len(stored)} reports, the reporters were told of "
                        f"{len(stats.references)}")
    if set(contents["outbox"]) - {"sent"}:
        problems.append(f"outbox not all sent: {contents['outbox']}")
    print(f"fake Slack calls: {dict(slack.methods)}; fake connector calls: {dict(connector.kinds)}")
    print()
    print("server RSS (VmRSS): " + "; ".join(f"{k} {v:.0f} MB" for k, v in memory.items()))
    after = memory.get(f"after {args.turns} turns", math.nan)
    print(f"target: errors 0 -> {'PASS' if not errors else 'MISS'}; every alert exactly once -> "
          f"{'PASS' if not (missing or repeated or stray) else 'MISS'}; RSS after {args.turns} turns < 200 MB -> "
          f"{'PASS' if after < 200 else 'MISS'} ({after:.0f} MB)")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: 40 staff, 10 s, then on to 1,000 turns")
    parser.add_argument("--staff", type=int, help="simulated staff (200; 40 with --quick)")
    parser.add_argument("--seconds", type=float, help="the timed phase (60 s; 10 with --quick)")
    parser.add_argument("--turns", type=int, help="carry on until this many turns, then read the server's memory "
                                                  "(10,000; 1,000 with --quick)")
    parser.add_argument("--think", type=float, default=2.0, help="mean think time between turns, seconds (2)")
    parser.add_argument("--database-url", help="run on this PostgreSQL database (a fresh schema, dropped after); "
                                               "default: a temporary SQLite file")
    parser.add_argument("--reply-timeout", type=float, default=30.0,
                        help="how long a reply may take before it counts as missing (30 s)")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="how long to wait for every alert after the load stops (120 s)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for what the staff do (1)")
    parser.add_argument("--show-log", action="store_true", help="print the end of the server's log on a problem")
    parser.add_argument("--server-log", metavar="FILE", help="keep a copy of the server's log (standard output)")
    args = parser.parse_args()
    args.staff = args.staff or (40 if args.quick else 200)
    args.seconds = args.seconds if args.seconds is not None else (10.0 if args.quick else 60.0)
    args.turns = args.turns if args.turns is not None else (1000 if args.quick else 10_000)
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
