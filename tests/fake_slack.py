"""A local stand-in for Slack's Web API that records every call the bot makes (as slack-bolt's own tests do),
and can be told to fail the next calls (HTTP 500, 429 with Retry-After, or hang past the client's timeout)."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Call:
    """One Web API call: the method and its arguments."""

    method: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    """The recorded calls and the failures queued for upcoming calls."""

    calls: list[Call] = field(default_factory=list)
    failures: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)  # (method, status, headers)
    hang: set[str] = field(default_factory=set)
    _ts: int = 0

    def of(self, method: str) -> list[Call]:
        """The recorded calls to one method."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until at least `count` calls to `method` have been made (the bot works after acking)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.of(method)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{method}: {len(self.of(method))} calls, wanted {count}; "
                                     f"calls: {[c.method for c in self.calls]}")
            await asyncio.sleep(0.02)
        return self.of(method)

    def fail_next(self, method: str, status: int, **headers: str) -> None:
        """Make the next call to `method` answer with this HTTP status."""
        self.failures.append((method, status, headers))

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode()))
            for key in ("blocks", "view"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        args = {**dict(request.query), **args}  # some SDK methods send their arguments in the query string
        if method in self.hang:
            await asyncio.sleep(60)
        for i, (failing, status, headers) in enumerate(self.failures):
            if failing == method:
                del self.failures[i]
                self.calls.append(Call(f"{method}!{status}", args))
                return web.json_response({"ok": False, "error": "fake_failure"}, status=status, headers=headers)
        self.calls.append(Call(method, args))
        return web.json_response(self.answer(method, args))

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "policy-assistant"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))}}
        if method in ("chat.postMessage", "chat.update"):
            self._ts += 1
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts") or f"1700000000.{self._ts:06d}"}
        if method == "users.info":
            return {"ok": True, "user": {"id": args.get("user"), "real_name": f"Name of {args.get('user')}"}}
        return {"ok": True}


async def start_fake_slack() -> tuple[FakeSlack, web.AppRunner, str]:
    """Start the fake on a free loopback port; returns it, its runner, and its API base URL (with the slash)."""
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return fake, runner, f"http://127.0.0.1:{port}/api/"
