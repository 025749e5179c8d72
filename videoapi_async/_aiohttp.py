"""`AiohttpTransport`, the default transport: the only aiohttp code on the client's path.

It sends one request over a pooled `aiohttp.ClientSession` and maps every aiohttp or
socket exception to `APIConnectionError` / `APITimeoutError`, recording whether the
request may have reached the server (what decides if a create may be retried).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, cast

import aiohttp
from aiohttp import hdrs
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from ._config import Timeouts
from ._errors import APIConnectionError, APITimeoutError, VideoAPIError
from ._transport import HTTPRequest, HTTPResponse, response_too_large

__all__ = ["AiohttpTransport"]


class AiohttpTransport:
    """Sends requests over an aiohttp session with a bounded connection pool.

    The session is created on first use (or taken from the caller, who keeps ownership
    of it) and closed by `aclose` only if this object created it.
    """

    def __init__(
        self, *, session: aiohttp.ClientSession | None = None, max_connections: int = 64
    ) -> None:
        """Use `session`, or create one with at most `max_connections` connections."""
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValueError(f"max_connections must be an integer >= 1, got {max_connections!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be an integer >= 1, got {max_connections!r}")
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._last_timeouts: tuple[Timeouts, aiohttp.ClientTimeout] | None = None
        self._closed = False

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise VideoAPIError(
                "this VideoAPI client is closed; create a new one (async with VideoAPI() as api)"
            )
        if self._session is None:
            connector_class = _Connector if KEEPS_READ_TIMER else aiohttp.TCPConnector
            connector = connector_class(limit=self._max_connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    def _timeout(self, timeouts: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(timeouts)
        if timeout is None:
            # Queueing for a pooled connection is not timed: only connecting and reading.
            timeout = self._timeouts[timeouts] = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=timeouts.connect, sock_read=timeouts.read
            )
        self._last_timeouts = (timeouts, timeout)
        return timeout

    async def open(self) -> None:
        """Create the session now rather than at the first request."""
        self._ensure_session()

    async def aclose(self) -> None:
        """Close the session if this transport created it; a caller's session stays open."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        """Send one request and read the whole response; never follows redirects.

        Raises:
            APIConnectionError: The connection failed or broke; ``request_sent`` tells
                whether the server may have received the request.
            APITimeoutError: Connecting or reading exceeded the request's timeouts.

        """
        session = self._session
        if session is None:  # not created yet, or closed
            session = self._ensure_session()
        method, path = request.method, request.path
        last = self._last_timeouts
        if last is not None and last[0] is request.timeouts:
            timeout = last[1]  # the usual case: every request of a client has the same
        else:
            timeout = self._timeout(request.timeouts)
        failure: VideoAPIError
        try:
            async with session.request(
                method,
                URL(request.url, encoded=True),
                headers=request.headers,
                data=request.body,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                limit = request.max_response_size
                length = resp.content_length
                if (
                    length is not None
                    and length <= limit
                    and hdrs.CONTENT_ENCODING not in resp.headers
                ):
                    # The usual answer: its length is known and within the bound, and
                    # it is not compressed, so it cannot grow while read; one read.
                    return HTTPResponse(resp.status, resp.headers, await resp.read())
                # Read in pieces, decompressed, and stop at the bound: an endless or
                # hugely compressed body must not exhaust memory.
                body = bytearray()
                async for chunk in resp.content.iter_any():
                    body += chunk
                    if len(body) > limit:
                        raise response_too_large(request, resp.status)
                return HTTPResponse(resp.status, resp.headers, bytes(body))
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(
                f"{method} {path}: connecting to {_origin(request)} timed out",
                method=method,
                path=path,
                request_sent=False,
            ) from exc
        except (aiohttp.SocketTimeoutError, asyncio.TimeoutError) as exc:
            raise APITimeoutError(
                f"{method} {path}: no response within the read timeout; the server may "
                "still have acted on the request",
                method=method,
                path=path,
                request_sent=True,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise APIConnectionError(
                f"{method} {path}: cannot connect to {_origin(request)}: {exc.os_error or exc}",
                method=method,
                path=path,
                request_sent=False,
            ) from exc
        except aiohttp.ClientResponseError as exc:
            # Not chained: this exception's repr carries the request headers, key included.
            failure = APIConnectionError(
                f"{method} {path}: the server's answer could not be read "
                f"({type(exc).__name__}: {exc.message})",
                method=method,
                path=path,
                request_sent=True,
            )
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(
                f"{method} {path}: the connection broke ({type(exc).__name__}: "
                f"{exc or 'no details'}); the server may have received the request",
                method=method,
                path=path,
                request_sent=True,
            ) from exc
        raise failure


class _ReadTimeoutHandler(ResponseHandler):
    """aiohttp's connection protocol with one read timer per connection, not per chunk.

    aiohttp restarts ``sock_read`` on every chunk received by cancelling its timer and
    scheduling a new one: two timers and two cancellations for an ordinary answer. Here
    a chunk only records when it came, and the end of an answer only marks the timer
    idle. When the timer fires it fails the read if nothing came for ``read`` seconds,
    moves itself to the last bytes plus ``read`` if something did, and lapses if nothing
    is being read. A stalled read still fails exactly ``read`` seconds after its last
    bytes (or after the request was sent); an answer on a kept-alive connection whose
    timer is still pending schedules none.
    """

    _reading = False  # whether a read is being timed
    _read_since = 0.0  # when its last bytes came (or the wait for them began)
    _read_due = 0.0  # when the pending timer fires

    def _reschedule_timeout(self) -> None:
        timeout = self._read_timeout
        if not timeout:
            self._reading = False
            return
        now = self._read_since = self._loop.time()
        self._reading = True
        if self._read_timeout_handle is None or self._read_due > now + timeout:
            self._arm_read_timer(now + timeout)

    def _drop_timeout(self) -> None:
        self._reading = False  # the timer lapses when it fires; see connection_lost

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        super()._drop_timeout()  # a closed connection keeps no timer

    def _arm_read_timer(self, due: float) -> None:
        if self._read_timeout_handle is not None:
            self._read_timeout_handle.cancel()
        self._read_due = due
        self._read_timeout_handle = self._loop.call_at(due, self._read_timer_fired)

    def _read_timer_fired(self) -> None:
        self._read_timeout_handle = None
        timeout = self._read_timeout
        if not (self._reading and timeout):
            return
        due = self._read_since + timeout
        if self._loop.time() < due:
            self._arm_read_timer(due)  # bytes came since it was set: wait from them
        else:
            self._on_read_timeout()


KEEPS_READ_TIMER = all(
    callable(getattr(ResponseHandler, name, None))
    for name in ("start_timeout", "_reschedule_timeout", "_drop_timeout", "_on_read_timeout")
)
"""Whether this aiohttp has the read-timer hooks `_ReadTimeoutHandler` replaces (3.10 to
3.14 do); without them the client's connections keep aiohttp's own timer."""


class _Connector(aiohttp.TCPConnector):
    """aiohttp's TCP connector, making its connections with `_ReadTimeoutHandler`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        factory = functools.partial(_ReadTimeoutHandler, loop=self._loop)
        self._factory = cast("functools.partial[ResponseHandler]", factory)


def _origin(request: HTTPRequest) -> URL:
    return URL(request.url, encoded=True).origin()
