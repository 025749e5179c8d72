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

from videoapi_async.coordination import Claim, CoordinationUnavailable, SharedLimit

from .conftest import RedisServer


class Inbox:
    """A CoordinationListener that records what it is told."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []
        self.events: list[tuple[str, str | None]] = []
        self.limits: list[SharedLimit] = []
        self.replicas: list[int | None] = []
        self.wanted: set[str] = set()
        self.arrived = asyncio.Event()

    def on_state(self, video_id: str, state: str) -> None:
        self.states.append((video_id, state))
        self.arrived.set()

    def on_event(self, video_id: str, state: str | None) -> None:
        self.events.append((video_id, state))
        self.arrived.set()

    def on_limit(self, limit: SharedLimit) -> None:
        self.limits.append(limit)
        self.arrived.set()

    def on_replicas(self, count: int | None) -> None:
        self.replicas.append(count)

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
    holder, inbox = await replica(lease_time=0.2)
    other, _ = await replica(lease_time=0.2)
    inbox.wanted = {"v1"}
    await holder.claim(["v1"])
    await asyncio.sleep(0.6)  # three lease times
    assert not (await other.claim(["v1"]))[0].held
    inbox.wanted = set()
    deadline = time.monotonic() + 0.2  # one renewal round (0.07 s) releases it
    while not (await other.claim(["v1"]))[0].held:
        assert time.monotonic() < deadline, "the lease was not released"
        await asyncio.sleep(0.01)
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
    sender, _ = await replica(state_ttl=0.1)
    await sender.publish_states([("v1", "{}")])
    assert (await sender.claim(["v1"]))[0].state == "{}"
    await asyncio.sleep(0.15)
    assert (await sender.claim(["v1"]))[0].state is None


async def test_events_reach_the_other_replicas(replica: Start) -> None:
    """Webhook news is relayed, with its final state stored for later claims."""
    sender, _ = await replica()
    receiver, inbox = await replica()
    await sender.publish_event("v1", '{"id":"v1","status":"ready"}')
    await inbox.next()
    await sender.publish_event("v2", None)
    await inbox.next()
    assert inbox.events == [("v1", '{"id":"v1","status":"ready"}'), ("v2", None)]
    assert (await receiver.claim(["v1"]))[0].state == '{"id":"v1","status":"ready"}'


CUT = {"backoff_factor": 0.5, "min_rate": 0.5, "burst": 1, "recovery": 30.0}


async def test_a_cut_sets_one_rate_for_every_replica(replica: Start) -> None:
    """The first cut starts from the cutter's rate times the replicas, and reaches them all."""
    cutter, own = await replica()
    _, inbox = await replica()
    limit = await cutter.cut_rate(0, 10.0, None, **CUT)
    assert limit is not None
    assert (limit.generation, limit.reduced, limit.ceiling) == (1, 10.0, 20.0)  # 0.5 x 10 x 2
    assert limit.remaining == pytest.approx(60.0, abs=0.5)  # climbs past 20 for as long again
    await inbox.next()
    assert inbox.limits == [limit]
    assert own.limits == []


async def test_a_stale_cut_only_extends_the_pause(replica: Start) -> None:
    """A 429 to a request sent before the last cut does not cut again; its pause counts."""
    first, _ = await replica()
    second, _ = await replica()
    cut = await first.cut_rate(0, 10.0, None, **CUT)
    assert cut is not None
    again = await second.cut_rate(0, 10.0, 2.0, **CUT)  # second had not heard of cut 1
    assert again is not None
    assert (again.generation, again.reduced) == (1, 10.0)
    assert 1.5 < again.paused_for <= 2.0
    later = await second.cut_rate(1, None, None, **CUT)
    assert later is not None
    assert later.generation == 2
    assert later.reduced == pytest.approx(5.0, rel=0.01)  # half the shared rate in force


async def test_slots_are_taken_at_the_shared_rate(replica: Start) -> None:
    """Every replica draws from one bucket: with burst 1, the second take must wait."""
    first, _ = await replica()
    second, _ = await replica()
    assert await first.take_slot() is None  # no limit in force: nothing is shared
    await first.cut_rate(0, 1.0, None, **CUT)  # 0.5 x 1 x 2 = 1 request per second
    assert await first.take_slot() == pytest.approx(1.0, abs=0.1)  # the bucket starts empty
    await asyncio.sleep(0.05)
    waits = [await replica_.take_slot() for replica_ in (first, second)]
    assert all(wait is not None and wait > 0.8 for wait in waits)


async def test_a_replica_started_during_a_limit_begins_at_it(replica: Start) -> None:
    """A replica that starts while a limit is in force is told of it before start returns."""
    cutter, _ = await replica()
    limit = await cutter.cut_rate(0, 10.0, 1.0, **CUT)
    assert limit is not None
    _, late = await replica()
    (seen,) = late.limits
    assert seen.generation == limit.generation
    assert seen.reduced == limit.reduced
    assert 0 < seen.paused_for <= 1.0


async def test_the_limit_lapses_two_recovery_times_after_the_cut(replica: Start) -> None:
    """The shared limit outlasts one recovery time, and is gone after two."""
    cutter, _ = await replica()
    limit = await cutter.cut_rate(0, 10.0, None, **{**CUT, "recovery": 0.1})
    assert limit is not None
    await asyncio.sleep(0.12)
    assert await cutter.take_slot() is not None
    await asyncio.sleep(0.1)
    assert await cutter.take_slot() is None
    _, late = await replica()
    assert late.limits == []
    again = await cutter.cut_rate(limit.generation, 10.0, None, **CUT)
    assert again is not None
    assert again.generation == limit.generation + 1  # generations keep counting up


async def test_many_videos_are_claimed_in_chunks(replica: Start) -> None:
    """Claims of more videos than one script call takes keep their order and answers."""
    first, _ = await replica()
    second, _ = await replica()
    ids = [f"v{i}" for i in range(1200)]
    assert all(c.held for c in await first.claim(ids[::2]))
    claims = await second.claim(ids)
    assert [c.held for c in claims] == [i % 2 == 1 for i in range(1200)]


async def test_every_replica_learns_the_count_when_one_joins_or_leaves(replica: Start) -> None:
    """Starting and closing replicas tell the others the count present at once."""
    _, first_inbox = await replica(lease_time=60.0)
    assert first_inbox.replicas == [1]
    _, second_inbox = await replica(lease_time=60.0)
    third, third_inbox = await replica(lease_time=60.0)
    assert (second_inbox.replicas[0], third_inbox.replicas[0]) == (2, 3)
    await _until(lambda: first_inbox.replicas[-1] == 3 and second_inbox.replicas[-1] == 3)
    await third.aclose()
    await _until(lambda: first_inbox.replicas[-1] == 2 and second_inbox.replicas[-1] == 2)
    assert first_inbox.replicas == [1, 2, 3, 2]  # no lease tick in 60 s: told, not polled


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.005)


async def test_an_unreachable_redis_raises_coordination_unavailable(
    redis_server: RedisServer,
) -> None:
    """With Redis gone, start still returns and every call raises CoordinationUnavailable."""
    from videoapi_async.coordination import RedisCoordination

    redis_server.kill()
    coordination = RedisCoordination(redis_server.url, timeout=0.2)
    inbox = Inbox()
    try:
        await coordination.start(inbox)
        assert inbox.replicas == [None]  # not counted: the client acts alone
        with pytest.raises(CoordinationUnavailable, match="Redis did not answer"):
            await coordination.claim(["v1"])
        with pytest.raises(CoordinationUnavailable):
            await coordination.publish_states([("v1", "{}")])
        with pytest.raises(CoordinationUnavailable):
            await coordination.take_slot()
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
        await sender.publish_event("v1", None)
    redis_server.start()
    deadline = time.monotonic() + 10
    while not inbox.events and time.monotonic() < deadline:
        with contextlib.suppress(CoordinationUnavailable):
            await sender.publish_event("v1", None)
        await asyncio.sleep(0.05)
    assert inbox.events


async def test_a_killed_holder_s_lease_and_presence_lapse_within_the_lease_time(
    redis_server: RedisServer, replica: Start
) -> None:
    """A holder killed with SIGKILL loses its lease, and stops being counted, in lease_time."""
    script = (
        "import asyncio, sys\n"
        "from videoapi_async.coordination import RedisCoordination\n"
        "class Wants:\n"
        "    def on_state(self, *a): pass\n"
        "    def on_event(self, *a): pass\n"
        "    def on_limit(self, *a): pass\n"
        "    def on_replicas(self, *a): pass\n"
        "    def wants(self, video_id): return True\n"
        "async def main():\n"
        "    c = RedisCoordination(sys.argv[1], lease_time=0.3)\n"
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
        other, inbox = await replica(lease_time=0.3)
        assert inbox.replicas == [2]  # learned at the start
        await asyncio.sleep(0.4)  # over a lease time: the child has renewed its lease
        assert not (await other.claim(["v1"]))[0].held
        assert inbox.replicas[-1] == 2
        child.kill()
        killed = time.monotonic()
        lease_lapsed = counted_out = None
        while lease_lapsed is None or counted_out is None:
            assert time.monotonic() - killed < 5, "the lease or the presence never lapsed"
            if lease_lapsed is None and (await other.claim(["v1"]))[0].held:
                lease_lapsed = time.monotonic() - killed
            if counted_out is None and inbox.replicas[-1] == 1:
                counted_out = time.monotonic() - killed
            await asyncio.sleep(0.02)
        assert lease_lapsed <= 0.3 + 0.1
        assert counted_out <= 0.3 + 0.1
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def test_bad_settings_are_refused_with_the_reason() -> None:
    """Non-positive times, blank namespaces and wrong url types are refused clearly."""
    pytest.importorskip("redis", reason="needs the redis extra: pip install -e '.[redis]'")
    from videoapi_async.coordination import RedisCoordination

    with pytest.raises(ValueError, match="lease_time must be a positive, finite number"):
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
