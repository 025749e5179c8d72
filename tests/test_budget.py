"""The adaptive request budget: free by default, AIMD on 429, fair to polls, bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from typing import Any

import pytest

from videoapi_async import (
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    RateLimit,
    RateLimitError,
    RetryPolicy,
    VideoAPI,
)
from videoapi_async._budget import (
    PRIORITY_CALL,
    PRIORITY_CREATE,
    PRIORITY_POLL,
    RequestBudget,
)

from .conftest import BASE_URL, VIDEO, MockAPI
from .fakes import FakeTime

# FakeTime is the clock of a SimulatedTimeLoop.
pytestmark = pytest.mark.simulated_time

VIDEO_URL = f"{BASE_URL}/videos/vid-1"


class ServerLimit:
    """A server's token bucket: `rate` requests per second, 429 with Retry-After past it."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = 0.0
        self.served = 0
        self.refused = 0

    def allow(self, now: float) -> float | None:
        """Return None if the request is served, else the whole seconds of Retry-After."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.served += 1
            return None
        self.refused += 1
        return float(math.ceil((1 - self.tokens) / self.rate))


def test_no_cap_by_default() -> None:
    """RateLimit() and VideoAPI(rate_limit=None) put no client-side cap on requests."""
    assert RateLimit().requests_per_second is None
    assert VideoAPI("k", base_url=BASE_URL, rate_limit=None).rate_limit == RateLimit()
    assert RateLimit(requests_per_second=10).requests_per_second == 10


class _Forbidden:
    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a free slot must not {self.what}")


@contextlib.contextmanager
def scheduling_forbidden() -> Iterator[None]:
    """Make timers, tasks and futures on the running loop fail the test, for a while."""
    loop = asyncio.get_running_loop()
    names = ("call_later", "call_at", "create_task", "create_future")
    for name in names:
        setattr(loop, name, _Forbidden(f"use loop.{name}"))
    try:
        yield
    finally:
        for name in names:
            delattr(loop, name)


async def _sleep_forbidden(delay: float) -> None:
    raise AssertionError("a free slot must not sleep")


async def test_a_free_slot_costs_no_sleep_timer_or_task() -> None:
    """Taking free slots, capped or not, never sleeps, schedules or allocates a task."""
    time = FakeTime(0.0)
    free = RequestBudget(RateLimit(), clock=time.clock, sleep=_sleep_forbidden, max_in_flight=8)
    capped = RequestBudget(
        RateLimit(requests_per_second=5, burst=5), clock=time.clock, sleep=_sleep_forbidden
    )
    with scheduling_forbidden():
        for _ in range(1000):
            await free.acquire(PRIORITY_CALL)
            free.release()
        for _ in range(5):
            await capped.acquire(PRIORITY_POLL)


async def test_a_burst_of_429s_to_requests_in_flight_is_one_signal() -> None:
    """429s answering requests sent before the cut slow the budget down once, not each."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep)
    tickets = []
    for _ in range(100):  # 100 requests a second for a second
        tickets.append(await budget.acquire())
        time.now += 0.01
    for ticket in tickets[-85:]:  # the server refuses the last 85 of them
        budget.on_rate_limited(retry_after=None, ticket=ticket)
    assert budget.rate_limited == 85
    assert budget.slowdowns == 1
    assert budget.current_rate() == pytest.approx(100 * RateLimit().backoff_factor, rel=0.05)


async def test_a_429_to_a_request_sent_after_the_cut_cuts_again() -> None:
    """Congestion that goes on after a cut is a new signal: the rate is cut again."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(recovery=30), clock=time.clock, sleep=time.sleep)
    for _ in range(40):
        ticket = await budget.acquire()
        time.now += 0.025
    budget.on_rate_limited(retry_after=None, ticket=ticket)
    first = budget.current_rate()
    factor = RateLimit().backoff_factor
    assert first == pytest.approx(40 * factor, rel=0.1)
    later = await budget.acquire()
    budget.on_rate_limited(retry_after=None, ticket=later)
    assert budget.slowdowns == 2
    second = budget.current_rate()
    assert second is not None
    assert first is not None
    assert second == pytest.approx(first * factor, rel=0.05)


async def test_recovery_is_additive_then_lifts() -> None:
    """After the last cut the rate climbs linearly, then the cap is gone again."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(recovery=10), clock=time.clock, sleep=time.sleep)
    for _ in range(40):
        ticket = await budget.acquire()
        time.now += 0.025
    budget.on_rate_limited(retry_after=None, ticket=ticket)
    start = budget.current_rate()
    assert start is not None
    rates = []
    for _ in range(4):
        time.now += 2
        rates.append(budget.current_rate())
    steps = [b - a for a, b in zip([start, *rates], rates, strict=False)]  # type: ignore[operator]
    assert steps == pytest.approx([steps[0]] * 4)
    assert steps[0] > 0
    time.now += 2
    assert budget.current_rate() is None


async def test_a_fixed_cap_is_still_a_cap() -> None:
    """RateLimit(requests_per_second=...) keeps requests under the cap after the burst."""
    time = FakeTime(0.0)
    budget = RequestBudget(
        RateLimit(requests_per_second=4, burst=1), clock=time.clock, sleep=time.sleep
    )
    starts = []
    for _ in range(9):
        await budget.acquire()
        starts.append(time.now)
    assert starts[-1] == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("retry_after", [1e9, 4_102_444_800.0, 120.0])
async def test_a_retry_after_refused_as_too_long_is_not_obeyed(retry_after: float) -> None:
    """Retry-After past max_retry_after (1e9, a date in 2100, 120) pauses nothing."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep, max_pause=60)
    budget.on_rate_limited(retry_after=retry_after)
    await budget.acquire()
    assert time.now == 0.0


async def test_an_obeyed_pause_is_bounded_by_max_retry_after() -> None:
    """A Retry-After the client obeys pauses the budget exactly that long, no more."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep, max_pause=60)
    budget.on_rate_limited(retry_after=60)
    await budget.acquire()
    assert time.now == pytest.approx(60, abs=0.01)


async def test_a_long_retry_after_leaves_a_ready_video_readable(
    mock_api: MockAPI, time: FakeTime
) -> None:
    """After a 429 asking for 1e9 s (raised at once), the next call goes out at once."""
    mock_api.get(VIDEO_URL, status=429, headers={"Retry-After": "1000000000"})
    mock_api.get(VIDEO_URL, payload={**VIDEO, "status": "ready", "progress": 100})
    async with VideoAPI("k", base_url=BASE_URL, clock=time.clock, sleep=time.sleep) as api:
        with pytest.raises(RateLimitError):
            await api.get_video("vid-1")
        started = time.now
        video = await api.get_video("vid-1")
    assert video.status.value == "ready"
    assert time.now == started


async def test_polls_get_a_share_while_creates_wait() -> None:
    """While creates and polls both wait, every other grant goes to a poll."""
    time = FakeTime(0.0)
    budget = RequestBudget(
        RateLimit(requests_per_second=10, burst=1), clock=time.clock, sleep=time.sleep
    )
    order: list[str] = []

    async def take(kind: str, priority: int) -> None:
        await budget.acquire(priority)
        order.append(kind)

    async def main() -> None:
        await budget.acquire()  # use the burst
        await asyncio.gather(
            *(take("create", PRIORITY_CREATE) for _ in range(40)),
            *(take("poll", PRIORITY_POLL) for _ in range(10)),
        )

    await main()
    polls_at = [i for i, kind in enumerate(order) if kind == "poll"]
    assert len(polls_at) == 10
    assert polls_at[-1] <= 20  # alternating with creates, well before the creates end
    assert order.count("create") == 40


async def test_creates_go_first_when_no_poll_waits() -> None:
    """Creates are served before direct calls, and calls before polls, given no share is due."""
    time = FakeTime(0.0)
    budget = RequestBudget(
        RateLimit(requests_per_second=10, burst=1), clock=time.clock, sleep=time.sleep
    )
    order: list[str] = []

    async def take(kind: str, priority: int) -> None:
        await budget.acquire(priority)
        order.append(kind)

    async def main() -> None:
        await budget.acquire()
        await asyncio.gather(
            take("call", PRIORITY_CALL), take("create", PRIORITY_CREATE), take("call", 1)
        )

    await main()
    assert order == ["create", "call", "call"]


async def test_in_flight_cap_queues_here_with_the_poll_share() -> None:
    """With every connection busy, requests wait in the budget and polls keep their share."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep, max_in_flight=2)
    order: list[str] = []

    async def request(kind: str, priority: int) -> None:
        await budget.acquire(priority)
        try:
            order.append(kind)
            await time.sleep(1.0)
        finally:
            budget.release()

    async def main() -> None:
        creates = [asyncio.ensure_future(request("create", PRIORITY_CREATE)) for _ in range(30)]
        await time.sleep(0.5)
        polls = [asyncio.ensure_future(request("poll", PRIORITY_POLL)) for _ in range(3)]
        await asyncio.gather(*creates, *polls)

    await main()
    assert order.count("poll") == 3
    assert max(i for i, kind in enumerate(order) if kind == "poll") < 16


async def test_a_429_storm_never_keeps_a_call_past_its_bound(mock_api: MockAPI) -> None:
    """200 concurrent calls under endless 429s all end within max_elapsed, with RateLimitError."""
    mock_api.get(VIDEO_URL, status=429, headers={"Retry-After": "1"}, repeat=True)
    time = FakeTime(0.0)
    policy = RetryPolicy(max_attempts=1000, max_elapsed=30)
    ended: list[float] = []

    async def call(api: VideoAPI) -> BaseException | None:
        try:
            await api.get_video("vid-1")
        except RateLimitError as exc:
            ended.append(time.now)
            return exc
        return None

    async def main() -> list[BaseException | None]:
        async with VideoAPI(
            "k", base_url=BASE_URL, clock=time.clock, sleep=time.sleep, retry=policy
        ) as api:
            return await asyncio.gather(*(call(api) for _ in range(200)))

    errors = await main()
    assert all(isinstance(e, RateLimitError) for e in errors)
    assert len(ended) == 200
    assert max(ended) <= 30.0 + 1e-6


async def test_a_call_that_cannot_get_a_slot_in_time_fails_clearly() -> None:
    """A waiter whose deadline passes gets RateLimitError naming the call and the bound."""
    time = FakeTime(0.0)
    budget = RequestBudget(
        RateLimit(requests_per_second=1, burst=1), clock=time.clock, sleep=time.sleep
    )

    async def main() -> list[BaseException | int]:
        await budget.acquire()
        return await asyncio.gather(
            *(budget.acquire(deadline=5.5, method="GET", path=f"/videos/{n}") for n in range(10)),
            return_exceptions=True,
        )

    results = await main()
    granted = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, RateLimitError)]
    assert len(granted) == 5
    assert len(refused) == 5
    assert "GET /videos/" in str(refused[0])
    assert "max_elapsed" in str(refused[0])
    assert time.now <= 5.5 + 1e-6


async def test_a_pause_past_the_deadline_fails_waiters_at_once() -> None:
    """Waiters whose deadline falls inside an obeyed pause fail now, not at the deadline."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep, max_pause=60)

    async def main() -> BaseException | int:
        budget.on_rate_limited(retry_after=50)
        try:
            return await budget.acquire(deadline=30.0, method="GET", path="/videos")
        except RateLimitError as exc:
            return exc

    result = await main()
    assert isinstance(result, RateLimitError)
    assert result.retry_after == pytest.approx(50)
    assert time.now == 0.0


async def test_64_users_against_a_50_per_second_server_keep_its_pace() -> None:
    """64 users against a 50 req/s server settle near its rate, not at a few per second."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep, max_in_flight=64)
    server = ServerLimit(rate=50, burst=50)
    served_at: list[float] = []

    async def user() -> None:
        while time.now < 60:
            ticket = await budget.acquire()
            try:
                await time.sleep(0.02)  # the round trip
                retry_after = server.allow(time.now)
                if retry_after is None:
                    served_at.append(time.now)
                else:
                    budget.on_rate_limited(retry_after, ticket)
            finally:
                budget.release()
            if retry_after is not None:
                await time.sleep(retry_after)  # what the retry loop does

    await asyncio.gather(*(user() for _ in range(64)))
    rate = len(served_at) / 60
    assert rate >= 40, f"kept {rate:.1f} req/s against a 50 req/s server"
    assert server.refused < 0.04 * server.served


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"min_requests_per_second": 0}, "min_requests_per_second"),
        ({"min_requests_per_second": None}, "min_requests_per_second"),
        ({"requests_per_second": math.inf}, "requests_per_second"),
        ({"requests_per_second": math.nan}, "requests_per_second"),
        ({"requests_per_second": True}, "requests_per_second"),
        ({"burst": 2.5}, "burst"),
        ({"backoff_factor": 0}, "backoff_factor"),
        ({"recovery": math.nan}, "recovery"),
    ],
)
def test_bad_limits_name_the_field(kwargs: dict[str, Any], needle: str) -> None:
    """Impossible rate limits are refused with the field's name."""
    with pytest.raises(ValueError, match=needle):
        RateLimit(**kwargs)


@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_bad_pool_size(value: Any) -> None:
    """A pool size that cannot hold a request is refused, naming max_connections."""
    with pytest.raises(ValueError, match="max_connections"):
        RequestBudget(RateLimit(), clock=lambda: 0.0, sleep=asyncio.sleep, max_in_flight=value)


async def test_a_relayed_429_cuts_once_per_batch_of_own_requests() -> None:
    """429s relayed from elsewhere with the last ticket cut once until new requests go out."""
    time = FakeTime(0.0)
    budget = RequestBudget(RateLimit(), clock=time.clock, sleep=time.sleep)
    for _ in range(40):
        await budget.acquire()
        time.now += 0.025
    for _ in range(10):
        budget.on_rate_limited(retry_after=None, ticket=budget.issued)
    assert budget.slowdowns == 1
    await budget.acquire()
    budget.on_rate_limited(retry_after=None, ticket=budget.issued)
    assert budget.slowdowns == 2


async def test_slow_creates_on_every_connection_do_not_starve_a_wait() -> None:
    """With slow creates holding every connection, a wait's poll gets the next free slot."""
    time = FakeTime(0.0)
    creates_done: list[float] = []

    async def handler(request: HTTPRequest) -> HTTPResponse:
        if request.method == "POST":
            await time.sleep(1.0)  # the server takes a second to store each video
            creates_done.append(time.now)
            return HTTPResponse.from_json({**VIDEO, "id": f"new-{len(creates_done)}"}, status=201)
        return HTTPResponse.from_json({**VIDEO, "status": "ready", "progress": 100})

    async def main() -> float:
        async with VideoAPI(
            "k",
            base_url=BASE_URL,
            transport=MockTransport(handler),
            max_connections=2,
            clock=time.clock,
            sleep=time.sleep,
        ) as api:
            creates = [
                asyncio.ensure_future(api.create_video(source_draft_id="d", name=f"row {n}"))
                for n in range(20)
            ]
            await time.sleep(0.5)
            await api.wait_for_render("vid-1", timeout=60)
            seen = time.now
            await asyncio.gather(*creates)
            return seen

    seen = await main()
    assert seen <= 1.0 + 1e-6  # the first slot freed, not behind the 18 waiting creates
    assert len(creates_done) == 20
