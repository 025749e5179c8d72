"""The request path against hostile servers: bounded bodies, capped messages, one loop, lost ids."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from videoapi_async import (
    APIStatusError,
    CreateOutcomeUnknownError,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    RequestValidationError,
    RetryPolicy,
    VideoAPI,
    VideoAPIError,
)
from videoapi_async._config import DEFAULT_MAX_RESPONSE_SIZE
from videoapi_async._errors import ResponseTooLargeError

from .conftest import VIDEO
from .rawserver import raw_server

MiB = 1024 * 1024


def ok_head(extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}".encode()


# --- item 5: bounded bodies -------------------------------------------------------------


async def test_endless_chunked_body_stops_at_the_bound() -> None:
    """A body that never ends is read up to max_response_size, then refused clearly."""
    written = 0

    async def endless(head: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal written
        writer.write(ok_head("Transfer-Encoding: chunked\r\n\r\n"))
        chunk = b"[" + b" " * 65_000
        while True:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            written += len(chunk)
            await writer.drain()

    async with (
        raw_server(endless) as base_url,
        VideoAPI(
            "k", base_url=base_url, max_response_size=MiB, retry=RetryPolicy(max_elapsed=3600)
        ) as api,
    ):
        with pytest.raises(ResponseTooLargeError, match="longer than 1,048,576 bytes") as info:
            await asyncio.wait_for(api.list_videos(), 10)
    assert info.value.limit == MiB
    assert info.value.status_code == 200
    assert written < 16 * MiB  # the client stopped reading, so the server stopped writing


async def test_gzip_bomb_is_bounded_after_decompression() -> None:
    """A small gzip body that inflates to 64 MiB is refused without inflating it all."""
    bomb = gzip.compress(b"\0" * (64 * MiB), compresslevel=9)
    assert len(bomb) < 100_000

    async def send_bomb(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(ok_head(f"Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n"))
        writer.write(bomb)
        await writer.drain()

    async with (
        raw_server(send_bomb) as base_url,
        VideoAPI("k", base_url=base_url, max_response_size=MiB) as api,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await api.get_video("vid-1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 16 * MiB, f"reading the bomb peaked at {peak / MiB:.0f} MiB"


async def test_declared_long_plain_body_is_refused_at_the_bound() -> None:
    """A plain body whose Content-Length is past the bound is refused, not read whole."""
    body = b"[" + b" " * (2 * MiB) + b"]"

    async def send_long(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(ok_head(f"Content-Length: {len(body)}\r\n\r\n"))
        writer.write(body)
        await writer.drain()

    async with (
        raw_server(send_long) as base_url,
        VideoAPI("k", base_url=base_url, max_response_size=MiB) as api,
    ):
        with pytest.raises(ResponseTooLargeError, match="longer than 1,048,576 bytes"):
            await api.list_videos()


async def test_oversized_answer_from_any_transport_is_refused() -> None:
    """The bound holds above the transport too: a custom transport's long body is refused."""
    huge = HTTPResponse.from_json([VIDEO] * 100)
    async with VideoAPI(
        "k", transport=MockTransport(lambda r: huge), max_response_size=1000
    ) as api:
        with pytest.raises(ResponseTooLargeError):
            await api.list_videos()


async def test_oversized_create_answer_is_an_unknown_outcome() -> None:
    """A create whose answer is too long to read is reported as a lost create, not resent."""
    sent: list[HTTPRequest] = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        sent.append(request)
        return HTTPResponse(201, {}, b" " * 2000)

    async with VideoAPI("k", transport=MockTransport(handler), max_response_size=1000) as api:
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="d")
    assert isinstance(info.value.cause, ResponseTooLargeError)
    assert len(sent) == 1


async def test_default_bound_holds_a_ten_thousand_video_list() -> None:
    """The default bound reads a list of 10,000 videos with scenes, over a real socket."""
    video = {
        **VIDEO,
        "status": "ready",
        "download_url": "https://cdn.example.com/videos/" + "x" * 80 + ".mp4",
        "scenes": [
            {"name": f"scene {n}", "media": ["https://cdn.example.com/m.png"], "texts": ["t" * 200]}
            for n in range(5)
        ],
    }
    body = json.dumps([{**video, "id": f"vid-{n}"} for n in range(10_000)]).encode()
    assert len(body) < DEFAULT_MAX_RESPONSE_SIZE / 2

    async def answer(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(ok_head(f"Content-Length: {len(body)}\r\n\r\n") + body)
        await writer.drain()

    async with raw_server(answer) as base_url, VideoAPI("k", base_url=base_url) as api:
        videos = await api.list_videos()
    assert len(videos) == 10_000


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_bad_bound_is_refused(size: Any) -> None:
    """max_response_size must be a positive whole number of bytes."""
    with pytest.raises(ValueError, match="max_response_size"):
        VideoAPI("k", max_response_size=size)


# --- item 10: capped messages -----------------------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 500])
async def test_a_megabyte_detail_is_not_quoted_whole(status: int) -> None:
    """An error whose detail is 1 MB gets a short message; the detail stays on the error."""
    detail = "x" * 1_000_000
    transport = MockTransport(lambda r: HTTPResponse.from_json({"detail": detail}, status=status))
    async with VideoAPI("k", transport=transport, retry=RetryPolicy.disabled()) as api:
        with pytest.raises(APIStatusError) as info:
            await api.get_video("vid-1")
    assert len(str(info.value)) < 1200
    assert "1,000,000 characters" in str(info.value)
    assert info.value.detail == detail


async def test_ten_thousand_validation_errors_are_not_quoted_whole() -> None:
    """A 422 listing 10,000 problems gets a short message and keeps every problem."""
    problems = [{"loc": ["body", f"f{n}"], "msg": "bad", "type": "x"} for n in range(10_000)]
    transport = MockTransport(lambda r: HTTPResponse.from_json({"detail": problems}, status=422))
    async with VideoAPI("k", transport=transport) as api:
        with pytest.raises(RequestValidationError) as info:
            await api.create_video(source_draft_id="d")
    assert len(str(info.value)) < 1500
    assert len(info.value.errors) == 10_000


async def test_an_overlong_header_line_is_not_quoted_whole() -> None:
    """A broken 100 kB header line yields a connection error of a few hundred characters."""

    async def long_header(head: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(ok_head("X-Junk: " + "j" * 100_000 + "\r\n\r\n{}"))
        await writer.drain()

    async with (
        raw_server(long_header) as base_url,
        VideoAPI("k", base_url=base_url, retry=RetryPolicy.disabled()) as api,
    ):
        with pytest.raises(VideoAPIError) as info:
            await api.get_video("vid-1")
    assert len(str(info.value)) < 1000


# --- item 19: one client, one loop ------------------------------------------------------


class _VideoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(VIDEO).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def threaded_server() -> Iterator[str]:
    """Serve VIDEO from a thread, so that it outlives any one event loop."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VideoHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_a_client_belongs_to_one_event_loop(threaded_server: str) -> None:
    """Using a client under a second loop raises VideoAPIError saying why, not RuntimeError."""
    api = VideoAPI("k", base_url=threaded_server)
    assert asyncio.run(api.get_video("vid-1")).id == "vid-1"
    with pytest.raises(VideoAPIError, match="belongs to one loop"):
        asyncio.run(api.get_video("vid-1"))
    asyncio.run(api.aclose())


# --- item 7: a create answer that names its video ---------------------------------------


async def test_a_201_naming_an_id_returns_the_video() -> None:
    """A 201 with an id but missing fields returns the video (read again), never a re-create."""
    seen: list[str] = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(f"{request.method} {request.path}")
        if request.method == "POST":
            return HTTPResponse.from_json({"id": "vid-1"}, status=201)
        return HTTPResponse.from_json(VIDEO)

    async with VideoAPI("k", transport=MockTransport(handler)) as api:
        video = await api.create_video(source_draft_id="d")
    assert video.id == "vid-1"
    assert seen == ["POST /videos", "GET /videos/vid-1"]


@pytest.mark.parametrize("created", ["vid-1", ".."])
async def test_a_201_naming_an_unreadable_video_carries_its_id(created: str) -> None:
    """When the named video cannot be read either, the error carries its id and says wait."""

    def handler(request: HTTPRequest) -> HTTPResponse:
        if request.method == "POST":
            return HTTPResponse.from_json({"id": created, "status": 7}, status=201)
        return HTTPResponse(502, {}, b"bad gateway")

    async with VideoAPI("k", transport=MockTransport(handler), retry=RetryPolicy.disabled()) as api:
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="d")
    assert info.value.video_id == created
    assert f"wait_for_render({created!r})" in str(info.value)


# --- the connection pool ----------------------------------------------------------------


async def test_sixty_four_callers_are_all_in_flight_by_default() -> None:
    """With the default pool, 64 concurrent calls reach the server at once, none queued."""
    arrived = 0
    everyone = asyncio.Event()

    async def gather_then_answer(head: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 64:
            everyone.set()
        await everyone.wait()
        body = json.dumps(VIDEO).encode()
        writer.write(ok_head(f"Content-Length: {len(body)}\r\n\r\n") + body)
        await writer.drain()

    async with raw_server(gather_then_answer) as base_url, VideoAPI("k", base_url=base_url) as api:
        videos = await asyncio.wait_for(
            asyncio.gather(*(api.get_video("vid-1") for _ in range(64))), 10
        )
    assert len(videos) == 64
