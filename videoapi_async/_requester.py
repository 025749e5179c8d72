"""The request path every call takes: budget, transport, key redaction, decoding, retries.

`Requester.send` returns a `Reply`: the decoded value with the status, headers and
timing of the attempt that produced it. Redirects are followed here, only within the
API's origin, so the ``api-key`` header never reaches another host whatever the transport.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, Literal, TypeVar

import attrs
from multidict import MultiMapping
from yarl import URL

from ._budget import PRIORITY_CALL, RateLimit, RequestBudget
from ._config import ENV_BEARER_TOKEN, RetryPolicy, Timeouts
from ._errors import APIStatusError, RateLimitError, VideoAPIError
from ._protocol import decipher_response
from ._redact import RedactedHeaders, Redactor
from ._retry import Sleep, is_retryable, retry_after
from ._transport import HTTPRequest, HTTPResponse, Transport, response_too_large
from .contract import REQUEST_ID_HEADER

__all__ = ["Decode", "Extras", "RawResponse", "Reply", "Requester", "capture_reply", "logger"]

logger: Final = logging.getLogger("videoapi_async")

_T = TypeVar("_T")
Decode = Callable[[int, Mapping[str, str], bytes], Any]
"""Turns a 2xx answer (status, headers, body) into the call's value."""

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 5
_QUOTED: Final = 600


@attrs.frozen
class Reply(Generic[_T]):
    """A call's value and what the answer that carried it looked like.

    Attributes:
        value: The decoded value.
        status: The HTTP status of the answer.
        headers: Its headers (the key redacted).
        elapsed: Seconds from the moment the budget let the last attempt go (queueing
            excluded) to its decoded answer.

    """

    value: _T
    status: int
    headers: MultiMapping[str]
    elapsed: float


@attrs.frozen
class RawResponse(Generic[_T]):
    """A call's parsed value with the HTTP answer that carried it.

    Returned by `VideoAPI.with_raw_response`. For a call that made several requests
    (a create read again, subtitles that first read the video), it describes the last.

    Attributes:
        parsed: What the call returns, e.g. the `Video`.
        status_code: The HTTP status of the answer.
        headers: Its headers, case-insensitive (the API key, if echoed, redacted).
        request_id: The server's id for the request (the ``x-request-id`` header), or
            None; quote it to the vendor's support. (A video's ``req_id`` names the
            request that created it, not this one.)

    """

    parsed: _T
    status_code: int
    headers: MultiMapping[str]
    request_id: str | None


_captured: contextvars.ContextVar[list[Reply[Any]] | None] = contextvars.ContextVar(
    "videoapi_async_captured", default=None
)


def capture_reply() -> tuple[list[Reply[Any]], contextvars.Token[list[Reply[Any]] | None]]:
    """Start recording the last reply of the requests this task makes (see `RawResponse`)."""
    slot: list[Reply[Any]] = []
    return slot, _captured.set(slot)


def stop_capture(token: contextvars.Token[list[Reply[Any]] | None]) -> None:
    """Stop recording (undo `capture_reply`)."""
    _captured.reset(token)


_RESERVED_HEADERS: Final = frozenset(
    {"api-key", "authorization", "content-type", "content-length", "host"}
)


@attrs.frozen
class Extras:
    """What a caller adds to one request: headers, query parameters, body fields."""

    headers: Mapping[str, str] = attrs.field(factory=dict)
    query: Mapping[str, str] = attrs.field(factory=dict)
    body: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def of(
        cls,
        headers: Mapping[str, str] | None,
        query: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> Extras | None:
        """Check the ``extra_*`` arguments of a call; None when none was given."""
        if not (headers or query or body):
            return None
        for name, given in (("extra_headers", headers), ("extra_query", query)):
            if given is not None and not (
                isinstance(given, Mapping)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in given.items())
            ):
                raise TypeError(f"{name} must be a mapping of strings to strings, got {given!r}")
        if body is not None and not (
            isinstance(body, Mapping) and all(isinstance(k, str) for k in body)
        ):
            raise TypeError(f"extra_body must be a mapping with string keys, got {body!r}")
        reserved = sorted(k for k in (headers or {}) if k.lower() in _RESERVED_HEADERS)
        if reserved:
            raise ValueError(
                f"extra_headers may not set {', '.join(reserved)}: the client sets "
                "it (pass api_key= to VideoAPI for the key)"
            )
        for value in (headers or {}).values():
            if any(c in value for c in "\r\n\0"):
                raise ValueError(f"extra_headers value {value!r} holds a line break or NUL")
        return cls(dict(headers or {}), dict(query or {}), dict(body or {}))


def parse_base_url(base_url: str) -> URL:
    """Check and normalise the API's base URL (absolute http(s), no trailing slash)."""
    url = URL(base_url.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        raise VideoAPIError(
            f"base_url must be an absolute http(s) URL such as "
            f"'https://api.makereals.com/api/v1', got {base_url!r}"
        )
    return url


class Requester:
    """Sends API requests through the budget, the transport and the retry policy."""

    def __init__(
        self,
        *,
        transport: Transport,
        base_url: URL,
        headers: Mapping[str, str],
        api_key: str,
        bearer_token: str | None = None,
        budget: RequestBudget,
        retry: RetryPolicy,
        timeouts: Timeouts,
        max_response_size: int,
        clock: Callable[[], float],
        sleep: Sleep,
    ) -> None:
        """Send through `transport` to `base_url`, with `headers` on every request.

        Each request carries one credential: the ``api-key`` header, or, for the calls
        sent with ``auth="bearer"``, ``Authorization: Bearer <bearer_token>``.
        """
        self.transport = transport
        self.base_url = base_url
        self.budget = budget
        self.retry = retry
        self.timeouts = timeouts
        self.max_response_size = max_response_size
        self._base_path = base_url.raw_path.rstrip("/")
        self._prefix = str(base_url.with_path(self._base_path, encoded=True))
        self._origin = base_url.origin()
        self._headers = {**headers, "api-key": api_key}
        self._bearer_headers = (
            None if bearer_token is None else {**headers, "Authorization": f"Bearer {bearer_token}"}
        )
        self._redact = Redactor(*(secret for secret in (api_key, bearer_token) if secret))
        self._clock = clock
        self._sleep = sleep
        self._life = _Life()
        self._own_budget: RequestBudget | None = None

    def with_options(
        self,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        own_budget: RequestBudget | None = None,
    ) -> Requester:
        """Return a requester sharing this one's transport, budget and lifetime.

        `own_budget`, when given, is passed as well as the shared budget, so it can
        only make this requester's requests stricter.
        """
        view = copy.copy(self)
        view.timeouts = timeouts if timeouts is not None else self.timeouts
        view.retry = retry if retry is not None else self.retry
        if own_budget is not None:
            view._own_budget = own_budget
        return view

    @property
    def rate_limit(self) -> RateLimit:
        """The strictest limit this requester's own requests keep."""
        own = self._own_budget
        return own.limit if own is not None else self.budget.limit

    @property
    def closed(self) -> bool:
        """Whether the client (and so every view of it) is closed."""
        return self._life.closed

    def close(self) -> None:
        """Refuse every later request, from this requester and from its views."""
        self._life.closed = True

    def check_usable(self) -> None:
        """Raise `VideoAPIError` if the client is closed or belongs to another event loop."""
        if self._life.closed:
            raise VideoAPIError(
                "this VideoAPI client is closed; create a new one (async with VideoAPI() as api)"
            )
        loop = asyncio.get_running_loop()
        if self._life.loop is None:
            self._life.loop = loop
        elif loop is not self._life.loop:
            raise VideoAPIError(
                "this VideoAPI client was first used in another event loop, and a client "
                "belongs to one loop (its connections and polls live there). Create one "
                "client per loop, e.g. inside each asyncio.run()"
            )

    def url_for(self, path: str) -> URL:
        """Return the absolute URL of an already-encoded API path such as ``/videos/a%2Fb``."""
        return self.base_url.with_path(self._base_path + path, encoded=True)

    async def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotent: bool = True,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        priority: int = PRIORITY_CALL,
        retry: bool = True,
        decode: Decode | None = None,
        auth: Literal["api_key", "bearer"] = "api_key",
        extras: Extras | None = None,
    ) -> Reply[Any]:
        """Send a request under the budget (and the retry policy, if `retry`).

        The value is the decoded JSON body, or what `decode` makes of a 2xx answer.
        Anything else raises the `VideoAPIError` its status or failure means.
        `extras` are the caller's own headers, query parameters and body fields.
        """
        data = None
        sent_headers = self._headers
        if auth == "bearer":
            if self._bearer_headers is None:
                raise VideoAPIError(
                    f"{method} {path} needs a bearer token, not the API key: pass "
                    f"bearer_token=... to VideoAPI or set {ENV_BEARER_TOKEN}"
                )
            sent_headers = self._bearer_headers
        if extras is not None:
            headers = {**(headers or {}), **extras.headers}
            query = {**(query or {}), **extras.query}
            if extras.body:
                body = {**(body or {}), **extras.body}
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            sent_headers = {**sent_headers, "Content-Type": "application/json"}
        if headers:
            sent_headers = {**sent_headers, **headers}
        # Without a query, the prefix and the encoded path are the URL: no URL to build.
        url = str(self.url_for(path).with_query(query)) if query else self._prefix + path
        request = HTTPRequest(
            method, url, path, sent_headers, data, self.timeouts, self.max_response_size
        )
        # Waiting for a slot counts against the same bound as retries.
        started = self._clock()
        deadline = started + self.retry.max_elapsed
        # The first attempt runs on its own: building the retry machinery is left to
        # the rare call whose first attempt fails in a way that may be retried.
        try:
            return await self._attempt(request, priority, deadline, decode)
        except VideoAPIError as exc:
            if not (
                retry
                and self.retry.retries
                and is_retryable(exc, idempotent=idempotent, policy=self.retry)
            ):
                raise
            failure = exc
        return await retry_after(
            failure,
            functools.partial(self._attempt, request, priority, deadline, decode),
            idempotent=idempotent,
            policy=self.retry,
            sleep=self._sleep,
            clock=self._clock,
            started=started,
            on_retry=lambda exc, wait: _log_retry(method, path, exc, wait),
        )

    async def _attempt(
        self, request: HTTPRequest, priority: int, deadline: float, decode: Decode | None
    ) -> Reply[Any]:
        """Make one attempt: take a slot, exchange, redact, decode."""
        life = self._life
        if life.closed or life.loop is not asyncio.get_running_loop():
            self.check_usable()
        method, path = request.method, request.path
        budget, own_budget = self.budget, self._own_budget
        if own_budget is not None:
            await own_budget.acquire(priority, deadline=deadline, method=method, path=path)
        try:
            ticket = budget.try_acquire()
            if ticket is None:
                ticket = await budget.acquire(priority, deadline=deadline, method=method, path=path)
            try:
                started = time.perf_counter()
                response = await self._exchange(request)
                if response.status in _REDIRECTS:
                    response = await self._follow(request, response)
            finally:
                budget.release()
        finally:
            if own_budget is not None:
                own_budget.release()
        # A server echoing a credential, in any form, must not expose it.
        redact = self._redact
        payload = redact.bytes(response.body)
        headers = RedactedHeaders(response.headers, redact)
        status = response.status
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = time.perf_counter() - started
            _log_exchange(method, path, status, elapsed, headers, payload)
        try:
            if decode is not None and 200 <= status < 300:
                value = decode(status, headers, payload)
            else:
                value = decipher_response(status, headers, payload, method=method, path=path)
        except RateLimitError as exc:
            budget.on_rate_limited(exc.retry_after, ticket)
            raise
        reply = Reply(value, status, headers, time.perf_counter() - started)
        captured = _captured.get()
        if captured is not None:
            captured[:] = [reply]  # only the last: a poll task may inherit the slot
        return reply

    async def _follow(self, request: HTTPRequest, response: HTTPResponse) -> HTTPResponse:
        """Follow the redirects `response` starts, as long as they stay within the origin."""
        for _ in range(_MAX_REDIRECTS):
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or location is None:
                return response
            request = self._redirect(request, response, location)
            response = await self._exchange(request)
        return response

    async def _exchange(self, request: HTTPRequest) -> HTTPResponse:
        """Send one request: a transport error loses the key, an oversized answer is refused."""
        try:
            response = await self.transport.send(request)
        except VideoAPIError as exc:
            self._scrub(exc)
            raise
        if len(response.body) > request.max_response_size:
            raise response_too_large(request, response.status)
        return response

    def _scrub(self, exc: VideoAPIError) -> None:
        """Blank the key out of a transport error, and cut off causes that quote it."""
        message = self._redact.text(exc.message)
        if len(message) > _QUOTED:  # a server's overlong line, quoted by aiohttp
            message = message[:_QUOTED] + "...)"
        exc.message = message
        exc.args = (message,)
        link = exc.__cause__ or exc.__context__
        while link is not None:
            if self._redact.found_in(f"{link!s} {link!r} {link.args!r}"):
                exc.__cause__ = exc.__context__ = None
                exc.__suppress_context__ = True
                return
            link = link.__cause__ or link.__context__

    def _redirect(self, request: HTTPRequest, response: HTTPResponse, location: str) -> HTTPRequest:
        method, path, status = request.method, request.path, response.status
        target = URL(request.url, encoded=True).join(URL(location))
        if target.origin() != self._origin:
            raise APIStatusError(
                f"{method} {path} was redirected (HTTP {status}) to another origin, "
                f"{target.origin()}; the redirect was not followed so the API key stays "
                f"with {self._origin}. Point base_url at the API's real address.",
                status_code=status,
                detail=None,
                headers=response.headers,
                method=method,
                path=path,
            )
        body = request.body
        if status in (301, 302, 303) and method != "GET":
            if status != 303:
                raise APIStatusError(
                    f"{method} {path} was redirected (HTTP {status}); re-sending a "
                    f"{method} elsewhere could act twice, so it was not followed. "
                    "Point base_url at the API's real address.",
                    status_code=status,
                    detail=None,
                    headers=response.headers,
                    method=method,
                    path=path,
                )
            method, body = "GET", None
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s redirected (HTTP %d) to %s", method, path, status, target.path)
        return attrs.evolve(request, method=method, url=str(target), body=body)


class _Life:
    """What a client and all its views share: closed or not, and the loop it lives in."""

    def __init__(self) -> None:
        self.closed = False
        self.loop: asyncio.AbstractEventLoop | None = None


def _log_exchange(
    method: str, path: str, status: int, elapsed: float, headers: Mapping[str, str], body: bytes
) -> None:
    req_id = headers.get(REQUEST_ID_HEADER)
    if req_id is None and body.startswith(b"{") and b'"req_id"' in body:
        marker = body.find(b'"req_id"')
        start = body.find(b'"', body.find(b":", marker) + 1)
        end = body.find(b'"', start + 1)
        if start != -1 and end != -1:
            req_id = body[start + 1 : end].decode("utf-8", "replace")
    logger.debug("%s %s -> %d in %.1f ms (req_id=%s)", method, path, status, elapsed * 1000, req_id)


def _log_retry(method: str, path: str, exc: BaseException, wait: float) -> None:
    logger.info(
        "%s %s failed (%s: %s); retrying in %.2f s", method, path, type(exc).__name__, exc, wait
    )
