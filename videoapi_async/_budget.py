"""The client-wide request budget: free until the server pushes back, then AIMD.

Every request the client sends (creates, polls, direct calls) takes a slot first and
gives it back when its answer is in. By default there is no client-side rate: a slot is
free whenever fewer requests than the connection pool holds are out, and taking one
costs a clock read. A 429 is a congestion signal: the budget cuts the rate to a fraction
of the rate it was actually meeting, pauses for ``Retry-After`` (when the client obeys
it at all), and then climbs back linearly once the 429s stop (additive increase,
multiplicative decrease, as TCP and adaptive retry modes do). The 429s answering
requests that were already out before the cut are the same signal, not new ones.

Waiting requests are served creates first, then direct calls, then polls, except that
while polls wait every `_POLL_SHARE`-th grant goes to a poll: a bulk create never
starves the waits. A waiter that cannot get a slot before its deadline fails
with `RateLimitError`. No task runs in the background: the request at the front of the
line keeps the clock for everybody, with the client's injectable ``sleep``.

Replicas coordinated through a backend share the rate after a 429 (`SharedRate`): while
a shared limit is in force, every request also takes a slot from it, a round trip to
the backend; without one (the usual case) nothing is asked of the backend. If the
backend stops answering, the local AIMD above paces the requests alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import attrs

from ._errors import RateLimitError
from .validators import seconds_validator

__all__ = [
    "PRIORITY_CALL",
    "PRIORITY_CREATE",
    "PRIORITY_POLL",
    "RateLimit",
    "RequestBudget",
    "SharedRate",
]

PRIORITY_CREATE: Final = 0
PRIORITY_CALL: Final = 1
PRIORITY_POLL: Final = 2
_POLL_SHARE: Final = 2  # while polls wait, at least one grant in two is a poll
_WINDOW: Final = 1.0  # seconds over which the rate being met is measured
_OBSERVED: Final = 256  # recent request starts kept to measure it
_EPSILON: Final = 1e-6  # absorbs float rounding in token arithmetic
_NEVER: Final = math.inf


def _rate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if attribute.name == "requests_per_second" and value is None:
        return
    if not (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        none = ", or None for no cap" if attribute.name == "requests_per_second" else ""
        raise ValueError(
            f"RateLimit.{attribute.name} must be a positive number of requests per "
            f"second{none}; got {value!r}"
        )


def _burst(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"RateLimit.burst must be an integer >= 1, got {value!r}")


def _factor(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"RateLimit.backoff_factor must be between 0 and 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RateLimit:
    """The client-wide request budget shared by creates, polls and direct calls.

    The default, ``RateLimit()`` (also what ``VideoAPI(rate_limit=None)`` uses), puts no
    cap on the client: requests go out as fast as they are made until the server
    answers 429. Then the client slows to `backoff_factor` times the rate it was
    meeting, waits out the server's ``Retry-After`` (up to
    `RetryPolicy.max_retry_after`; a longer one is not obeyed), and climbs back to no
    cap over `recovery` seconds once the 429s stop. ``RateLimit(requests_per_second=10)``
    adds a fixed cap, below which the same slowing down applies.

    Attributes:
        requests_per_second: A fixed cap on requests started per second, or None (the
            default) for none.
        burst: With a cap (or while slowed down), how many requests may start at once
            after a quiet spell.
        backoff_factor: On a 429, the rate is multiplied by this (0.7).
        min_requests_per_second: The rate is never cut below this (0.5).
        recovery: Seconds over which the rate climbs back, linearly, after the last
            slow-down (30).

    """

    requests_per_second: float | None = attrs.field(default=None, validator=_rate)
    burst: int = attrs.field(default=10, validator=_burst)
    backoff_factor: float = attrs.field(default=0.7, validator=_factor)
    min_requests_per_second: float = attrs.field(default=0.5, validator=_rate)
    recovery: float = attrs.field(
        default=30.0, validator=seconds_validator(zero=True, infinite=True)
    )


class SharedRate(Protocol):
    """The rate limit shared by coordinated replicas, as a budget sees it."""

    def rate_limited(self, retry_after: float | None, rate: float | None) -> None:
        """Share a fresh 429, with this replica's own request rate (None: unknown)."""

    async def take(self) -> float | None:
        """Take a slot: 0, the seconds to wait first, or None when no limit is shared."""


class _Waiter:
    """One request waiting for a slot."""

    __slots__ = (
        "deadline",
        "error",
        "future",
        "line",
        "method",
        "path",
        "queued",
        "shared_slot",
        "started",
    )

    def __init__(
        self,
        line: int,
        future: asyncio.Future[None],
        deadline: float | None,
        started: float,
        method: str,
        path: str,
    ) -> None:
        self.line = line
        self.future = future
        self.deadline = deadline
        self.started = started
        self.method = method
        self.path = path
        self.error: RateLimitError | None = None  # set when the deadline comes first
        self.queued = True  # False once served, expired or gone; lines drop it lazily
        self.shared_slot = False  # a slot of the replicas' shared limit is taken


class RequestBudget:
    """Grants request slots under a `RateLimit`, by priority with a share for polls.

    `acquire` waits for a slot and returns a ticket; `release` gives the slot back
    when the answer is in; `on_rate_limited` takes a 429, with the ticket of the
    request it answered, so that a burst of 429s to requests sent before the last
    slow-down counts once. ``Retry-After`` pauses longer than `max_pause` are not
    obeyed. At most `max_in_flight` requests are out at once (the connection pool's
    size), so that requests queue here, where polls get their share, rather than in
    the pool, first come first served.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        max_pause: float = 60.0,
        max_in_flight: int | None = None,
    ) -> None:
        if max_in_flight is not None and (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or max_in_flight < 1
        ):
            raise ValueError(f"max_connections must be an integer >= 1, got {max_in_flight!r}")
        self._limit = limit
        self._cap = limit.requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._max_pause = max_pause
        self._max_in_flight = _NEVER if max_in_flight is None else max_in_flight
        self._in_flight = 0
        self._tokens = float(limit.burst)
        self._updated = clock()
        self._reduced: float | None = None  # the rate right after the last slow-down
        self._ceiling = 0.0  # the rate to climb back to from there
        self._cut_at = 0.0
        self._cut_ticket = 0  # tickets up to this one were out before the last slow-down
        self._tickets = 0
        self._starts: deque[float] = deque(maxlen=_OBSERVED)
        self._paused_until = -_NEVER
        self._shared_until = -_NEVER  # the replicas' shared limit is in force until then
        self._lines: tuple[deque[_Waiter], deque[_Waiter], deque[_Waiter]] = (
            deque(),
            deque(),
            deque(),
        )
        self._deadlines: list[tuple[float, int, _Waiter]] = []  # a heap
        self._order = itertools.count()
        self._waiting = 0
        self._non_polls_in_a_row = 0
        self._wake: asyncio.Future[None] | None = None
        self.rate_limited = 0
        """How many 429 answers the budget was told about."""
        self.slowdowns = 0
        """How many times it cut the rate (one per congestion signal, not per 429)."""
        self.shared: SharedRate | None = None
        """The rate shared with other replicas: told of fresh 429s, drawn from while in force."""

    @property
    def limit(self) -> RateLimit:
        """The configured limit."""
        return self._limit

    @property
    def waiting(self) -> int:
        """How many requests are waiting for a slot."""
        return self._waiting

    @property
    def issued(self) -> int:
        """The last ticket handed out.

        A 429 seen elsewhere (another replica) is passed on as
        ``on_rate_limited(retry_after, budget.issued)``: it cuts the rate once if this
        client has sent anything since its last cut, and otherwise only pauses.
        """
        return self._tickets

    def current_rate(self, now: float | None = None) -> float | None:
        """Return the rate in force (None: no cap), lower while recovering from a 429."""
        cap = self._limit.requests_per_second
        if self._reduced is None:
            return cap
        now = self._clock() if now is None else now
        span = now - self._cut_at
        if span >= self._limit.recovery:
            self._reduced = None
            return cap
        return self._reduced + (self._ceiling - self._reduced) * span / self._limit.recovery

    # --- taking and giving back slots ---------------------------------------------------

    async def acquire(
        self,
        priority: int = PRIORITY_CALL,
        *,
        deadline: float | None = None,
        method: str = "",
        path: str = "",
    ) -> int:
        """Wait for a slot to send one request and return its ticket.

        A lower `priority` goes first (creates, then calls, then polls, with a share
        for polls). With a `deadline` (a clock time), a request that cannot get a slot
        by then fails with `RateLimitError`, naming `method` and `path`. A free slot is
        taken without sleeping, scheduling or allocating anything.
        """
        ticket = self.try_acquire()
        if ticket is not None:
            return ticket
        return await self._queue(priority, deadline, method, path)

    def try_acquire(self) -> int | None:
        """Take a slot if one is free now, with nobody waiting, and return its ticket.

        None when the request has to wait: then `acquire` queues it. The common case
        of `acquire`, without the coroutine.
        """
        now = self._clock()
        if not self._waiting and now >= self._shared_until and self._take(now) == 0.0:
            return self._tickets
        return None

    def release(self) -> None:
        """Give back the slot of a request whose answer is in (or that failed)."""
        self._in_flight -= 1
        if self._waiting and self._in_flight + 1 >= self._max_in_flight:
            self._poke()

    def _take(self, now: float) -> float:
        """Take a slot and return 0, or return how long until one may be taken."""
        if self._in_flight >= self._max_in_flight:
            return _NEVER  # until a slot is given back
        if now < self._paused_until:
            return self._paused_until - now
        # While the replicas share a limit, it paces them; the local AIMD state is kept
        # for when the backend goes away, and only a configured cap applies here.
        if self._reduced is None or now < self._shared_until:
            rate = self._cap
        else:
            rate = self.current_rate(now)
        if rate is not None:
            self._tokens = min(
                float(self._limit.burst), self._tokens + (now - self._updated) * rate
            )
            self._updated = now
            if self._tokens < 1.0 - _EPSILON:
                return (1.0 - self._tokens) / rate + _EPSILON
            self._tokens = max(self._tokens - 1.0, 0.0)
        self._in_flight += 1
        self._tickets += 1
        self._starts.append(now)
        return 0.0

    async def _queue(self, priority: int, deadline: float | None, method: str, path: str) -> int:
        loop = asyncio.get_running_loop()
        now = self._clock()
        me = _Waiter(min(max(priority, 0), 2), loop.create_future(), deadline, now, method, path)
        self._lines[me.line].append(me)
        if deadline is not None:
            heapq.heappush(self._deadlines, (deadline, next(self._order), me))
        self._waiting += 1
        self._poke()  # the front may have changed: whoever keeps the clock looks again
        try:
            while True:
                now = self._clock()
                self._expire(now)
                if me.error is not None:
                    raise me.error
                if self._front() is not me:
                    await me.future
                    me.future = loop.create_future()
                    continue
                if not me.shared_slot and now < self._shared_until and self.shared is not None:
                    wait = await self.shared.take()
                    if wait is None:
                        self._shared_until = -_NEVER  # lapsed, or the backend is away
                    elif wait <= 0:
                        me.shared_slot = True
                    elif me.deadline is not None and now + wait > me.deadline:
                        raise self._no_slot(me, now)
                    else:
                        until = self._next_deadline()
                        await self._nap(wait if until is None else min(wait, max(until - now, 0.0)))
                    continue
                delay = self._take(now)
                if delay == 0.0:
                    self._served(me)
                    return self._tickets
                if me.deadline is not None and delay != _NEVER and now + delay > me.deadline:
                    raise self._no_slot(me, now)
                # A wait for a free connection is not bounded here (as in the pool);
                # a wait for time is, and the front keeps the clock for all deadlines.
                until = None if delay == _NEVER else self._next_deadline()
                await self._nap(delay if until is None else min(delay, max(until - now, 0.0)))
        finally:
            self._leave(me)

    def _head(self, line: int) -> _Waiter | None:
        waiters = self._lines[line]
        while waiters and not waiters[0].queued:
            waiters.popleft()
        return waiters[0] if waiters else None

    def _front(self) -> _Waiter | None:
        first = self._head(PRIORITY_CREATE) or self._head(PRIORITY_CALL)
        poll = self._head(PRIORITY_POLL)
        if poll is not None and (first is None or self._non_polls_in_a_row >= _POLL_SHARE - 1):
            return poll
        return first

    def _served(self, waiter: _Waiter) -> None:
        if waiter.line == PRIORITY_POLL:
            self._non_polls_in_a_row = 0
        elif self._head(PRIORITY_POLL) is not None:
            self._non_polls_in_a_row += 1

    def _leave(self, waiter: _Waiter) -> None:
        waiter.queued = False
        self._waiting -= 1
        front = self._front()
        if front is not None and not front.future.done():
            front.future.set_result(None)

    def _next_deadline(self) -> float | None:
        deadlines = self._deadlines
        while deadlines and not deadlines[0][2].queued:
            heapq.heappop(deadlines)
        return deadlines[0][0] if deadlines else None

    def _expire(self, now: float) -> None:
        """Fail every waiter whose deadline has come, or comes before the pause ends.

        Only while the budget holds requests back for time (a pause or a rate): a wait
        for a free connection alone is not bounded, as in the connection pool.
        """
        if (
            now >= self._paused_until
            and now >= self._shared_until
            and self.current_rate(now) is None
        ):
            return
        limit = max(now, self._paused_until)
        deadlines = self._deadlines
        expired = False
        while deadlines and deadlines[0][0] <= limit:
            waiter = heapq.heappop(deadlines)[2]
            if not waiter.queued:
                continue
            waiter.queued = False
            waiter.error = self._no_slot(waiter, now)
            if not waiter.future.done():
                waiter.future.set_result(None)
            expired = True
        if expired:
            self._poke()  # the front may be among them

    def _no_slot(self, waiter: _Waiter, now: float) -> RateLimitError:
        bound = (waiter.deadline or now) - waiter.started
        rate = self.current_rate(now)
        pace = "no cap" if rate is None else f"{rate:.3g} requests per second"
        paused = self._paused_until - now
        pause = f", paused {paused:.3g} s more for Retry-After" if paused > 0 else ""
        why = "after 429 Too Many Requests answers" if self.rate_limited else "as RateLimit caps"
        return RateLimitError(
            f"{waiter.method} {waiter.path} was not sent: no request slot came free within "
            f"its {bound:.3g} s bound (RetryPolicy.max_elapsed); the client is pacing "
            f"requests at {pace}{pause} {why}, with {self._waiting} waiting. Send fewer "
            "requests at once, or try again later",
            retry_after=paused if paused > 0 else None,
            status_code=429,
            detail=None,
            headers={},
            method=waiter.method,
            path=waiter.path,
        )

    async def _nap(self, delay: float) -> None:
        """Sleep for `delay` (forever if infinite), or until `_poke` is called."""
        wake = self._wake = asyncio.get_running_loop().create_future()
        try:
            await wait_or_wake(wake, None if delay == _NEVER else delay, self._sleep)
        finally:
            if self._wake is wake:
                self._wake = None

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    # --- congestion -----------------------------------------------------------------------

    def on_rate_limited(
        self, retry_after: float | None, ticket: int | None = None, *, relayed: bool = False
    ) -> None:
        """Take a 429 answering the request that held `ticket` (None: a fresh signal).

        Pauses every request for ``Retry-After`` when it is at most `max_pause`, and
        cuts the rate unless the request was sent before the last cut. A `relayed` 429
        is one another replica met: not counted, not shared again, and it cuts the rate
        only if this client sent requests since its last cut.
        """
        if relayed:
            ticket = self._tickets
        else:
            self.rate_limited += 1
        now = self._clock()
        until = None
        if retry_after is not None and 0 < retry_after <= self._max_pause:
            until = now + retry_after  # a longer Retry-After is refused, so not obeyed
            if until > self._paused_until:
                self._paused_until = until
                self._expire(now)
        if ticket is not None and ticket <= self._cut_ticket:
            return  # sent before the last cut: the same congestion, already acted on
        self._cut_ticket = self._tickets
        current = self.current_rate(now)
        met = self._rate_met(now)
        if self.shared is not None and not relayed:
            obeyed = retry_after if until is not None else None
            self.shared.rate_limited(obeyed, met if met is not None else current)
        if met is None and current is None:
            return  # too few requests to tell a rate: the pause is all there is to do
        base = min(r for r in (current, met) if r is not None)
        self.slowdowns += 1
        cap = self._limit.requests_per_second
        self._ceiling = max(base, self._limit.min_requests_per_second) if cap is None else cap
        self._reduced = max(self._limit.min_requests_per_second, base * self._limit.backoff_factor)
        self._cut_at = now
        self._tokens = 0.0
        self._updated = now

    def follow_shared(self, remaining: float, paused_for: float = 0.0) -> None:
        """Draw from the replicas' shared limit for `remaining` seconds (0: no longer).

        `paused_for` is the shared ``Retry-After`` pause still to wait. Requests sent
        before this call are taken as sent before the shared cut.
        """
        now = self._clock()
        self._shared_until = now + remaining if remaining > 0 else -_NEVER
        self._cut_ticket = self._tickets
        if 0 < paused_for <= self._max_pause and now + paused_for > self._paused_until:
            self._paused_until = now + paused_for
            self._expire(now)
        self._poke()

    def _rate_met(self, now: float) -> float | None:
        """Return the requests started per second lately, or None if too few to tell."""
        starts = self._starts
        if len(starts) < 2:
            return None
        span = now - starts[0]
        if span < _WINDOW:
            if len(starts) == _OBSERVED:  # more than we keep in one window
                return len(starts) / max(span, _EPSILON)
            return len(starts) / _WINDOW
        recent = 0
        for started in reversed(starts):
            if started <= now - _WINDOW:
                break
            recent += 1
        if recent >= 2:
            return recent / _WINDOW
        return len(starts) / span


async def wait_or_wake(
    wake: asyncio.Future[None], delay: float | None, sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Wait until `wake` is resolved or `delay` seconds pass (None: no time limit).

    With ``asyncio.sleep`` as `sleep`, one timer resolves `wake`; an injected sleep (a
    fake clock in tests) runs as a task beside it.
    """
    if delay is None:
        await wake
        return
    if sleep is asyncio.sleep:
        timer = asyncio.get_running_loop().call_later(delay, _resolve, wake)
        try:
            await wake
        finally:
            timer.cancel()
        return
    sleeper = asyncio.ensure_future(sleep(delay))
    try:
        await asyncio.wait({sleeper, wake}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not sleeper.done():
            sleeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sleeper


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
