"""The shared poll scheduler: one poll loop per video id, one scheduler per client.

Every waiter on a video (an awaiter, an iterator, a batch) holds a `Subscription` to
that video's single `_Watch`; however many wait, each video is polled once per cadence
step. One scheduler task keeps a heap of when each watch is due, starts at most
`PollPolicy.max_concurrent_polls` polls at a time (each through the client's request
budget), enforces every waiter's deadline, and, when many renders are in flight,
reads them all with one call to the list endpoint if that is measured to cost less.

The scheduler task exists only while something is watched, and all its sleeping goes
through the client's injectable ``sleep`` and ``clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Final, Generic, TypeVar

from ._cadence import Job, PollPolicy, ProgressTrack
from ._errors import RateLimitError, VideoAPIError
from ._retry import is_transient

__all__ = ["Poller", "Subscription", "closed_error"]

logger: Final = logging.getLogger("videoapi_async")

J = TypeVar("J", bound=Job)

_EWMA: Final = 0.3
_NEVER: Final = float("inf")
_LIST_SHARE: Final = 5.0  # space list calls by 5x their cost: at most ~20 % of the time
_REPROBE: Final = 300.0  # seconds between measurements of the list endpoint


def closed_error() -> VideoAPIError:
    """Build the error that ends waits when their client closes."""
    return VideoAPIError(
        "the VideoAPI client was closed while waiting for a render; the render itself "
        "goes on, wait for it again with a new client"
    )


def _state(job: Job) -> tuple[str, int | None]:
    return job.status.value, job.progress


class Subscription(Generic[J]):
    """One waiter's view of a watched video: the states it has seen and its outcome."""

    __slots__ = (
        "_changed",
        "_last",
        "_outcome",
        "deadline",
        "started",
        "timeout",
        "video_id",
        "watch",
    )

    def __init__(
        self, video_id: str, watch: _Watch[J], started: float, timeout: float | None
    ) -> None:
        self.video_id = video_id
        self.watch: _Watch[J] | None = watch
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
        """Wait until the video's state changes or the wait ends."""
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


class _Watch(Generic[J]):
    """The single poll loop state of one video id, shared by all of its subscriptions."""

    __slots__ = ("failing_since", "in_flight", "latest", "seq", "subscribers", "track", "video_id")

    def __init__(self, video_id: str, policy: PollPolicy) -> None:
        self.video_id = video_id
        self.subscribers: set[Subscription[J]] = set()
        self.latest: J | None = None
        self.track = ProgressTrack()
        self.seq = -1
        self.in_flight = False
        self.failing_since: float | None = None


class Poller(Generic[J]):
    """Schedules the polls of every watched job (video, voice preview) of one client.

    `fetch_one` reads one job, `fetch_many` many at once (the list endpoint; without
    it, jobs are always polled one by one); both also return what the read cost in
    seconds, queueing for the request budget excluded, which decides between them.
    `failed` builds the error for a job that ended in failure, `timed_out` the error
    for a waiter whose deadline came first (from the id, the last state seen and the
    timeout).
    """

    def __init__(
        self,
        *,
        fetch_one: Callable[[str], Awaitable[tuple[J, float]]],
        fetch_many: Callable[[Collection[str]], Awaitable[tuple[Mapping[str, J], float]]] | None,
        failed: Callable[[J], VideoAPIError],
        timed_out: Callable[[str, J | None, float], VideoAPIError],
        policy: PollPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        seed: int | None = None,
    ) -> None:
        self._fetch_one = fetch_one
        self._fetch_many = fetch_many
        self._failed = failed
        self._timed_out = timed_out
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._watches: dict[str, _Watch[J]] = {}
        self._due: list[tuple[float, int, str]] = []
        self._deadlines: list[tuple[float, int, Subscription[J]]] = []
        self._seq = itertools.count()
        self._runner: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._polls_in_flight = 0
        self._closed = False
        # Measured costs (seconds per call), for choosing the list endpoint.
        self._get_cost: float | None = None
        self._list_cost: float | None = None
        self._list_probed_at: float | None = None
        self._next_list_at = 0.0
        self._decision = False
        self._decided_until = 0.0
        self.polls = 0
        """Status polls sent so far (GET /videos/{id})."""
        self.list_polls = 0
        """List calls sent so far to read many renders at once (GET /videos)."""
        self.webhooks = policy.webhooks
        """Whether webhooks feed this poller (polls then slow to a safety net)."""

    # --- subscriptions -----------------------------------------------------------------

    @property
    def watched(self) -> int:
        """How many distinct videos are being polled."""
        return len(self._watches)

    def subscribe(
        self, video_id: str, *, timeout: float | None, seed: J | None = None
    ) -> Subscription[J]:
        """Start waiting for `video_id`; the first waiter starts its poll loop."""
        if self._closed:
            raise closed_error()
        now = self._clock()
        watch = self._watches.get(video_id)
        if watch is None:
            watch = _Watch[J](video_id, self.policy)
            self._watches[video_id] = watch
            if seed is not None:
                self._record(watch, seed, now)
                if not seed.is_terminal:
                    self._schedule(watch, self._next_due(watch, now))
            else:
                self._schedule(watch, now)
        sub = Subscription[J](video_id, watch, now, timeout)
        watch.subscribers.add(sub)
        if watch.latest is not None and watch.latest.is_terminal:
            self._settle(watch, watch.latest)
        elif sub.deadline is not None:
            heapq.heappush(self._deadlines, (sub.deadline, next(self._seq), sub))
            self._poke()
        self._ensure_running()
        return sub

    def unsubscribe(self, sub: Subscription[J]) -> None:
        """Stop waiting; the last waiter to leave stops the video's polling."""
        watch, sub.watch = sub.watch, None
        if watch is None:
            return
        watch.subscribers.discard(sub)
        if not watch.subscribers and self._watches.get(watch.video_id) is watch:
            del self._watches[watch.video_id]

    # --- the scheduler -----------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(
                self._run(), name="videoapi_async-poller"
            )
        else:
            self._poke()

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _next_due(self, watch: _Watch[J], at: float) -> float:
        delay = watch.track.next_delay(at, self.policy, self._rng)
        if self.webhooks:
            delay = max(delay, self.policy.webhook_safety_interval)
        return at + delay

    def feed(self, job_id: str, state: J | None) -> bool:
        """Take news of a job from outside polling (a webhook); return whether it is watched.

        A full state is handled like a poll's answer (a terminal one ends the waits at
        once); without one, the job is polled right away. From now on, polls of jobs
        in progress only happen every `PollPolicy.webhook_safety_interval` seconds.
        """
        self.webhooks = True
        watch = self._watches.get(job_id)
        if watch is None:
            return False
        now = self._clock()
        if state is not None:
            self._handle_video(watch, state, now)
        elif not watch.in_flight:
            self._schedule(watch, now)
        self._poke()
        return True

    def _schedule(self, watch: _Watch[J], due: float) -> None:
        watch.seq = next(self._seq)
        heapq.heappush(self._due, (due, watch.seq, watch.video_id))

    async def _run(self) -> None:
        while self._watches or self._tasks:
            now = self._clock()
            self._expire(now)
            self._launch_due(now)
            await self._nap(self._next_wake(now))

    def _next_wake(self, now: float) -> float | None:
        times = []
        if self._due and self._polls_in_flight < self.policy.max_concurrent_polls:
            times.append(self._due[0][0])
        while self._deadlines and self._deadlines[0][2].finished:
            heapq.heappop(self._deadlines)
        if self._deadlines:
            times.append(self._deadlines[0][0])
        return max(min(times) - now, 0.0) if times else None

    async def _nap(self, delay: float | None) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake = loop.create_future()
        try:
            if delay is None:
                await wake
            elif delay <= 0:
                await asyncio.sleep(0)
            elif self._sleep is asyncio.sleep:
                # The usual case: one timer on the wake future, no task per nap.
                timer = loop.call_later(delay, _resolve, wake)
                try:
                    await wake
                finally:
                    timer.cancel()
            else:
                await self._nap_with_injected_sleep(delay, wake)
        finally:
            self._wake = None

    async def _nap_with_injected_sleep(self, delay: float, wake: asyncio.Future[None]) -> None:
        sleeper = asyncio.ensure_future(self._sleep(delay))
        try:
            await asyncio.wait({sleeper, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not sleeper.done():
                sleeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sleeper

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, sub = heapq.heappop(self._deadlines)
            if sub.finished:
                continue
            sub.finish(None, self._timed_out(sub.video_id, sub.latest, sub.timeout or 0.0))
            self.unsubscribe(sub)

    def _launch_due(self, now: float) -> None:
        if not self._due or self._due[0][0] > now:
            return
        if self._use_list(now):
            due = self._pop_due(now, limit=None)
            if not due:
                return
            if now >= self._next_list_at:
                self._start(self._poll_list(due))
                return
            # A list call is coming (or running): it will cover these too.
            at = now if self._next_list_at == _NEVER else self._next_list_at
            at = min(max(at, now + self.policy.min_interval), now + self.policy.max_interval)
            for watch in due:
                self._schedule(watch, at)
            return
        # Pop no more than there are free slots: the rest stay due in the heap, so a large
        # backlog is not popped and pushed back every time a poll finishes.
        capacity = self.policy.max_concurrent_polls - self._polls_in_flight
        if capacity > 0:
            for watch in self._pop_due(now, limit=capacity):
                self._start(self._poll_one(watch))

    def _pop_due(self, now: float, *, limit: int | None) -> list[_Watch[J]]:
        due: list[_Watch[J]] = []
        while self._due and self._due[0][0] <= now and (limit is None or len(due) < limit):
            _, seq, video_id = heapq.heappop(self._due)
            watch = self._watches.get(video_id)
            if watch is None or watch.seq != seq or watch.in_flight:
                continue
            due.append(watch)
        return due

    def _start(self, poll: Awaitable[None]) -> None:
        task = asyncio.ensure_future(poll)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a status poll crashed", exc_info=task.exception())
        self._poke()

    # --- list endpoint -----------------------------------------------------------------

    def _use_list(self, now: float) -> bool:
        mode = self.policy.list_polling
        if self._fetch_many is None:
            return False
        if mode != "auto":
            return mode == "always"
        if len(self._watches) < self.policy.list_min_in_flight:
            return False
        if self._list_cost is None:
            # Many renders in flight: measure the list endpoint once. Before any poll,
            # this one call also replaces a first poll of each of them.
            return True
        if self._get_cost is None:
            return False
        if self._list_probed_at is not None and now - self._list_probed_at > _REPROBE:
            return True  # the account grows, and so does the list: measure again
        if self._decided_until > now:
            return self._decision
        # Cheaper as one list call than as the polls due before the next one may start?
        horizon = now + self._list_spacing()
        due_soon = sum(
            1
            for due, seq, video_id in self._due
            if due <= horizon and (w := self._watches.get(video_id)) is not None and w.seq == seq
        )
        self._decision = due_soon * self._get_cost >= self._list_cost
        self._decided_until = now + self.policy.min_interval
        return self._decision

    def _list_spacing(self) -> float:
        cost = self._list_cost if self._list_cost not in (None, _NEVER) else 0.0
        spacing = max(self.policy.min_interval, _LIST_SHARE * (cost or 0.0))
        return min(spacing, self.policy.max_interval)

    async def _poll_list(self, due: list[_Watch[J]]) -> None:
        assert self._fetch_many is not None
        self._next_list_at = _NEVER
        for watch in due:
            watch.in_flight = True
        ids = list(self._watches)
        try:
            found, cost = await self._fetch_many(ids)
        except VideoAPIError as exc:
            at = self._clock()
            logger.debug("list poll failed (%s)", exc)
            if self.policy.list_polling == "auto":
                # Poll one by one until the list is measured again.
                self._list_cost, self._list_probed_at = _NEVER, at
            for watch in due:
                watch.in_flight = False
                self._schedule(watch, at + watch.track.error_delay(self.policy, self._rng))
            self._next_list_at = at + self._list_spacing()
            return
        except BaseException:
            self._next_list_at = 0.0
            raise
        self.list_polls += 1
        at = self._clock()
        self._list_cost = self._blend(self._list_cost, cost)
        self._list_probed_at = at
        self._next_list_at = at + self._list_spacing()
        for watch in due:
            watch.in_flight = False
        waiting = set(due)
        for video_id in ids:
            current = self._watches.get(video_id)
            if current is None:
                continue
            video = found.get(video_id)
            if video is not None:
                self._handle_video(current, video, at)
            elif current in waiting:
                # Not (yet) in the list: fall back to polling it on its own.
                self._start(self._poll_one(current))

    # --- one video ---------------------------------------------------------------------

    async def _poll_one(self, watch: _Watch[J]) -> None:
        watch.in_flight = True
        self._polls_in_flight += 1
        try:
            video, cost = await self._fetch_one(watch.video_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure must reach the waiters
            self._handle_error(watch, exc, self._clock())
        else:
            at = self._clock()
            self._get_cost = self._blend(self._get_cost, cost)
            self.polls += 1
            self._handle_video(watch, video, at)
        finally:
            watch.in_flight = False
            self._polls_in_flight -= 1

    @staticmethod
    def _blend(old: float | None, new: float) -> float:
        return new if old is None or old == _NEVER else old + _EWMA * (new - old)

    def _record(self, watch: _Watch[J], video: J, at: float) -> bool:
        previous = watch.latest
        changed = previous is None or _state(previous) != _state(video)
        watch.latest = video
        watch.track.observe(video, at, changed)
        watch.failing_since = None
        return changed

    def _handle_video(self, watch: _Watch[J], video: J, at: float) -> None:
        if self._watches.get(watch.video_id) is not watch:
            return  # everybody left while the poll was in flight
        if self._record(watch, video, at):
            for sub in watch.subscribers:
                sub.notify()
        if video.is_terminal:
            self._settle(watch, video)
        else:
            self._schedule(watch, self._next_due(watch, at))

    def _settle(self, watch: _Watch[J], video: J) -> None:
        error = self._failed(video) if video.status.is_failure else None
        for sub in list(watch.subscribers):
            sub.finish(video, error)
        self._watches.pop(watch.video_id, None)

    def _handle_error(self, watch: _Watch[J], exc: BaseException, at: float) -> None:
        if self._watches.get(watch.video_id) is not watch:
            return
        if is_transient(exc):
            if watch.failing_since is None:
                watch.failing_since = at
            if at - watch.failing_since < self.policy.max_failing:
                delay = watch.track.error_delay(self.policy, self._rng)
                if isinstance(exc, RateLimitError) and exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                logger.debug("poll of %s failed (%s); next in %.2f s", watch.video_id, exc, delay)
                self._schedule(watch, at + delay)
                return
        for sub in list(watch.subscribers):
            sub.finish(None, exc)
        self._watches.pop(watch.video_id, None)

    # --- lifetime ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """End every wait with a clear error and stop all polling."""
        self._closed = True
        for watch in list(self._watches.values()):
            for sub in list(watch.subscribers):
                sub.finish(None, closed_error())
        self._watches.clear()
        self._due.clear()
        self._deadlines.clear()
        tasks = [t for t in (self._runner, *self._tasks) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
