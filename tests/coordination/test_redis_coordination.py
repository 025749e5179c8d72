"""RedisCoordination against a real redis-server: leases, news, expiry, and an outage."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from videoapi_async.coordination import Claim, CoordinationUnavailable

from .conftest import RedisServer


class Inbox:
    """A CoordinationListener that records what it is told."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []
        self.events: list[tuple[str, str | None]] = []
        self.backoffs: list[float | None] = []
        self.wanted: set[str] = set()
        self.arrived = asyncio.Event()

    def on_state(self, video_id: str, state: str) -> None:
        self.states.append((video_id, state))
        self.arrived.set()

    def on_event(self, video_id: str, state: str | None) -> None:
        self.events.append((video_id, state))
        self.arrived.set()

    def on_backoff(self, retry_after: float | None) -> None:
        self.backoffs.append(retry_after)
        self.arrived.set()

    def wants(self, video_id: str) -> bool:
        return video_id in self.wanted

    async def next(self) -> None:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()


Start = Callable[..., Awaitable[tuple[Any, Inbox]]]


@pytest.fixture
async def replica(redis_server: RedisServer) -> AsyncIterator[Start]:
    """Return a function that starts a RedisCoordination with an Inbox; all closed afterwards."""
    from videoapi_async.coordination import RedisCoordination

    started: list[Any] = []

    async def start(**kwargs: Any) -> tuple[Any, Inbox]:
        coordination = RedisCoordination(redis_server.url, **kwargs)
        inbox = Inbox()
        await coordination.start(inbox)
        started.append(coordination)
        return coordination, inbox

    yield start
    for coordination in started:
        await coordination.aclose()


async def test_one_replica_holds_a_lease_and_the_other_is_told_when_it_lapses(
    replica: Start,
) -> None:
    """The first claim takes the lease; a second replica is refused with the time left."""
    first, _ = await replica(lease_time=2.0)
    second, _ = await replica(lease_time=2.0)
    assert await first.claim(["v1", "v2"]) == [Claim(True), Claim(True)]
    (refused,) = await second.claim(["v1"])
    assert not refused.held
    assert refused.expires_in is not None
    assert 1.0 < refused.expires_in <= 2.0
    assert (await first.claim(["v1"]))[0].held  # renewing one's own lease is a claim too
    assert first.held == {"v1", "v2"}


async def test_a_lease_is_renewed_while_wanted_and_released_when_not(replica: Start) -> None:
    """Held leases outlive lease_time while wanted, and are given up once not wanted."""
    holder, inbox = await replica(lease_time=0.3)
    other, _ = await replica(lease_time=0.3)
    inbox.wanted = {"v1"}
    await holder.claim(["v1"])
    await asyncio.sleep(0.9)  # three lease times
    assert not (await other.claim(["v1"]))[0].held
    inbox.wanted = set()
    await asyncio.sleep(0.3)  # one renewal round releases it
    assert (await other.claim(["v1"]))[0].held
    assert holder.held == frozenset()


async def test_closing_releases_the_leases_at_once(replica: Start) -> None:
    """A replica that closes gives its leases to the next claimer without waiting."""
    holder, inbox = await replica(lease_time=60.0)
    other, _ = await replica(lease_time=60.0)
    inbox.wanted = {"v1"}
    await holder.claim(["v1"])
    await holder.aclose()
    assert (await other.claim(["v1"]))[0].held


async def test_states_reach_the_other_replicas_and_are_kept(replica: Start) -> None:
    """Published states reach every other replica, not the sender, and later claims see them."""
    sender, own = await replica()
    receiver, inbox = await replica()
    await sender.claim(["v1"])
    await sender.publish_states([("v1", '{"id":"v1"}'), ("v2", '{"id":"v2"}')])
    await inbox.next()
    assert inbox.states == [("v1", '{"id":"v1"}'), ("v2", '{"id":"v2"}')]
    assert own.states == []
    (claim,) = await receiver.claim(["v2"])
    assert claim == Claim(True, '{"id":"v2"}')
    (busy,) = await receiver.claim(["v1"])
    assert (busy.held, busy.state) == (False, '{"id":"v1"}')


async def test_stored_states_expire(replica: Start) -> None:
    """A published state is gone from Redis after state_ttl."""
    sender, _ = await replica(state_ttl=0.2)
    await sender.publish_states([("v1", "{}")])
    assert (await sender.claim(["v1"]))[0].state == "{}"
    await asyncio.sleep(0.3)
    assert (await sender.claim(["v1"]))[0].state is None


async def test_events_and_backoff_reach_the_other_replicas(replica: Start) -> None:
    """Webhook news (with its final state stored) and back-off signals are relayed."""
    sender, _ = await replica()
    receiver, inbox = await replica()
    await sender.publish_event("v1", '{"id":"v1","status":"ready"}')
    await inbox.next()
    await sender.publish_event("v2", None)
    await inbox.next()
    await sender.publish_backoff(2.5)
    await inbox.next()
    assert inbox.events == [("v1", '{"id":"v1","status":"ready"}'), ("v2", None)]
    assert inbox.backoffs == [2.5]
    assert (await receiver.claim(["v1"]))[0].state == '{"id":"v1","status":"ready"}'


async def test_many_videos_are_claimed_in_chunks(replica: Start) -> None:
    """Claims of more videos than one script call takes keep their order and answers."""
    first, _ = await replica()
    second, _ = await replica()
    ids = [f"v{i}" for i in range(1200)]
    assert all(c.held for c in await first.claim(ids[::2]))
    claims = await second.claim(ids)
    assert [c.held for c in claims] == [i % 2 == 1 for i in range(1200)]


async def test_an_unreachable_redis_raises_coordination_unavailable(
    redis_server: RedisServer,
) -> None:
    """With Redis gone, start still returns and every call raises CoordinationUnavailable."""
    from videoapi_async.coordination import RedisCoordination

    redis_server.kill()
    coordination = RedisCoordination(redis_server.url, timeout=0.5)
    try:
        await coordination.start(Inbox())
        with pytest.raises(CoordinationUnavailable, match="Redis did not answer"):
            await coordination.claim(["v1"])
        with pytest.raises(CoordinationUnavailable):
            await coordination.publish_states([("v1", "{}")])
        with pytest.raises(CoordinationUnavailable):
            await coordination.publish_backoff(None)
    finally:
        await coordination.aclose()


async def test_the_subscription_comes_back_after_redis_restarts(
    redis_server: RedisServer, replica: Start
) -> None:
    """After redis-server is killed and restarted, news flows again without a new client."""
    sender, _ = await replica()
    _, inbox = await replica()
    redis_server.kill()
    with pytest.raises(CoordinationUnavailable):
        await sender.publish_backoff(1.0)
    redis_server.start()
    deadline = time.monotonic() + 10
    while not inbox.backoffs and time.monotonic() < deadline:
        with contextlib.suppress(CoordinationUnavailable):
            await sender.publish_backoff(1.0)
        await asyncio.sleep(0.1)
    assert inbox.backoffs


async def test_a_killed_holder_s_lease_lapses_within_the_lease_time(
    redis_server: RedisServer, replica: Start
) -> None:
    """A holder in another process killed with SIGKILL loses its lease within lease_time."""
    script = (
        "import asyncio, sys\n"
        "from videoapi_async.coordination import RedisCoordination\n"
        "class Wants:\n"
        "    def on_state(self, *a): pass\n"
        "    def on_event(self, *a): pass\n"
        "    def on_backoff(self, *a): pass\n"
        "    def wants(self, video_id): return True\n"
        "async def main():\n"
        "    c = RedisCoordination(sys.argv[1], lease_time=0.5)\n"
        "    await c.start(Wants())\n"
        "    assert (await c.claim(['v1']))[0].held\n"
        "    print('held', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, redis_server.url, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 20)
        assert line.strip() == b"held"
        other, _ = await replica(lease_time=0.5)
        await asyncio.sleep(1.0)  # the child renews its lease meanwhile
        assert not (await other.claim(["v1"]))[0].held
        child.kill()
        killed = time.monotonic()
        while True:
            if (await other.claim(["v1"]))[0].held:
                break
            await asyncio.sleep(0.02)
        assert time.monotonic() - killed <= 0.5 + 0.1
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def test_bad_settings_are_refused_with_the_reason() -> None:
    """Non-positive times, blank namespaces and wrong url types are refused clearly."""
    pytest.importorskip("redis", reason="needs the redis extra: pip install -e '.[redis]'")
    from videoapi_async.coordination import RedisCoordination

    with pytest.raises(ValueError, match="lease_time must be a positive number"):
        RedisCoordination(lease_time=0)
    with pytest.raises(ValueError, match="namespace must be"):
        RedisCoordination(namespace="a b")
    with pytest.raises(TypeError, match="redis:// URL"):
        RedisCoordination(42)  # type: ignore[arg-type]


def test_the_client_imports_nothing_from_redis_without_coordination() -> None:
    """Importing the package, its coordination protocol and making a client loads no redis."""
    code = (
        "import sys, videoapi_async, videoapi_async.coordination, videoapi_async.webhooks\n"
        "videoapi_async.VideoAPI('k', base_url='http://127.0.0.1:9')\n"
        "loaded = sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)
