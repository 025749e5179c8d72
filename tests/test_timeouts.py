"""Timeouts that mean something: stalled, silent and absent servers over real sockets.

Each server here is a raw asyncio TCP server, so a test controls exactly which bytes
are sent and when the server falls silent. Stalls run in simulated time: the server and
the client share the loop, whose clock jumps to the client's timeout once both wait.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from videoapi_async import (
    APIConnectionError,
    APITimeoutError,
    CreateOutcomeUnknownError,
    OverrideScene,
    OverrideVideoRequest,
    RetryPolicy,
    Timeouts,
    VideoAPI,
    _aiohttp,
)

from .conftest import VIDEO, Sleeps

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 0.3
# Generous against a slow CI machine, yet far below anything a hung client would reach.
PROMPT = 1.5

Behaviour = Callable[[asyncio.StreamWriter, asyncio.Event], Awaitable[None]]


class RawServer:
    """A TCP server on 127.0.0.1 that reads each HTTP request and then runs `behaviour`.

    It counts complete requests, and at the end releases every stalled handler and
    closes every connection it accepted.
    """

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []
        self.release = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    @property
    def connections(self) -> int:
        """How many connections the server has accepted."""
        return len(self._writers)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/api/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def close(self) -> None:
        self.release.set()
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=2)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        try:
            while not self.release.is_set():
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                await self.behaviour(writer, self.release)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up on the connection, as it should
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Behaviour], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(behaviour: Behaviour) -> RawServer:
        server = RawServer(behaviour)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def stall_mid_body(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
    """Send the status line, the headers and the start of a JSON body, then fall silent."""
    body = json.dumps(VIDEO).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    await writer.drain()
    await release.wait()


PAUSE = READ_TIMEOUT * 0.6
"""A pause between two pieces of a body, shorter than the read timeout."""


def trickle(pieces: int, *, then_stall: bool) -> Behaviour:
    """Send the headers, then the body in `pieces` parts `PAUSE` apart (or stall at the last)."""

    async def behaviour(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
        body = json.dumps(VIDEO).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        step = -(-len(body) // pieces)
        for start in range(0, len(body), step):
            await asyncio.sleep(PAUSE)
            if then_stall and start + step >= len(body):
                await release.wait()
                return
            writer.write(body[start : start + step])
            await writer.drain()

    return behaviour


def answer_then_stall(answers: int) -> Behaviour:
    """Answer the first `answers` requests at once, then stall on every later one."""
    served = 0

    async def behaviour(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
        nonlocal served
        served += 1
        if served > answers:
            await release.wait()
            return
        body = json.dumps(VIDEO).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    return behaviour


async def never_answer(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
    """Accept and read the request, then send nothing at all."""
    await release.wait()


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on (it was just released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def client(base_url: str, retry: RetryPolicy, **kwargs: Any) -> VideoAPI:
    return VideoAPI(
        "timeout-key",
        base_url=base_url,
        timeouts=Timeouts(connect=READ_TIMEOUT, read=READ_TIMEOUT),
        retry=retry,
        **kwargs,
    )


def loop_time() -> float:
    """Return the running loop's clock: simulated in the stall tests, so exact."""
    return asyncio.get_running_loop().time()


@pytest.mark.simulated_time
@pytest.mark.parametrize("behaviour", [stall_mid_body, never_answer], ids=["mid-body", "silent"])
async def test_stalled_read_times_out_within_the_read_timeout(
    serve: Callable[[Behaviour], Awaitable[RawServer]], behaviour: Behaviour
) -> None:
    """A server that stalls (mid-body or before any byte) gives APITimeoutError in ~read."""
    server = await serve(behaviour)
    async with client(server.base_url, RetryPolicy.disabled()) as api:
        started = loop_time()
        with pytest.raises(APITimeoutError) as info:
            await api.get_video("vid-1")
        elapsed = loop_time() - started
    assert READ_TIMEOUT * 0.8 <= elapsed < PROMPT, elapsed
    assert info.value.request_sent
    assert info.value.method == "GET"
    assert info.value.path == "/videos/vid-1"
    assert len(server.requests) == 1


@pytest.mark.simulated_time
async def test_a_body_that_keeps_coming_is_not_cut_off(
    serve: Callable[[Behaviour], Awaitable[RawServer]],
) -> None:
    """The read timeout bounds each pause, not the whole read: a slow, steady body arrives."""
    server = await serve(trickle(5, then_stall=False))
    async with client(server.base_url, RetryPolicy.disabled()) as api:
        started = loop_time()
        video = await api.get_video("vid-1")
        elapsed = loop_time() - started
    assert video.id == VIDEO["id"]
    assert elapsed >= 5 * PAUSE > READ_TIMEOUT, elapsed


@pytest.mark.simulated_time
async def test_a_stall_after_some_bytes_times_out_read_after_the_last(
    serve: Callable[[Behaviour], Awaitable[RawServer]],
) -> None:
    """A body that stops coming fails `read` seconds after its last bytes, not before or later."""
    server = await serve(trickle(4, then_stall=True))
    async with client(server.base_url, RetryPolicy.disabled()) as api:
        started = loop_time()
        with pytest.raises(APITimeoutError) as info:
            await api.get_video("vid-1")
        elapsed = loop_time() - started
    last_bytes = 3 * PAUSE  # three of the four pieces came, the last one never does
    assert last_bytes + READ_TIMEOUT <= elapsed < last_bytes + READ_TIMEOUT * 1.1, elapsed
    assert info.value.request_sent


@pytest.mark.simulated_time
async def test_a_kept_alive_connection_times_each_answer_afresh(
    serve: Callable[[Behaviour], Awaitable[RawServer]],
) -> None:
    """An idle pause between answers is no timeout; a later stall fails `read` after its send."""
    server = await serve(answer_then_stall(2))
    async with client(server.base_url, RetryPolicy.disabled()) as api:
        assert (await api.get_video("vid-1")).id == VIDEO["id"]
        await asyncio.sleep(READ_TIMEOUT * 2.5)  # idle on the kept-alive connection
        assert (await api.get_video("vid-1")).id == VIDEO["id"]
        await asyncio.sleep(READ_TIMEOUT * 0.5)
        started = loop_time()
        with pytest.raises(APITimeoutError):
            await api.get_video("vid-1")
        elapsed = loop_time() - started
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT * 1.1, elapsed
    assert len(server.requests) == 3
    assert server.connections == 1  # kept alive throughout


def test_this_aiohttp_lets_the_client_keep_one_read_timer() -> None:
    """The aiohttp installed has the hooks the client's cheaper read timer relies on."""
    assert _aiohttp.KEEPS_READ_TIMER


async def test_a_closed_client_leaves_no_read_timer_behind(
    serve: Callable[[Behaviour], Awaitable[RawServer]],
) -> None:
    """Closing the client cancels its connections' read timers rather than leaving them due."""
    server = await serve(answer_then_stall(1))
    async with client(server.base_url, RetryPolicy.disabled()) as api:
        await api.get_video("vid-1")
    await asyncio.sleep(0)  # the transports report their closing on the next loop turn
    loop: Any = asyncio.get_running_loop()
    pending = [
        handle
        for handle in loop._scheduled
        if not handle.cancelled() and "_read_timer_fired" in repr(handle)
    ]
    assert pending == []


@pytest.mark.simulated_time
async def test_stall_on_every_endpoint_times_out(
    serve: Callable[[Behaviour], Awaitable[RawServer]],
) -> None:
    """The read timeout bounds list, metadata and create as it bounds get."""
    server = await serve(stall_mid_body)
    async with client(server.base_url, RetryPolicy.disabled()) as api:
        for call in (api.list_videos, lambda: api.get_video_metadata("vid-1")):
            started = loop_time()
            with pytest.raises(APITimeoutError):
                await call()
            assert loop_time() - started < PROMPT
        started = loop_time()
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="draft-1")
        assert loop_time() - started < PROMPT
    assert isinstance(info.value.__cause__, APITimeoutError)


async def test_refused_connection_fails_promptly_and_says_nothing_was_sent() -> None:
    """A port with nothing listening gives APIConnectionError (not a timeout), unsent."""
    base_url = f"http://127.0.0.1:{free_port()}/api/v1"
    async with client(base_url, RetryPolicy.disabled()) as api:
        started = loop_time()
        with pytest.raises(APIConnectionError) as info:
            await api.get_video("vid-1")
        elapsed = loop_time() - started
    assert elapsed < READ_TIMEOUT, elapsed  # refused at once, not timed out
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.request_sent is False


async def test_refused_create_is_a_connection_error_not_an_unknown_outcome() -> None:
    """A create that never left this machine is reported as unsent, not as 'may exist'."""
    base_url = f"http://127.0.0.1:{free_port()}/api/v1"
    async with client(base_url, RetryPolicy.disabled()) as api:
        with pytest.raises(APIConnectionError) as info:
            await api.create_video(source_draft_id="draft-1")
    assert not isinstance(info.value, CreateOutcomeUnknownError)
    assert info.value.request_sent is False


@pytest.mark.simulated_time
async def test_stalled_get_is_retried_then_raises(
    serve: Callable[[Behaviour], Awaitable[RawServer]], sleeps: Sleeps
) -> None:
    """With retries on, a GET that stalls is sent max_attempts times, then times out."""
    server = await serve(stall_mid_body)
    retry = RetryPolicy(max_attempts=3, max_elapsed=30, initial_backoff=0.01, max_backoff=0.01)
    async with client(server.base_url, retry, sleep=sleeps) as api:
        started = loop_time()
        with pytest.raises(APITimeoutError):
            await api.get_video("vid-1")
        elapsed = loop_time() - started
    assert len(server.requests) == 3
    assert len(sleeps.delays) == 2
    assert elapsed < 3 * PROMPT, elapsed


@pytest.mark.simulated_time
@pytest.mark.parametrize("behaviour", [stall_mid_body, never_answer], ids=["mid-body", "silent"])
async def test_stalled_create_is_not_resent_and_may_exist(
    serve: Callable[[Behaviour], Awaitable[RawServer]], sleeps: Sleeps, behaviour: Behaviour
) -> None:
    """A create whose answer stalls raises CreateOutcomeUnknownError and is sent once."""
    server = await serve(behaviour)
    request = OverrideVideoRequest(
        scenes=[OverrideScene(name="intro")], name="Q3 update", correlation_id="corr-42"
    )
    async with client(server.base_url, RetryPolicy(max_attempts=4), sleep=sleeps) as api:
        started = loop_time()
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(request)
        elapsed = loop_time() - started
    assert elapsed < PROMPT, elapsed
    assert len(server.requests) == 1  # never re-sent: it could start a second, billed render
    assert sleeps.delays == []
    error = info.value
    assert isinstance(error.__cause__, APITimeoutError)
    assert error.cause is error.__cause__
    assert error.body["correlation_id"] == "corr-42"
    assert "may exist" in str(error)
    assert "corr-42" in str(error)  # how to find the video again
    sent = server.requests[0]
    assert sent.startswith(b"POST /api/v1/videos ")
    assert json.loads(sent.partition(b"\r\n\r\n")[2]) == error.body
