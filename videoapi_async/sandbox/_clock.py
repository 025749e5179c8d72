"""A clock that tests move by hand."""

from __future__ import annotations

__all__ = ["ManualClock"]


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
