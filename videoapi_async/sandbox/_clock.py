"""Clocks for tests: one moved by hand, and an event loop whose time jumps when it is idle."""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, TypeVar

__all__ = ["ManualClock", "SimulatedTimeLoop", "run_in_simulated_time"]

_T = TypeVar("_T")


class ManualClock:
    """A monotonic clock that only moves when told to; pass it as ``Sandbox(clock=...)``.

    Calling the clock returns the current reading, in seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` forward (never back); return the new reading."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back: advance({seconds!r})")
        self.now += seconds
        return self.now


class _JumpingSelector(selectors.DefaultSelector):
    """The loop's selector: when nothing is ready, time jumps to the next timer at once."""

    def __init__(self, loop: SimulatedTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(0)
        if self._loop.threads_busy:
            # A thread is working: wait for real, and let the clock follow the wall clock.
            started = time.monotonic()
            ready = super().select(timeout)
            self._loop.advance(time.monotonic() - started)
            return ready
        if timeout is None:
            # No timer is set, so only I/O can wake the loop; simulated time stands still
            # meanwhile, however long the wait takes on a busy machine.
            return super().select(None)
        # Bytes written to 127.0.0.1 are readable at once, so "nothing ready now" means
        # every task is waiting for a timer: jump to the earliest one.
        ready = super().select(0)
        if not ready:
            self._loop._jump(timeout)
        return ready


class SimulatedTimeLoop(asyncio.SelectorEventLoop):
    """An event loop in simulated time: whenever every task waits, the clock jumps ahead.

    ``loop.time()`` starts at the wall clock's monotonic reading and moves only when all
    tasks wait for a timer (``asyncio.sleep``, timeouts), straight to the earliest one, so
    an hour of sleeps takes no time. Sockets stay real: a client and a ``Sandbox`` on
    127.0.0.1 in this loop talk as usual, since a loopback write is readable at once.
    While a thread of an executor works, the clock follows the wall clock. Pass
    ``clock=loop.time`` to ``VideoAPI`` and ``Sandbox`` so they read this clock.
    """

    def __init__(self) -> None:
        self._now = time.monotonic()
        self._threads = 0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        """Return the simulated monotonic time, in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (the selector does it when the loop idles).

        Any positive step moves the clock, even one below its float resolution.
        """
        if seconds > 0:
            self._now = max(self._now + seconds, math.nextafter(self._now, math.inf))

    def _jump(self, seconds: float) -> None:
        """Move the clock to the earliest timer, ``seconds`` away, and one float step past.

        A timer is due at its start plus its delay rounded to the float grid, which can
        fall short of the delay; a real clock never wakes early, nor does this one.
        """
        self._now = math.nextafter(self._now + seconds, math.inf)

    @property
    def threads_busy(self) -> bool:
        """Whether work handed to an executor is still running."""
        return self._threads > 0

    # typeshed spells the arguments with a TypeVarTuple, which Python 3.10 lacks.
    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """Run ``func`` in ``executor`` as usual, holding the clock to real time meanwhile."""
        future = super().run_in_executor(executor, func, *args)
        self._threads += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, future: asyncio.Future[Any]) -> None:
        self._threads -= 1


def run_in_simulated_time(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` in a new `SimulatedTimeLoop` and return its result, as ``asyncio.run`` does.

    Tasks still running when ``coro`` returns are cancelled and awaited, then the loop is
    closed.
    """
    loop = SimulatedTimeLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
