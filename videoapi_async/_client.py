"""`VideoAPI`: the async session object users hold. Thin: it composes the other modules."""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import aiohttp

from ._budget import PRIORITY_CALL, PRIORITY_CREATE, PRIORITY_POLL, RateLimit, RequestBudget
from ._bulk import CreateResult, create_many
from ._cadence import PollPolicy
from ._config import (
    DEFAULT_BASE_URL,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_TEAM_ID,
    ENV_WORKSPACE_ID,
    RetryPolicy,
    Timeouts,
    env_setting,
)
from ._errors import (
    APIConnectionError,
    CreateOutcomeUnknownError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    VideoAPIError,
)
from ._models import CreateVideoRequest, SourceDraftVideoRequest, Video, VideoMetadata
from ._poller import Poller
from ._protocol import (
    build_create_body,
    decipher_response,
    parse_metadata,
    parse_video,
    parse_videos,
    video_path,
)
from ._retry import retry_call
from ._transport import Transport, logger
from ._version import __version__
from ._waits import BatchWait, RenderWait

__all__ = ["VideoAPI"]

_USER_AGENT: Final = (
    f"videoapi-async/{__version__} aiohttp/{aiohttp.__version__} python/{platform.python_version()}"
)
_REDACTED: Final = b"[redacted]"
_FLAT_FIELDS: Final = frozenset(
    {"name", "source_draft_id", "recipe_id", "folder_id", "palette_id", "character_id", "voice_id"}
)


def _check_header_value(name: str, value: str | None, *, secret: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip() or any(c in value for c in "\r\n\0") or value != value.strip():
        shown = "" if secret else f" {value!r}"
        raise VideoAPIError(
            f"{name}{shown} is not usable as an HTTP header value: it is blank, or has "
            "leading/trailing spaces or line breaks"
        )
    return value


class VideoAPI:
    """An async session with the Video API.

    Use it as an async context manager, which opens and closes everything it created::

        async with VideoAPI() as api:  # the key comes from VIDEOAPI_API_KEY
            video = await api.create_video(source_draft_id="...", name="Q3 update")

    Args:
        api_key: The API key. Defaults to the ``VIDEOAPI_API_KEY`` environment variable;
            with neither, `VideoAPIError` is raised before any request.
        base_url: The API's base URL. Defaults to ``VIDEOAPI_BASE_URL``, then
            ``https://api.makereals.com/api/v1``. Point it at a sandbox or proxy.
        workspace_id: Sent as the ``workspace-id`` header on creates. Defaults to
            ``VIDEOAPI_WORKSPACE_ID``; not sent when unset.
        team_id: Sent as the ``team-id`` header on creates. Defaults to
            ``VIDEOAPI_TEAM_ID``; not sent when unset.
        session: An `aiohttp.ClientSession` to use. The client never closes a session it
            was given. By default it creates (and later closes) its own.
        timeouts: Per-request connect and read timeouts (see `Timeouts`).
        retry: How failed requests are retried (see `RetryPolicy`);
            ``RetryPolicy.disabled()`` sends every request exactly once.
        poll: How renders are polled while waiting (see `PollPolicy`).
        rate_limit: The client-wide request budget shared by creates, polls and
            direct calls (see `RateLimit`); creates go first.
        max_connections: The most connections open at once, when the client creates its
            own session. Requests beyond it queue (without their timeouts running).
        clock: A monotonic clock in seconds; injectable for tests.
        sleep: The coroutine used to wait; injectable for tests.

    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        workspace_id: str | None = None,
        team_id: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        rate_limit: RateLimit | None = None,
        max_connections: int = 32,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        key = api_key if api_key is not None else env_setting(ENV_API_KEY)
        if key is None:
            raise VideoAPIError(
                f"no API key: pass api_key=... to VideoAPI or set the {ENV_API_KEY} "
                "environment variable"
            )
        _check_header_value("api_key", key, secret=True)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        for name, function in (("clock", clock), ("sleep", sleep)):
            if not callable(function):
                raise TypeError(
                    f"{name} must be a function (like time.monotonic / asyncio.sleep), "
                    f"got {type(function).__name__}"
                )
        if base_url is not None and not isinstance(base_url, str):
            raise TypeError(
                f"base_url must be a string such as 'https://api.makereals.com/api/v1', "
                f"got {type(base_url).__name__}"
            )
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be an integer >= 1, got {max_connections!r}")
        timeouts = Timeouts() if timeouts is None else timeouts
        if not isinstance(timeouts, Timeouts):
            raise TypeError(f"timeouts must be a Timeouts, got {type(timeouts).__name__}")
        retry = RetryPolicy() if retry is None else retry
        if not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        poll = PollPolicy() if poll is None else poll
        if not isinstance(poll, PollPolicy):
            raise TypeError(f"poll must be a PollPolicy, got {type(poll).__name__}")
        rate_limit = RateLimit() if rate_limit is None else rate_limit
        if not isinstance(rate_limit, RateLimit):
            raise TypeError(f"rate_limit must be a RateLimit, got {type(rate_limit).__name__}")
        self._key_bytes = key.encode()
        self._workspace_id = _check_header_value(
            "workspace_id",
            workspace_id if workspace_id is not None else env_setting(ENV_WORKSPACE_ID),
        )
        self._team_id = _check_header_value(
            "team_id", team_id if team_id is not None else env_setting(ENV_TEAM_ID)
        )
        self._create_headers: dict[str, str] = {}
        if self._workspace_id is not None:
            self._create_headers["workspace-id"] = self._workspace_id
        if self._team_id is not None:
            self._create_headers["team-id"] = self._team_id
        self._retry = retry
        self._timeouts = timeouts
        self._clock = clock
        self._sleep = sleep
        self._budget = RequestBudget(rate_limit, clock=clock, sleep=sleep)
        self._poller = Poller(
            fetch_one=self._poll_video,
            fetch_many=self._poll_list,
            policy=poll,
            clock=clock,
            sleep=sleep,
        )
        self._transport = Transport(
            base_url=base_url or env_setting(ENV_BASE_URL) or DEFAULT_BASE_URL,
            headers={
                "api-key": key,
                "Accept": "application/json",
                "User-Agent": _USER_AGENT,
            },
            timeouts=timeouts,
            session=session,
            max_connections=max_connections,
        )

    def __repr__(self) -> str:
        return f"<VideoAPI base_url={self.base_url!r}{' closed' if self.closed else ''}>"

    @property
    def base_url(self) -> str:
        """The API's base URL in use."""
        return self._transport.base_url

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._transport.closed

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed requests are retried."""
        return self._retry

    @property
    def timeouts(self) -> Timeouts:
        """Per-request timeouts."""
        return self._timeouts

    @property
    def poll_policy(self) -> PollPolicy:
        """How renders are polled while waiting."""
        return self._poller.policy

    @property
    def rate_limit(self) -> RateLimit:
        """The client-wide request budget."""
        return self._budget.limit

    @property
    def stats(self) -> dict[str, int]:
        """Counters: status polls and list polls sent, 429 answers met, videos watched."""
        return {
            "polls": self._poller.polls,
            "list_polls": self._poller.list_polls,
            "rate_limited": self._budget.rate_limited,
            "watching": self._poller.watched,
        }

    async def __aenter__(self) -> VideoAPI:
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End all waits and close the connections this client opened.

        Waits still running end with `VideoAPIError` (the renders themselves go on).
        Safe to call more than once.
        """
        await self._poller.aclose()
        await self._transport.aclose()

    # --- the four endpoints ------------------------------------------------------------

    async def list_videos(self) -> list[Video]:
        """Return every video of the account (the API has no paging).

        Raises:
            VideoAPIError: Or one of its subclasses, when the request fails.

        """
        path = "/videos"
        data = await self._request("GET", path)
        return parse_videos(data, method="GET", path=path)

    async def get_video(self, video_id: str) -> Video:
        """Return one video and the current state of its render.

        Raises:
            NotFoundError: No video has this id.
            VideoAPIError: Or one of its subclasses, when the request fails.

        """
        path = video_path(video_id)
        data = await self._request("GET", path)
        return parse_video(data, method="GET", path=path)

    async def get_video_metadata(self, video_id: str) -> VideoMetadata:
        """Return the timing (duration, scenes) of a video.

        Raises:
            NotFoundError: No video has this id.
            VideoAPIError: Or one of its subclasses, when the request fails.

        """
        path = video_path(video_id, "/metadata")
        data = await self._request("GET", path)
        return parse_metadata(data, method="GET", path=path)

    async def create_video(
        self,
        request: CreateVideoRequest | None = None,
        /,
        *,
        name: str | None = None,
        source_draft_id: str | None = None,
        recipe_id: str | None = None,
        folder_id: str | None = None,
        palette_id: str | None = None,
        character_id: str | None = None,
        voice_id: str | None = None,
    ) -> Video:
        """Start a render and return the new video (its status is usually ``not_started``).

        Either pass keyword arguments (the reference page's form: render an existing
        project, ``source_draft_id``, or a recipe, ``recipe_id``), or one request object
        for the other forms: `OverrideVideoRequest`, `NewVideoRequest`,
        `WorkflowVideoRequest`. Only the fields you set are sent.

        A create is re-sent only when the server certainly did not act on it (HTTP 429,
        or a connection that failed before sending); the API has no idempotency key.

        Raises:
            ValueError: A field breaks a documented rule (checked before sending).
            TypeError: Both a request object and keyword arguments were given, or a
                field has the wrong type.
            CreateOutcomeUnknownError: The request was sent but its answer was lost; the
                video may exist. Look for it before creating it again.
            RequestValidationError: The server rejected the request; see ``.errors``.
            VideoAPIError: Or another subclass, when the request fails.

        """
        fields = {
            "name": name,
            "source_draft_id": source_draft_id,
            "recipe_id": recipe_id,
            "folder_id": folder_id,
            "palette_id": palette_id,
            "character_id": character_id,
            "voice_id": voice_id,
        }
        if request is None:
            request = SourceDraftVideoRequest(**fields)
        elif any(value is not None for value in fields.values()):
            given = ", ".join(k for k, v in fields.items() if v is not None)
            raise TypeError(
                f"pass either a request object or keyword arguments to create_video, not "
                f"both (got a {type(request).__name__} and {given})"
            )
        body = build_create_body(request)
        path = "/videos"
        try:
            data = await self._request(
                "POST",
                path,
                body=body,
                idempotent=False,
                extra_headers=self._create_headers,
                priority=PRIORITY_CREATE,
            )
            return parse_video(data, method="POST", path=path, status=201)
        except (APIConnectionError, ServerError, ResponseDecodeError) as exc:
            if isinstance(exc, APIConnectionError) and not exc.request_sent:
                raise
            raise _outcome_unknown(exc, body) from exc

    # --- plumbing ----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        idempotent: bool = True,
        extra_headers: dict[str, str] | None = None,
        priority: int = PRIORITY_CALL,
        retry: bool = True,
        decode: Callable[[int, Mapping[str, str], bytes], Any] | None = None,
    ) -> Any:
        """Send a request under the budget (and the retry policy, if `retry`).

        Returns the decoded JSON body, or what `decode` makes of a 2xx answer.
        """

        async def attempt() -> Any:
            await self._budget.acquire(priority)
            raw = await self._transport.send(method, path, body=body, extra_headers=extra_headers)
            payload = raw.body
            if self._key_bytes in payload:  # a server echoing the key must not expose it
                payload = payload.replace(self._key_bytes, _REDACTED)
            if logger.isEnabledFor(logging.DEBUG):
                _log_exchange(method, path, raw.status, raw.elapsed, raw.headers, payload)
            if decode is not None and 200 <= raw.status < 300:
                return decode(raw.status, raw.headers, payload)
            try:
                return decipher_response(raw.status, raw.headers, payload, method=method, path=path)
            except RateLimitError as exc:
                self._budget.on_rate_limited(exc.retry_after)
                raise

        if not retry:
            return await attempt()
        return await retry_call(
            attempt,
            idempotent=idempotent,
            policy=self._retry,
            sleep=self._sleep,
            clock=self._clock,
            on_retry=lambda exc, wait: _log_retry(method, path, exc, wait),
        )

    # --- waiting -----------------------------------------------------------------------

    def wait_for_render(self, video: str | Video, *, timeout: float | None = None) -> RenderWait:
        """Wait for a render to finish; await it, or iterate it for progress updates.

        ``video = await api.wait_for_render(video_id)`` returns the finished `Video`
        (status ``ready`` or ``published``). ``async for update in
        api.wait_for_render(video_id)`` yields a `RenderUpdate` whenever the status or
        progress changes, and ends after the final one.

        All waits on one video share a single poll loop, paced by `PollPolicy` (fast at
        first, then near the predicted finish) and by the client's request budget.

        Args:
            video: The video's id, or a `Video` (its state is used as the first reading,
                which saves a poll).
            timeout: The most seconds to wait overall (not per request); None waits
                until the render ends.

        Raises:
            RenderFailedError: (await) The render ended failed, cancelled or stopped.
            RenderTimeoutError: The deadline came first; ``.video`` is the last state.
            VideoAPIError: Polling failed for good (for example `NotFoundError`), or
                the client was closed.
        """
        return RenderWait(self._poller, video, timeout=timeout, clock=self._clock)

    def wait_for_renders(
        self, videos: Iterable[str | Video], *, timeout: float | None = None
    ) -> BatchWait:
        """Wait for many renders; await it for every outcome, or iterate as they finish.

        ``outcomes = await api.wait_for_renders(ids)`` returns one `RenderOutcome` per
        id, in input order; a failure or timeout of one never aborts the others.
        ``async for update in api.wait_for_renders(ids)`` yields a `BatchUpdate` as
        each render finishes, with running counts.

        Polls go through one scheduler, a bounded connection pool and the request
        budget; with many renders in flight the list endpoint may read them all at once
        (see `PollPolicy.list_polling`).

        Args:
            videos: Video ids, or `Video` objects (their state saves a first poll).
            timeout: The most seconds to wait for the whole batch; renders not done by
                then end with `RenderTimeoutError` in their outcome.
        """
        return BatchWait(self._poller, videos, timeout=timeout)

    def render(
        self,
        request: CreateVideoRequest | None = None,
        /,
        *,
        timeout: float | None = None,
        **fields: str | None,
    ) -> RenderWait:
        """Create a video and wait for its render, in one step.

        Takes the same arguments as `create_video` plus ``timeout``, and returns the
        same two-way object as `wait_for_render`: await it for the finished `Video`,
        or iterate it for progress. The create is sent once, on first use, however
        many times the object is awaited or iterated.
        """
        unknown = set(fields) - _FLAT_FIELDS
        if unknown:
            raise TypeError(
                f"render() got unexpected keyword arguments: {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(sorted(_FLAT_FIELDS))} and timeout"
            )
        if request is None:
            request = SourceDraftVideoRequest(**fields)
        elif any(value is not None for value in fields.values()):
            raise TypeError("pass either a request object or keyword arguments to render, not both")
        build_create_body(request)  # fail now, not on first await

        async def create() -> Video:
            return await self.create_video(request)

        return RenderWait(self._poller, create, timeout=timeout, clock=self._clock)

    async def create_videos(
        self,
        requests: Sequence[CreateVideoRequest],
        *,
        concurrency: int = 4,
        on_result: Callable[[CreateResult], None] | None = None,
    ) -> list[CreateResult]:
        """Create many videos, at most `concurrency` at a time; one result per request.

        Every request is checked before anything is sent. A failed create does not
        stop the others; its `CreateResult` carries the error. Creates go ahead of
        status polls in the client's request budget.

        Args:
            requests: The create requests (any of the create forms).
            concurrency: The most creates in flight at once.
            on_result: Called with each result as soon as it is known (for progress
                display or a journal).

        Raises:
            ValueError: A request breaks a documented rule; the message names it.
            TypeError: An item is not a create request.
        """
        if not isinstance(requests, (list, tuple)):
            raise TypeError(
                f"create_videos takes a list of create requests, got {type(requests).__name__}"
            )
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        for index, request in enumerate(requests):
            try:
                build_create_body(request)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"requests[{index}]: {exc}") from exc
        return await create_many(
            self.create_video, requests, concurrency=concurrency, on_result=on_result
        )

    async def _poll_video(self, video_id: str) -> Video:
        """Read one render's state for the poller: one attempt, lowest priority."""
        path = video_path(video_id)
        data = await self._request("GET", path, priority=PRIORITY_POLL, retry=False)
        return parse_video(data, method="GET", path=path)

    async def _poll_list(self, video_ids: Collection[str]) -> tuple[dict[str, Video], int]:
        """Read many renders at once from the list endpoint, structuring only `video_ids`."""
        wanted = set(video_ids)
        path = "/videos"

        def decode(status: int, headers: Mapping[str, str], body: bytes) -> Any:
            try:
                data = json.loads(body)
            except ValueError:
                return decipher_response(status, headers, body, method="GET", path=path)
            if not isinstance(data, list):
                return parse_videos(data, method="GET", path=path)
            mine = [v for v in data if isinstance(v, dict) and v.get("id") in wanted]
            return parse_videos(mine, method="GET", path=path), len(data)

        videos, size = await self._request(
            "GET", path, priority=PRIORITY_POLL, retry=False, decode=decode
        )
        return {video.id: video for video in videos}, size


def _outcome_unknown(exc: VideoAPIError, body: dict[str, Any]) -> CreateOutcomeUnknownError:
    if isinstance(exc, ResponseDecodeError):
        what = (
            f"the server accepted the create (HTTP {exc.status_code}) but its answer could "
            "not be read, so the new video's id is unknown"
        )
    elif isinstance(exc, ServerError):
        what = f"the server failed with HTTP {exc.status_code} after receiving the create"
    else:
        what = "the connection was lost after the create was sent"
    hints = [f"{k}={body[k]!r}" for k in ("correlation_id", "name") if body.get(k)]
    find = f" (look for {' or '.join(hints)})" if hints else ""
    return CreateOutcomeUnknownError(
        f"create_video: {what}. The video may exist and be rendering (and billed); find "
        f"it with list_videos(){find} before creating it again. Cause: {exc}",
        body=body,
        cause=exc,
    )


def _log_exchange(
    method: str, path: str, status: int, elapsed: float, headers: Any, body: bytes
) -> None:
    req_id = headers.get("x-request-id")
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
