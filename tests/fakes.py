"""Fake time and a scripted render, for deterministic tests of waiting."""

from __future__ import annotations

import asyncio
from typing import Any

from aioresponses import CallbackResult

from .conftest import VIDEO


class FakeTime:
    """A clock that only moves when somebody sleeps on it.

    Each sleep first yields to the event loop many times, so mocked requests already in
    flight finish before time jumps; then it advances the clock by the whole delay.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """Return the fake time."""
        return self.now

    async def sleep(self, delay: float) -> None:
        """Let pending work run, then jump ahead by `delay`."""
        self.sleeps.append(delay)
        for _ in range(50):
            await asyncio.sleep(0)
        self.now += delay


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
