"""The transport seam: the `Transport` protocol, its request and response, and `MockTransport`.

A transport makes one HTTP exchange and nothing more: no retries, no redirects, no
decoding. Everything above it (the request budget, key redaction, redirects within the
API's origin, decoding, retries) is the client's and works the same over any transport.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ._config import DEFAULT_MAX_RESPONSE_SIZE, Timeouts
from ._errors import ResponseTooLargeError

__all__ = ["HTTPRequest", "HTTPResponse", "MockTransport", "Transport", "response_too_large"]


def _headers(value: Mapping[str, str] | None) -> CIMultiDictProxy[str]:
    if isinstance(value, CIMultiDictProxy):
        return value
    return CIMultiDictProxy(CIMultiDict(value or {}))


@attrs.frozen
class HTTPRequest:
    """One request, ready to send.

    Attributes:
        method: The HTTP method, e.g. ``"GET"``.
        url: The absolute URL, query included, already percent-encoded.
        path: The same request's path relative to the API's base URL (for messages).
        headers: The headers to send, the ``api-key`` among them.
        body: The encoded body, or None.
        timeouts: The connect and read timeouts for this request.
        max_response_size: The most bytes of (decompressed) body to read; a transport
            stops reading past it and raises `response_too_large`'s error.

    """

    method: str
    url: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=False)  # holds the API key
    body: bytes | None = attrs.field(default=None, repr=False)
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE

    def json(self) -> Any:
        """Decode the body as JSON (None when there is none); handy in a mock handler."""
        return None if self.body is None else json.loads(self.body)


@attrs.frozen
class HTTPResponse:
    """One response, read in full.

    Attributes:
        status: The HTTP status code.
        headers: The response headers (case-insensitive).
        body: The raw body, decompressed.

    """

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(factory=dict, converter=_headers)
    body: bytes = b""

    @classmethod
    def from_json(
        cls, data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> HTTPResponse:
        """Return a response whose body is `data` encoded as JSON."""
        return cls(
            status,
            {"Content-Type": "application/json", **(headers or {})},
            json.dumps(data).encode(),
        )


def response_too_large(request: HTTPRequest, status: int) -> ResponseTooLargeError:
    """Return the error for a body that went past ``request.max_response_size``."""
    limit = request.max_response_size
    return ResponseTooLargeError(
        f"{request.method} {request.path} answered HTTP {status} with a body longer than "
        f"{limit:,} bytes (decompressed), so reading stopped there. If answers this large "
        "are expected, raise VideoAPI(max_response_size=...)",
        limit=limit,
        status_code=status,
        method=request.method,
        path=request.path,
        body_excerpt="",
    )


@runtime_checkable
class Transport(Protocol):
    """What `VideoAPI(transport=...)` accepts: anything that sends one request.

    ``send`` makes a single exchange (it must not follow redirects or retry) and
    returns the whole response, whatever its status, reading no more than
    ``request.max_response_size`` bytes of body (raise `response_too_large` past it;
    the client checks the length again). When the exchange fails it raises
    `APIConnectionError` (or `APITimeoutError`), with ``request_sent=False`` only when
    the request certainly never left this machine: that is what lets the client retry a
    create without risking a second, billed render.

    The client never closes a transport it was given; its owner does.
    """

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        """Send `request` and return its response."""
        ...


Handler = Callable[[HTTPRequest], "HTTPResponse | Awaitable[HTTPResponse]"]


class MockTransport:
    """A transport that answers every request with a function of yours; no network.

    ::

        def handler(request: HTTPRequest) -> HTTPResponse:
            return HTTPResponse.from_json({"id": "v1", ...}, status=201)

        async with VideoAPI("key", transport=MockTransport(handler)) as api:
            ...

    The handler may be a plain function or a coroutine function, and may raise
    `APIConnectionError` to play a broken connection.
    """

    def __init__(self, handler: Handler) -> None:
        """Answer each request with ``handler(request)``."""
        if not callable(handler):
            raise TypeError(
                f"MockTransport takes a function from HTTPRequest to HTTPResponse, "
                f"got {type(handler).__name__}"
            )
        self._handler = handler

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        """Return what the handler makes of `request`."""
        response = self._handler(request)
        if inspect.isawaitable(response):
            response = await response
        if not isinstance(response, HTTPResponse):
            raise TypeError(
                f"the MockTransport handler must return an HTTPResponse, got "
                f"{type(response).__name__}"
            )
        return response
