"""A local stand-in for Slack's Web API that records every call the bot makes (as slack-bolt's own tests do),
and can be told to fail the next calls (HTTP 500, 429 with Retry-After, or hang past the client's timeout), or to
take a post and then not answer (`hang_after`: the message is in the channel, the bot never hears so).

Posted messages are kept per channel, with their metadata, and conversations.history returns them as Slack does
(newest first, `oldest`/`latest` bounds, `limit` and a cursor; metadata only with include_all_metadata)."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web


@dataclass
class Call:
    """One Web API call: the method and its arguments."""

    method: str
    args: dict[str, Any]
    token: str = ""  # the bearer token it was made with (the bot's xoxb-, or the app-level xapp- for sockets)
    answered: dict[str, Any] = field(default_factory=dict)  # what the fake answered (a posted message's ts)


@dataclass
class FakeSlack:
    """The recorded calls and the failures queued for upcoming calls."""

    calls: list[Call] = field(default_factory=list)
    # (method, HTTP status, headers, the error its answer names) for upcoming calls
    failures: list[tuple[str, int, dict[str, str], str]] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    hang_after: set[str] = field(default_factory=set)  # methods that do their work, then never answer
    hang_once: list[str] = field(default_factory=list)  # the next call to each: not taken, never answered
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # posted messages by channel, oldest first
    names: dict[str, str] = field(default_factory=dict)  # users.info real names by user id
    holding: dict[str, asyncio.Event] = field(default_factory=dict)  # methods whose calls wait to be released
    socket_url: str = ""  # what apps.connections.open hands out: the Socket Mode websocket to connect to
    _ts: float = 0.0
    _views: int = 0

    def of(self, method: str) -> list[Call]:
        """The recorded calls to one method."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until at least `count` calls to `method` have been made (the bot works after acking)."""
        return await self.wait_until(lambda: self.of(method), count, timeout, what=method)

    def posted_to(self, channel: str) -> list[Call]:
        """The chat.postMessage calls to one channel (a person's DM is D + their id)."""
        return [c for c in self.of("chat.postMessage") if c.args.get("channel") == channel]

    async def wait_until(self, found: Callable[[], list[Call]], count: int = 1, timeout: float = 10.0,
                         what: str = "calls") -> list[Call]:
        """Wait until `found()` lists at least `count` calls, and return them."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found()) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{what}: {len(found())} calls, wanted {count}; "
                                     f"calls: {[c.method for c in self.calls]}")
            await asyncio.sleep(0.02)
        return found()

    def hold(self, method: str) -> asyncio.Event:
        """Calls to the method wait, unanswered, until the returned event is set; then they are answered."""
        self.holding[method] = asyncio.Event()
        return self.holding[method]

    def fail_next(self, method: str, status: int, *, error: str = "fake_failure", **headers: str) -> None:
        """Make the next call to `method` answer with this HTTP status (and `ok: false`, naming the error)."""
        self.failures.append((method, status, headers, error))

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
            for key in ("blocks", "view", "metadata"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        args = {**dict(request.query), **args}  # some SDK methods send their arguments in the query string
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method in self.holding:
            self.calls.append(Call(f"{method}!held", args, token))
            await self.holding[method].wait()
        if method in self.hang:
            await stall(request)
        if method in self.hang_once:
            self.hang_once.remove(method)
            self.calls.append(Call(f"{method}!hang", args, token))
            await stall(request)
            return web.json_response({"ok": False, "error": "fake_hang"}, status=504)  # not taken: nobody hears
        for i, (failing, status, headers, error) in enumerate(self.failures):
            if failing == method:
                del self.failures[i]
                self.calls.append(Call(f"{method}!{status}", args, token))
                return web.json_response({"ok": False, "error": error}, status=status, headers=headers)
        answered = self.answer(method, args)
        self.calls.append(Call(method, args, token, answered))
        if method in self.hang_after:
            await stall(request)
        return web.json_response(answered)

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "policy-assistant"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))}}
        if method == "chat.postMessage":
            ts = self._next_ts()
            self.history.setdefault(str(args.get("channel")), []).append(
                {"type": "message", "ts": ts, "text": args.get("text", ""), "bot_id": "BBOT",
                 **({"metadata": args["metadata"]} if args.get("metadata") else {})})
            return {"ok": True, "channel": args.get("channel"), "ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "conversations.history":
            return self._history(args)
        if method == "users.info":
            user = str(args.get("user"))
            name = self.names.get(user, f"Name of {user}")
            return {"ok": True, "user": {"id": user, "name": user.lower(), "real_name": name,
                                         "profile": {"real_name": name, "display_name": ""}}}
        if method in ("views.open", "views.publish"):
            self._views += 1
            return {"ok": True, "view": {**(args.get("view") or {}), "id": f"V{self._views:04d}"}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False,
                                                                                "error": "no_socket_server"}
        return {"ok": True}


    def _next_ts(self) -> str:
        """A message timestamp as Slack gives them: the time now, strictly increasing."""
        self._ts = max(time.time(), self._ts + 0.000001)
        return f"{self._ts:.6f}"

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """conversations.history: newest first, within oldest/latest, `limit` per page, the cursor an offset."""
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 1e12)
        messages = [m for m in reversed(self.history.get(str(args.get("channel")), []))
                    if oldest < float(m["ts"]) <= latest]
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page, more = messages[start:start + limit], start + limit < len(messages)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


async def stall(request: web.Request, seconds: float = 60.0) -> None:
    """Keep the caller waiting, but only as long as it waits: a client that gave up (a timeout) or died (a killed
    server) frees the handler, so the fake's own shutdown is not held up."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if request.transport is None or request.transport.is_closing():
            return
        await asyncio.sleep(0.05)


async def start_fake_slack() -> tuple[FakeSlack, web.AppRunner, str]:
    """Start the fake on a free loopback port; returns it, its runner, and its API base URL (with the slash)."""
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/{method}", fake.handle)
    app.router.add_get("/api/{method}", fake.handle)  # the SDK sends a few read methods (users.info) as GET
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return fake, runner, f"http://127.0.0.1:{port}/api/"


@dataclass
class FakeSocketMode:
    """A stand-in for Slack's Socket Mode endpoint: it greets each connection with `hello`, sends the envelopes a
    test gives it, and records what the bot sends back (acks carrying the envelope_id, and any payload)."""

    received: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()  # answers the client's pings itself, as Slack does
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                                "connection_info": {"app_id": "A1"}})
        self.sockets.append(socket)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.received.append(json.loads(message.data))
        return socket

    async def send(self, envelope: dict[str, Any], timeout: float = 10.0) -> None:
        """Send an envelope over the bot's connection, once it has connected."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.sockets:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the bot never connected to the Socket Mode endpoint")
            await asyncio.sleep(0.02)
        await self.sockets[-1].send_json(envelope)

    async def ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the bot's acknowledgement of one envelope, and return it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for message in self.received:
                if message.get("envelope_id") == envelope_id:
                    return message
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no ack for {envelope_id}; received: {self.received}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        """Close every connection (before the server stops, so no handler is left waiting)."""
        for socket in self.sockets:
            await socket.close()


async def start_fake_socket_mode() -> tuple[FakeSocketMode, web.AppRunner, str]:
    """Start the Socket Mode stand-in on a free loopback port; returns it, its runner, and its ws:// URL."""
    fake = FakeSocketMode()
    app = web.Application()
    app.router.add_get("/link", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return fake, runner, f"ws://127.0.0.1:{port}/link?ticket=fake"
