"""The poll scheduler: who waits on which job, and when each job is read next.

One `Poller` per kind of job (renders, voice previews) per client. Every waiter holds
a `Subscription` to its job's single `Watch`, so however many wait, each job is read
once per cadence step. One scheduler task keeps a heap of when each watch is due and a
heap of waiters' deadlines, starts at most `PollPolicy.max_concurrent_polls` polls at a
time, and asks `ListStrategy` whether one list call should read the due jobs instead.
Pacing is `_cadence`'s, states and their moves are `_watch`'s. The scheduler task
exists only while something is watched, and it naps through the client's injected
``sleep`` and ``clock``, in production and in tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from ._cadence import Job, PollPolicy
from ._errors import RateLimitError, VideoAPIError
from ._retry import is_transient
from ._strategy import ListStrategy
from ._watch import IN_FLIGHT, Subscription, Watch, WatchEvent, WatchState, closed_error

if TYPE_CHECKING:
    from ._shared import Lease, PollShare

__all__ = ["Poller", "Subscription", "closed_error"]

logger: Final = logging.getLogger("videoapi_async")

J = TypeVar("J", bound=Job)

# The last poll before a deadline goes this many poll costs (at least min_interval) early.
_DEADLINE_LEAD: Final = 2.0


def _state(job: Job) -> tuple[str, int | None]:
    return job.status.value, job.progress


class Poller(Generic[J]):
    """Schedules the polls of every watched job (video, voice preview) of one client.

    `fetch_one` reads one job, `fetch_many` many at once (the list endpoint; without
    it, jobs are always polled one by one); both also return what the read cost in
    seconds, queueing for the request budget excluded, which decides between them.
    `failed` builds the error for a job that ended in failure, `timed_out` the error
    for a waiter whose deadline came first (from the id, the last state seen and the
    timeout), and `stalled` the error for a waiter whose job has not changed for its
    `PollPolicy.stall_timeout` (from the id, the last state and the seconds unchanged;
    without it, stalls are not detected).
    """

    def __init__(
        self,
        *,
        fetch_one: Callable[[str], Awaitable[tuple[J, float]]],
        fetch_many: Callable[[Collection[str]], Awaitable[tuple[Mapping[str, J], float]]] | None,
        failed: Callable[[J], VideoAPIError],
        timed_out: Callable[[str, J | None, float], VideoAPIError],
        stalled: Callable[[str, J | None, float], VideoAPIError] | None = None,
        policy: PollPolicy,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        seed: int | None = None,
    ) -> None:
        self._fetch_one = fetch_one
        self._fetch_many = fetch_many
        self._failed = failed
        self._timed_out = timed_out
        self._stalled = stalled
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._strategy = ListStrategy(policy, available=fetch_many is not None)
        self._watches: dict[str, Watch[J]] = {}
        self._due: list[tuple[float, int, str]] = []
        self._deadlines: list[tuple[float, int, Subscription[J]]] = []
        self._seq = itertools.count()
        self._runner: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._timer: asyncio.Future[None] | None = None
        self._timer_at = 0.0
        self._reads: set[asyncio.Task[None]] = set()
        self._list_read: asyncio.Task[None] | None = None
        self._polls_in_flight = 0
        self._left_to_list: dict[str, float] = {}  # shared: waiting for another's list
        self._poll_alone: set[str] = set()  # shared: the lister did not cover these
        self._closed = False
        self.polls = 0
        """Status polls answered so far (GET /videos/{id})."""
        self.list_polls = 0
        """List calls answered so far that read many renders at once (GET /videos)."""
        self.webhooks = policy.webhooks
        """Whether webhooks feed this poller (polls then slow to a safety net)."""
        self.share: PollShare[J] | None = None
        """Other replicas to share polls with: poll only the jobs they leave to us."""
        self.max_polls = policy.max_concurrent_polls
        """Polls in flight at most: the policy's, or this replica's share of it."""

    # --- subscriptions -----------------------------------------------------------------

    @property
    def watched(self) -> int:
        """How many distinct jobs are being polled."""
        return len(self._watches)

    def subscribe(
        self,
        video_id: str,
        *,
        timeout: float | None,
        seed: J | None = None,
        policy: PollPolicy | None = None,
    ) -> Subscription[J]:
        """Start waiting for `video_id`; the first waiter starts its polling.

        `seed` is a state already known (it saves the first poll). `policy` paces this
        wait instead of the client's: a job several waits share is polled as eagerly
        as the most eager of their policies asks (`most_eager`), while `max_failing`
        and `stall_timeout` apply to each wait on its own. The client-wide fields
        (list polling, concurrency, webhooks) stay the client's.
        """
        if self._closed:
            raise closed_error()
        now = self._clock()
        sub_policy = self.policy if policy is None else policy
        watch = self._watches.get(video_id)
        fresh = watch is None
        if watch is None:
            watch = self._watches[video_id] = Watch[J](video_id)
        sub = Subscription[J](video_id, watch, now, timeout, sub_policy)
        more_eager = watch.add(sub)
        if fresh:
            if seed is None:
                self._schedule(watch, now)
            else:
                self._observe(watch, seed, now, ends_read=True)
        elif (more_eager or sub.deadline is not None) and watch.state not in IN_FLIGHT:
            # This wait may need the next poll sooner than it is planned.
            due = self._next_due(watch, now)
            if due < watch.due:
                self._schedule(watch, due)
        if not sub.finished:
            if sub.deadline is not None:
                heapq.heappush(self._deadlines, (sub.deadline, next(self._seq), sub))
            self._ensure_running()
        return sub

    def is_watching(self, job_id: str) -> bool:
        """Whether anybody waits on `job_id` here."""
        return job_id in self._watches

    def unsubscribe(self, sub: Subscription[J]) -> None:
        """Stop waiting; the last waiter to leave stops (and cancels) the job's polling."""
        watch, sub.watch = sub.watch, None
        if watch is None:
            return
        watch.discard(sub)
        if not watch.subscribers and not watch.ended:
            self._end(watch)

    def _end(self, watch: Watch[J]) -> None:
        watch.move(WatchEvent.END)
        self._left_to_list.pop(watch.video_id, None)
        self._poll_alone.discard(watch.video_id)
        if self._watches.get(watch.video_id) is watch:
            del self._watches[watch.video_id]
        task, watch.task = watch.task, None
        if task is not None and task is not self._list_read:
            task.cancel()  # nobody waits for its answer: stop reading it
        if not self._watches and self._list_read is not None:
            self._list_read.cancel()

    def feed(self, job_id: str, state: J | None, *, webhook: bool = True) -> bool:
        """Take news of a job from outside polling (a webhook); return whether it is watched.

        A full state is handled like a poll's answer (a terminal one ends the waits at
        once); without one, the job is polled right away. After a `webhook`, polls of
        jobs in progress only happen every `PollPolicy.webhook_safety_interval` seconds.
        """
        self.webhooks = self.webhooks or webhook
        watch = self._watches.get(job_id)
        if watch is None:
            return False
        now = self._clock()
        if state is not None:
            self._observe(watch, state, now, ends_read=False)
            if not webhook and self.share is not None and watch.state is WatchState.SCHEDULED:
                # Polled by another replica, which may die: look again when its lease could.
                self._schedule(watch, min(watch.due, now + self.share.lease_time))
        elif watch.state not in IN_FLIGHT:
            self._schedule(watch, now)
        self._poke()
        return True

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

    def _schedule(self, watch: Watch[J], due: float) -> None:
        watch.seq = next(self._seq)
        watch.due = due
        heapq.heappush(self._due, (due, watch.seq, watch.video_id))

    def _next_due(self, watch: Watch[J], at: float) -> float:
        policy = watch.policy or self.policy
        delay = watch.track.next_delay(at, policy, self._rng)
        if self.webhooks:
            delay = max(delay, policy.webhook_safety_interval)
        due = at + delay
        # Read once more just before the earliest deadline, so that a wait that times
        # out carries the render's state as of its end, not as of a poll long before.
        deadline = min(
            (s.deadline for s in watch.subscribers if s.deadline is not None), default=None
        )
        if deadline is not None and due > deadline:
            last = deadline - max(
                _DEADLINE_LEAD * (self._strategy.get_cost or 0.0), policy.min_interval
            )
            if last > at + policy.min_interval:
                due = last
        return due

    async def _run(self) -> None:
        try:
            while self._watches or self._reads:
                now = self._clock()
                self._expire(now)
                self._launch_due(now)
                await self._nap(self._next_wake(), now)
        except Exception as exc:  # a bug: end every wait with it rather than hang them
            logger.exception("the poll scheduler failed")
            self._end_all(_unexpected("the poll scheduler", exc))
        finally:
            if self._timer is not None:
                self._timer.cancel()

    def _next_wake(self) -> float | None:
        times = []
        if self._due and self._polls_in_flight < self.max_polls:
            times.append(self._due[0][0])
        while self._deadlines and self._deadlines[0][2].finished:
            heapq.heappop(self._deadlines)
        if self._deadlines:
            times.append(self._deadlines[0][0])
        return min(times) if times else None

    async def _nap(self, until: float | None, now: float) -> None:
        """Sleep until `until` (clock time; None: until poked), or until poked sooner.

        The sleeping is done by one timer task running the injected ``sleep``, kept
        across naps while it ends no later than needed; a poke ends the nap early.
        """
        if until is not None and until <= now:
            await asyncio.sleep(0)  # due already: only let the polls just started run
            return
        timer = self._timer
        if timer is not None and not timer.done() and (until is None or self._timer_at > until):
            timer.cancel()
            timer = None
        if until is not None and (timer is None or timer.done()):
            self._timer_at = until
            self._timer = timer = asyncio.ensure_future(self._sleep(until - now))
            timer.add_done_callback(self._timer_done)
        wake = self._wake = asyncio.get_running_loop().create_future()
        try:
            await wake
        finally:
            self._wake = None

    def _timer_done(self, timer: asyncio.Future[None]) -> None:
        if not timer.cancelled() and timer.exception() is not None:
            logger.error("the injected sleep failed", exc_info=timer.exception())
        self._poke()

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
        strategy = self._strategy
        if strategy.use_list(now, len(self._watches), self._count_due_by):
            due = self._pop_due(now, limit=None)
            if self._poll_alone:
                due = self._start_alone(due, now)
            if not due:
                return
            if strategy.ready(now):
                self._start_list(due)
                return
            # A list call is coming (or running): it will cover these too.
            at = strategy.covered_at(now)
            for watch in due:
                self._schedule(watch, at)
            return
        # Pop no more than there are free slots: the rest stay due in the heap, so a large
        # backlog is not popped and pushed back every time a poll finishes.
        capacity = self.max_polls - self._polls_in_flight
        if capacity > 0:
            for watch in self._pop_due(now, limit=capacity):
                self._start_poll(watch)

    def _start_alone(self, due: list[Watch[J]], now: float) -> list[Watch[J]]:
        """Poll the due jobs another replica's list did not cover; return the others."""
        rest = []
        for watch in due:
            if watch.video_id not in self._poll_alone:
                rest.append(watch)
            elif self._polls_in_flight < self.max_polls:
                self._poll_alone.discard(watch.video_id)
                self._start_poll(watch)
            else:
                self._schedule(watch, now + self.policy.min_interval)
        return rest

    def _count_due_by(self, horizon: float) -> int:
        return sum(
            1
            for due, seq, video_id in self._due
            if due <= horizon and (w := self._watches.get(video_id)) is not None and w.seq == seq
        )

    def _pop_due(self, now: float, *, limit: int | None) -> list[Watch[J]]:
        due: list[Watch[J]] = []
        while self._due and self._due[0][0] <= now and (limit is None or len(due) < limit):
            _, seq, video_id = heapq.heappop(self._due)
            watch = self._watches.get(video_id)
            if watch is None or watch.seq != seq or watch.state in IN_FLIGHT:
                continue
            due.append(watch)
        return due

    def _start_poll(self, watch: Watch[J]) -> None:
        watch.move(WatchEvent.POLL)
        self._polls_in_flight += 1
        watch.task = self._start(self._poll_one(watch))

    def _start_list(self, due: list[Watch[J]]) -> None:
        for watch in due:
            watch.move(WatchEvent.LIST)
        self._strategy.started()
        task = self._list_read = self._start(self._poll_list(due))
        for watch in due:
            watch.task = task

    def _start(self, read: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(read)
        self._reads.add(task)
        task.add_done_callback(self._read_done)
        return task

    def _read_done(self, task: asyncio.Task[None]) -> None:
        self._reads.discard(task)
        if task is self._list_read:
            self._list_read = None
        exc = None if task.cancelled() else task.exception()
        if exc is not None:  # reads hand every failure to the waits; this is a bug
            logger.error("a status poll failed unexpectedly", exc_info=exc)
        self._poke()

    # --- reading -----------------------------------------------------------------------

    async def _poll_one(self, watch: Watch[J]) -> None:
        try:
            if self.share is not None and not await self._claim([watch]):
                return
            video, cost = await self._fetch_one(watch.video_id)
        except Exception as exc:  # every failure must reach the waiters
            answer: J | Exception = exc
        else:
            answer = video
            self.polls += 1
            self._strategy.measured_get(cost)
            if self.share is not None:
                self.share.publish(video)
        finally:
            self._polls_in_flight -= 1
        if watch.task is not asyncio.current_task():
            return  # abandoned meanwhile
        watch.task = None
        at = self._clock()
        with self._guard(watch):
            if isinstance(answer, Exception):
                self._on_error(watch, answer, at)
            else:
                self._observe(watch, answer, at, ends_read=True)

    async def _poll_list(self, due: list[Watch[J]]) -> None:
        assert self._fetch_many is not None
        if self.share is not None:
            try:
                listing = await self._claim_list(due)
            except asyncio.CancelledError:
                self._strategy.cancelled()
                self._unread(due, self._clock())
                raise
            if not listing:
                self._strategy.cancelled()  # another replica lists for all
                return
        ids = list(self._watches)
        try:
            found, cost = await self._fetch_many(ids)
        except asyncio.CancelledError:
            self._strategy.cancelled()
            self._unread(due, self._clock())
            raise
        except Exception as exc:  # retried with backoff, or left to per-render polls
            at = self._clock()
            self._strategy.failed(exc, at, self._rng)
            self._unread(due, self._strategy.next_list_at)
            return
        at = self._clock()
        self.list_polls += 1
        self._strategy.succeeded(cost, at)
        for video_id in ids:
            watch = self._watches.get(video_id)
            if watch is None:
                continue
            video = found.get(video_id)
            if video is not None and self.share is not None:
                self.share.publish(video, always=True)
            listed = watch.state is WatchState.LISTED
            if listed:
                watch.task = None
            with self._guard(watch):
                if video is not None:
                    self._observe(watch, video, at, ends_read=listed)
                elif listed:
                    # Not (yet) in the list: poll it on its own.
                    watch.move(WatchEvent.UNREAD)
                    self._schedule(watch, at)

    async def _claim(self, due: list[Watch[J]]) -> list[Watch[J]]:
        """Return the watches to read here; take the others' shared states instead."""
        assert self.share is not None
        leases = await self.share.claim([watch.video_id for watch in due])
        at = self._clock()
        mine = []
        for watch, lease in zip(due, leases, strict=True):
            if watch.task is not asyncio.current_task():
                continue  # abandoned meanwhile
            if lease.held and (lease.state is None or not lease.state.is_terminal):
                mine.append(watch)
            else:
                watch.task = None
                with self._guard(watch):
                    self._take_shared(watch, lease, at)
        return mine

    async def _claim_list(self, due: list[Watch[J]]) -> bool:
        """Return whether to list here; else leave `due` to the replica that lists.

        The lister publishes every state it reads. A job of ours it has not covered by
        the time it is due again (the lister does not wait on it, or died) is polled
        here on its own, so no wait hangs on a list poll made elsewhere.
        """
        assert self.share is not None
        if await self.share.claim_list([watch.video_id for watch in due]):
            return True
        at = self._clock()
        for watch in due:
            if watch.task is not asyncio.current_task():
                continue  # abandoned meanwhile
            watch.task = None
            with self._guard(watch):
                watch.move(WatchEvent.UNREAD)
                if watch.video_id in self._left_to_list:
                    # Not heard of since it was left to the lister: poll it here.
                    del self._left_to_list[watch.video_id]
                    self._schedule(watch, at)
                    self._poll_alone.add(watch.video_id)
                else:
                    self._left_to_list[watch.video_id] = at
                    again = max(self._next_due(watch, at), at + self._strategy.spacing())
                    self._schedule(watch, again)
        return False

    def _take_shared(self, watch: Watch[J], lease: Lease[J], at: float) -> None:
        """Another replica reads this job: take its state now, and claim it again later."""
        if lease.state is not None:
            self._observe(watch, lease.state, at, ends_read=True)
        else:
            watch.move(WatchEvent.UNREAD)
            self._schedule(watch, self._next_due(watch, at))
        if not watch.ended:
            # Look again by its cadence, or as soon as the holder's lease could lapse.
            again = at + max(lease.retry_in or 0.0, self.policy.min_interval)
            self._schedule(watch, min(watch.due, again))

    def _unread(self, due: list[Watch[J]], at: float) -> None:
        for watch in due:
            if watch.state is WatchState.LISTED:
                watch.task = None
                watch.move(WatchEvent.UNREAD)
                self._schedule(watch, at)

    # --- answers -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, watch: Watch[J]) -> Iterator[None]:
        """End the watch's waits with the error, should handling its answer fail."""
        try:
            yield
        except Exception as exc:  # a bug: the waits must hear of it rather than hang
            logger.exception("handling the answer for %r failed", watch.video_id)
            if not watch.ended:
                watch.finish_all(
                    None, _unexpected(f"handling the answer for {watch.video_id!r}", exc)
                )
                self._end(watch)

    def _error_for(self, video: J) -> VideoAPIError | None:
        return self._failed(video) if video.status.is_failure else None

    def _observe(self, watch: Watch[J], video: J, at: float, *, ends_read: bool) -> None:
        """Take a state of the job; `ends_read` when it answers the watch's read in flight."""
        if watch.ended:
            return  # everybody left while the read was in flight
        self._left_to_list.pop(watch.video_id, None)  # heard of: no need to poll it here
        self._poll_alone.discard(watch.video_id)
        previous = watch.latest
        changed = previous is None or _state(previous) != _state(video)
        watch.latest = video
        watch.track.observe(video, at, changed)
        watch.failing_since = None
        if changed:
            for sub in watch.subscribers:
                sub.notify()
        if video.is_terminal:
            watch.finish_all(video, self._error_for(video))
            self._end(watch)
            return
        self._check_stall(watch, at)
        if watch.ended or (watch.state in IN_FLIGHT and not ends_read):
            return  # the read in flight schedules the next one
        watch.move(WatchEvent.NEWS)
        self._schedule(watch, self._next_due(watch, at))

    def _check_stall(self, watch: Watch[J], at: float) -> None:
        if self._stalled is None:
            return
        unchanged = watch.track.stalled_for(at)
        for sub in list(watch.subscribers):
            limit = sub.policy.stall_timeout
            if limit is not None and unchanged >= limit:
                sub.finish(None, self._stalled(watch.video_id, watch.latest, unchanged))
                self.unsubscribe(sub)

    def _on_error(self, watch: Watch[J], exc: Exception, at: float) -> None:
        if watch.ended:
            return
        error = (
            exc
            if isinstance(exc, VideoAPIError)
            else _unexpected(f"polling {watch.video_id!r}", exc)
        )
        if is_transient(error):
            if watch.failing_since is None:
                watch.failing_since = at
            failing = at - watch.failing_since
            for sub in list(watch.subscribers):
                if failing >= sub.policy.max_failing:
                    sub.finish(None, error)
                    self.unsubscribe(sub)
            if not watch.ended:
                policy = watch.policy or self.policy
                delay = watch.track.error_delay(policy, self._rng)
                if isinstance(error, RateLimitError) and error.retry_after is not None:
                    delay = max(delay, min(error.retry_after, policy.max_failing))
                logger.debug("poll of %s failed (%s); next in %.2f s", watch.video_id, error, delay)
                watch.move(WatchEvent.SOFT_FAILURE)
                self._schedule(watch, at + delay)
            return
        watch.finish_all(None, error)
        self._end(watch)

    def _end_all(self, error: VideoAPIError) -> None:
        for watch in list(self._watches.values()):
            watch.finish_all(None, error)
            self._end(watch)
        self._due.clear()
        self._deadlines.clear()

    # --- lifetime ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """End every wait with a clear error and stop all polling."""
        self._closed = True
        self._end_all(closed_error())
        tasks = [t for t in (self._runner, self._timer, *self._reads) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _unexpected(what: str, exc: BaseException) -> VideoAPIError:
    error = VideoAPIError(f"{what} failed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
