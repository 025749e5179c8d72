"""When to poll a render next: pure functions of what has been seen so far.

While nothing is known, polls start fast and back off geometrically (tenacity's
exponential wait, jittered, capped). Once progress rises, the finish time is
estimated from the observed rate and the next poll is placed near it: half-way while
the estimate rests on a single reading, right after the predicted finish once two
readings confirm the rate. A poll never follows the previous one sooner than
`PollPolicy.min_interval`, so waiting can never spin.
"""

from __future__ import annotations

import math
import random
from typing import Final, Literal, Protocol, cast

import attrs
import tenacity

__all__ = ["Job", "JobStatus", "PollPolicy", "ProgressTrack"]


class JobStatus(Protocol):
    """What polling needs of a status: its value and whether it is a failure."""

    @property
    def value(self) -> str:
        """The status as the API spells it."""
        ...

    @property
    def is_failure(self) -> bool:
        """Whether the job ended without a result."""
        ...


class Job(Protocol):
    """What polling needs of a polled thing (a `Video`, a `VoicePreview`)."""

    @property
    def id(self) -> str:
        """The job's id."""
        ...

    @property
    def status(self) -> JobStatus:
        """Where the job is."""
        ...

    @property
    def progress(self) -> int | None:
        """Percent done, or None when unknown."""
        ...

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended."""
        ...


_FULL: Final = 100.0
_FIRM_RISE: Final = 20.0
_MARGIN_SHARE: Final = 0.03


def _check_poll_policy(policy: PollPolicy) -> None:
    for name in (
        "first_poll",
        "max_interval",
        "min_interval",
        "finish_margin",
        "max_failing",
        "webhook_safety_interval",
    ):
        value = getattr(policy, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(
                f"PollPolicy.{name} must be a positive number of seconds, got {value!r}"
            )
    if policy.min_interval > policy.max_interval:
        raise ValueError(
            f"PollPolicy.min_interval ({policy.min_interval}) must not exceed max_interval "
            f"({policy.max_interval})"
        )
    if not policy.growth >= 1:
        raise ValueError(f"PollPolicy.growth must be >= 1, got {policy.growth!r}")
    if not 0 <= policy.jitter < 1:
        raise ValueError(f"PollPolicy.jitter must be in [0, 1), got {policy.jitter!r}")
    if policy.list_polling not in ("auto", "always", "never"):
        raise ValueError(
            f"PollPolicy.list_polling must be 'auto', 'always' or 'never', "
            f"got {policy.list_polling!r}"
        )
    if not isinstance(policy.max_concurrent_polls, int) or policy.max_concurrent_polls < 1:
        raise ValueError(
            f"PollPolicy.max_concurrent_polls must be an integer >= 1, "
            f"got {policy.max_concurrent_polls!r}"
        )


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How renders are polled while somebody waits for them.

    Attributes:
        first_poll: Seconds before the first poll of a render nothing is known about.
        growth: Each poll that shows no change waits this much longer than the last.
        max_interval: The longest wait between two polls of one render while its
            finish cannot be predicted yet.
        min_interval: The shortest wait between two polls of one render.
        jitter: Random spread (a fraction, e.g. 0.1 for +/-10 %) of backoff waits, so
            renders started together are not polled in lockstep.
        finish_margin: Seconds after the predicted finish at which to poll.
        list_polling: ``"auto"`` reads many renders at once through the list endpoint
            when that costs less than polling each (measured as it goes); ``"always"``
            and ``"never"`` force the choice.
        list_min_in_flight: Renders in flight before the list endpoint is considered.
        max_concurrent_polls: The most status polls in flight at once.

    """

    first_poll: float = 2.0
    growth: float = 1.6
    max_interval: float = 30.0
    min_interval: float = 0.25
    jitter: float = 0.1
    finish_margin: float = 0.15
    list_polling: Literal["auto", "always", "never"] = "auto"
    list_min_in_flight: int = 20
    max_concurrent_polls: int = 16
    max_failing: float = 300.0
    webhooks: bool = False
    webhook_safety_interval: float = 60.0

    def __attrs_post_init__(self) -> None:
        _check_poll_policy(self)


class _Attempt:
    """The slice of tenacity's RetryCallState that its wait strategies read."""

    __slots__ = ("attempt_number",)

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


class ProgressTrack:
    """What one render's polls have shown: the readings the finish estimate rests on."""

    __slots__ = ("_backoff", "errors", "first", "last", "since", "unchanged", "zero")

    def __init__(self, policy: PollPolicy) -> None:
        self.zero: tuple[float, float] | None = None  # first reading at 0 % while rendering
        self.first: tuple[float, float] | None = None  # first reading above 0 %
        self.last: tuple[float, float] | None = None  # latest reading
        self.since: float | None = None  # when the first answer came
        self.unchanged = 0
        self.errors = 0
        self._backoff = tenacity.wait_exponential(
            multiplier=policy.first_poll, exp_base=policy.growth, max=policy.max_interval
        )

    def observe(self, job: Job, at: float, changed: bool) -> None:
        """Record a poll's answer at time `at` (clock seconds)."""
        self.errors = 0
        self.unchanged = 0 if changed else self.unchanged + 1
        if self.since is None:
            self.since = at
        progress = job.progress
        if progress is None or job.status.value == "not_started":
            return
        reading = (at, float(progress))
        if self.last is not None and progress < self.last[1]:
            # Progress went backwards (a restarted render): start over.
            self.zero = self.first = None
        if progress == 0:
            if self.zero is None:
                self.zero = reading
        elif self.first is None:
            self.first = reading
        self.last = reading

    def estimated_finish(self) -> tuple[float, bool] | None:
        """Return the predicted finish time and whether it is firm enough to aim at.

        None when it cannot be told yet. Times are clock seconds. An estimate is firm
        once progress has risen by `_FIRM_RISE` points between two readings above 0 %;
        progress comes in whole percents, so smaller rises leave the rate too rough.
        Otherwise the earliest plausible finish is returned.
        """
        last = self.last
        if last is None:
            return None
        estimates = []
        for ref in (self.first, self.zero):
            if ref is not None and last[1] > ref[1] and last[0] > ref[0]:
                # Whole-percent readings: half a point more is the likelier true rise.
                rate = (last[1] - ref[1] + 0.5) / (last[0] - ref[0])
                finish = last[0] + max(_FULL - last[1] - 0.5, 0.0) / rate
                if ref is self.first and last[1] - ref[1] >= _FIRM_RISE:
                    return finish, True
                estimates.append(finish)
        return (min(estimates), False) if estimates else None

    def next_delay(self, now: float, policy: PollPolicy, rng: random.Random) -> float:
        """Return seconds until this render should be polled again."""
        # A poll that showed nothing new means the estimate failed (a stall, a render
        # about to fail): back off from the start instead of trusting it again.
        estimate = None if self.unchanged else self.estimated_finish()
        if estimate is not None:
            finish, trusted = estimate
            remaining = finish - now
            # Firm: poll just after the predicted finish. Otherwise go half-way and
            # measure again over a longer span.
            if trusted:
                # Aim a little past the estimate, more so the longer the render: the
                # estimate's error grows with the time it extrapolates over.
                delay = remaining + policy.finish_margin + _MARGIN_SHARE * max(remaining, 0.0)
            else:
                delay = remaining / 2
            # Never leap further ahead than twice the time watched so far.
            watched = now - self.since if self.since is not None else 0.0
            delay = min(delay, max(policy.max_interval, 2 * watched))
        else:
            delay = self._backoff_after(self.unchanged + 1)
            if policy.jitter:
                delay *= 1 + rng.uniform(-policy.jitter, policy.jitter)
            delay = min(delay, policy.max_interval)
        return max(delay, policy.min_interval)

    def error_delay(self, policy: PollPolicy, rng: random.Random) -> float:
        """Return the wait after a failed poll: exponential in consecutive failures."""
        self.errors += 1
        delay = self._backoff_after(self.errors) * (1 + rng.uniform(0, policy.jitter))
        return max(min(delay, policy.max_interval), policy.min_interval)

    def _backoff_after(self, attempts: int) -> float:
        # tenacity's wait strategies only read `attempt_number` from the retry state.
        return self._backoff(cast(tenacity.RetryCallState, _Attempt(attempts)))
