"""The outbox worker: claims due messages and sends them through each platform's sender.

A message is marked sent only after the platform accepted it. A failure that may pass (HTTP 5xx, 429, a timeout)
puts it back with a delay (Retry-After when the platform gives one); one that cannot pass as things stand (the
bot is not in the channel) is marked failed and logged for a person to fix. Nothing is dropped silently.

Sending once, not twice: between the platform accepting a post and the worker recording it as sent there is a
window (the process is killed, the database goes away, the answer times out) in which a plain retry would post
it again. So the worker records each attempt before making it; a message attempted before is "in doubt", and
its retry first asks the platform whether the earlier attempt landed (`Sender.landed`) and, if it did, records
that instead of posting again. Slack can be asked (each post carries its outbox key as message metadata, found
again in the channel's history); the Teams connector cannot list a conversation's messages, so there an
in-doubt message is sent again (at least once: a repeated alert is better than a lost one). Edits in place are
the same however often they are made, so they need no check.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import late_replies
from bot.store import outbox
from bot.store.errors import unavailable
from bot.store.models import OutboxMessage

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # a claim lapses after this, so a worker killed mid-send leaves work for another
CALLS_PER_LEASE = 8  # a delivery makes at most five platform calls; each may take 1/8 of the lease, so it ends
#                      well inside the lease (another worker must never take over a send still in progress)


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

    async def landed(self, message: OutboxMessage, since: datetime) -> str:
        """The platform's id for an earlier attempt of this message (first made at `since`) that reached the
        platform, or "" if none did, or if the platform cannot be asked (then it is sent again)."""


def call_timeout(lease: timedelta) -> float:
    """How long one platform call may take: a share of the lease small enough that a whole delivery ends
    inside it, and never more than 10 seconds."""
    return min(10.0, lease.total_seconds() / CALLS_PER_LEASE)


BATCH = 20  # messages claimed per round


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: 5 s doubling, capped at 30 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 1800))


class Delivery:
    """The worker: `deliver_due` once, or `run` until stopped, woken early by `wake`."""

    def __init__(self, db: Engine, senders: Mapping[str, Sender], clock: Callable[[], datetime],
                 lease: timedelta = LEASE):
        self.db, self.senders, self.clock = db, senders, clock  # not copied: channels register as they start
        self.lease = lease
        self._wake = asyncio.Event()
        self._full = False  # the last round claimed a whole batch: more may be due

    def wake(self) -> None:
        """Something was queued: deliver now rather than at the next tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Deliver until `stop` is set. A round that claimed a full batch is followed by another at once: waiting
        out the interval between batches held a backlog to BATCH messages per interval (10 a second), so after
        a busy spell alerts arrived minutes late (bench/load.py at saturation)."""
        while not stop.is_set():
            self._full = False
            try:
                await self.deliver_due()
                if self._full:
                    await asyncio.sleep(0)  # let the web handlers in between batches
                    continue
            except Exception as failure:  # noqa: BLE001 (the next tick tries again)
                if unavailable(failure):  # one line per round, not a traceback, while the database is away
                    log.warning("outbox: the database is unavailable (%s); trying again shortly",
                                type(failure).__name__)
                else:
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
        self._full = len(claimed) >= BATCH
        sent = 0
        for message in claimed:
            sent += await self._deliver(message)
        return sent

    def _claim(self) -> list[OutboxMessage]:
        with Session(self.db, expire_on_commit=False) as session:
            return outbox.claim_due(session, now=self.clock(), lease=self.lease, platforms=tuple(self.senders),
                                    limit=BATCH)

    async def _deliver(self, message: OutboxMessage) -> int:
        attempts = message.attempts + 1
        spent = late_replies.spent(message.message)  # what is kept of it once it has gone, or been given up on
        sender = self.senders[message.platform]
        try:
            earlier = await asyncio.to_thread(self._earlier_ref, message.updates) if message.updates else ""
            if message.updates and not earlier:
                raise RetryLater("the message it edits has not gone yet", delay=5)
            if not await asyncio.to_thread(self._begin_attempt, message):
                log.info("outbox %s: claimed by another worker meanwhile; left to it", message.id)
                return 0
            ref = await self._landed_before(sender, message)
            if not ref:
                ref = await sender.send(message, earlier)
        except RetryLater as later:
            delay = timedelta(seconds=later.delay) if later.delay is not None else backoff(attempts)
            log.warning("outbox %s: will retry in %ss (%s)", message.id, int(delay.total_seconds()), later)
            await asyncio.to_thread(self._record, outbox.mark_retry, message_id=message.id, attempts=attempts,
                                    error=str(later), now=self.clock(), delay=delay, claim=message.claim,
                                    content=spent)
            return 0
        except Undeliverable as problem:
            log.error("outbox %s to %s on %s cannot be delivered: %s", message.id, message.target_kind,
                      message.platform, problem)
            await asyncio.to_thread(self._record, outbox.mark_failed, message_id=message.id, attempts=attempts,
                                    error=str(problem), claim=message.claim, content=spent)
            return 0
        await asyncio.to_thread(self._record, outbox.mark_sent, message_id=message.id, external_ref=ref,
                                now=self.clock(), content=spent)
        return 1

    async def _landed_before(self, sender: Sender, message: OutboxMessage) -> str:
        """For a message in doubt (attempted before, never recorded as sent), the platform's id of the earlier
        attempt if it arrived; "" when it did not, or when there is no doubt to settle."""
        if message.attempted_at is None or message.updates:
            return ""
        ref = await sender.landed(message, _aware(message.attempted_at))
        if ref:
            log.info("outbox %s: an earlier attempt had arrived; recorded, not sent again", message.id)
        else:
            log.info("outbox %s: sending again after an attempt that did not arrive (or cannot be checked)",
                     message.id)
        return ref

    def _begin_attempt(self, message: OutboxMessage) -> bool:
        with Session(self.db) as session:
            still_ours = outbox.begin_attempt(session, message=message, now=self.clock(), lease=self.lease)
            session.commit()
        return still_ours

    def _earlier_ref(self, key: str) -> str:
        with Session(self.db) as session:
            return outbox.sent_ref(session, key)

    def _record(self, change: Callable[..., None], **values: object) -> None:
        with Session(self.db) as session:
            change(session, **values)
            session.commit()


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands back what it was given, without its zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
