"""End-to-end tests of injected faults, seen from a plain aiohttp client."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest

from videoapi_async.sandbox import FaultConfig, ManualClock, RouteFaults, Sandbox, ServerRateLimit
from videoapi_async.sandbox._faults import Fault
from videoapi_async.sandbox._routes import ROUTE_CREATE, ROUTE_GET, ROUTE_LIST

from .conftest import FLAT_BODY, ApiCaller

pytestmark = pytest.mark.e2e

SHORT_READ = aiohttp.ClientTimeout(sock_read=0.1)


async def test_queued_html_502_then_503_then_normal(caller: ApiCaller) -> None:
    """The next two GETs fail with nginx HTML pages, in order; the third is served."""
    video = await caller.create()
    caller.sandbox.faults.queue(ROUTE_GET, "http_502", "http_503")
    path = f"/videos/{video['id']}"
    first, second, third = [await caller.call("GET", path) for _ in range(3)]
    assert first.status == 502
    assert first.headers["Content-Type"] == "text/html"
    assert b"<title>502 Bad Gateway</title>" in first.body
    assert b"nginx" in first.body
    assert second.status == 503
    assert b"503 Service Temporarily Unavailable" in second.body
    assert third.status == 200
    assert third.json()["id"] == video["id"]
    assert caller.sandbox.stats.faults == {"http_502": 1, "http_503": 1}


async def test_http_500_page(caller: ApiCaller) -> None:
    """http_500 answers an HTML 500 page."""
    caller.sandbox.faults.queue(ROUTE_LIST, "http_500")
    reply = await caller.call("GET", "/videos")
    assert reply.status == 500
    assert b"500 Internal Server Error" in reply.body


async def test_faults_come_before_authentication(caller: ApiCaller) -> None:
    """A gateway fault answers even a request without a key (the gateway is in front)."""
    caller.sandbox.faults.queue(ROUTE_LIST, "http_502")
    assert (await caller.call("GET", "/videos", key=None)).status == 502


async def test_429_with_retry_after_seconds_and_date(caller: ApiCaller) -> None:
    """http_429 carries Retry-After in seconds, or as an HTTP date when asked."""
    caller.sandbox.faults.queue(
        ROUTE_LIST,
        Fault("http_429", retry_after=7),
        Fault("http_429", retry_after=30, retry_after_date=True),
        Fault("http_429"),
    )
    seconds = await caller.call("GET", "/videos")
    assert (seconds.status, seconds.headers["Retry-After"]) == (429, "7")
    assert seconds.json() == {"detail": "Too Many Requests"}
    dated = await caller.call("GET", "/videos")
    when = email.utils.parsedate_to_datetime(dated.headers["Retry-After"]).timestamp()
    assert 25 <= when - time.time() <= 31
    default = await caller.call("GET", "/videos")
    assert default.headers["Retry-After"] == "1"


async def test_429_without_retry_after(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """FaultConfig(retry_after=None) sends 429 without a Retry-After header."""
    sandbox = await start_sandbox(faults=FaultConfig(retry_after=None))
    sandbox.faults.queue("*", "http_429")
    reply = await ApiCaller(session, sandbox).call("GET", "/videos")
    assert reply.status == 429
    assert "Retry-After" not in reply.headers


async def test_reset_is_a_connection_error_and_creates_nothing(caller: ApiCaller) -> None:
    """Reset aborts the connection before handling: a client connection error, no video."""
    caller.sandbox.faults.queue(ROUTE_CREATE, "reset")
    with pytest.raises(aiohttp.ClientConnectionError):
        await caller.call("POST", "/videos", body=FLAT_BODY)
    assert caller.sandbox.videos() == []
    assert caller.sandbox.stats.faults["reset"] == 1
    assert (await caller.call("GET", "/videos")).status == 200  # the next request is fine


async def test_drop_response_after_create_leaves_the_video(caller: ApiCaller) -> None:
    """drop_response stores the video, then closes: the client errs but the video exists."""
    caller.sandbox.faults.queue(ROUTE_CREATE, "drop_response")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await caller.call("POST", "/videos", body=FLAT_BODY)
    listed = (await caller.call("GET", "/videos")).json()
    assert len(listed) == 1
    assert listed[0]["name"] == FLAT_BODY["name"]
    assert caller.sandbox.stats.created_ids == [listed[0]["id"]]
    await caller.create()  # the naive retry: now there are two renders of one body
    assert list(caller.sandbox.stats.duplicate_creates().values()) == [2]


async def test_truncated_json_is_a_payload_error(caller: ApiCaller) -> None:
    """truncated_json announces the full length, sends half: ClientPayloadError on read."""
    await caller.create()
    caller.sandbox.faults.queue(ROUTE_LIST, "truncated_json")
    with pytest.raises(aiohttp.ClientPayloadError):
        await caller.call("GET", "/videos")
    assert (await caller.call("GET", "/videos")).status == 200


async def test_malformed_json_is_a_decode_error(caller: ApiCaller) -> None:
    """malformed_json is a complete 200 whose body is not JSON: JSONDecodeError."""
    video = await caller.create()
    caller.sandbox.faults.queue(ROUTE_GET, "malformed_json")
    async with caller.session.get(
        caller.sandbox.base_url + f"/videos/{video['id']}",
        headers={"api-key": caller.sandbox.api_key},
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        with pytest.raises(json.JSONDecodeError):
            await response.json()


async def test_slow_body_trips_a_sock_read_timeout(caller: ApiCaller) -> None:
    """slow_body sends headers then trickles the body: a short sock_read times out."""
    caller.sandbox.faults.configure(FaultConfig(slow_body_pause=0.3, slow_body_chunks=3))
    caller.sandbox.faults.queue(ROUTE_LIST, "slow_body")
    with pytest.raises(asyncio.TimeoutError):
        await caller.call("GET", "/videos", timeout=SHORT_READ)
    assert caller.sandbox.stats.faults["slow_body"] == 1


async def test_slow_body_arrives_whole_for_a_patient_client(caller: ApiCaller) -> None:
    """A client that waits gets the complete, valid body of a slow_body response."""
    video = await caller.create()
    caller.sandbox.faults.queue(ROUTE_GET, Fault("slow_body", seconds=0.02))
    started = time.monotonic()
    reply = await caller.call("GET", f"/videos/{video['id']}")
    assert reply.json()["id"] == video["id"]
    assert time.monotonic() - started >= 0.06


async def test_delay_and_latency_slow_requests_down(caller: ApiCaller) -> None:
    """A delay fault and per-route latency both hold the answer back."""
    caller.sandbox.faults.queue(ROUTE_LIST, Fault("delay", seconds=0.15))
    started = time.monotonic()
    assert (await caller.call("GET", "/videos")).status == 200
    assert time.monotonic() - started >= 0.15
    caller.sandbox.faults.set_route(ROUTE_LIST, RouteFaults(latency=0.1))
    started = time.monotonic()
    await caller.call("GET", "/videos")
    assert time.monotonic() - started >= 0.1


async def test_star_queue_hits_any_route(caller: ApiCaller) -> None:
    """A fault queued for '*' hits the next request whatever its route."""
    caller.sandbox.faults.queue("*", "http_503")
    assert (await caller.call("POST", "/videos", body=FLAT_BODY)).status == 503
    assert caller.sandbox.videos() == []


async def test_random_faults_are_reproducible(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """Random faults with a seed give the same statuses for the same request sequence."""
    runs = []
    for _ in range(2):
        faults = FaultConfig.spread(0.4, ["http_500", "http_502", "http_429"])
        sandbox = await start_sandbox(seed=11, faults=faults)
        caller = ApiCaller(session, sandbox)
        runs.append([(await caller.call("GET", "/videos")).status for _ in range(60)])
    assert runs[0] == runs[1]
    assert {200, 500, 502, 429} == set(runs[0])


async def test_faults_change_while_running(caller: ApiCaller) -> None:
    """Random faults switched on, then off, take effect on the next request."""
    caller.sandbox.faults.set_route(ROUTE_LIST, RouteFaults(rates={"http_500": 1.0}))
    assert (await caller.call("GET", "/videos")).status == 500
    caller.sandbox.faults.clear()
    assert (await caller.call("GET", "/videos")).status == 200


async def test_body_faults_leave_bodyless_responses_alone(caller: ApiCaller) -> None:
    """A body fault on a 204 DELETE is not applied (there is no body to spoil)."""
    video = await caller.create()
    caller.sandbox.faults.queue(ROUTE_GET.replace("GET", "DELETE"), "truncated_json")
    assert (await caller.call("DELETE", f"/videos/{video['id']}")).status == 204
    assert caller.sandbox.stats.faults["truncated_json"] == 0


async def test_rate_limit_answers_429_with_retry_after(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    """A 1/s bucket of 3 lets 3 requests through, then 429 Retry-After: 1, per key."""
    sandbox = await start_sandbox(clock=clock, rate_limit=ServerRateLimit(rate=1, burst=3))
    caller = ApiCaller(session, sandbox)
    statuses = [(await caller.call("GET", "/videos")).status for _ in range(3)]
    limited = await caller.call("GET", "/videos")
    assert statuses == [200, 200, 200]
    assert (limited.status, limited.headers["Retry-After"]) == (429, "1")
    other = sandbox.new_api_key()
    assert (await caller.call("GET", "/videos", key=other)).status == 200
    clock.advance(1.0)
    assert (await caller.call("GET", "/videos")).status == 200
    assert sandbox.stats.faults["rate_limited"] == 1
    sandbox.set_rate_limit(None)
    assert all([(await caller.call("GET", "/videos")).status == 200 for _ in range(5)])


async def test_close_ends_a_slow_body_quickly(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """Closing the sandbox in the middle of a slow body is quick and clean."""
    sandbox = await start_sandbox(faults=FaultConfig(slow_body_pause=30))
    sandbox.faults.queue(ROUTE_LIST, "slow_body")
    request = asyncio.ensure_future(ApiCaller(session, sandbox).call("GET", "/videos"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await sandbox.close()
    assert time.monotonic() - started < 2
    with pytest.raises(aiohttp.ClientError):
        await request
