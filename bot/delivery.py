"""The outbox worker: claims due messages and sends them through each platform's sender.

A message is marked sent only after the platform accepted it. A failure that may pass (HTTP 5xx, 429, a timeout)
puts it back with a delay (Retry-After when the platform gives one); one that cannot pass as things stand (the
bot is not in the channel) is marked failed and logged for a person to fix. Nothing is dropped silently.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store import outbox
from bot.store.models import OutboxMessage

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # a claim lapses after this, so a worker killed mid-send leaves work for another


class RetryLater(Exception):
    """The platform could not take the message now; try again after `delay` seconds (None: our backoff)."""

    def __init__(self, reason: str, delay: float | None = None):
        super().__init__(reason)
        self.delay = delay


class Undeliverable(Exception):
    """The message cannot be delivered until a person changes something (e.g. invites the bot to the channel)."""


class Sender(Protocol):
    """Sends one outbox message on one platform and returns the platform's id for it."""

    async def send(self, message: OutboxMessage, earlier_ref: str) -> str:
        """Send (or, with `earlier_ref`, edit in place) and return the platform's id for the message."""


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 5 s doubling, capped at 30 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 1800))


class Delivery:
    """The worker: `deliver_due` once, or `run` until stopped, woken early by `wake`."""

    def __init__(self, db: Engine, senders: Mapping[str, Sender], clock: Callable[[], datetime]):
        self.db, self.senders, self.clock = db, senders, clock  # not copied: channels register as they start
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: deliver now rather than at the next tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Deliver until `stop` is set."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:  # noqa: BLE001 (the database may be briefly away; the next tick tries again)
                log.exception("outbox delivery round failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def deliver_due(self) -> int:
        """Send every message that is due now; returns how many went out."""
        if not self.senders:
            return 0
        claimed = await asyncio.to_thread(self._claim)
        sent = 0
        for message in claimed:
            sent += await self._deliver(message)
        return sent

    def _claim(self) -> list[OutboxMessage]:
        with Session(self.db, expire_on_commit=False) as session:
            return outbox.claim_due(session, now=self.clock(), lease=LEASE, platforms=tuple(self.senders))

    async def _deliver(self, message: OutboxMessage) -> int:
        attempts = message.attempts + 1
        try:
            earlier = await asyncio.to_thread(self._earlier_ref, message.updates) if message.updates else ""
            if message.updates and not earlier:
                raise RetryLater("the message it edits has not gone yet", delay=5)
            ref = await self.senders[message.platform].send(message, earlier)
        except RetryLater as later:
            delay = timedelta(seconds=later.delay) if later.delay is not None else backoff(attempts)
            log.warning("outbox %s: will retry in %ss (%s)", message.id, int(delay.total_seconds()), later)
            await asyncio.to_thread(self._record, outbox.mark_retry, message_id=message.id, attempts=attempts,
                                    error=str(later), now=self.clock(), delay=delay)
            return 0
        except Undeliverable as problem:
            log.error("outbox %s to %s on %s cannot be delivered: %s", message.id, message.target_kind,
                      message.platform, problem)
            await asyncio.to_thread(self._record, outbox.mark_failed, message_id=message.id, attempts=attempts,
                                    error=str(problem))
            return 0
        await asyncio.to_thread(self._record, outbox.mark_sent, message_id=message.id, external_ref=ref,
                                now=self.clock())
        return 1

    def _earlier_ref(self, key: str) -> str:
        with Session(self.db) as session:
            return outbox.sent_ref(session, key)

    def _record(self, change: Callable[..., None], **values: object) -> None:
        with Session(self.db) as session:
            change(session, **values)
            session.commit()
