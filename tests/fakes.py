"""Fake time and a scripted render, for deterministic tests of waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aioresponses import CallbackResult

from videoapi_async.sandbox import SimulatedTimeLoop

from .conftest import VIDEO


class FakeTime:
    """The running SimulatedTimeLoop's clock, read from `start`, and a sleep that records.

    Time moves only when every task waits for a timer (the loop then jumps straight to
    the earliest one) or when a test moves it by hand (``time.now += 5``), so a mocked
    request in flight always finishes before time moves. Tests that take the ``time``
    fixture run in a SimulatedTimeLoop by themselves; others mark ``simulated_time``.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._start = start
        self._origin: float | None = None
        self.sleeps: list[float] = []

    def _loop(self) -> SimulatedTimeLoop | None:
        """Return the running SimulatedTimeLoop, binding to it on first use; or None."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if not isinstance(loop, SimulatedTimeLoop):
            return None
        if self._origin is None:
            self._origin = loop.time()
        return loop

    def _simulated(self) -> SimulatedTimeLoop:
        loop = self._loop()
        if loop is None:
            raise TypeError(
                "FakeTime moves with a SimulatedTimeLoop's clock: mark the test "
                "@pytest.mark.simulated_time (async tests taking `time` have it already)"
            )
        return loop

    @property
    def now(self) -> float:
        """The fake time: `start` plus the simulated seconds since first use.

        Outside a SimulatedTimeLoop (a sync test), time stands still at `start`.
        """
        loop = self._loop()
        if loop is None or self._origin is None:
            return self._start
        return self._start + (loop.time() - self._origin)

    @now.setter
    def now(self, value: float) -> None:
        step = value - self.now
        if step < 0:
            raise ValueError(f"time cannot go back: now = {value!r} is {-step!r} s ago")
        self._simulated().advance(step)

    def clock(self) -> float:
        """Return the fake time."""
        return self.now

    async def sleep(self, delay: float) -> None:
        """Record `delay`, then sleep it in simulated time."""
        self._simulated()
        self.sleeps.append(delay)
        end = self.now + delay
        await asyncio.sleep(delay)
        # Fake time is loop time plus an offset, so a sleep can end a rounding error
        # short of `end`; a caller then sleeping `end - now` would spin without end.
        while self.now < end:
            self._simulated().advance(end - self.now)

    async def until(self, condition: Callable[[], bool], step: float = 0.01) -> None:
        """Return once `condition()` holds, checking it every `step` fake seconds.

        A loop of ``asyncio.sleep(0)`` would hold simulated time still for ever.
        """
        while not condition():  # noqa: ASYNC110 - any state, not one an Event is set for
            await asyncio.sleep(step)


class FakeRender:
    """A render whose state is a function of fake time.

    Not started for `queue` seconds, then processing with progress rising linearly for
    `duration` seconds, then `outcome` (or it stops at `fail_at` percent and fails).
    """

    def __init__(
        self,
        time: FakeTime,
        *,
        video_id: str = "vid-1",
        queue: float = 1.0,
        duration: float = 10.0,
        outcome: str = "ready",
        fail_at: int | None = None,
        unknown_progress: bool = False,
    ) -> None:
        self.time = time
        self.video_id = video_id
        self.start = time.now
        self.queue = queue
        self.duration = duration
        self.outcome = outcome
        self.fail_at = fail_at
        self.unknown_progress = unknown_progress
        self.polls = 0

    @property
    def finishes_at(self) -> float:
        """When the render ends, in fake time."""
        span = self.duration if self.fail_at is None else self.duration * self.fail_at / 100
        return self.start + self.queue + span

    def state(self) -> dict[str, Any]:
        """Return the Video JSON for the current fake time."""
        elapsed = self.time.now - self.start
        body = {**VIDEO, "id": self.video_id}
        if elapsed < self.queue:
            return {**body, "status": "not_started", "progress": 0}
        if self.time.now >= self.finishes_at:
            progress = 100 if self.fail_at is None else self.fail_at
            url = "https://player.test/v" if self.outcome in ("ready", "published") else ""
            return {**body, "status": self.outcome, "progress": progress, "video_player_url": url}
        progress = int(100 * (elapsed - self.queue) / self.duration)
        if self.unknown_progress:
            progress = -1
        return {**body, "status": "processing", "progress": progress}

    def __call__(self, url: Any, **kwargs: Any) -> CallbackResult:
        self.polls += 1
        return CallbackResult(payload=self.state())
