"""The list-versus-get cost model: when one list call reads renders cheaper than polls.

`ListStrategy` measures what a status poll and a list call cost (seconds, queueing for
the request budget excluded, as moving averages) and decides, for the renders due now,
whether one ``GET /videos`` costs less than the polls due before the next list call
may start. A failed list call is retried with backoff like any poll; only a failure
that will not pass, or one that has lasted `PollPolicy.max_failing`, makes it fall
back to one poll per render until the list is measured again.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from typing import Final

from ._cadence import PollPolicy, poll_backoff
from ._errors import RateLimitError, VideoAPIError
from ._retry import is_transient

__all__ = ["ListStrategy"]

logger: Final = logging.getLogger("videoapi_async")

_EWMA: Final = 0.3
_UNUSABLE: Final = math.inf  # the list's cost while it is known not to work
_LIST_SHARE: Final = 5.0  # space list calls by 5x their cost: at most ~20 % of the time
_REPROBE: Final = 300.0  # seconds between measurements of the list endpoint


def _blend(old: float | None, new: float) -> float:
    return new if old is None or old == _UNUSABLE else old + _EWMA * (new - old)


class ListStrategy:
    """Chooses between one list call and per-render polls, from measured costs."""

    __slots__ = (
        "_decided_until",
        "_decision",
        "available",
        "errors",
        "failing_since",
        "get_cost",
        "in_flight",
        "list_cost",
        "next_list_at",
        "policy",
        "probed_at",
    )

    def __init__(self, policy: PollPolicy, *, available: bool) -> None:
        self.policy = policy
        self.available = available
        """Whether the client can read many jobs at once at all."""
        self.get_cost: float | None = None
        self.list_cost: float | None = None
        self.probed_at: float | None = None
        self.next_list_at = 0.0
        self.in_flight = False
        self.failing_since: float | None = None
        self.errors = 0
        self._decision = False
        self._decided_until = 0.0

    def use_list(self, now: float, watched: int, due_by: Callable[[float], int]) -> bool:
        """Whether the renders due now should be read with the list endpoint.

        `watched` is how many renders are waited on; `due_by(t)` counts those due by `t`.
        """
        if not self.available or self.policy.list_polling == "never":
            return False
        if self.list_cost == _UNUSABLE:
            # It failed for good: poll one by one until it is worth measuring again.
            return self.probed_at is None or now - self.probed_at > _REPROBE
        if self.policy.list_polling == "always":
            return True
        if watched < self.policy.list_min_in_flight:
            return False
        if self.list_cost is None:
            # Many renders in flight: measure the list endpoint once. Before any poll,
            # this one call also replaces a first poll of each of them.
            return True
        if self.get_cost is None:
            return False
        if self.probed_at is not None and now - self.probed_at > _REPROBE:
            return True  # the account grows, and so does the list: measure again
        if self._decided_until > now:
            return self._decision
        # Cheaper as one list call than as the polls due before the next one may start?
        self._decision = due_by(now + self.spacing()) * self.get_cost >= self.list_cost
        self._decided_until = now + self.policy.min_interval
        return self._decision

    def ready(self, now: float) -> bool:
        """Whether a list call may start now."""
        return not self.in_flight and now >= self.next_list_at

    def covered_at(self, now: float) -> float:
        """When renders due now but left to the next list call should be looked at again."""
        at = now if self.in_flight else self.next_list_at
        return min(max(at, now + self.policy.min_interval), now + self.policy.max_interval)

    def spacing(self) -> float:
        """Seconds between two list calls: a share of their cost, within the intervals."""
        cost = self.list_cost if self.list_cost not in (None, _UNUSABLE) else 0.0
        spacing = max(self.policy.min_interval, _LIST_SHARE * (cost or 0.0))
        return min(spacing, self.policy.max_interval)

    def measured_get(self, cost: float) -> None:
        """Record what a status poll cost."""
        self.get_cost = _blend(self.get_cost, cost)

    def started(self) -> None:
        """Record that a list call was sent."""
        self.in_flight = True

    def succeeded(self, cost: float, at: float) -> None:
        """Record a list call's answer and its cost."""
        self.in_flight = False
        self.list_cost = _blend(self.list_cost, cost)
        self.probed_at = at
        self.failing_since = None
        self.errors = 0
        self.next_list_at = at + self.spacing()

    def cancelled(self) -> None:
        """Record that a list call was abandoned (nobody waits any more)."""
        self.in_flight = False

    def failed(self, exc: BaseException, at: float, rng: random.Random) -> None:
        """Record a failed list call: retry it with backoff, or give up on it for now."""
        self.in_flight = False
        if self.failing_since is None:
            self.failing_since = at
        self.errors += 1
        if not is_transient(exc) or at - self.failing_since >= self.policy.max_failing:
            if not isinstance(exc, VideoAPIError):
                logger.warning("list poll failed unexpectedly", exc_info=exc)
            logger.debug("list poll failed (%s); polling renders one by one", exc)
            self.list_cost, self.probed_at = _UNUSABLE, at
            self.failing_since, self.errors = None, 0
            self.next_list_at = at
            return
        delay = poll_backoff(self.errors, self.policy, rng)
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, self.policy.max_failing))
        logger.debug("list poll failed (%s); next in %.2f s", exc, delay)
        self.next_list_at = at + delay
