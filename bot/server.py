"""One aiohttp server for every channel: `POST /slack/events`, `POST /api/messages` (Teams), `GET /healthz`.

It also runs the outbox worker, and the reminders once an hour, beside the web handlers.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import text
from sqlmodel import Session

from bot import escalation
from bot.channels import slack_inbox, slack_request, slack_socket
from bot.channels.backlog import Backlog
from bot.channels.slack import build_app, keep_connections, turn_key
from bot.channels.slack_sender import SlackSender, outbox_client
from bot.channels.teams import TeamsBot, TeamsSettings, build_adapter, messages_handler
from bot.channels.teams_connector import AppToken, Connector, NoToken
from bot.channels.teams_sender import TeamsSender
from bot.conversation import Conversation
from bot.delivery import LEASE, Delivery, Sender, call_timeout
from bot.store.db import connections
from bot.store.errors import unavailable

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"
RETRY_AFTER = 5  # seconds, suggested to a sender refused because too much is in progress
MIN_LEASE = 4.0  # seconds: below this, each platform call would get too little time (see delivery.call_timeout)


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Slack's credentials and where its Web API is (tests and staging point it elsewhere)."""

    token: str
    signing_secret: str
    api_url: str = DEFAULT_API_URL
    app_token: str = ""  # set for Socket Mode: Slack's requests come over a websocket, not to /slack/events

    @classmethod
    def from_env(cls, *, socket: bool = False) -> "SlackSettings | None":
        """From SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (SLACK_APP_TOKEN instead with `socket`) and SLACK_API_URL;
        None when Slack is not configured."""
        token, secret = os.environ.get("SLACK_BOT_TOKEN", ""), os.environ.get("SLACK_SIGNING_SECRET", "")
        app_token = os.environ.get("SLACK_APP_TOKEN", "").strip() if socket else ""
        if not token or not (app_token if socket else secret):
            return None
        url = os.environ.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        return cls(token, secret, url if url.endswith("/") else url + "/", app_token)  # the SDK joins names on


def lease_from_env(env: Mapping[str, str]) -> timedelta:
    """OUTBOX_LEASE_SECONDS: how long a worker's claim on an outbox message lasts, so how soon another replica
    takes over the messages of one that died (default 120 s; at least 4 s). Each platform call the worker makes
    is given an eighth of it (at most 10 s), so a send in progress always ends before its claim can lapse."""
    raw = env.get("OUTBOX_LEASE_SECONDS", "").strip()
    if not raw:
        return LEASE
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if seconds < MIN_LEASE:
        log.warning("OUTBOX_LEASE_SECONDS must be a number of seconds, at least %s; using %s", MIN_LEASE,
                    int(LEASE.total_seconds()))
        return LEASE
    return timedelta(seconds=seconds)


def replay_after_from_env(env: Mapping[str, str]) -> timedelta:
    """INBOX_REPLAY_SECONDS: how long after arriving an acknowledged, unanswered Slack event counts as left behind
    by a stopped process and is handled again (default 60 s; tests shorten it)."""
    try:
        seconds = float(env.get("INBOX_REPLAY_SECONDS", "").strip() or "nan")
    except ValueError:
        seconds = float("nan")
    return timedelta(seconds=seconds) if seconds >= 0 else slack_inbox.REPLAY_AFTER  # nan compares False


def make_server(core: Conversation, slack: SlackSettings | None, teams: TeamsSettings | None = None, *,
                delivery_interval: float = 2.0, reminder_interval: float = 3600.0,
                teams_timeout: float = 10.0, lease: timedelta = LEASE, backlog: Backlog | None = None,
                replay_after: timedelta = slack_inbox.REPLAY_AFTER) -> web.Application:
    """The web application with its background workers; a channel whose settings are None is off. `backlog`
    bounds the Slack events in progress (the default allows `backlog.LIMIT`); a Slack event acknowledged and
    still unanswered `replay_after` later was left by a stopped process, and is handled again."""
    senders: dict[str, Sender] = {}
    delivery = Delivery(core.db, senders, core.clock, lease=lease)
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", _healthz(core))
    inbox_tasks: list[Callable[[asyncio.Event], Awaitable[None]]] = []  # Slack's inbox: replays, clearing
    if slack is not None:
        backlog = backlog or Backlog()
        answered = slack_inbox.Answered(core.db)
        bolt = build_app(core, token=slack.token, signing_secret=slack.signing_secret, api_url=slack.api_url,
                         on_queued=delivery.wake, backlog=backlog, answered=answered)
        slack_sender = SlackSender(outbox_client(slack.token, slack.api_url, call_timeout(lease)))
        senders["slack"] = slack_sender
        app.cleanup_ctx.append(keep_connections(bolt.client, slack_sender.client))  # before Socket Mode uses them
        if slack.app_token:
            async def keep(key: str, body: str) -> None:
                await slack_inbox.keep(core.db, key, body, core.clock())
            app.cleanup_ctx.append(slack_socket.connection(bolt, slack.app_token, backlog=backlog, keep=keep))
        else:
            app.router.add_post("/slack/events", _slack_handler(core, bolt, slack.signing_secret, backlog))
        # Over HTTP, left-behind events are signed afresh; Socket Mode deliveries carry no signature.
        inbox_tasks += [functools.partial(slack_inbox.replaying, core.db, bolt,
                                          None if slack.app_token else slack.signing_secret, backlog, core.clock,
                                          after=replay_after),
                        answered.run]
    else:
        log.warning("Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET); /slack/events is off")
    connector: Connector | None = None
    if teams is not None:
        connector = Connector(AppToken(teams.app_id, teams.password, teams.tenant_id) if teams.authenticated
                              else NoToken(), timeout=min(teams_timeout, call_timeout(lease)))
        bot = TeamsBot(core, connector, on_queued=delivery.wake)
        senders["teams"] = TeamsSender(core.db, connector, core.clock, teams.app_id)
        app.router.add_post("/api/messages", messages_handler(build_adapter(teams), bot))
        if not teams.authenticated:
            log.warning("Teams: MICROSOFT_APP_ID is not set, so /api/messages accepts requests WITHOUT "
                        "authentication (fine for the Bot Framework Emulator, never for a real deployment)")

    async def workers(app: web.Application):
        # Nearly all blocking work is database work: more threads than the pool has connections would only queue
        # for one, handing the GIL back and forth as they wake (SQLite has one connection per process).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=connections(core.db) + 1, thread_name_prefix="blocking"))
        stop = asyncio.Event()
        tasks = [asyncio.create_task(task(stop)) for task in inbox_tasks]
        tasks += [asyncio.create_task(delivery.run(stop, delivery_interval)),
                 asyncio.create_task(_reminders(core, stop, reminder_interval, delivery))]
        yield
        stop.set()
        delivery.wake()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if connector is not None:
            await connector.close()

    app.cleanup_ctx.append(workers)
    return app


def _slack_handler(core: Conversation, bolt: AsyncApp, signing_secret: str, backlog: Backlog):
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()  # bounded by client_max_size: a bigger body is answered 413
        if not slack_request.signed(signing_secret, body, request.headers.get("X-Slack-Request-Timestamp"),
                                    request.headers.get("X-Slack-Signature")):
            return web.json_response({"ok": False, "error": "invalid signature"}, status=401)
        if not await backlog.admit():  # Slack sends it again later; acking it would leave it unanswered in memory
            log.warning("slack request refused for now: %d events in progress", backlog.busy)
            return web.json_response({"ok": False, "error": "busy"}, status=503,
                                     headers={"Retry-After": str(RETRY_AFTER)})
        text, payload, problem = slack_request.read(body, request.headers.get("Content-Type"))
        if problem:  # signed by Slack, yet not what Slack sends: say so, in one line, without the content
            log.warning("slack request refused: %s", problem)
            return web.json_response({"ok": False, "error": problem}, status=400)
        key = turn_key(payload) if isinstance(payload, dict) else ""
        if key:  # kept before Bolt acknowledges it: a process that dies before answering leaves it to be replayed
            await slack_inbox.keep(core.db, key, text, core.clock())
        try:
            return await to_aiohttp_response(await bolt.async_dispatch(
                AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)))
        except Exception:  # noqa: BLE001 (a malformed request is answered, never a 500 with a traceback)
            log.warning("slack request could not be handled", exc_info=True)
            return web.json_response({"ok": False, "error": "bad request"}, status=400)
    return handle


HEALTH_TIMEOUT = 5.0  # seconds: a load balancer's probe must get an answer, even from a database that hangs


def _healthz(core: Conversation):
    async def health(_: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(asyncio.to_thread(_ping, core), timeout=HEALTH_TIMEOUT)
        except Exception:  # noqa: BLE001 (whatever the reason, this replica cannot serve: take it out of rotation)
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        return web.json_response({"ok": True})
    return health


def _ping(core: Conversation) -> None:
    with Session(core.db) as session:
        session.execute(text("SELECT 1"))


async def _reminders(core: Conversation, stop: asyncio.Event, interval: float, delivery: Delivery) -> None:
    while not stop.is_set():
        try:
            def run() -> int:
                with Session(core.db) as session:
                    queued = escalation.run_reminders(session, core.config, core.clock())
                    session.commit()
                    return queued
            if await asyncio.to_thread(run):
                delivery.wake()
        except Exception as failure:  # noqa: BLE001 (the next round tries again)
            if unavailable(failure):
                log.warning("reminders: the database is unavailable (%s); trying again next round",
                            type(failure).__name__)
            else:
                log.exception("reminders round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def serve(core: Conversation, host: str, port: int, *, socket: bool = False) -> None:
    """Run the server until interrupted; with `socket`, Slack's requests come over Socket Mode."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(make_server(core, SlackSettings.from_env(socket=socket), TeamsSettings.from_env(os.environ),
                            lease=lease_from_env(os.environ), replay_after=replay_after_from_env(os.environ)),
                host=host, port=port, print=None)
