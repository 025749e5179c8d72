"""The API key never shows: not in errors, their chains, logs, reprs, or at another host.

A canary key is run through every error path the client has. Servers that can echo
the key back (in error pages, gateway bodies, garbled answers) do so on purpose: the
client must keep it out of everything it shows a user.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from videoapi_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CreateOutcomeUnknownError,
    NotFoundError,
    OverrideScene,
    OverrideVideoRequest,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    Timeouts,
    VideoAPI,
    VideoAPIError,
)

from .conftest import BASE_URL, CANARY_KEY, VIDEO, MockAPI, Sleeps
from .rawserver import raw_server, request_key

pytestmark = pytest.mark.e2e

# The distinctive middle of the canary too, in case only part of it is shown.
NEEDLES = (CANARY_KEY, CANARY_KEY[10:18])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Call = Callable[[VideoAPI], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "list": lambda api: api.list_videos(),
    "get": lambda api: api.get_video("vid-1"),
    "metadata": lambda api: api.get_video_metadata("vid-1"),
    "create": lambda api: api.create_video(
        OverrideVideoRequest(scenes=[OverrideScene(name="intro")], correlation_id="corr-1")
    ),
    "create-flat": lambda api: api.create_video(source_draft_id="draft-1", name="Q3"),
}
READS = ("list", "get", "metadata")


# --- checks --------------------------------------------------------------------------


def chain(exc: BaseException) -> Iterator[BaseException]:
    """Yield `exc` and every exception reachable from it: causes, contexts, attributes."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        link = stack.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        stack += [link.__cause__, link.__context__]
        stack += [v for v in getattr(link, "__dict__", {}).values() if isinstance(v, BaseException)]
        grouped = getattr(link, "exceptions", None)  # an exception group's members
        if isinstance(grouped, (list, tuple)):
            stack += [e for e in grouped if isinstance(e, BaseException)]


def views(exc: BaseException) -> Iterator[tuple[str, str]]:
    """Yield every way an exception can be shown: repr, str, args, attributes, traceback."""
    yield "traceback", "".join(traceback.format_exception(exc))
    for n, link in enumerate(chain(exc)):
        where = f"link {n} ({type(link).__name__})"
        yield f"{where} repr", repr(link)
        yield f"{where} str", str(link)
        yield f"{where} args", repr(link.args)
        for name, value in getattr(link, "__dict__", {}).items():
            yield f"{where} .{name}", repr(value)
            if isinstance(value, (str, bytes)):
                yield f"{where} .{name} (raw)", str(value)


def assert_no_key(
    errors: list[BaseException], caplog: pytest.LogCaptureFixture, *extra: str
) -> None:
    """Fail, naming the place, if the canary shows in an error, a log record or `extra`."""
    places: list[tuple[str, str]] = []
    for exc in errors:
        places += [(f"{type(exc).__name__}: {where}", text) for where, text in views(exc)]
    for record in caplog.records:
        where = f"log record {record.name}:{record.levelname}"
        places.append((where, record.getMessage()))
        places.append((f"{where} args", repr(record.args)))
        if record.exc_info:
            places.append(
                (f"{where} exc_info", "".join(traceback.format_exception(*record.exc_info)))
            )
    places.append(("captured log text", caplog.text))
    places += [(f"extra {n}", text) for n, text in enumerate(extra)]
    for where, text in places:
        for needle in NEEDLES:
            assert needle not in text, f"the API key shows in {where}: {text[:500]}"


async def run_calls(api: VideoAPI, names: tuple[str, ...] = tuple(CALLS)) -> dict[str, Exception]:
    """Run each named call, expecting each to fail with a VideoAPIError; return them."""
    errors: dict[str, Exception] = {}
    for name in names:
        try:
            await CALLS[name](api)
        except VideoAPIError as exc:
            errors[name] = exc
        else:
            pytest.fail(f"{name} succeeded, but every call was meant to fail here")
    return errors


# --- servers -------------------------------------------------------------------------


class Server:
    """An aiohttp.web server on 127.0.0.1 that runs one handler and records requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.seen.append((request.method, request.raw_path, dict(request.headers)))
        return await self.handler(request)

    @property
    def origin(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def port(self) -> int:
        port = self.server.port
        assert port is not None
        return port

    @property
    def keys_received(self) -> list[str]:
        return [headers.get("api-key", "") for _, _, headers in self.seen]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(handler: Handler) -> Server:
        server = Server(handler)
        await server.server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        await server.server.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger, the client's included, at DEBUG."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="videoapi_async")
    return caplog


def make_client(base_url: str, sleeps: Sleeps, **kwargs: Any) -> VideoAPI:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, max_elapsed=3600))
    return VideoAPI(CANARY_KEY, base_url=base_url, sleep=sleeps, clock=sleeps.clock, **kwargs)


def echo(status: int, kind: str) -> Handler:
    """Answer `status` with a body that quotes the request's api-key header back."""

    async def handler(request: web.Request) -> web.StreamResponse:
        key = request.headers.get("api-key", "")
        if kind == "json":
            return web.json_response({"detail": f"bad key {key}", "echo": key}, status=status)
        if kind == "html":
            page = (
                f"<html><head><title>Error {key}</title></head><body>api-key: {key}</body></html>"
            )
            return web.Response(status=status, text=page, content_type="text/html")
        if kind == "truncated-json":
            return web.Response(
                status=status, text=f'{{"id": "{key}", "sta', content_type="application/json"
            )
        return web.Response(status=status, text=f"upstream said: api-key={key}")

    return handler


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- error statuses ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["json", "html", "text"])
@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_never_show_the_key(
    serve: Callable[[Handler], Awaitable[Server]],
    sleeps: Sleeps,
    logs: pytest.LogCaptureFixture,
    status: int,
    kind: str,
) -> None:
    """A 401/403 that quotes the key back gives AuthenticationError without the key."""
    server = await serve(echo(status, kind))
    async with make_client(server.origin, sleeps) as api:
        errors = await run_calls(api)
        shown = [repr(api), str(api)]
    assert all(isinstance(e, AuthenticationError) for e in errors.values()), errors
    assert set(server.keys_received) == {CANARY_KEY}  # the echo really held the key
    assert_no_key(list(errors.values()), logs, *shown)


@pytest.mark.parametrize("kind", ["json", "html", "text"])
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_quoting_the_key_never_show_it(
    serve: Callable[[Handler], Awaitable[Server]],
    sleeps: Sleeps,
    logs: pytest.LogCaptureFixture,
    status: int,
    kind: str,
) -> None:
    """A 5xx body that quotes the key: retried reads and unknown creates never show it."""
    server = await serve(echo(status, kind))
    async with make_client(server.origin, sleeps) as api:
        errors = await run_calls(api)
    for name in READS:
        assert isinstance(errors[name], ServerError), errors[name]
    for name in ("create", "create-flat"):
        assert isinstance(errors[name], CreateOutcomeUnknownError), errors[name]
        assert isinstance(errors[name].__cause__, ServerError)
    # 3 attempts for each read, 1 for each create; each retry was logged with its cause.
    assert len(server.seen) == 3 * 3 + 2
    assert sum("retrying in" in r.getMessage() for r in logs.records) == 2 * 3
    assert set(server.keys_received) == {CANARY_KEY}
    assert_no_key(list(errors.values()), logs)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, NotFoundError), (422, RequestValidationError), (400, APIStatusError)],
)
async def test_client_errors_quoting_the_key_never_show_it(
    mock_api: MockAPI,
    logs: pytest.LogCaptureFixture,
    sleeps: Sleeps,
    status: int,
    error: type[APIStatusError],
) -> None:
    """404, 422 (FastAPI detail list) and other 4xx bodies quoting the key are redacted."""
    detail = [{"loc": ["header", "api-key"], "msg": f"unknown key {CANARY_KEY}", "type": "x"}]
    for url in (
        f"{BASE_URL}/videos",
        f"{BASE_URL}/videos/vid-1",
        f"{BASE_URL}/videos/vid-1/metadata",
    ):
        mock_api.get(url, status=status, payload={"detail": detail}, repeat=True)
    mock_api.post(f"{BASE_URL}/videos", status=status, payload={"detail": detail}, repeat=True)
    async with make_client(BASE_URL, sleeps) as api:
        errors = await run_calls(api)
    assert all(isinstance(e, error) for e in errors.values()), errors
    assert_no_key(list(errors.values()), logs)


async def test_rate_limit_quoting_the_key_never_shows_it(
    mock_api: MockAPI, logs: pytest.LogCaptureFixture, sleeps: Sleeps
) -> None:
    """429s (retried, then raised) whose body quotes the key never show it."""
    body = {"detail": f"slow down, {CANARY_KEY}"}
    mock_api.get(f"{BASE_URL}/videos/vid-1", status=429, payload=body, repeat=True)
    mock_api.post(
        f"{BASE_URL}/videos", status=429, payload=body, headers={"Retry-After": "1"}, repeat=True
    )
    async with make_client(BASE_URL, sleeps) as api:
        errors = await run_calls(api, ("get", "create"))
    assert all(isinstance(e, RateLimitError) for e in errors.values()), errors
    assert sum("retrying in" in r.getMessage() for r in logs.records) == 4
    assert_no_key(list(errors.values()), logs)


# --- success statuses with bodies that cannot be read ---------------------------------


@pytest.mark.parametrize("kind", ["json", "html", "text", "truncated-json"])
async def test_unreadable_answers_quoting_the_key_never_show_it(
    serve: Callable[[Handler], Awaitable[Server]],
    sleeps: Sleeps,
    logs: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """A 2xx body that quotes the key but is not the expected JSON never shows it.

    A misconfigured gateway or debugging proxy may answer 200 with a page that echoes
    the request headers; the decode error (its message, excerpt and cause) and the
    retry log lines must not carry the key.
    """
    server = await serve(echo(200, kind))
    async with make_client(server.origin, sleeps) as api:
        errors = await run_calls(api)
    for name in READS:
        assert isinstance(errors[name], ResponseDecodeError), errors[name]
    for name in ("create", "create-flat"):
        assert isinstance(errors[name], CreateOutcomeUnknownError), errors[name]
    assert set(server.keys_received) == {CANARY_KEY}
    assert_no_key(list(errors.values()), logs)


# --- broken connections ------------------------------------------------------------


@pytest.mark.simulated_time  # the timeouts pass in loop time, at once
async def test_timeouts_never_show_the_key(
    serve: Callable[[Handler], Awaitable[Server]], sleeps: Sleeps, logs: pytest.LogCaptureFixture
) -> None:
    """Read timeouts (retried for reads, unknown outcome for creates) never show the key."""

    async def stall(request: web.Request) -> web.StreamResponse:
        await server.release.wait()
        return web.json_response(VIDEO)

    server = await serve(stall)
    async with make_client(server.origin, sleeps, timeouts=Timeouts(read=0.1)) as api:
        errors = await run_calls(api)
    for name in READS:
        assert isinstance(errors[name], APITimeoutError), errors[name]
    for name in ("create", "create-flat"):
        assert isinstance(errors[name].__cause__, APITimeoutError), errors[name]
    assert_no_key(list(errors.values()), logs)


async def test_refused_connections_never_show_the_key(
    sleeps: Sleeps, logs: pytest.LogCaptureFixture
) -> None:
    """Connection refused, on reads and on creates, after retries, never shows the key."""
    async with make_client(f"http://127.0.0.1:{free_port()}", sleeps) as api:
        errors = await run_calls(api)
    assert all(type(e) is APIConnectionError for e in errors.values()), errors
    assert all(not e.request_sent for e in errors.values() if isinstance(e, APIConnectionError))
    assert_no_key(list(errors.values()), logs)


def drop_before_answer() -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError  # aiohttp.web: no response for this request

    return handler


def drop_mid_body() -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"id": "vid-1", "status": ')
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError

    return handler


@pytest.mark.parametrize("make_handler", [drop_before_answer, drop_mid_body])
async def test_dropped_connections_never_show_the_key(
    serve: Callable[[Handler], Awaitable[Server]],
    sleeps: Sleeps,
    logs: pytest.LogCaptureFixture,
    make_handler: Callable[[], Handler],
) -> None:
    """A connection closed before or during the answer never shows the key."""
    server = await serve(make_handler())
    async with make_client(server.origin, sleeps) as api:
        errors = await run_calls(api)
    for name in READS:
        assert isinstance(errors[name], APIConnectionError), errors[name]
    for name in ("create", "create-flat"):
        assert isinstance(errors[name], CreateOutcomeUnknownError), errors[name]
    assert_no_key(list(errors.values()), logs)


# --- redirects -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "target", ["other-port", "other-host", "scheme-relative", "via-same-origin"]
)
async def test_redirects_never_carry_the_key_to_another_origin(
    serve: Callable[[Handler], Awaitable[Server]],
    sleeps: Sleeps,
    logs: pytest.LogCaptureFixture,
    status: int,
    target: str,
) -> None:
    """A redirect to another origin (port, host name or scheme-relative) never gets the key.

    Both servers listen on 127.0.0.1, so the origins differ by port; the second one
    records every header it receives.
    """

    async def elsewhere(request: web.Request) -> web.StreamResponse:
        return web.json_response(VIDEO)

    other = await serve(elsewhere)
    locations = {
        "other-port": f"http://127.0.0.1:{other.port}/videos/vid-1",
        "other-host": f"http://localhost:{other.port}/videos/vid-1",
        "scheme-relative": f"//127.0.0.1:{other.port}/videos/vid-1",
        "via-same-origin": "/hop",
    }

    async def redirect(request: web.Request) -> web.StreamResponse:
        location = locations[target]
        if request.path == "/hop":  # the second hop leaves the origin
            location = locations["other-port"]
        return web.Response(status=status, headers={"Location": location})

    first = await serve(redirect)
    async with make_client(first.origin, sleeps) as api:
        outcomes: list[BaseException] = []
        for name in CALLS:
            try:
                await CALLS[name](api)
            except VideoAPIError as exc:
                outcomes.append(exc)
    assert set(first.keys_received) == {CANARY_KEY}
    received = [headers for _, _, headers in other.seen]
    for headers in received:
        for name, value in headers.items():
            for needle in NEEDLES:
                assert needle not in f"{name}: {value}", f"the other origin got the key: {headers}"
    assert received == [], "the client followed a redirect to another origin"
    assert len(outcomes) == len(CALLS)
    assert_no_key(outcomes, logs)


# --- reprs and logs ----------------------------------------------------------------


async def test_client_and_settings_never_show_the_key(
    mock_api: MockAPI, logs: pytest.LogCaptureFixture, sleeps: Sleeps
) -> None:
    """repr()/str() of the client (open and closed) and its settings never show the key."""
    mock_api.get(f"{BASE_URL}/videos/vid-1", payload=VIDEO)
    api = make_client(BASE_URL, sleeps, workspace_id="ws-1", team_id="team-1")
    shown = [repr(api), str(api), repr(api.timeouts), repr(api.retry_policy), api.base_url]
    async with api:
        video = await api.get_video("vid-1")
        shown += [repr(api), str(api), repr(video)]
    shown += [repr(api), str(api)]
    assert any(r.name == "videoapi_async" for r in logs.records)  # the exchange was logged
    assert_no_key([], logs, *shown)


async def test_successful_calls_log_without_the_key(
    serve: Callable[[Handler], Awaitable[Server]], sleeps: Sleeps, logs: pytest.LogCaptureFixture
) -> None:
    """Every request path at DEBUG (list, get, metadata, both creates) logs no key."""

    async def ok(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/metadata"):
            return web.json_response({"duration": 1.0, "scenes_metadata": []})
        if request.path == "/videos" and request.method == "GET":
            return web.json_response([VIDEO])
        return web.json_response(VIDEO, status=201 if request.method == "POST" else 200)

    server = await serve(ok)
    async with make_client(server.origin, sleeps) as api:
        for call in CALLS.values():
            await call(api)
    assert sum(r.name == "videoapi_async" for r in logs.records) == len(CALLS)
    assert_no_key([], logs)


@pytest.mark.parametrize("bad", [f"{CANARY_KEY}\n", f" {CANARY_KEY}", f"{CANARY_KEY}\r\nX: y"])
def test_unusable_key_is_refused_without_showing_it(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A key that cannot be a header value is refused; the error does not quote it."""
    with pytest.raises(VideoAPIError) as info:
        VideoAPI(bad, base_url=BASE_URL)
    assert "api_key" in str(info.value)
    assert_no_key([info.value], caplog)


# --- the key in disguise: JSON escapes, percent-encoding, headers, broken lines ------------

SLASH_KEY = "sk-canary/7f3a9c2e/do-not-leak"


def disguise(key: str, form: str) -> str:
    """Write `key` as a server might echo it inside a JSON string or a URL."""
    if form == "upper-u":
        return "".join(f"\\u{ord(c):04X}" for c in key)
    if form == "lower-u":
        return "".join(f"\\u{ord(c):04x}" for c in key)
    if form == "mixed":
        return "".join(f"\\u{ord(c):04x}" if n % 2 else c for n, c in enumerate(key))
    if form == "slash":
        return key.replace("/", "\\/")
    assert form == "percent"
    return quote(key, safe="")


def assert_no_runs_of(key: str, errors: list[BaseException], *extra: str) -> None:
    """Fail if eight characters of `key` in a row show anywhere an error can be shown."""
    texts = [text for exc in errors for _, text in views(exc)] + list(extra)
    for text in texts:
        for start in range(len(key) - 7):
            assert key[start : start + 8] not in text, f"part of the key shows: {text[:500]}"


@pytest.mark.parametrize("form", ["upper-u", "lower-u", "mixed", "slash", "percent"])
@pytest.mark.parametrize("status", [400, 404, 500])
async def test_disguised_key_in_a_body_never_shows(
    serve: Callable[[Handler], Awaitable[Server]], sleeps: Sleeps, status: int, form: str
) -> None:
    """A key echoed JSON-escaped or percent-encoded shows neither in messages nor .detail."""

    async def handler(request: web.Request) -> web.StreamResponse:
        echoed = disguise(request.headers["api-key"], form)
        body = f'{{"detail": "bad key {echoed}", "key": "{echoed}"}}'
        return web.Response(status=status, text=body, content_type="application/json")

    server = await serve(handler)
    async with VideoAPI(
        SLASH_KEY, base_url=server.origin, retry=RetryPolicy.disabled(), sleep=sleeps
    ) as api:
        with pytest.raises(APIStatusError) as info:
            await api.get_video("vid-1")
    assert "[redacted]" in str(info.value)
    assert_no_runs_of(SLASH_KEY, [info.value], repr(info.value.detail))


@pytest.mark.parametrize("status", [200, 429, 503])
async def test_key_echoed_in_a_response_header_is_redacted(
    serve: Callable[[Handler], Awaitable[Server]], sleeps: Sleeps, status: int
) -> None:
    """Headers kept on an error (or read from an answer) never show the key."""

    async def handler(request: web.Request) -> web.StreamResponse:
        key = request.headers["api-key"]
        echo_headers = {"X-Echo": f"key={key}", "X-Escaped": quote(key, safe="")}
        body = {"nope": True} if status == 200 else {"detail": "no"}
        return web.json_response(body, status=status, headers=echo_headers)

    server = await serve(handler)
    async with VideoAPI(
        SLASH_KEY, base_url=server.origin, retry=RetryPolicy.disabled(), sleep=sleeps
    ) as api:
        with pytest.raises(VideoAPIError) as info:
            await api.get_video("vid-1")
    headers = getattr(info.value, "headers", None)
    if headers is not None:
        assert headers["X-Echo"] == "key=[redacted]"
    assert_no_runs_of(SLASH_KEY, [info.value], repr(headers))


@pytest.mark.parametrize(
    "template",
    [
        "HTTP/1.1 2{key}00 OK\r\nContent-Length: 2\r\n\r\n{{}}",
        "HTTP/1.1 200 OK\r\n{key}\r\nContent-Length: 2\r\n\r\n{{}}",
        "HTTP/1.1 200 OK\r\nX-{key}: a\r\nContent-Length: 2\r\n\r\n{{}}",
        "HTTP/1.1 200 OK\r\nX-Long: {key}{pad}\r\nContent-Length: 2\r\n\r\n{{}}",
        "HTTP/1.1 200 OK\r\nX-Long: {near}{key}{pad}\r\nContent-Length: 2\r\n\r\n{{}}",
        "HTTP/1.1 200 OK\r\nX-Long: {pad}{key}\r\nContent-Length: 2\r\n\r\n{{}}",
    ],
    ids=["status-line", "bare-line", "header-name", "long-start", "long-cut", "long-end"],
)
async def test_key_in_a_broken_response_line_never_shows(template: str) -> None:
    """A key quoted in a malformed status line or an overlong header line is not shown."""

    async def broken(head: bytes, writer: asyncio.StreamWriter) -> None:
        key = request_key(head)
        writer.write(template.format(key=key, pad="a" * 9000, near="n" * 88).encode())
        await writer.drain()

    async with (
        raw_server(broken) as base_url,
        VideoAPI(SLASH_KEY, base_url=base_url, retry=RetryPolicy.disabled()) as api,
    ):
        with pytest.raises(APIConnectionError) as info:
            await api.get_video("vid-1")
    assert_no_runs_of(SLASH_KEY, [info.value])
