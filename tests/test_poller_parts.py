"""The poller's parts alone: watch states, the list-versus-get strategy, the scheduler."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Collection, Mapping
from typing import Any

import pytest

from videoapi_async import PollPolicy, RateLimitError, ServerError, Video, VideoAPIError
from videoapi_async._cadence import most_eager
from videoapi_async._poller import Poller
from videoapi_async._protocol import parse_video
from videoapi_async._strategy import ListStrategy
from videoapi_async._watch import WatchEvent, WatchState, transition

from .conftest import VIDEO
from .fakes import FakeTime

# FakeTime is the clock of a SimulatedTimeLoop.
pytestmark = pytest.mark.simulated_time


def video(video_id: str = "vid-1", status: str = "processing", progress: int = 10) -> Video:
    return parse_video(
        {**VIDEO, "id": video_id, "status": status, "progress": progress}, method="GET", path="/"
    )


def server_error(status: int = 502) -> ServerError:
    return ServerError(
        "bad gateway", status_code=status, method="GET", path="/videos", detail=None, headers={}
    )


class TestWatchStates:
    def test_a_poll_round_trip(self) -> None:
        """Scheduled -> polling -> scheduled on news, -> retrying on a soft failure."""
        state = transition(WatchState.SCHEDULED, WatchEvent.POLL)
        assert state is WatchState.POLLING
        assert transition(state, WatchEvent.NEWS) is WatchState.SCHEDULED
        assert transition(state, WatchEvent.SOFT_FAILURE) is WatchState.RETRYING
        assert transition(WatchState.RETRYING, WatchEvent.POLL) is WatchState.POLLING
        # Left to the replica that holds the lease (coordination): back to scheduled.
        assert transition(state, WatchEvent.UNREAD) is WatchState.SCHEDULED

    def test_a_list_round_trip(self) -> None:
        """A listed watch goes back to scheduled with its state, or unread without it."""
        state = transition(WatchState.SCHEDULED, WatchEvent.LIST)
        assert state is WatchState.LISTED
        assert transition(state, WatchEvent.NEWS) is WatchState.SCHEDULED
        assert transition(state, WatchEvent.UNREAD) is WatchState.SCHEDULED

    @pytest.mark.parametrize("state", [s for s in WatchState if s is not WatchState.ENDED])
    def test_every_live_state_can_end(self, state: WatchState) -> None:
        """Any watch still running can end (final state, error, or nobody waiting)."""
        assert transition(state, WatchEvent.END) is WatchState.ENDED

    @pytest.mark.parametrize(
        ("state", "event"),
        [
            (WatchState.ENDED, WatchEvent.POLL),
            (WatchState.ENDED, WatchEvent.END),
            (WatchState.POLLING, WatchEvent.POLL),
            (WatchState.LISTED, WatchEvent.POLL),
            (WatchState.SCHEDULED, WatchEvent.SOFT_FAILURE),
            (WatchState.RETRYING, WatchEvent.UNREAD),
        ],
    )
    def test_impossible_moves_are_refused(self, state: WatchState, event: WatchEvent) -> None:
        """A move the table does not list is a bug, reported with both names."""
        with pytest.raises(RuntimeError, match=f"{state.name}.*{event.name}"):
            transition(state, event)


class TestMostEager:
    def test_one_policy_is_itself(self) -> None:
        """A render waited on with one policy is paced by exactly that policy."""
        policy = PollPolicy(first_poll=5)
        assert most_eager([policy]) is policy

    def test_field_by_field(self) -> None:
        """Different waits' policies merge into the most eager of each pacing field."""
        slow = PollPolicy(first_poll=5, max_interval=60, min_interval=1, growth=2, stall_timeout=9)
        quick = PollPolicy(first_poll=0.5, max_interval=10, min_interval=2, growth=1.2)
        merged = most_eager([slow, quick])
        assert (merged.first_poll, merged.max_interval, merged.min_interval) == (0.5, 10, 1)
        assert merged.growth == 1.2


class TestListStrategy:
    policy = PollPolicy(list_min_in_flight=2, jitter=0.0, first_poll=2.0, max_failing=60)

    def measured(self) -> ListStrategy:
        strategy = ListStrategy(self.policy, available=True)
        strategy.measured_get(0.01)
        strategy.started()
        strategy.succeeded(0.02, at=0.0)
        return strategy

    def test_a_transient_failure_retries_the_list(self) -> None:
        """A 502 on the list call schedules the list again with backoff; no fallback."""
        strategy = self.measured()
        strategy.started()
        strategy.failed(server_error(), at=10.0, rng=random.Random(1))
        assert strategy.next_list_at == pytest.approx(12.0)
        assert strategy.use_list(12.0, watched=50, due_by=lambda _: 50)
        strategy.started()
        strategy.failed(server_error(), at=12.0, rng=random.Random(1))
        assert strategy.next_list_at == pytest.approx(12.0 + 3.2)

    def test_retry_after_is_honoured(self) -> None:
        """A 429 on the list call waits at least its Retry-After."""
        strategy = self.measured()
        error = RateLimitError(
            "slow down",
            retry_after=7.0,
            status_code=429,
            method="GET",
            path="/videos",
            detail=None,
            headers={},
        )
        strategy.failed(error, at=10.0, rng=random.Random(1))
        assert strategy.next_list_at == pytest.approx(17.0)
        assert strategy.use_list(17.0, watched=50, due_by=lambda _: 50)

    def test_a_lasting_failure_falls_back_to_polls(self) -> None:
        """Failing for max_failing, the list is left for per-render polls until re-measured."""
        strategy = self.measured()
        for at in (10.0, 30.0, 50.0):
            strategy.failed(server_error(), at=at, rng=random.Random(1))
            assert strategy.use_list(at, watched=50, due_by=lambda _: 50)
        strategy.failed(server_error(), at=70.0, rng=random.Random(1))
        assert not strategy.use_list(71.0, watched=50, due_by=lambda _: 50)
        assert strategy.use_list(71.0 + 301, watched=50, due_by=lambda _: 50)

    def test_a_failure_that_will_not_pass_falls_back_at_once(self) -> None:
        """A 404 or a bug decoding the list is not retried as a list: polls take over."""
        strategy = self.measured()
        strategy.failed(TypeError("unhashable type: 'list'"), at=10.0, rng=random.Random(1))
        assert not strategy.use_list(10.0, watched=50, due_by=lambda _: 50)

    def test_few_renders_are_polled_one_by_one(self) -> None:
        """Below list_min_in_flight the list endpoint is not considered."""
        strategy = ListStrategy(self.policy, available=True)
        assert not strategy.use_list(0.0, watched=1, due_by=lambda _: 1)
        assert strategy.use_list(0.0, watched=2, due_by=lambda _: 2)


def poller(
    time: FakeTime,
    *,
    fetch_one: Any,
    fetch_many: Any = None,
    policy: PollPolicy | None = None,
    failed: Any = None,
) -> Poller[Video]:
    def timed_out(video_id: str, last: Video | None, timeout: float) -> VideoAPIError:
        return VideoAPIError(f"timed out on {video_id}")

    return Poller(
        fetch_one=fetch_one,
        fetch_many=fetch_many,
        failed=failed or (lambda v: VideoAPIError("failed")),
        timed_out=timed_out,
        policy=policy or PollPolicy(jitter=0.0),
        clock=time.clock,
        sleep=time.sleep,
        seed=1,
    )


async def wait(p: Poller[Video], video_id: str, **kwargs: Any) -> Video:
    sub = p.subscribe(video_id, **kwargs)
    try:
        return await sub.outcome
    finally:
        p.unsubscribe(sub)


class TestScheduler:
    async def test_a_crashing_list_call_does_not_strand_waits(self) -> None:
        """A list call raising something unexpected leaves the renders to per-id polls."""
        time = FakeTime()
        gets: list[str] = []

        async def fetch_one(video_id: str) -> tuple[Video, float]:
            gets.append(video_id)
            return video(video_id, "ready", 100), 0.01

        async def fetch_many(ids: Collection[str]) -> tuple[Mapping[str, Video], float]:
            raise RecursionError("maximum recursion depth exceeded")

        p = poller(
            time,
            fetch_one=fetch_one,
            fetch_many=fetch_many,
            policy=PollPolicy(list_polling="always", jitter=0.0),
        )
        ids = [f"v{i}" for i in range(5)]
        done = await asyncio.gather(*(wait(p, i, timeout=100) for i in ids))
        assert [v.is_ready for v in done] == [True] * 5
        assert sorted(gets) == ids
        await p.aclose()

    async def test_an_unexpected_poll_error_reaches_the_waiter(self) -> None:
        """A poll raising a non-API error ends its wait with a VideoAPIError saying why."""
        time = FakeTime()

        async def fetch_one(video_id: str) -> tuple[Video, float]:
            raise ValueError(f"video_id {video_id!r} cannot be sent")

        p = poller(time, fetch_one=fetch_one)
        with pytest.raises(VideoAPIError, match="cannot be sent") as info:
            await wait(p, "..", timeout=100)
        assert isinstance(info.value.__cause__, ValueError)
        await p.aclose()

    async def test_a_bug_handling_an_answer_reaches_the_waiter(self) -> None:
        """An error while handling a poll's answer ends the wait instead of hanging it."""
        time = FakeTime()

        async def fetch_one(video_id: str) -> tuple[Video, float]:
            return video(video_id, "failed", 50), 0.01

        def broken(v: Video) -> VideoAPIError:
            raise KeyError("oops")

        p = poller(time, fetch_one=fetch_one, failed=broken)
        with pytest.raises(VideoAPIError, match="KeyError"):
            await wait(p, "vid-1", timeout=100)
        await p.aclose()

    async def test_the_most_eager_policy_paces_a_shared_render(self) -> None:
        """Two waits with different policies on one render: polls follow the eager one."""
        time = FakeTime()
        polls: list[float] = []

        async def fetch_one(video_id: str) -> tuple[Video, float]:
            polls.append(time.now)
            return video(video_id, "not_started", 0), 0.01

        p = poller(time, fetch_one=fetch_one, policy=PollPolicy(first_poll=10, jitter=0.0))
        eager = PollPolicy(first_poll=0.5, growth=1.0, min_interval=0.1, jitter=0.0)
        slow_sub = p.subscribe("vid-1", timeout=None)
        eager_sub = p.subscribe("vid-1", timeout=None, policy=eager)
        await time.until(lambda: len(polls) >= 6)
        gaps = {round(b - a, 3) for a, b in itertools.pairwise(polls)}
        assert gaps == {0.5}
        p.unsubscribe(eager_sub)
        p.unsubscribe(slow_sub)
        await p.aclose()

    async def test_an_abandoned_poll_is_cancelled(self) -> None:
        """When the last waiter's deadline passes, the poll still reading is cancelled."""
        time = FakeTime()
        cancelled = asyncio.Event()

        async def fetch_one(video_id: str) -> tuple[Video, float]:
            try:
                await asyncio.Event().wait()  # an endless body
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("unreachable")

        p = poller(time, fetch_one=fetch_one)
        with pytest.raises(VideoAPIError, match="timed out"):
            await wait(p, "vid-1", timeout=3)
        await asyncio.wait_for(cancelled.wait(), 5)
        await p.aclose()
