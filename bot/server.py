"""One aiohttp server for every channel: `POST /slack/events`, `GET /healthz` (Teams' `/api/messages` joins it).

It also runs the outbox worker, and the reminders once an hour, beside the web handlers.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlmodel import Session

from bot import escalation
from bot.channels.slack import build_app
from bot.channels.slack_sender import SlackSender
from bot.conversation import Conversation
from bot.delivery import Delivery, Sender

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class SlackSettings:
    """Slack's credentials and where its Web API is (tests and staging point it elsewhere)."""

    token: str
    signing_secret: str
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls) -> "SlackSettings | None":
        """From SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL; None when Slack is not configured."""
        token, secret = os.environ.get("SLACK_BOT_TOKEN", ""), os.environ.get("SLACK_SIGNING_SECRET", "")
        if not token or not secret:
            return None
        url = os.environ.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        return cls(token, secret, url if url.endswith("/") else url + "/")  # the SDK joins method names onto it


def make_server(core: Conversation, slack: SlackSettings | None, *, delivery_interval: float = 2.0,
                reminder_interval: float = 3600.0) -> web.Application:
    """The web application with its background workers."""
    senders: dict[str, Sender] = {}
    delivery = Delivery(core.db, senders, core.clock)
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", _healthz(core))
    if slack is not None:
        bolt = build_app(core, token=slack.token, signing_secret=slack.signing_secret, api_url=slack.api_url,
                         on_queued=delivery.wake)
        senders["slack"] = SlackSender(AsyncWebClient(token=slack.token, base_url=slack.api_url, timeout=10))
        app.router.add_post("/slack/events", _slack_handler(bolt))
    else:
        log.warning("Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET); /slack/events is off")

    async def workers(app: web.Application):
        stop = asyncio.Event()
        tasks = [asyncio.create_task(delivery.run(stop, delivery_interval)),
                 asyncio.create_task(_reminders(core, stop, reminder_interval, delivery))]
        yield
        stop.set()
        delivery.wake()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(workers)
    return app


def _slack_handler(bolt: AsyncApp):
    async def handle(request: web.Request) -> web.Response:
        try:
            return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))
        except Exception:  # noqa: BLE001 (a malformed request is answered, never a 500 with a traceback)
            log.warning("slack request could not be handled", exc_info=True)
            return web.json_response({"ok": False, "error": "bad request"}, status=400)
    return handle


def _healthz(core: Conversation):
    async def health(_: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(_ping, core)
        except Exception:  # noqa: BLE001
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
        except Exception:  # noqa: BLE001
            log.exception("reminders round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


def serve(core: Conversation, host: str, port: int) -> None:
    """Run the server until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(make_server(core, SlackSettings.from_env()), host=host, port=port, print=None)
