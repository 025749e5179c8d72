"""End-to-end tests over real sockets against a small scripted aiohttp server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from videoapi_async import (
    APIConnectionError,
    APIStatusError,
    CreateOutcomeUnknownError,
    NotFoundError,
    RetryPolicy,
    Timeouts,
    VideoAPI,
)

from .conftest import VIDEO, Sleeps

pytestmark = pytest.mark.e2e

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ScriptedServer:
    """An API stand-in whose answers are queued per test; it records every request."""

    def __init__(self) -> None:
        self.script: list[Handler] = []
        self.fallback: Handler | None = None
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append((request.method, request.raw_path, dict(request.headers), body))
        handler = self.script.pop(0) if self.script else self.fallback
        if handler is None:
            return web.json_response({"detail": "Not Found"}, status=404)
        return await handler(request)

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api/v1"))


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    await scripted.server.start_server()
    try:
        yield scripted
    finally:
        await scripted.server.close()


def answer(status: int = 200, payload: Any = VIDEO, **headers: str) -> Handler:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response(payload, status=status, headers=headers)

    return handler


def html(status: int, title: str) -> Handler:
    async def handler(_: web.Request) -> web.StreamResponse:
        page = f"<html><head><title>{title}</title></head><body>{title}</body></html>"
        return web.Response(status=status, text=page, content_type="text/html")

    return handler


def drop_connection() -> Handler:
    """Read the request, then close the socket without answering."""

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError  # aiohttp.web treats this as "no response"

    return handler


@pytest.fixture
async def api_for(server: ScriptedServer, sleeps: Sleeps) -> AsyncIterator[Callable[..., VideoAPI]]:
    clients: list[VideoAPI] = []

    def make(**kwargs: Any) -> VideoAPI:
        kwargs.setdefault("base_url", server.base_url)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("clock", sleeps.clock)
        client = VideoAPI("e2e-key", **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_path_encoding_on_the_wire(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """Ids with slashes, dots, spaces and marks reach the server as one encoded segment."""
    server.fallback = answer()
    api = api_for()
    for video_id in ("a/b", "../x", "x y?z#"):
        await api.get_video(video_id)
    paths = [raw_path for _, raw_path, _, _ in server.seen]
    assert paths == [
        "/api/v1/videos/a%2Fb",
        "/api/v1/videos/..%2Fx",
        "/api/v1/videos/x%20y%3Fz%23",
    ]


async def test_four_endpoints(server: ScriptedServer, api_for: Callable[..., VideoAPI]) -> None:
    """The four endpoints work over a real socket with the expected methods and bodies."""
    server.script = [
        answer(201),
        answer(),
        answer(payload={"duration": 3, "scenes_metadata": []}),
        answer(payload=[VIDEO]),
    ]
    api = api_for(workspace_id="ws-9")
    created = await api.create_video(source_draft_id="d", name="n")
    fetched = await api.get_video(created.id)
    meta = await api.get_video_metadata(created.id)
    listed = await api.list_videos()
    assert fetched == created == listed[0]
    assert meta.duration == 3
    methods = [(m, p) for m, p, _, _ in server.seen]
    assert methods == [
        ("POST", "/api/v1/videos"),
        ("GET", "/api/v1/videos/vid-1"),
        ("GET", "/api/v1/videos/vid-1/metadata"),
        ("GET", "/api/v1/videos"),
    ]
    post_headers, post_body = server.seen[0][2], server.seen[0][3]
    sent = json.loads(post_body)
    assert sent.pop("correlation_id").startswith("videoapi-async-")  # none was given
    assert sent == {"name": "n", "source_draft_id": "d"}
    assert post_headers["workspace-id"] == "ws-9"
    assert post_headers["api-key"] == "e2e-key"
    assert "workspace-id" not in server.seen[1][2]


async def test_get_retried_through_html_502_and_503(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """Real HTML gateway pages are retried for a GET until a good answer."""
    server.script = [html(502, "502 Bad Gateway"), html(503, "503 Service Unavailable"), answer()]
    video = await api_for().get_video("vid-1")
    assert video.id == "vid-1"
    assert len(server.seen) == 3


async def test_dropped_create_is_not_resent(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """A create whose connection drops after the server read it is sent exactly once."""
    server.fallback = drop_connection()
    with pytest.raises(CreateOutcomeUnknownError) as info:
        await api_for().create_video(source_draft_id="d", name="once")
    assert [m for m, _, _, _ in server.seen] == ["POST"]
    assert info.value.body["name"] == "once"


async def test_dropped_get_is_retried(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """A GET whose connection drops is retried on a fresh connection."""
    server.script = [drop_connection(), answer()]
    assert (await api_for().get_video("vid-1")).id == "vid-1"
    assert len(server.seen) == 2


async def test_create_429_then_created(
    server: ScriptedServer, api_for: Callable[..., VideoAPI], sleeps: Sleeps
) -> None:
    """A create refused with 429 is re-sent after Retry-After and succeeds once."""
    server.script = [
        answer(429, {"detail": "Too Many Requests"}, **{"Retry-After": "2"}),
        answer(201),
    ]
    await api_for().create_video(recipe_id="r")
    assert [m for m, _, _, _ in server.seen] == ["POST", "POST"]
    assert sleeps.delays == [2.0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_refused_connection(api_for: Callable[..., VideoAPI]) -> None:
    """Nothing listening gives APIConnectionError with request_sent False, promptly."""
    api = api_for(base_url=f"http://127.0.0.1:{free_port()}/api/v1", retry=RetryPolicy.disabled())
    with pytest.raises(APIConnectionError) as info:
        await api.get_video("vid-1")
    assert not info.value.request_sent
    assert "cannot connect" in str(info.value)


async def test_refused_create_is_retried_then_reported(
    api_for: Callable[..., VideoAPI], sleeps: Sleeps
) -> None:
    """A create that never reached the server may be retried, and the error says so."""
    api = api_for(base_url=f"http://127.0.0.1:{free_port()}/api/v1")
    with pytest.raises(APIConnectionError) as info:
        await api.create_video(source_draft_id="d")
    assert not isinstance(info.value, CreateOutcomeUnknownError)
    assert len(sleeps.delays) == 3


async def test_same_origin_redirect_is_followed(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """A redirect within the API's origin is followed, keeping the key."""

    async def redirect(_: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect("/api/v1/videos/moved")

    server.script = [redirect, answer()]
    assert (await api_for().get_video("vid-1")).id == "vid-1"
    assert server.seen[1][1] == "/api/v1/videos/moved"
    assert server.seen[1][2]["api-key"] == "e2e-key"


async def test_cross_origin_redirect_is_refused(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """A redirect to another origin is not followed and says why."""

    async def redirect(_: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("http://127.0.0.2:9/elsewhere")

    server.script = [redirect]
    with pytest.raises(APIStatusError, match="another origin") as info:
        await api_for().get_video("vid-1")
    assert info.value.status_code == 302
    assert len(server.seen) == 1


async def test_not_found_over_the_wire(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """A FastAPI-style 404 body becomes NotFoundError with its detail."""
    server.fallback = answer(404, {"detail": "Video not found"})
    with pytest.raises(NotFoundError) as info:
        await api_for().get_video("missing")
    assert info.value.detail == "Video not found"


async def test_caller_session_over_the_wire(server: ScriptedServer, sleeps: Sleeps) -> None:
    """A caller-supplied session is used for requests and left open afterwards."""
    import aiohttp

    server.fallback = answer()
    async with aiohttp.ClientSession() as session:
        async with VideoAPI("k", base_url=server.base_url, session=session) as api:
            await api.get_video("vid-1")
        assert not session.closed
        async with session.get(server.base_url + "/videos/vid-1") as resp:
            assert resp.status == 200


async def test_many_concurrent_requests_share_a_bounded_pool(
    server: ScriptedServer, api_for: Callable[..., VideoAPI]
) -> None:
    """Concurrent calls beyond max_connections queue instead of failing or timing out."""
    peers: set[Any] = set()

    async def slow(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        await asyncio.sleep(0.01)
        return web.json_response(VIDEO)

    server.fallback = slow
    api = api_for(max_connections=3, timeouts=Timeouts(connect=5, read=5))
    videos = await asyncio.gather(*(api.get_video("vid-1") for _ in range(30)))
    assert len(videos) == 30
    assert len(peers) <= 3
