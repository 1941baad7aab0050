"""A bound on work a channel has accepted and not yet finished.

Slack wants an answer within 3 seconds and the bot answers a message after acknowledging it, so without a bound a
burst it cannot keep up with piles up in memory as acknowledged events nobody is answering yet (and Slack, having
had its 200, never sends them again if the process dies). With one, a request arriving while the backlog is full
waits for room for a moment, which slows a sender to the pace the bot really answers at; if no room comes before
Slack would give up, it is refused with 503 and Retry-After, and Slack delivers it again later.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

LIMIT = 128  # events in progress: at about 200 answers a second, a bit over half a second of work
WAIT = 2.0  # seconds a request may wait for room: Slack gives up on an answer after 3

Listener = TypeVar("Listener", bound=Callable[..., Awaitable[Any]])


class Backlog:
    """Counts work in progress; `admit` waits (a while) while there is too much."""

    def __init__(self, limit: int = LIMIT, wait: float = WAIT):
        self.limit, self.wait = limit, wait
        self.busy = 0
        self._room: asyncio.Condition | None = None  # made in the running loop, on first use

    def _condition(self) -> asyncio.Condition:
        if self._room is None:
            self._room = asyncio.Condition()
        return self._room

    async def admit(self) -> bool:
        """True when there is room for one more, now or within `wait` seconds; False when there is not."""
        if self.busy < self.limit:
            return True
        room = self._condition()
        async with room:
            try:
                await asyncio.wait_for(room.wait_for(lambda: self.busy < self.limit), self.wait)
            except TimeoutError:
                return False
        return True

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Count the work inside the block as in progress."""
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1
            room = self._condition()
            async with room:
                room.notify(1)


def counted(listener: Listener) -> Listener:
    """A channel method whose whole run (answer, post) counts against the channel's `backlog`. It keeps the
    wrapped function's signature, from which Bolt chooses the arguments it passes."""
    @functools.wraps(listener)
    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        async with self.backlog.held():
            return await listener(self, *args, **kwargs)
    return run  # type: ignore[return-value]
