"""The only aiohttp code on the client side: send one request, read one response.

Every aiohttp or socket exception is mapped to `APIConnectionError` /
`APITimeoutError`, recording whether the request may have reached the server (what
decides if a create may be retried). Redirects are followed only within the API's own
origin, so the ``api-key`` header never reaches another host (aiohttp would forward it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import attrs
from yarl import URL

from ._config import Timeouts
from ._errors import APIConnectionError, APIStatusError, APITimeoutError, VideoAPIError

__all__ = ["RawResponse", "Transport"]

logger: Final = logging.getLogger("videoapi_async")

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 5


@attrs.frozen
class RawResponse:
    """What came back: status, headers, the whole body, and how long it took."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float


class Transport:
    """Sends requests to one API origin over an aiohttp session.

    The session is created on first use (or taken from the caller, who then keeps
    ownership of it) and closed by `aclose` only if this object created it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeouts: Timeouts,
        session: aiohttp.ClientSession | None,
        max_connections: int,
    ) -> None:
        self._base = URL(base_url.rstrip("/"))
        if self._base.scheme not in ("http", "https") or not self._base.host:
            raise VideoAPIError(
                f"base_url must be an absolute http(s) URL such as "
                f"'https://api.makereals.com/api/v1', got {base_url!r}"
            )
        self._base_path = self._base.raw_path.rstrip("/")
        self._origin = self._base.origin()
        self._headers = dict(headers)
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=timeouts.connect, sock_read=timeouts.read
        )
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._closed = False

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return str(self._base)

    @property
    def closed(self) -> bool:
        """Whether `aclose` has been called."""
        return self._closed

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise VideoAPIError(
                "this VideoAPI client is closed; create a new one (async with VideoAPI() as api)"
            )
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=True
            )
        return self._session

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

    def url_for(self, path: str) -> URL:
        """Return the absolute URL of an already-encoded API path such as ``/videos/a%2Fb``."""
        return self._base.with_path(self._base_path + path, encoded=True)

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """Send one request (following same-origin redirects) and read the whole response.

        Raises:
            APIConnectionError: The connection failed or broke; ``request_sent`` tells
                whether the server may have received the request.
            APITimeoutError: Connecting or reading exceeded the configured timeout.
            APIStatusError: A redirect pointed to another origin.

        """
        session = self._ensure_session()
        headers = self._headers
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            headers = {**headers, "Content-Type": "application/json"}
        if extra_headers:
            headers = {**headers, **extra_headers}
        url = self.url_for(path)
        if query:
            url = url.with_query(query)
        started = time.perf_counter()
        for _ in range(_MAX_REDIRECTS + 1):
            status, resp_headers, payload = await self._exchange(
                session, method, url, headers, data, path
            )
            if status not in _REDIRECTS or "Location" not in resp_headers:
                break
            url, method, data = self._redirect(status, resp_headers, url, method, data, path)
        return RawResponse(status, resp_headers, payload, time.perf_counter() - started)

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        data: bytes | None,
        path: str,
    ) -> tuple[int, Mapping[str, str], bytes]:
        failure: VideoAPIError
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                return resp.status, resp.headers, await resp.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise APITimeoutError(
                f"{method} {path}: connecting to {self._origin} timed out",
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
                f"{method} {path}: cannot connect to {self._origin}: {exc.os_error or exc}",
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

    def _redirect(
        self,
        status: int,
        headers: Mapping[str, str],
        url: URL,
        method: str,
        data: bytes | None,
        path: str,
    ) -> tuple[URL, str, bytes | None]:
        target = url.join(URL(headers["Location"]))
        if target.origin() != self._origin:
            raise APIStatusError(
                f"{method} {path} was redirected (HTTP {status}) to another origin, "
                f"{target.origin()}; the redirect was not followed so the API key stays "
                f"with {self._origin}. Point base_url at the API's real address.",
                status_code=status,
                detail=None,
                headers=headers,
                method=method,
                path=path,
            )
        if status in (301, 302, 303) and method != "GET":
            if status != 303:
                raise APIStatusError(
                    f"{method} {path} was redirected (HTTP {status}); re-sending a "
                    f"{method} elsewhere could act twice, so it was not followed. "
                    "Point base_url at the API's real address.",
                    status_code=status,
                    detail=None,
                    headers=headers,
                    method=method,
                    path=path,
                )
            method, data = "GET", None
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s redirected (HTTP %d) to %s", method, path, status, target.path)
        return target, method, data
