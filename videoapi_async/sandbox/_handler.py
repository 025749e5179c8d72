"""Request handling of the sandbox: routing, authentication, the API routes, injected faults.

Every request goes through the same steps, in the order a gateway in front of the real
server would apply them: added latency, the per-key rate limit, a fault that acts before
handling (``delay``, ``http_429``, ``http_5xx``, ``reset``), authentication, the route, then
a fault that spoils the answer (``drop_response``, ``truncated_json``, ``malformed_json``,
``slow_body``).

Every answer carries a fresh ``x-request-id``, as a gateway's would, so errors raised
against the sandbox carry a `request_id` to quote.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
import time
import uuid
from collections.abc import Callable, Mapping
from email.utils import formatdate
from typing import Final

from aiohttp import web

from videoapi_async.contract import REQUEST_ID_HEADER

from ._faults import AFTER_HANDLING_KINDS, Fault, FaultInjector, RateLimiter, gateway_page
from ._more_routes import MoreRoutes, Result, body_error, parse_body
from ._routes import (
    BEARER_ROUTES,
    ROUTE_ANALYTICS,
    ROUTE_CREATE,
    ROUTE_DELETE,
    ROUTE_GET,
    ROUTE_LIST,
    ROUTE_METADATA,
    ROUTE_SUBTITLES,
    ROUTE_VOICE_PREVIEW_CREATE,
    ROUTE_VOICE_PREVIEW_GET,
    RouteMatch,
    match_route,
)
from ._stats import SandboxStats
from ._store import VideoRecord, VideoStore, VideoViews, dump_json
from ._validation import BodyError, parse_create_body
from ._voice import VoiceTaskStore
from ._webhook_registry import WebhookRegistry, serve_bearer_route

__all__ = ["ApiHandler"]

_JSON: Final = "application/json"
_HTML: Final = "text/html"
_NOT_AUTHENTICATED: Final = dump_json({"detail": "Not authenticated"})
_INVALID_KEY: Final = dump_json({"detail": "Invalid API key"})
_VIDEO_NOT_FOUND: Final = dump_json({"detail": "Video not found"})
_NOT_FOUND: Final = dump_json({"detail": "Not Found"})
_METHOD_NOT_ALLOWED: Final = dump_json({"detail": "Method Not Allowed"})
_TOO_MANY: Final = dump_json({"detail": "Too Many Requests"})
_GARBAGE: Final = b"}{<!-- upstream sent an invalid payload -->"
# A tiny ISO base-media header: enough for a download to look like an MP4 file; not playable.
_FAKE_MP4: Final = (
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    + struct.pack(">I", 1024 - 24)
    + b"free"
    + b"\x00" * (1024 - 32)
)


class ApiHandler(MoreRoutes):
    """The request handler of a sandbox's aiohttp server (one per sandbox)."""

    def __init__(
        self,
        *,
        store: VideoStore,
        voices: VoiceTaskStore,
        views: VideoViews,
        faults: FaultInjector,
        limiter: RateLimiter,
        stats: SandboxStats,
        clock: Callable[[], float],
        wall_epoch: float,
        registry: WebhookRegistry,
    ) -> None:
        self.store = store
        self.registry = registry
        self.bearer_accounts: dict[str, str] = {}  # bearer token -> the account's API key
        self.voices = voices
        self.wall_epoch = wall_epoch
        self.views = views
        self.faults = faults
        self.limiter = limiter
        self.stats = stats
        self.clock = clock
        self.origin = views.origin
        self.closing = asyncio.Event()

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the sandbox closes first; return whether it is open."""
        if seconds <= 0:
            return not self.closing.is_set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)
        return not self.closing.is_set()

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        """Answer one request: latency, rate limit, faults, authentication, then the route."""
        match = match_route(request.method, request.raw_path)
        route = match.route
        if route is None:
            self.stats.requests["other"] += 1
            response = await self._handle_other(request, match)
            response.headers[REQUEST_ID_HEADER] = _request_id()
            return response
        stats = self.stats
        stats.requests[route] += 1
        video_id = match.video_id
        if video_id is not None:
            stats.video_requests[video_id] += 1
        faults = self.faults
        latency = faults.latency(route)
        if latency and not await self._pause(latency):
            return _abort(request)
        if route in BEARER_ROUTES:
            api_key = self._bearer_account(request.headers.get("Authorization", ""))
        else:
            api_key = request.headers.get("api-key", "")
        retry_after = self.limiter.check(api_key)
        if retry_after is not None:
            stats.faults["rate_limited"] += 1
            headers = {"Retry-After": str(retry_after)}
            return await self._send(request, route, (429, _TOO_MANY, _JSON, []), headers)
        fault = faults.pick(route)
        if fault is not None and fault.kind not in AFTER_HANDLING_KINDS:
            stats.faults[fault.kind] += 1
            if fault.kind != "delay":
                return await self._inject_before(request, route, fault)
            pause = fault.seconds if fault.seconds is not None else faults.config.delay
            if not await self._pause(pause):
                return _abort(request)
            fault = None
        if not api_key:
            result: Result = (403, _NOT_AUTHENTICATED, _JSON, [])
        elif not self.store.has_account(api_key):
            result = (401, _INVALID_KEY, _JSON, [])
        else:
            result = await self._dispatch(request, route, api_key, match)
        if fault is not None:
            return await self._inject_after(request, route, fault, result)
        return await self._send(request, route, result)

    async def _dispatch(
        self, request: web.BaseRequest, route: str, api_key: str, match: RouteMatch
    ) -> Result:
        store = self.store
        now = self.clock()
        video_id = match.video_id
        if route in BEARER_ROUTES:
            return await serve_bearer_route(
                self.registry, request, route, api_key, match.webhook_id
            )
        if route == ROUTE_LIST:
            parts = []
            seen = []
            video_json = self.views.video_json
            for listed in store.videos(api_key):
                encoded, terminal = video_json(listed, now)
                parts.append(encoded)
                if terminal and listed.first_seen_finished_at is None:
                    seen.append(listed)
            return 200, b"[" + b",".join(parts) + b"]", _JSON, seen
        if route == ROUTE_CREATE:
            return await self._create(request, api_key)
        if route == ROUTE_VOICE_PREVIEW_CREATE:
            return await self._voice_create(request, api_key)
        if route == ROUTE_VOICE_PREVIEW_GET:
            assert match.task_id is not None
            return self._voice_get(api_key, match.task_id)
        if route == ROUTE_ANALYTICS:
            return self._analytics(request, api_key)
        assert video_id is not None
        if route == ROUTE_SUBTITLES:
            return await self._subtitles(request, api_key, video_id)
        record = store.get(api_key, video_id)
        if record is None:
            return 404, _VIDEO_NOT_FOUND, _JSON, []
        if route == ROUTE_GET:
            encoded, terminal = self.views.video_json(record, now)
            fresh = terminal and record.first_seen_finished_at is None
            return 200, encoded, _JSON, [record] if fresh else []
        if route == ROUTE_METADATA:
            return 200, dump_json(self.views.metadata(record)), _JSON, []
        assert route == ROUTE_DELETE
        store.delete(api_key, video_id)
        return 204, None, _JSON, []

    def _bearer_account(self, authorization: str) -> str:
        """Return the account a bearer token belongs to ("" without a bearer token)."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ""
        return self.bearer_accounts.get(token.strip(), "\0unknown bearer token")

    async def _create(self, request: web.BaseRequest, api_key: str) -> Result:
        try:
            body, create = await parse_body(request, parse_create_body)
        except BodyError as exc:  # e.g. 413, body over the size limit; 422, a bad field
            return body_error(exc)
        record = self.store.create(
            api_key,
            create,
            body=body,
            workspace_id=request.headers.get("workspace-id"),
            team_id=request.headers.get("team-id"),
        )
        self.stats.record_create(record.video_id, body)
        return 201, dump_json(self.views.video(record, self.clock())), _JSON, []

    async def _send(
        self,
        request: web.BaseRequest,
        route: str,
        result: Result,
        headers: Mapping[str, str] | None = None,
    ) -> web.StreamResponse:
        status, body, content_type, seen = result
        all_headers = {REQUEST_ID_HEADER: _request_id()}
        if body is not None:
            all_headers["Content-Type"] = content_type
        if headers:
            all_headers.update(headers)
        response = web.Response(status=status, body=body, headers=all_headers)
        self.stats.record_response(route, status)
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return response
        _mark_seen(seen, self.clock)
        return response

    async def _inject_before(
        self, request: web.BaseRequest, route: str, fault: Fault
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "reset":
            return _abort(request, reset=True)
        if kind == "http_429":
            config = self.faults.config
            retry_after = fault.retry_after if fault.retry_after is not None else config.retry_after
            as_date = (
                fault.retry_after_date
                if fault.retry_after_date is not None
                else config.retry_after_date
            )
            headers = {}
            if retry_after is not None:
                headers["Retry-After"] = (
                    formatdate(time.time() + retry_after, usegmt=True)
                    if as_date
                    else str(math.ceil(retry_after))
                )
            return await self._send(request, route, (429, _TOO_MANY, _JSON, []), headers)
        status = int(kind.removeprefix("http_"))
        return await self._send(request, route, (status, gateway_page(status), _HTML, []))

    async def _inject_after(
        self, request: web.BaseRequest, route: str, fault: Fault, result: Result
    ) -> web.StreamResponse:
        status, body, content_type, seen = result
        kind = fault.kind
        if kind == "drop_response":
            self.stats.faults[kind] += 1
            return _abort(request)
        if body is None:  # nothing to spoil in a body-less response
            return await self._send(request, route, result)
        self.stats.faults[kind] += 1
        if kind == "malformed_json":
            garbage = body[: len(body) // 2] + _GARBAGE
            return await self._send(request, route, (status, garbage, content_type, []))
        self.stats.record_response(route, status)
        response = web.StreamResponse(
            status=status, headers={"Content-Type": content_type, REQUEST_ID_HEADER: _request_id()}
        )
        response.content_length = len(body)
        if kind == "truncated_json":
            # Content-Length announces the whole body, half is sent, then the connection
            # closes: the client's read fails with a payload error.
            response.force_close()
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write(body[: len(body) // 2])
            return response
        assert kind == "slow_body"
        config = self.faults.config
        pause = fault.seconds if fault.seconds is not None else config.slow_body_pause
        chunks = max(1, min(config.slow_body_chunks, len(body)))
        size = -(-len(body) // chunks)
        try:
            await response.prepare(request)
            for start in range(0, len(body), size):
                if not await self._pause(pause):
                    return _abort(request)
                await response.write(body[start : start + size])
            await response.write_eof()
        except ConnectionError:
            return response
        _mark_seen(seen, self.clock)
        return response

    async def _handle_other(self, request: web.BaseRequest, match: RouteMatch) -> web.Response:
        if match.redirect is not None:
            query = request.raw_path.partition("?")[2]
            location = self.origin + match.redirect + (f"?{query}" if query else "")
            return web.Response(status=307, headers={"Location": location})
        if match.allowed:
            return web.Response(
                status=405,
                body=_METHOD_NOT_ALLOWED,
                headers={"Content-Type": _JSON, "Allow": ", ".join(match.allowed)},
            )
        if match.media in ("subtitles", "voice"):
            served = self._more_media(match)
            if served is not None:
                return served
        elif match.media is not None and match.video_id is not None:
            record = self.store.get(None, match.video_id)
            if record is not None and record.state(self.clock())[0] in ("ready", "published"):
                if match.media == "download":
                    return web.Response(body=_FAKE_MP4, headers={"Content-Type": "video/mp4"})
                page = _player_page(self.views.download_url(record.video_id))
                return web.Response(body=page, headers={"Content-Type": "text/html"})
        return web.Response(status=404, body=_NOT_FOUND, headers={"Content-Type": _JSON})


def _request_id() -> str:
    return str(uuid.uuid4())


def _mark_seen(records: list[VideoRecord], clock: Callable[[], float]) -> None:
    if records:
        now = clock()
        for record in records:
            if record.first_seen_finished_at is None:
                record.first_seen_finished_at = now


def _abort(request: web.BaseRequest, *, reset: bool = False) -> web.Response:
    """Close the connection without a response; with ``reset``, as a TCP reset (RST)."""
    transport = request.transport
    if transport is not None:
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # Never sent: aiohttp finds the transport closed and drops the connection quietly.
    return web.Response(status=500)


def _player_page(download_url: str) -> bytes:
    return (
        "<!doctype html><html><head><title>Video</title></head><body>"
        f'<video controls src="{download_url}"></video></body></html>'
    ).encode()
