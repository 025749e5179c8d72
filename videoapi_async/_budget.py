"""One client-wide request budget: a token bucket that slows down on 429 and recovers.

Every request the client sends (creates, polls, direct calls) takes a token first.
Waiting requests are served by priority, then in arrival order, so creates go ahead
of status polls. After a 429 the rate is halved (down to a floor), every grant pauses
until ``Retry-After`` has passed, and the rate then climbs back to the configured one
over `RateLimit.recovery` seconds: a bulk job settles under the vendor's limit instead
of fighting it.

No task runs in the background: the request at the front of the line waits for its
token itself, with the client's injectable ``sleep``, so tests can run in fake time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

import attrs

__all__ = ["PRIORITY_CALL", "PRIORITY_CREATE", "PRIORITY_POLL", "RateLimit", "RequestBudget"]

PRIORITY_CREATE: Final = 0
PRIORITY_CALL: Final = 1
PRIORITY_POLL: Final = 2
_EPSILON: Final = 1e-6  # absorbs float rounding in token arithmetic
_OBSERVED: Final = 64  # recent request starts kept to tell the rate met


def _check_rate_limit(limit: RateLimit) -> None:
    if limit.requests_per_second is not None and not (
        isinstance(limit.requests_per_second, (int, float))
        and math.isfinite(limit.requests_per_second)
        and limit.requests_per_second > 0
    ):
        raise ValueError(
            "RateLimit.requests_per_second must be a positive number, or None for no limit; "
            f"got {limit.requests_per_second!r}"
        )
    if not isinstance(limit.burst, int) or limit.burst < 1:
        raise ValueError(f"RateLimit.burst must be an integer >= 1, got {limit.burst!r}")
    if not 0 < limit.backoff_factor < 1:
        raise ValueError(
            f"RateLimit.backoff_factor must be between 0 and 1, got {limit.backoff_factor!r}"
        )
    if not limit.recovery >= 0:
        raise ValueError(f"RateLimit.recovery must be >= 0 seconds, got {limit.recovery!r}")


@attrs.frozen(kw_only=True)
class RateLimit:
    """The client-wide request budget.

    Attributes:
        requests_per_second: The most requests started per second, across creates,
            polls and direct calls. None removes the limit: a 429 then pauses every
            request for its ``Retry-After`` and slows down from the rate it was meeting,
            recovering to no limit over `recovery` seconds.
        burst: How many requests may start at once after a quiet spell.
        backoff_factor: After a 429 the rate is multiplied by this.
        min_requests_per_second: The rate never drops below this.
        recovery: Seconds over which the rate climbs back after the last 429.

    """

    requests_per_second: float | None = 10.0
    burst: int = 10
    backoff_factor: float = 0.5
    min_requests_per_second: float = 0.5
    recovery: float = 30.0

    def __attrs_post_init__(self) -> None:
        _check_rate_limit(self)


class RequestBudget:
    """Grants request slots under a `RateLimit`, by priority, and adapts to 429 answers.

    Only the first waiter in line (by priority, then arrival) watches the clock; it
    sleeps, with the injected ``sleep``, until a token is due, takes it, and wakes the
    next in line. Everybody else waits on a future of their own.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._updated = clock()
        self._reduced_rate: float | None = None
        self._reduced_at = 0.0
        self._ceiling = 0.0  # without a configured rate: the rate met when a 429 came
        self._grants: deque[float] = deque(maxlen=_OBSERVED)
        self._paused_until = 0.0
        self._line: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.rate_limited = 0
        """How many 429 answers the budget has reacted to."""

    @property
    def limit(self) -> RateLimit:
        """The configured limit."""
        return self._limit

    def current_rate(self, now: float | None = None) -> float | None:
        """Return the rate in force: the configured one, or less while recovering from a 429."""
        target = self._limit.requests_per_second
        if self._reduced_rate is None:
            return target
        now = self._clock() if now is None else now
        span = now - self._reduced_at
        if span >= self._limit.recovery:
            self._reduced_rate = None
            return target
        ceiling = target if target is not None else self._ceiling
        return self._reduced_rate + (ceiling - self._reduced_rate) * span / self._limit.recovery

    def _wait_needed(self, now: float) -> float:
        """Take a token and return 0, or return how long until one is due."""
        if now < self._paused_until:
            return self._paused_until - now
        rate = self.current_rate(now)
        if rate is None:
            self._grants.append(now)
            return 0.0
        self._tokens = min(float(self._limit.burst), self._tokens + (now - self._updated) * rate)
        self._updated = now
        if self._tokens >= 1.0 - _EPSILON:
            self._tokens = max(self._tokens - 1.0, 0.0)
            self._grants.append(now)
            return 0.0
        return (1.0 - self._tokens) / rate + _EPSILON

    async def acquire(self, priority: int = PRIORITY_CALL) -> None:
        """Wait for a slot to send one request; a lower `priority` number goes first."""
        if not self._line and self._wait_needed(self._clock()) == 0.0:
            return
        me: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (priority, next(self._order), me)
        heapq.heappush(self._line, entry)
        try:
            while True:
                if self._line[0] is not entry:
                    await me  # woken when we reach the front of the line
                    me = asyncio.get_running_loop().create_future()
                    entry = (entry[0], entry[1], me)
                    self._replace_front(entry)
                    continue
                delay = self._wait_needed(self._clock())
                if delay == 0.0:
                    return
                await self._sleep(delay)
        finally:
            self._leave(entry)

    def _replace_front(self, entry: tuple[int, int, asyncio.Future[None]]) -> None:
        for index, queued in enumerate(self._line):
            if queued[:2] == entry[:2]:
                self._line[index] = entry
                return

    def _leave(self, entry: tuple[int, int, asyncio.Future[None]]) -> None:
        was_front = bool(self._line) and self._line[0][:2] == entry[:2]
        for index, queued in enumerate(self._line):
            if queued[:2] == entry[:2]:
                self._line.pop(index)
                heapq.heapify(self._line)
                break
        if was_front and self._line:
            front = self._line[0][2]
            if not front.done():
                front.set_result(None)

    def on_rate_limited(self, retry_after: float | None) -> None:
        """Slow down after a 429: pause for ``Retry-After`` and cut the rate."""
        self.rate_limited += 1
        now = self._clock()
        if retry_after is not None:
            self._paused_until = max(self._paused_until, now + retry_after)
        current = self.current_rate(now)
        if current is None:
            # No configured rate: slow down from the rate the server just refused.
            current = self._observed_rate(now)
            if current is None:
                return
            self._ceiling = current
            self._updated = now
        self._reduced_rate = max(
            self._limit.min_requests_per_second, current * self._limit.backoff_factor
        )
        self._reduced_at = now
        self._tokens = min(self._tokens, 0.0)

    def _observed_rate(self, now: float) -> float | None:
        """Return the requests started per second lately, or None if too few to tell."""
        grants = self._grants
        if len(grants) < 2:
            return None
        span = now - grants[0]
        return len(grants) / span if span > 0 else None
