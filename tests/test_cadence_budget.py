"""Pure-ish tests of the poll cadence and the shared request budget, in fake time."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import attrs
import pytest

from videoapi_async import PollPolicy, RateLimit
from videoapi_async._budget import (
    PRIORITY_CALL,
    PRIORITY_CREATE,
    PRIORITY_POLL,
    RequestBudget,
)
from videoapi_async._cadence import ProgressTrack, poll_backoff
from videoapi_async._protocol import parse_video

from .conftest import VIDEO
from .fakes import FakeTime

# FakeTime is the clock of a SimulatedTimeLoop.
pytestmark = pytest.mark.simulated_time


def video(status: str = "processing", progress: int | None = 0) -> Any:
    return parse_video({**VIDEO, "status": status, "progress": progress}, method="GET", path="/")


class TestCadence:
    policy = PollPolicy(first_poll=1.0, growth=2.0, max_interval=30.0, jitter=0.0)

    def test_backoff_grows_and_caps_without_progress(self) -> None:
        """Polls that show nothing new back off geometrically up to the cap."""
        track = ProgressTrack()
        delays = []
        for _ in range(7):
            track.observe(video("not_started"), 0.0, changed=False)
            delays.append(track.next_delay(0.0, self.policy, random.Random(1)))
        assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]

    def test_backoff_is_exponential_capped_and_floored(self) -> None:
        """Poll backoff is first * growth ** (n - 1), kept within [min, max]."""
        policy = PollPolicy(first_poll=0.5, growth=3.0, min_interval=1.0, jitter=0.0)
        rng = random.Random(1)
        assert [poll_backoff(n, policy, rng) for n in (1, 2, 3, 4, 5)] == [
            1.0,
            1.5,
            4.5,
            13.5,
            30.0,
        ]
        assert poll_backoff(10_000, policy, rng) == 30.0  # no overflow on a long run

    def test_jitter_stays_in_bounds(self) -> None:
        """Jitter spreads waits by at most the configured fraction."""
        policy = PollPolicy(first_poll=10.0, jitter=0.2, max_interval=60.0)
        rng = random.Random(7)
        delays = {ProgressTrack().next_delay(0.0, policy, rng) for _ in range(200)}
        assert min(delays) >= 8.0
        assert max(delays) <= 12.0
        assert len(delays) > 100

    def test_firm_estimate_aims_just_past_the_finish(self) -> None:
        """Two readings 20+ points apart put the next poll just after the predicted end."""
        track = ProgressTrack()
        track.observe(video(progress=10), 10.0, changed=True)
        track.observe(video(progress=40), 40.0, changed=True)
        estimate = track.estimated_finish()
        assert estimate is not None
        finish, firm = estimate
        assert firm
        assert finish == pytest.approx(100.0, abs=2.0)  # a shade early, by design
        delay = track.next_delay(40.0, self.policy, random.Random(1))
        assert 60.0 <= delay <= 63.0  # just past the true finish at 100 s

    def test_rough_estimate_goes_half_way(self) -> None:
        """A small rise is too rough to aim at: the next poll goes half-way to measure."""
        track = ProgressTrack()
        track.observe(video(progress=2), 10.0, changed=True)
        track.observe(video(progress=4), 12.0, changed=True)
        finish, firm = track.estimated_finish()  # type: ignore[misc]
        assert not firm
        policy = PollPolicy(max_interval=300.0)
        delay = track.next_delay(12.0, policy, random.Random(1))
        assert delay == pytest.approx((finish - 12.0) / 2)

    def test_leaps_are_bounded_by_the_time_watched(self) -> None:
        """A far estimate is approached in steps of at most twice the time watched."""
        track = ProgressTrack()
        track.observe(video(progress=1), 0.0, changed=True)
        track.observe(video(progress=30), 100.0, changed=True)
        assert track.next_delay(100.0, self.policy, random.Random(1)) == 200.0

    def test_a_stall_backs_off_instead_of_trusting_the_estimate(self) -> None:
        """When a poll shows nothing new, the next one comes soon, not at the estimate."""
        track = ProgressTrack()
        track.observe(video(progress=10), 0.0, changed=True)
        track.observe(video(progress=40), 30.0, changed=True)
        track.observe(video(progress=40), 100.0, changed=False)
        assert track.next_delay(100.0, self.policy, random.Random(1)) == 2.0

    def test_first_progress_after_not_started_waits_for_a_firm_rise(self) -> None:
        """Once a render is seen to begin, the next poll waits for 21 points at its slowest rate."""
        track = ProgressTrack()
        track.observe(video("not_started"), 0.0, changed=True)
        track.observe(video(progress=20), 2.0, changed=True)
        # It began after 0 s, so at least 10 points/s: 21 points take at most 2.1 s.
        assert track.next_delay(2.0, self.policy, random.Random(1)) == pytest.approx(2.1)
        slow = ProgressTrack()
        slow.observe(video("not_started"), 0.0, changed=True)
        slow.observe(video(progress=2), 2.0, changed=True)
        # It may have begun just before the reading: never wait more than twice the span.
        assert slow.next_delay(2.0, self.policy, random.Random(1)) == pytest.approx(4.0)

    def test_unknown_progress_gives_no_estimate(self) -> None:
        """Progress None (-1 on the wire) never feeds the estimate."""
        track = ProgressTrack()
        track.observe(video(progress=None), 1.0, changed=True)
        track.observe(video(progress=None), 5.0, changed=False)
        assert track.estimated_finish() is None

    def test_progress_going_backwards_starts_over(self) -> None:
        """A restarted render (progress falls) discards the old readings."""
        track = ProgressTrack()
        track.observe(video(progress=50), 10.0, changed=True)
        track.observe(video(progress=80), 20.0, changed=True)
        track.observe(video(progress=5), 25.0, changed=True)
        assert track.estimated_finish() is None

    def test_never_below_the_minimum(self) -> None:
        """However close the finish, the next poll is at least min_interval away."""
        track = ProgressTrack()
        track.observe(video(progress=10), 0.0, changed=True)
        track.observe(video(progress=99), 10.0, changed=True)
        assert track.next_delay(100.0, self.policy, random.Random(1)) == self.policy.min_interval

    def test_every_field_is_documented(self) -> None:
        """PollPolicy's docstring describes each of its fields under Attributes."""
        documented = set(re.findall(r"^        (\w+):", PollPolicy.__doc__ or "", re.MULTILINE))
        assert documented == {field.name for field in attrs.fields(PollPolicy)}

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"first_poll": 0}, "first_poll"),
            ({"min_interval": 40, "max_interval": 30}, "min_interval"),
            ({"growth": 0.5}, "growth"),
            ({"jitter": 1.5}, "jitter"),
            ({"list_polling": "sometimes"}, "list_polling"),
            ({"max_concurrent_polls": 0}, "max_concurrent_polls"),
            ({"list_min_in_flight": 2.5}, "list_min_in_flight"),
            ({"max_failing": float("nan")}, "max_failing"),
            ({"webhook_safety_interval": "60"}, "webhook_safety_interval"),
            ({"webhooks": "yes"}, "webhooks"),
            ({"max_interval": True}, "max_interval"),
        ],
    )
    def test_bad_policies(self, kwargs: dict[str, Any], needle: str) -> None:
        """Impossible poll policies are refused with the field's name."""
        with pytest.raises(ValueError, match=needle):
            PollPolicy(**kwargs)


class TestBudget:
    async def test_rate_is_respected(self) -> None:
        """After the burst, requests start no faster than the configured rate."""
        time = FakeTime(0.0)
        budget = RequestBudget(
            RateLimit(requests_per_second=5, burst=2), clock=time.clock, sleep=time.sleep
        )
        starts = []
        for _ in range(12):
            await budget.acquire()
            starts.append(time.now)
        assert starts[:2] == [0.0, 0.0]
        assert starts[-1] == pytest.approx(2.0, abs=0.01)

    async def test_creates_go_first(self) -> None:
        """Waiting creates are served before waiting calls, and calls before polls."""
        time = FakeTime(0.0)
        budget = RequestBudget(
            RateLimit(requests_per_second=1, burst=1), clock=time.clock, sleep=time.sleep
        )
        await budget.acquire()  # use the burst
        order: list[str] = []

        async def take(name: str, priority: int) -> None:
            await budget.acquire(priority)
            order.append(name)

        tasks = [
            asyncio.ensure_future(take("poll-1", PRIORITY_POLL)),
            asyncio.ensure_future(take("poll-2", PRIORITY_POLL)),
            asyncio.ensure_future(take("call", PRIORITY_CALL)),
            asyncio.ensure_future(take("create", PRIORITY_CREATE)),
        ]
        await asyncio.gather(*tasks)
        assert order[0] in ("poll-1", "create")  # the first in line may already be sleeping
        assert order.index("create") < order.index("call") < order.index("poll-2")

    async def test_429_pauses_and_slows_then_recovers(self) -> None:
        """A 429 pauses everyone for Retry-After, halves the rate, then recovers."""
        time = FakeTime(0.0)
        limit = RateLimit(requests_per_second=10, burst=1, recovery=30, backoff_factor=0.5)
        budget = RequestBudget(limit, clock=time.clock, sleep=time.sleep)
        await budget.acquire()
        budget.on_rate_limited(retry_after=4)
        assert budget.current_rate() == 5
        await budget.acquire()
        assert time.now >= 4
        assert budget.rate_limited == 1
        time.now += 15
        assert budget.current_rate() == pytest.approx(5 + 5 * time.now / 30, rel=0.01)
        time.now += 30
        assert budget.current_rate() == 10

    async def test_unlimited_budget_still_honours_retry_after(self) -> None:
        """Without a rate, a 429's Retry-After still pauses the next request."""
        time = FakeTime(0.0)
        budget = RequestBudget(
            RateLimit(requests_per_second=None), clock=time.clock, sleep=time.sleep
        )
        for _ in range(100):
            await budget.acquire()
        assert time.now == 0.0
        budget.on_rate_limited(retry_after=3)
        await budget.acquire()
        assert time.now >= 3

    async def test_unlimited_budget_slows_from_the_rate_it_met(self) -> None:
        """Without a rate, a 429 cuts the rate met so far, then recovers to no limit."""
        time = FakeTime(0.0)
        budget = RequestBudget(
            RateLimit(requests_per_second=None, recovery=10, backoff_factor=0.5),
            clock=time.clock,
            sleep=time.sleep,
        )
        for _ in range(40):  # 40 requests a second for a second
            await budget.acquire()
            time.now += 0.025
        budget.on_rate_limited(retry_after=None)
        assert budget.current_rate() == pytest.approx(20, rel=0.1)
        starts = []
        for _ in range(10):
            await budget.acquire()
            starts.append(time.now)
        assert starts[-1] - starts[0] == pytest.approx(9 / 20, rel=0.15)
        time.now += 10
        assert budget.current_rate() is None

    async def test_cancelled_waiter_leaves_the_line(self) -> None:
        """A cancelled request gives its place to the next one."""
        time = FakeTime(0.0)
        budget = RequestBudget(
            RateLimit(requests_per_second=1, burst=1), clock=time.clock, sleep=time.sleep
        )
        await budget.acquire()
        first = asyncio.ensure_future(budget.acquire())
        second = asyncio.ensure_future(budget.acquire())
        await asyncio.sleep(0)
        first.cancel()
        await second
        assert first.cancelled()

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"requests_per_second": 0}, "requests_per_second"),
            ({"burst": 0}, "burst"),
            ({"backoff_factor": 1.5}, "backoff_factor"),
            ({"recovery": -1}, "recovery"),
        ],
    )
    def test_bad_limits(self, kwargs: dict[str, Any], needle: str) -> None:
        """Impossible limits are refused with the field's name."""
        with pytest.raises(ValueError, match=needle):
            RateLimit(**kwargs)
