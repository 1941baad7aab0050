"""A local stand-in for the Bot Connector service Teams replies go to (an activity's serviceUrl): it records every
call the bot makes, and can be told to fail the next calls (HTTP 500, 429 with Retry-After, 403) or to hang."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from aiohttp import web

from tests.fake_slack import stall

CARD = "application/vnd.microsoft.card.adaptive"


@dataclass
class Sent:
    """One call to the connector: what kind, in which conversation, and the activity sent."""

    kind: str  # "reply", "post", "create", "update" or "member"; "create!500" for a failed attempt
    conversation: str
    body: dict[str, Any]
    activity_id: str = ""

    @property
    def card(self) -> dict[str, Any]:
        """The Adaptive Card the activity carries ({} when none)."""
        activity = self.body.get("activity", self.body) if self.kind == "create" else self.body
        for attachment in activity.get("attachments") or []:
            if attachment.get("contentType") == CARD:
                return attachment["content"]
        return {}

    @property
    def text(self) -> str:
        """Every piece of text in the activity and its card, as one string."""
        return json.dumps([self.body.get("text", ""), self.card])


@dataclass
class FakeConnector:
    """The recorded calls, the member names it knows, and the failures queued for upcoming calls."""

    calls: list[Sent] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    failures: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    url: str = ""
    _ids: Any = field(default_factory=lambda: count(1))

    def of(self, kind: str) -> list[Sent]:
        """The recorded calls of one kind."""
        return [c for c in self.calls if c.kind == kind]

    def to(self, conversation: str) -> list[Sent]:
        """Everything sent into one conversation (replies, posts, and a thread started there)."""
        return [c for c in self.calls if c.conversation == conversation and c.kind != "member"]

    async def wait_for(self, kind: str, count_: int = 1, timeout: float = 10.0, **where: str) -> list[Sent]:
        """Wait until at least `count_` calls of a kind (in a conversation, if given) were made."""
        deadline = asyncio.get_running_loop().time() + timeout

        def matching() -> list[Sent]:
            return [c for c in self.of(kind) if all(getattr(c, k) == v for k, v in where.items())]
        while len(matching()) < count_:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{kind}{where}: {len(matching())} calls, wanted {count_}; calls: "
                                     f"{[(c.kind, c.conversation) for c in self.calls]}")
            await asyncio.sleep(0.02)
        return matching()

    def fail_next(self, kind: str, status: int, **headers: str) -> None:
        """Make the next call of this kind answer with this HTTP status."""
        self.failures.append((kind, status, headers))

    async def _answer(self, kind: str, conversation: str, request: web.Request, activity_id: str = ""
                      ) -> web.Response | None:
        for i, (failing, status, headers) in enumerate(self.failures):
            if failing == kind:
                del self.failures[i]
                self.calls.append(Sent(f"{kind}!{status}", conversation, {}))  # the failed attempt, for waiting on
                return web.json_response({"error": {"code": "Failure", "message": "fake failure"}}, status=status,
                                         headers=headers)
        if kind in self.hang:  # queued failures come first, then the hang (until the bot gives up on it)
            await stall(request, 3600)
        body = await request.json() if request.can_read_body else {}
        self.calls.append(Sent(kind, conversation, body, activity_id))
        return None

    async def reply(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        return await self._answer("reply", conversation, request, request.match_info["activity"]) or \
            web.json_response({"id": f"act-{next(self._ids)}"})

    async def post(self, request: web.Request) -> web.Response:
        return await self._answer("post", request.match_info["conversation"], request) or \
            web.json_response({"id": f"act-{next(self._ids)}"})

    async def update(self, request: web.Request) -> web.Response:
        activity = request.match_info["activity"]
        return await self._answer("update", request.match_info["conversation"], request, activity) or \
            web.json_response({"id": activity})

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id", "")
        members = body.get("members") or [{}]
        number = next(self._ids)
        conversation = f"{channel};messageid={number}" if channel else f"a:chat-with-{members[0].get('id', '')}"
        failed = await self._answer("create", conversation, _Replay(body))  # a channel's new thread, or a chat
        if failed is not None:
            return failed
        self.calls[-1].activity_id = str(number) if channel else ""
        return web.json_response({"id": conversation, "activityId": str(number) if channel else ""})

    async def member(self, request: web.Request) -> web.Response:
        member = request.match_info["member"]
        failed = await self._answer("member", request.match_info["conversation"], request, member)
        if failed is not None:
            return failed
        if member not in self.names:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation"}}, status=404)
        return web.json_response({"id": member, "name": self.names[member]})


def submits(node: Any) -> list[dict]:
    """Every Action.Submit in a card, however deeply nested (a ShowCard's form included)."""
    found: list[dict] = []
    if isinstance(node, dict):
        if node.get("type") == "Action.Submit":
            found.append(node)
        for child in node.values():
            found += submits(child)
    elif isinstance(node, list):
        for child in node:
            found += submits(child)
    return found


class _Replay:
    """A request whose body was already read."""

    can_read_body = True

    def __init__(self, body: dict[str, Any]):
        self._body = body

    async def json(self) -> dict[str, Any]:
        return self._body


async def start_fake_connector() -> tuple[FakeConnector, web.AppRunner]:
    """Start the fake on a free loopback port; its `url` is what activities carry as serviceUrl."""
    fake = FakeConnector()
    app = web.Application()
    app.router.add_post("/v3/conversations", fake.create)
    app.router.add_post("/v3/conversations/{conversation}/activities", fake.post)
    app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", fake.reply)
    app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", fake.update)
    app.router.add_get("/v3/conversations/{conversation}/members/{member}", fake.member)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # noqa: SLF001
    return fake, runner
