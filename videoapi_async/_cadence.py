"""The pure cadence of polling: `PollPolicy`, and when to poll one render next.

While nothing is known, polls start fast and back off geometrically (`poll_backoff`:
jittered, exponential, capped). Once progress rises, the finish time is estimated
from the observed rate and the next poll is placed near it: half-way while the
estimate rests on a single reading, right after the predicted finish once two
readings confirm the rate. A poll never follows the previous one sooner than
`PollPolicy.min_interval`, so waiting can never spin. Nothing here does I/O.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any, Final, Literal, Protocol

import attrs

from ._retry import backoff
from .validators import seconds_validator

__all__ = ["Job", "JobStatus", "PollPolicy", "ProgressTrack", "most_eager", "poll_backoff"]


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
_LIST_MODES: Final = ("auto", "always", "never")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_seconds = seconds_validator()
_seconds_or_none = seconds_validator(none="no stall limit")


def _count(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"PollPolicy.{attribute.name} must be an integer >= 1, got {value!r}")


def _growth(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _is_number(value) or not math.isfinite(value) or not value >= 1:
        raise ValueError(f"PollPolicy.growth must be a number >= 1, got {value!r}")


def _jitter(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _is_number(value) or not 0 <= value < 1:
        raise ValueError(f"PollPolicy.jitter must be a fraction in [0, 1), got {value!r}")


def _list_mode(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _LIST_MODES:
        raise ValueError(
            f"PollPolicy.list_polling must be 'auto', 'always' or 'never', got {value!r}"
        )


def _flag(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"PollPolicy.{attribute.name} must be True or False, got {value!r}")


def _not_above_max(instance: PollPolicy, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value > instance.max_interval:
        raise ValueError(
            f"PollPolicy.min_interval ({value}) must not exceed max_interval "
            f"({instance.max_interval})"
        )


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How renders are polled while somebody waits for them.

    A wait may bring its own policy; a render that waits with different policies share
    is polled as eagerly as the most eager of them asks (see `most_eager`).

    Attributes:
        first_poll: Seconds before the first poll of a render nothing is known about;
            also the first wait after a failed poll.
        growth: Each poll that shows no change waits this much longer than the last
            (1 keeps the pace; must be >= 1).
        max_interval: The longest wait between two polls of one render while its
            finish cannot be predicted yet, and after a failed poll.
        min_interval: The shortest wait between two polls of one render (at most
            `max_interval`).
        jitter: Random spread (a fraction in [0, 1), e.g. 0.1 for +/-10 %) of backoff
            waits, so renders started together are not polled in lockstep.
        finish_margin: Seconds after the predicted finish at which to poll.
        list_polling: ``"auto"`` reads many renders at once through the list endpoint
            when that costs less than polling each (measured as it goes); ``"always"``
            and ``"never"`` force the choice. Client-wide: a wait's own policy does
            not change it.
        list_min_in_flight: Renders in flight before the list endpoint is considered
            (client-wide).
        max_concurrent_polls: The most status polls in flight at once (client-wide;
            with ``coordination=``, divided among the replicas present).
        max_failing: Seconds a render's polls may keep failing with errors that may
            pass (connection errors, 408, 425, 429, most 5xx, garbled bodies) before
            its waits end with the last error. Other errors end them at once.
        webhooks: Whether webhooks feed the client's waits from the start (they also
            switch on by themselves with the first delivery); polls of renders in
            progress then only happen every `webhook_safety_interval` seconds.
        webhook_safety_interval: Seconds between the safety-net polls of a render
            while webhooks report its progress.
        stall_timeout: Seconds a render's status and progress may stay the same before
            its waits end with `RenderStalledError` (default 3600: an hour without any
            change; a render that takes longer than that over one percent is stuck).
            None never gives up on a render that does not move. A wait's own
            ``timeout`` applies either way.

    """

    first_poll: float = attrs.field(default=2.0, validator=_seconds)
    growth: float = attrs.field(default=1.6, validator=_growth)
    max_interval: float = attrs.field(default=30.0, validator=_seconds)
    min_interval: float = attrs.field(default=0.25, validator=[_seconds, _not_above_max])
    jitter: float = attrs.field(default=0.1, validator=_jitter)
    finish_margin: float = attrs.field(default=0.15, validator=_seconds)
    list_polling: Literal["auto", "always", "never"] = attrs.field(
        default="auto", validator=_list_mode
    )
    list_min_in_flight: int = attrs.field(default=20, validator=_count)
    max_concurrent_polls: int = attrs.field(default=16, validator=_count)
    max_failing: float = attrs.field(default=300.0, validator=_seconds)
    webhooks: bool = attrs.field(default=False, validator=_flag)
    webhook_safety_interval: float = attrs.field(default=60.0, validator=_seconds)
    stall_timeout: float | None = attrs.field(default=3600.0, validator=_seconds_or_none)


def most_eager(policies: Iterable[PollPolicy]) -> PollPolicy:
    """Return the pace for a render that waits with different policies share.

    Field by field, the most eager setting wins: the shortest `first_poll`,
    `min_interval`, `max_interval`, `finish_margin` and `webhook_safety_interval`, the
    gentlest `growth` and the least `jitter`. The result is only used to pace polls;
    `max_failing` and `stall_timeout` stay each waiter's own, and the client-wide
    fields (`list_polling`, `list_min_in_flight`, `max_concurrent_polls`, `webhooks`)
    are the client's.
    """
    first, *rest = policies
    if not rest:
        return first
    every = (first, *rest)
    return attrs.evolve(
        first,
        first_poll=min(p.first_poll for p in every),
        growth=min(p.growth for p in every),
        max_interval=min(p.max_interval for p in every),
        min_interval=min(p.min_interval for p in every),
        jitter=min(p.jitter for p in every),
        finish_margin=min(p.finish_margin for p in every),
        webhook_safety_interval=min(p.webhook_safety_interval for p in every),
    )


def poll_backoff(attempt: int, policy: PollPolicy, rng: random.Random) -> float:
    """Return the wait before poll number `attempt` (from 1) of a run without news.

    The package's one exponential (``first_poll * growth ** (attempt - 1)``, at most
    `PollPolicy.max_interval`), spread by +/- `PollPolicy.jitter`, and never outside
    [`min_interval`, `max_interval`].
    """
    delay = backoff(
        attempt, first=policy.first_poll, maximum=policy.max_interval, factor=policy.growth
    )
    if policy.jitter:
        delay *= 1 + rng.uniform(-policy.jitter, policy.jitter)
    return max(min(delay, policy.max_interval), policy.min_interval)


class ProgressTrack:
    """What one render's polls have shown: the readings the finish estimate rests on."""

    __slots__ = (
        "changed_at",
        "errors",
        "first",
        "idle_at",
        "last",
        "since",
        "unchanged",
        "zero",
    )

    def __init__(self) -> None:
        self.zero: tuple[float, float] | None = None  # first reading at 0 % while rendering
        self.first: tuple[float, float] | None = None  # first reading above 0 %
        self.idle_at: float | None = None  # last reading before it began (not_started)
        self.last: tuple[float, float] | None = None  # latest reading
        self.since: float | None = None  # when the first answer came
        self.changed_at: float | None = None  # when the status or progress last changed
        self.unchanged = 0
        self.errors = 0

    def observe(self, job: Job, at: float, changed: bool) -> None:
        """Record a poll's answer at time `at` (clock seconds)."""
        self.errors = 0
        self.unchanged = 0 if changed else self.unchanged + 1
        if self.since is None:
            self.since = at
        if changed or self.changed_at is None:
            self.changed_at = at
        progress = job.progress
        if job.status.value == "not_started":
            if self.first is None:
                self.idle_at = at
            return
        if progress is None:
            return
        reading = (at, float(progress))
        if self.last is not None and progress < self.last[1]:
            # Progress went backwards (a restarted render): start over.
            self.zero = self.first = self.idle_at = None
        if progress == 0:
            if self.zero is None:
                self.zero = reading
        elif self.first is None:
            self.first = reading
        self.last = reading

    def stalled_for(self, now: float) -> float:
        """Seconds since the status or progress last changed (0 before any answer)."""
        return 0.0 if self.changed_at is None else now - self.changed_at

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
        if estimate is None:
            delay = None if self.unchanged else self._until_firm()
            if delay is None:
                return poll_backoff(self.unchanged + 1, policy, rng)
            return max(min(delay, policy.max_interval), policy.min_interval)
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
        return max(delay, policy.min_interval)

    def _until_firm(self) -> float | None:
        """Seconds until progress has likely risen enough for a firm estimate, or None.

        Known when the only reading above 0 % follows one of the render not started:
        it began in between, so progress over that span is a lower bound of its rate,
        and waiting for `_FIRM_RISE` more points at that rate (at most twice the span,
        for a render that began just before the reading) makes the next reading firm.
        """
        first, idle_at = self.first, self.idle_at
        if first is None or idle_at is None or self.last is not first or self.zero is not None:
            return None
        span = first[0] - idle_at
        if span <= 0:
            return None
        slowest = first[1] / span
        return min((_FIRM_RISE + 1) / slowest, 2 * span)

    def error_delay(self, policy: PollPolicy, rng: random.Random) -> float:
        """Return the wait after a failed poll: exponential in consecutive failures."""
        self.errors += 1
        return poll_backoff(self.errors, policy, rng)
