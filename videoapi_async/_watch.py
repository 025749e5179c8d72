"""One watched job: its named states and their one transition table, and its waiters.

A `Watch` is the poll loop state of one video (or voice preview) id, shared by every
waiter on it; each waiter holds a `Subscription`. The scheduler (`_poller`) moves a
watch between `WatchState`s only through `transition`, so every legal move is listed
in `_TRANSITIONS` and nothing else can happen.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Final, Generic, TypeVar

from ._cadence import Job, PollPolicy, ProgressTrack, most_eager
from ._errors import VideoAPIError

__all__ = ["Subscription", "Watch", "WatchEvent", "WatchState", "transition"]

J = TypeVar("J", bound=Job)


class WatchState(enum.Enum):
    """Where the polling of one job stands."""

    SCHEDULED = "scheduled"
    """Waiting for its next poll (due time in the scheduler's heap)."""
    POLLING = "polling"
    """Its own status poll is in flight."""
    LISTED = "listed"
    """A list call that covers it is in flight."""
    RETRYING = "retrying"
    """Its last poll failed in a way that may pass; the next one is scheduled."""
    ENDED = "ended"
    """Done: a final state or error reached its waiters, or nobody waits any more."""


class WatchEvent(enum.Enum):
    """What can happen to a watch."""

    POLL = "poll"
    """Its own status poll is sent."""
    LIST = "list"
    """A list call covering it is sent."""
    NEWS = "news"
    """A state that is not final arrived (poll, list call or webhook)."""
    UNREAD = "unread"
    """A read ended without its state: a list call failed or did not list it, or
    another replica polls it (see `videoapi_async.coordination`)."""
    SOFT_FAILURE = "soft_failure"
    """Its own poll failed in a way that may pass, and somebody still waits."""
    END = "end"
    """A final state, a final error, a stall, the last waiter leaving, or closing."""


_S = WatchState
_E = WatchEvent
_TRANSITIONS: Final[dict[tuple[WatchState, WatchEvent], WatchState]] = {
    (_S.SCHEDULED, _E.POLL): _S.POLLING,
    (_S.SCHEDULED, _E.LIST): _S.LISTED,
    (_S.SCHEDULED, _E.NEWS): _S.SCHEDULED,  # a webhook, or a list call it was not due for
    (_S.RETRYING, _E.POLL): _S.POLLING,
    (_S.RETRYING, _E.LIST): _S.LISTED,
    (_S.RETRYING, _E.NEWS): _S.SCHEDULED,
    (_S.POLLING, _E.NEWS): _S.SCHEDULED,
    (_S.POLLING, _E.SOFT_FAILURE): _S.RETRYING,
    (_S.POLLING, _E.UNREAD): _S.SCHEDULED,  # left to the replica that holds its lease
    (_S.LISTED, _E.NEWS): _S.SCHEDULED,
    (_S.LISTED, _E.UNREAD): _S.SCHEDULED,
    **{(state, _E.END): _S.ENDED for state in _S if state is not _S.ENDED},
}

IN_FLIGHT: Final = frozenset({WatchState.POLLING, WatchState.LISTED})
"""States in which a read of the job is in flight: it reschedules the watch when it ends."""


def transition(state: WatchState, event: WatchEvent) -> WatchState:
    """Return the state `event` leads to from `state`; an impossible move is a bug."""
    try:
        return _TRANSITIONS[state, event]
    except KeyError:
        raise RuntimeError(f"a watch cannot go from {state.name} on {event.name}") from None


def closed_error() -> VideoAPIError:
    """Build the error that ends waits when their client closes."""
    return VideoAPIError(
        "the VideoAPI client was closed while waiting for a render; the render itself "
        "goes on, wait for it again with a new client"
    )


class Subscription(Generic[J]):
    """One waiter's view of a watched job: the states it has seen and its outcome."""

    __slots__ = (
        "_changed",
        "_last",
        "_outcome",
        "deadline",
        "policy",
        "started",
        "timeout",
        "video_id",
        "watch",
    )

    def __init__(
        self,
        video_id: str,
        watch: Watch[J],
        started: float,
        timeout: float | None,
        policy: PollPolicy,
    ) -> None:
        self.video_id = video_id
        self.watch: Watch[J] | None = watch
        self.policy = policy
        self._last: J | None = None
        self.started = started
        self.timeout = timeout
        self.deadline = None if timeout is None else started + timeout
        loop = asyncio.get_running_loop()
        self._outcome: asyncio.Future[J] = loop.create_future()
        self._changed: asyncio.Future[None] | None = None

    @property
    def latest(self) -> J | None:
        """The last state polled (shared by all waiters), or the final one once ended."""
        return self.watch.latest if self.watch is not None else self._last

    @property
    def finished(self) -> bool:
        """Whether this waiter's outcome is known."""
        return self._outcome.done()

    @property
    def outcome(self) -> asyncio.Future[J]:
        """Resolves to the final state, or fails with the error that ended the wait."""
        return self._outcome

    def eta(self, now: float) -> float | None:
        """Seconds until the predicted finish, when it can be predicted."""
        if self.watch is None:
            return None
        estimate = self.watch.track.estimated_finish()
        return None if estimate is None else max(estimate[0] - now, 0.0)

    def notify(self) -> None:
        """Wake whoever waits for this waiter's next change."""
        changed = self._changed
        if changed is not None and not changed.done():
            changed.set_result(None)

    async def changed(self) -> None:
        """Wait until the job's state changes or the wait ends."""
        if self._outcome.done():
            return
        self._changed = asyncio.get_running_loop().create_future()
        try:
            await self._changed
        finally:
            self._changed = None

    def finish(self, video: J | None, error: BaseException | None) -> None:
        """Settle the outcome (first call wins) and wake any iterator."""
        if not self._outcome.done():
            self._last = video if video is not None else self.latest
            if error is not None:
                self._outcome.set_exception(error)
                # Mark retrieved: an iterator that ends early may never look at it.
                self._outcome.exception()
            elif video is not None:
                self._outcome.set_result(video)
        self.notify()


class Watch(Generic[J]):
    """The polling of one job id, shared by all of its subscriptions."""

    __slots__ = (
        "_policies",
        "due",
        "failing_since",
        "latest",
        "policy",
        "seq",
        "state",
        "subscribers",
        "task",
        "track",
        "video_id",
    )

    def __init__(self, video_id: str) -> None:
        self.video_id = video_id
        self.state = WatchState.SCHEDULED
        self.subscribers: set[Subscription[J]] = set()
        self._policies: dict[PollPolicy, int] = {}
        self.policy: PollPolicy | None = None
        """The most eager of the subscribers' policies: the one that paces the polls."""
        self.latest: J | None = None
        self.track = ProgressTrack()
        self.seq = -1
        """The ticket of the watch's one live entry in the scheduler's heap."""
        self.due = 0.0
        self.task: asyncio.Task[None] | None = None
        """The read in flight for this watch (its own poll, or the list call)."""
        self.failing_since: float | None = None

    @property
    def ended(self) -> bool:
        """Whether this watch is over."""
        return self.state is WatchState.ENDED

    def move(self, event: WatchEvent) -> None:
        """Apply `event` (see `transition`)."""
        self.state = transition(self.state, event)

    def add(self, sub: Subscription[J]) -> bool:
        """Add a waiter; return whether the pacing policy became more eager."""
        self.subscribers.add(sub)
        count = self._policies.get(sub.policy, 0)
        self._policies[sub.policy] = count + 1
        if count:
            return False
        before = self.policy
        self.policy = most_eager(self._policies)
        return before is not None and self.policy != before

    def discard(self, sub: Subscription[J]) -> None:
        """Remove a waiter (again is harmless)."""
        if sub not in self.subscribers:
            return
        self.subscribers.discard(sub)
        count = self._policies.pop(sub.policy) - 1
        if count:
            self._policies[sub.policy] = count
        elif self._policies:
            self.policy = most_eager(self._policies)

    def finish_all(self, video: J | None, error: BaseException | None) -> None:
        """Settle every waiter's outcome."""
        for sub in list(self.subscribers):
            sub.finish(video, error)
