"""Several coordinated VideoAPI clients against the sandbox and a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from videoapi_async import PollPolicy, RateLimit, RateLimitError, RetryPolicy, VideoAPI
from videoapi_async.sandbox import Sandbox, ServerRateLimit
from videoapi_async.webhooks import parse_event

from .conftest import RedisServer

FAST = PollPolicy(
    first_poll=0.2, min_interval=0.1, max_interval=0.5, jitter=0, list_polling="never"
)
LEASE = 0.6

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


async def test_three_replicas_poll_a_batch_about_as_often_as_one(
    sandbox: Sandbox, make: Make
) -> None:
    """Three clients waiting on the same renders send about as many polls as one alone."""
    alone = _renders(sandbox, 10, 1.5)
    outcomes = await (await make(coordinated=False)).wait_for_renders(alone)
    assert all(outcome.ok for outcome in outcomes)
    shared = _renders(sandbox, 10, 1.5)
    clients = [await make() for _ in range(3)]
    results = await asyncio.gather(*(client.wait_for_renders(shared) for client in clients))
    assert all(outcome.ok for outcomes in results for outcome in outcomes)
    assert _api_polls(sandbox, shared) <= 1.3 * _api_polls(sandbox, alone)
    assert sum(client.stats["polls"] for client in clients) == _api_polls(sandbox, shared)


async def test_a_webhook_to_one_replica_ends_the_waits_in_all(sandbox: Sandbox, make: Make) -> None:
    """An event handed to one client ends the others' waits, and later waits see it too."""
    (video_id,) = _renders(sandbox, 1, 600.0)
    clients = [await make() for _ in range(3)]
    waits = [asyncio.ensure_future(client.wait_for_render(video_id)) for client in clients]
    await asyncio.sleep(0.5)  # every wait is polling (or leaving it to another)
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


async def test_a_429_in_one_replica_slows_the_others(sandbox: Sandbox, make: Make) -> None:
    """A 429 met by one client pauses and slows the other clients' budgets too."""
    first = await make(retry=RetryPolicy.disabled())
    second = await make(rate_limit=RateLimit(requests_per_second=20))
    (video_id,) = _renders(sandbox, 1, 600.0)
    await second.get_video(video_id)  # a replica that sent nothing has no rate to cut
    sandbox.set_rate_limit(ServerRateLimit(rate=1, burst=1))
    for _ in range(3):
        with contextlib.suppress(RateLimitError):
            await first.get_video(video_id)
    assert first.stats["rate_limited"] >= 1
    budget = second._requester.budget
    for _ in range(100):
        if budget.current_rate() != 20:
            break
        await asyncio.sleep(0.02)
    rate = budget.current_rate()
    assert rate is not None
    assert rate < 20
    assert second.stats["rate_limited"] == 0


async def test_waits_fall_back_to_polling_when_redis_dies(
    sandbox: Sandbox, make: Make, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With redis-server killed, every wait still ends, each client polling on its own."""
    ids = _renders(sandbox, 5, 2.0)
    clients = [await make() for _ in range(2)]
    waits = [asyncio.ensure_future(client.wait_for_renders(ids)) for client in clients]
    await asyncio.sleep(0.5)
    with caplog.at_level(logging.WARNING, logger="videoapi_async"):
        redis_server.kill()
        results = await asyncio.wait_for(asyncio.gather(*waits), 15)
    assert all(outcome.ok for outcomes in results for outcome in outcomes)
    assert any("coordination unavailable" in r.getMessage() for r in caplog.records)
    assert all(client.stats["polls"] > 0 for client in clients)


async def test_a_killed_replica_s_videos_are_taken_over(
    sandbox: Sandbox, make: Make, redis_server: RedisServer
) -> None:
    """A replica in another process killed with SIGKILL: this one polls its videos in time."""
    ids = _renders(sandbox, 5, 4.0)
    script = (
        "import asyncio, sys\n"
        "from videoapi_async import PollPolicy, RateLimit, RateLimitError, RetryPolicy, VideoAPI\n"
        "from videoapi_async.coordination import RedisCoordination\n"
        "async def main():\n"
        "    key, base, url, *ids = sys.argv[1:]\n"
        f"    poll = PollPolicy(first_poll=0.2, min_interval=0.1, max_interval=0.5, jitter=0,"
        " list_polling='never')\n"
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
        await asyncio.sleep(0.5)
        assert survivor.stats["polls"] == 0  # the child polls them all
        child.kill()
        killed = time.monotonic()
        while True:
            if survivor.stats["polls"]:
                break
            await asyncio.sleep(0.01)
        assert time.monotonic() - killed <= LEASE + FAST.max_interval + 0.2
        outcomes = await asyncio.wait_for(wait, 15)
        assert all(outcome.ok for outcome in outcomes)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
