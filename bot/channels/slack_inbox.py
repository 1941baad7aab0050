"""Slack events are acknowledged before they are answered, so an event whose process dies in between would be
lost: Slack, having had its 200 (or, in Socket Mode, its envelope's acknowledgement), never sends it again. So a
message, an @mention or a press of a reply's button is kept in the database before the acknowledgement (`keep`);
the turn that answers it stores its answer with it in the same transaction, and the row goes once the answer is
posted (`Answered`). What a dead process left behind is handled again (`replay`): signed afresh and dispatched
through Bolt like a new delivery. The event's key in seen_event makes handling it a second time a no-op, so a
replay never answers twice; one whose answer was stored has that answer posted, if it had not been already.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.channels.backlog import Backlog
from bot.channels.slack_request import signature_of
from bot.store import inbox
from bot.store.db import blocking
from bot.store.errors import unavailable, unless_unavailable

log = logging.getLogger(__name__)
REPLAY_AFTER = timedelta(seconds=60)  # an event not handled this long after it arrived was left behind
REPLAY_EVERY = 30.0  # seconds between looks for events left behind
KEPT_AT = "policy_bot_kept_at"  # in a replayed request's Bolt context: when the event first arrived


async def keep(db: Engine, key: str, body: str, now: datetime) -> None:
    """Keep an event until its turn commits. If the database is down the turn cannot run either, and the person
    is told to send it again, so the event goes on unkept."""
    def write() -> None:
        with Session(db) as session, unless_unavailable():
            inbox.keep(session, key, body, now)
            session.commit()
    await blocking(db, write)


def signed(secret: str, body: str) -> dict[str, str]:
    """Headers that sign a body as Slack would sign it now (an event is JSON, a button press a form)."""
    timestamp = str(int(time.time()))
    kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    return {"content-type": kind, "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature_of(secret, body.encode(), timestamp)}


async def replay(db: Engine, bolt: AsyncApp, secret: str | None, backlog: Backlog, now: datetime,
                 after: timedelta = REPLAY_AFTER) -> int:
    """Handle again the events kept before `now - after` and still not handled; how many were dispatched. With no
    `secret` they are dispatched as Socket Mode deliveries, which carry no signature."""
    def due() -> tuple[list[inbox.LeftBehind], int]:
        with Session(db) as session:
            found = inbox.left_behind(session, older_than=now - after)
            session.commit()
            return found
    events, dropped = await blocking(db, due)
    if dropped:
        log.warning("%d slack event(s) dropped after %d failed attempts to handle them", dropped,
                    inbox.GIVE_UP_AFTER)
    for event in events:
        if not await backlog.admit():
            break  # busy: the rest wait for the next round
        log.info("slack event left behind by a stopped process handled again (attempt %d)", event.attempts)
        context = {KEPT_AT: event.received_at}
        await bolt.async_dispatch(
            AsyncBoltRequest(body=event.body, mode="socket_mode", context=context) if secret is None
            else AsyncBoltRequest(body=event.body, headers=signed(secret, event.body), context=context))
    return len(events)


async def next_due(db: Engine, now: datetime, after: timedelta = REPLAY_AFTER) -> datetime | None:
    """When the next kept event not yet left behind will come to count as left behind; None when none is kept."""
    def first() -> datetime | None:
        with Session(db) as session:
            return inbox.first_kept_since(session, now - after)
    kept = await blocking(db, first)
    return None if kept is None else kept + after


async def replaying(db: Engine, bolt: AsyncApp, secret: str | None, backlog: Backlog, clock: Callable[[], datetime],
                    stop: asyncio.Event, after: timedelta = REPLAY_AFTER, every: float = REPLAY_EVERY) -> None:
    """Replay left-behind events now (a restart) and every `every` seconds (another replica's), until `stop`; sooner
    when a kept event will count as left behind before then, so what a process killed a moment before a restart
    left is answered as soon as it may be, not a whole round later."""
    while not stop.is_set():
        wait = every
        try:
            now = clock()
            await replay(db, bolt, secret, backlog, now, after)
            due = await next_due(db, now, after)
            if due is not None:
                # Just past the moment: left_behind takes events kept strictly before `now - after`.
                wait = min(every, max((due - clock()).total_seconds(), 0.0) + 0.01)
        except Exception as failure:  # noqa: BLE001 (the next round tries again)
            if not unavailable(failure):
                log.exception("replaying slack events failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)


class Answered:
    """Events whose answers have been posted, taken out of the inbox together every `every` seconds rather than in
    a transaction per message. Nothing depends on it for correctness: a row it has not taken out yet when its
    process dies is replayed, and its answer is found already posted (the outbox looks before it posts)."""

    def __init__(self, db: Engine, every: float = 1.0):
        self.db, self.every = db, every
        self._keys: set[str] = set()

    def add(self, key: str) -> None:
        """The answer to this event was posted."""
        self._keys.add(key)

    async def flush(self) -> None:
        """Take out every event noted so far."""
        keys, self._keys = self._keys, set()
        if not keys:
            return

        def write() -> None:
            with Session(self.db) as session:
                inbox.done(session, keys)
                session.commit()
        await blocking(self.db, write)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every `every` seconds until `stop`, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            try:
                await self.flush()
            except Exception as failure:  # noqa: BLE001 (left rows are replayed and found posted: nothing is lost)
                if not unavailable(failure):
                    log.exception("taking answered slack events out of the inbox failed")
