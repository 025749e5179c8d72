"""Several coordinated VideoAPI clients against the sandbox and a real redis-server."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest

from videoapi_async import PollPolicy, RateLimit, RateLimitError, RetryPolicy, VideoAPI
from videoapi_async.sandbox import Sandbox, ServerRateLimit
from videoapi_async.webhooks import parse_event

from .conftest import RedisServer

FAST = PollPolicy(
    first_poll=0.1, min_interval=0.05, max_interval=0.2, jitter=0, list_polling="never"
)
LEASE = 0.4
LISTING = attrs.evolve(FAST, list_polling="always")

Make = Callable[..., Awaitable[VideoAPI]]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """Return a running sandbox with renders in real time."""
    async with Sandbox() as started:
        yield started


@pytest.fixture
async def make(sandbox: Sandbox, redis_server: RedisServer) -> AsyncIterator[Make]:
    """Return a function making clients of the sandbox coordinated through redis_server."""
    from videoapi_async.coordination import RedisCoordination

    clients: list[VideoAPI] = []

    async def new(*, coordinated: bool = True, **kwargs: Any) -> VideoAPI:
        kwargs.setdefault("poll", FAST)
        kwargs.setdefault("rate_limit", RateLimit(requests_per_second=None))
        if coordinated:
            kwargs["coordination"] = RedisCoordination(redis_server.url, lease_time=LEASE)
        client = VideoAPI(api_key=sandbox.api_key, base_url=sandbox.base_url, **kwargs)
        clients.append(client)
        return await client.__aenter__()

    yield new
    for client in clients:
        await client.aclose()


def _renders(sandbox: Sandbox, count: int, duration: float) -> list[str]:
    return [sandbox.create_video(duration=duration)["id"] for _ in range(count)]


def _api_polls(sandbox: Sandbox, ids: list[str]) -> int:
    return sum(sandbox.stats.video_requests[video_id] for video_id in ids)


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Return as soon as `condition` holds; fail if it does not within `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.005)


async def _meet_a_429(sandbox: Sandbox, client: VideoAPI, video_id: str) -> None:
    """Have the sandbox answer the client 429 (with a Retry-After too long to obey)."""
    sandbox.set_rate_limit(ServerRateLimit(rate=0.01, burst=1))
    try:
        for _ in range(3):
            try:
                await client.get_video(video_id)
            except RateLimitError:
                return
        pytest.fail("the sandbox never answered 429")
    finally:
        sandbox.set_rate_limit(None)


def _count_slots(client: VideoAPI) -> list[float | None]:
    """Record every slot the client takes from the shared limit (a Redis round trip)."""
    shared = client._shared
    assert shared is not None
    coordination = shared.coordination
    take = coordination.take_slot
    taken: list[float | None] = []

    async def counted() -> float | None:
        wait = await take()
        taken.append(wait)
        return wait

    coordination.take_slot = counted  # type: ignore[method-assign]
    return taken


async def test_three_replicas_poll_a_batch_about_as_often_as_one(
    sandbox: Sandbox, make: Make
) -> None:
    """Three clients waiting on the same renders send about as many polls as one alone."""
    single = await make(coordinated=False)
    clients = [await make() for _ in range(3)]
    alone = _renders(sandbox, 10, 0.8)
    shared = _renders(sandbox, 10, 0.8)  # the same durations, side by side
    results = await asyncio.gather(
        single.wait_for_renders(alone), *(client.wait_for_renders(shared) for client in clients)
    )
    assert all(outcome.ok for outcomes in results for outcome in outcomes)
    assert _api_polls(sandbox, shared) <= 1.3 * _api_polls(sandbox, alone)
    assert sum(client.stats["polls"] for client in clients) == _api_polls(sandbox, shared)


async def test_a_webhook_to_one_replica_ends_the_waits_in_all(sandbox: Sandbox, make: Make) -> None:
    """An event handed to one client ends the others' waits, and later waits see it too."""
    (video_id,) = _renders(sandbox, 1, 600.0)
    clients = [await make() for _ in range(3)]
    waits = [asyncio.ensure_future(client.wait_for_render(video_id)) for client in clients]
    # every wait is polling (or leaving it to another), once the video's lease is taken
    await _until(lambda: _api_polls(sandbox, [video_id]) > 0)
    await _until(lambda: all(client._poller.is_watching(video_id) for client in clients))
    sandbox.set_status(video_id, "ready")
    body = sandbox.video(video_id)
    assert body is not None
    event = parse_event(f'{{"event": "video.ready", "data": {_json(body)}}}'.encode())
    polls_before = _api_polls(sandbox, [video_id])
    started = time.monotonic()
    clients[2].handle_webhook_event(event)
    videos = await asyncio.wait_for(asyncio.gather(*waits), 2)
    assert time.monotonic() - started < 0.5
    assert {video.status.value for video in videos} == {"ready"}
    later = await asyncio.wait_for((await make()).wait_for_render(video_id), 2)
    assert later.status.value == "ready"
    assert _api_polls(sandbox, [video_id]) - polls_before <= 1  # from the stored state


async def test_without_a_429_no_request_waits_for_redis(sandbox: Sandbox, make: Make) -> None:
    """Coordinated clients that meet no 429 take no slot from Redis for their requests."""
    client = await make()
    taken = _count_slots(client)
    (video_id,) = _renders(sandbox, 1, 600.0)
    for _ in range(20):
        await client.get_video(video_id)
    assert taken == []


async def test_a_429_in_one_replica_paces_all_from_one_shared_rate(
    sandbox: Sandbox, make: Make
) -> None:
    """After one client's 429, every client, one started later too, draws slots from Redis."""
    first = await make(retry=RetryPolicy.disabled())
    second = await make()
    second_slots = _count_slots(second)
    (video_id,) = _renders(sandbox, 1, 600.0)
    for _ in range(5):  # a rate to cut from
        await first.get_video(video_id)
    await _meet_a_429(sandbox, first, video_id)
    shared = second._shared
    assert shared is not None
    await _until(lambda: shared._generation == 1)  # the news reached the other replica
    await second.get_video(video_id)
    assert len(second_slots) >= 1
    assert second.stats["rate_limited"] == 0
    third = await make()
    third_slots = _count_slots(third)
    await third.get_video(video_id)
    assert len(third_slots) >= 1  # begins at the shared rate, not at no cap


async def test_the_budget_paces_alone_when_redis_dies_during_a_limit(
    sandbox: Sandbox, make: Make, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis gone while a shared limit is in force, requests still go out, logged."""
    client = await make(retry=RetryPolicy.disabled())
    (video_id,) = _renders(sandbox, 1, 600.0)
    for _ in range(5):
        await client.get_video(video_id)
    await _meet_a_429(sandbox, client, video_id)
    shared = client._shared
    assert shared is not None
    await _until(lambda: shared._generation == 1)  # the cut is in force
    with caplog.at_level(logging.WARNING, logger="videoapi_async"):
        redis_server.kill()
        video = await asyncio.wait_for(client.get_video(video_id), 5)
    assert video.id == video_id
    assert any("paces its requests alone" in r.getMessage() for r in caplog.records)


async def test_waits_fall_back_to_polling_when_redis_dies(
    sandbox: Sandbox, make: Make, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With redis-server killed, every wait still ends, each client polling on its own."""
    ids = _renders(sandbox, 5, 0.6)
    clients = [await make() for _ in range(2)]
    waits = [asyncio.ensure_future(client.wait_for_renders(ids)) for client in clients]
    await _until(lambda: _api_polls(sandbox, ids) > 0)
    with caplog.at_level(logging.WARNING, logger="videoapi_async"):
        redis_server.kill()
        results = await asyncio.wait_for(asyncio.gather(*waits), 15)
    assert all(outcome.ok for outcomes in results for outcome in outcomes)
    assert any("coordination unavailable" in r.getMessage() for r in caplog.records)
    assert all(client.stats["polls"] > 0 for client in clients)


async def test_replicas_present_share_one_client_s_poll_concurrency(
    make: Make, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Each replica polls with its share of max_concurrent_polls; alone or cut off, all of it."""
    whole = FAST.max_concurrent_polls
    first = await make()
    assert first._poller.max_polls == whole  # a lone replica is not slowed
    second = await make()
    third = await make()
    replicas = [first, second, third]
    await _until(lambda: all(c._poller.max_polls == whole // 3 for c in replicas))
    await third.aclose()
    await _until(lambda: all(c._poller.max_polls == whole // 2 for c in replicas[:2]))
    with caplog.at_level(logging.WARNING, logger="videoapi_async"):
        redis_server.kill()  # the next presence refresh (a third of LEASE) finds it gone
        await _until(lambda: all(c._poller.max_polls == whole for c in replicas[:2]))
    assert any("polls with its whole concurrency" in r.getMessage() for r in caplog.records)


async def test_a_killed_replica_s_videos_are_taken_over(
    sandbox: Sandbox, make: Make, redis_server: RedisServer
) -> None:
    """A replica in another process killed with SIGKILL: this one polls its videos in time."""
    ids = _renders(sandbox, 5, 600.0)
    script = (
        "import asyncio, sys\n"
        "from videoapi_async import PollPolicy, RateLimit, RateLimitError, RetryPolicy, VideoAPI\n"
        "from videoapi_async.coordination import RedisCoordination\n"
        "async def main():\n"
        "    key, base, url, *ids = sys.argv[1:]\n"
        f"    poll = PollPolicy(first_poll={FAST.first_poll}, min_interval={FAST.min_interval},"
        f" max_interval={FAST.max_interval}, jitter=0, list_polling='never')\n"
        f"    c = RedisCoordination(url, lease_time={LEASE})\n"
        "    async with VideoAPI(key, base_url=base, poll=poll, coordination=c,\n"
        "                        rate_limit=RateLimit(requests_per_second=None)) as api:\n"
        "        wait = asyncio.ensure_future(api.wait_for_renders(ids))\n"
        "        while api.stats['polls'] < len(ids):\n"
        "            await asyncio.sleep(0.01)\n"
        "        print('polling', flush=True)\n"
        "        await wait\n"
        "asyncio.run(main())\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        sandbox.api_key,
        sandbox.base_url,
        redis_server.url,
        *ids,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert (await asyncio.wait_for(child.stdout.readline(), 30)).strip() == b"polling"
        survivor = await make()
        wait = asyncio.ensure_future(survivor.wait_for_renders(ids))
        # the survivor's first claims are refused: the child polls them all
        await asyncio.sleep(FAST.first_poll + FAST.max_interval)
        assert survivor.stats["polls"] == 0
        child.kill()
        killed = time.monotonic()
        while True:
            if survivor.stats["polls"]:
                break
            await asyncio.sleep(0.01)
        assert time.monotonic() - killed <= LEASE + FAST.max_interval + 0.2
        for video_id in ids:
            sandbox.set_status(video_id, "ready")
        outcomes = await asyncio.wait_for(wait, 5)
        assert all(outcome.ok for outcome in outcomes)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


async def test_replicas_listing_the_same_renders_leave_the_list_poll_to_one(
    sandbox: Sandbox, make: Make
) -> None:
    """With list polling, one replica lists for all; the others send no list call."""
    ids = _renders(sandbox, 10, 600.0)
    clients = [await make(poll=LISTING) for _ in range(3)]
    waits = [asyncio.ensure_future(client.wait_for_renders(ids)) for client in clients]
    await _until(lambda: max(client.stats["list_polls"] for client in clients) >= 5)
    listers = [client for client in clients if client.stats["list_polls"]]
    assert len(listers) == 1
    others = [client for client in clients if client is not listers[0]]
    # they hear each list's states, so they have (next to) nothing to poll themselves
    assert sum(client.stats["polls"] for client in others) < len(ids)
    for video_id in ids:
        sandbox.set_status(video_id, "ready")
    results = await asyncio.wait_for(asyncio.gather(*waits), 5)
    assert all(outcome.ok for outcomes in results for outcome in outcomes)


async def test_a_render_the_lister_does_not_wait_on_is_polled_by_its_own_waiter(
    sandbox: Sandbox, make: Make
) -> None:
    """A render left out of the other replica's list poll is polled on its own, not left."""
    mine, theirs = _renders(sandbox, 2, 600.0)
    lister, other = await make(poll=LISTING), await make(poll=LISTING)
    listed = asyncio.ensure_future(lister.wait_for_render(theirs))
    await _until(lambda: lister.stats["list_polls"] > 0)
    waited = asyncio.ensure_future(other.wait_for_render(mine))
    await _until(lambda: sandbox.stats.video_requests[mine] >= 2)
    assert other.stats["list_polls"] == 0
    sandbox.set_status(mine, "ready")
    sandbox.set_status(theirs, "ready")
    assert (await asyncio.wait_for(waited, 5)).id == mine
    assert (await asyncio.wait_for(listed, 5)).id == theirs


async def test_the_list_poll_of_a_dead_replica_is_taken_over(
    sandbox: Sandbox, make: Make, redis_server: RedisServer
) -> None:
    """A list lease left by a dead replica: its renders are polled meanwhile, then listed."""
    import redis.asyncio as aioredis

    from videoapi_async._shared import LIST_POLL

    ids = _renders(sandbox, 5, 600.0)
    async with aioredis.Redis.from_url(redis_server.url) as redis:
        await redis.set(f"videoapi:lease:{LIST_POLL}", "dead", px=round(LEASE * 1000))
    started = time.monotonic()
    client = await make(poll=LISTING)
    wait = asyncio.ensure_future(client.wait_for_renders(ids))
    await _until(lambda: client.stats["list_polls"] > 0)
    assert time.monotonic() - started <= LEASE + FAST.max_interval + 0.5
    assert client.stats["polls"] > 0  # polled on their own while the lease was the dead one's
    for video_id in ids:
        sandbox.set_status(video_id, "ready")
    outcomes = await asyncio.wait_for(wait, 5)
    assert all(outcome.ok for outcome in outcomes)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


async def test_the_lister_polls_one_by_one_what_another_replica_left_to_it(
    sandbox: Sandbox, make: Make
) -> None:
    """A replica that does not list takes no render's lease; the lister polls them all."""
    from videoapi_async.sandbox import RouteFaults

    # Listing costs far more than a poll, so the lister polls these renders one by one.
    sandbox.faults.set_route("GET /videos", RouteFaults(latency=0.1))
    auto = attrs.evolve(FAST, list_polling="auto", list_min_in_flight=1, first_poll=0.2, growth=1.0)
    lister = await make(poll=auto)
    (listed,) = _renders(sandbox, 1, 600.0)
    first = asyncio.ensure_future(lister.wait_for_render(listed))
    await _until(lambda: lister.stats["list_polls"] >= 1)
    # The other replica looks less often, and asks for the render first: before, it
    # took the render's lease while leaving it to the list, and polled it alone.
    other = await make(poll=attrs.evolve(auto, first_poll=0.4, max_interval=0.4))
    (both,) = _renders(sandbox, 1, 600.0)
    waits = [asyncio.ensure_future(other.wait_for_render(both))]
    await _until(lambda: both in other._poller._left_to_list)
    waits.append(asyncio.ensure_future(lister.wait_for_render(both)))
    await _until(lambda: sandbox.stats.video_requests[both] >= 2)
    assert other.stats["polls"] == other.stats["list_polls"] == 0
    for video_id in (listed, both):
        sandbox.set_status(video_id, "ready")
    ended = await asyncio.wait_for(asyncio.gather(first, *waits), 5)
    assert [video.id for video in ended] == [listed, both, both]


async def test_the_lister_polls_with_the_whole_concurrency(sandbox: Sandbox, make: Make) -> None:
    """The replica listing for all polls with all of max_concurrent_polls, the other a share."""
    ids = _renders(sandbox, 3, 600.0)
    clients = [await make(poll=LISTING) for _ in range(2)]
    waits = [asyncio.ensure_future(client.wait_for_renders(ids)) for client in clients]
    await _until(lambda: sum(client.stats["list_polls"] for client in clients) >= 1)
    lister, other = sorted(clients, key=lambda client: -client.stats["list_polls"])
    whole = LISTING.max_concurrent_polls
    await _until(lambda: other._poller.max_polls == whole // 2)
    assert lister._poller.max_polls == whole
    for video_id in ids:
        sandbox.set_status(video_id, "ready")
    results = await asyncio.wait_for(asyncio.gather(*waits), 5)
    assert all(outcome.ok for outcomes in results for outcome in outcomes)
