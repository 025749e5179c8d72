"""The plumbing under `VideoAPI`: settings, the request path, and the pollers' reads.

`Session` checks the settings, owns the transport, the request budget and the two
pollers (renders and voice previews), and sends every request through one path:
budget, transport, key redaction, logging, deciphering, retries.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp

from ._budget import PRIORITY_CALL, PRIORITY_POLL, RateLimit, RequestBudget
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
    RateLimitError,
    RenderFailedError,
    RenderTimeoutError,
    VideoAPIError,
    VoicePreviewFailedError,
    VoicePreviewTimeoutError,
)
from ._models import Video
from ._poller import Poller
from ._protocol import (
    decipher_response,
    decode_json,
    encode_id,
    parse_video,
    parse_videos,
    parse_voice_preview,
    video_path,
)
from ._resources import VoicePreview
from ._retry import retry_call
from ._transport import Transport, logger
from ._version import __version__

__all__ = ["Session"]

_S = TypeVar("_S", bound="Session")
_USER_AGENT: Final = (
    f"videoapi-async/{__version__} aiohttp/{aiohttp.__version__} python/{platform.python_version()}"
)
_REDACTED: Final = b"[redacted]"


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


class Session:
    """Settings, transport, budget and pollers shared by every `VideoAPI` method."""

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
        self._poller: Poller[Video] = Poller(
            fetch_one=self._poll_video,
            fetch_many=self._poll_list,
            failed=_render_failed,
            timed_out=_render_timed_out,
            policy=poll,
            clock=clock,
            sleep=sleep,
        )
        self._voice_poller: Poller[VoicePreview] = Poller(
            fetch_one=self._poll_voice_preview,
            fetch_many=None,
            failed=_voice_failed,
            timed_out=_voice_timed_out,
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
        return (
            f"<{type(self).__name__} base_url={self.base_url!r}{' closed' if self.closed else ''}>"
        )

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

    async def __aenter__(self: _S) -> _S:
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
        await self._voice_poller.aclose()
        await self._transport.aclose()

    # --- the request path ---------------------------------------------------------------

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
        query: Mapping[str, str] | None = None,
        cost: list[float] | None = None,
    ) -> Any:
        """Send a request under the budget (and the retry policy, if `retry`).

        Returns the decoded JSON body, or what `decode` makes of a 2xx answer. When
        `cost` is given, the seconds the last attempt took from the moment the budget
        let it go (queueing excluded) to its decoded answer are appended to it.
        """

        async def attempt() -> Any:
            await self._budget.acquire(priority)
            if cost is not None:
                cost.append(time.perf_counter())
            raw = await self._transport.send(
                method, path, body=body, extra_headers=extra_headers, query=query
            )
            payload = raw.body
            if self._key_bytes in payload:  # a server echoing the key must not expose it
                payload = payload.replace(self._key_bytes, _REDACTED)
            if logger.isEnabledFor(logging.DEBUG):
                _log_exchange(method, path, raw.status, raw.elapsed, raw.headers, payload)
            try:
                if decode is not None and 200 <= raw.status < 300:
                    return decode(raw.status, raw.headers, payload)
                return decipher_response(raw.status, raw.headers, payload, method=method, path=path)
            except RateLimitError as exc:
                self._budget.on_rate_limited(exc.retry_after)
                raise
            finally:
                if cost is not None:
                    cost[-1] = time.perf_counter() - cost[-1]

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

    # --- reads for the pollers: one attempt each, lowest priority -----------------------

    async def _poll_video(self, video_id: str) -> tuple[Video, float]:
        """Read one render's state for the poller: one attempt, lowest priority.

        Returns the video and what reading it cost, in seconds (queueing excluded).
        """
        path = video_path(video_id)
        cost: list[float] = []
        video = await self._request(
            "GET",
            path,
            priority=PRIORITY_POLL,
            retry=False,
            cost=cost,
            decode=lambda _, __, body: parse_video(
                decode_json(body, status=200, method="GET", path=path), method="GET", path=path
            ),
        )
        return video, cost[-1]

    async def _poll_list(self, video_ids: Collection[str]) -> tuple[dict[str, Video], float]:
        """Read many renders at once from the list endpoint, structuring only `video_ids`.

        Returns the videos found and the call's cost in seconds.
        """
        wanted = set(video_ids)
        path = "/videos"

        def decode(status: int, headers: Mapping[str, str], body: bytes) -> Any:
            data = decode_json(body, status=status, method="GET", path=path)
            return parse_videos(data, method="GET", path=path, ids=wanted)

        cost: list[float] = []
        videos = await self._request(
            "GET", path, priority=PRIORITY_POLL, retry=False, decode=decode, cost=cost
        )
        return {video.id: video for video in videos}, cost[-1]

    async def _poll_voice_preview(self, task_id: str) -> tuple[VoicePreview, float]:
        """Read one voice preview's state for its poller, and what that cost."""
        path = f"/voice-preview/{encode_id(task_id, 'task_id')}"
        cost: list[float] = []
        data = await self._request("GET", path, priority=PRIORITY_POLL, retry=False, cost=cost)
        return parse_voice_preview(data, method="GET", path=path), cost[-1]


def _render_failed(video: Video) -> VideoAPIError:
    return RenderFailedError(
        f"render of video {video.id!r} ended {video.status.value}", video=video
    )


def _render_timed_out(video_id: str, last: Video | None, timeout: float) -> VideoAPIError:
    state = f"; last seen {last.status.value}" if last is not None else ""
    if last is not None and last.progress is not None:
        state += f" at {last.progress} %"
    return RenderTimeoutError(
        f"gave up waiting for video {video_id!r} after {timeout:g} s{state}. The render may "
        "still finish: wait again, or check it with get_video()",
        video_id=video_id,
        video=last,
        timeout=timeout,
    )


def _voice_failed(preview: VoicePreview) -> VideoAPIError:
    return VoicePreviewFailedError(f"voice preview {preview.id!r} failed", preview=preview)


def _voice_timed_out(task_id: str, last: VoicePreview | None, timeout: float) -> VideoAPIError:
    state = f"; last seen {last.status.value}" if last is not None else ""
    return VoicePreviewTimeoutError(
        f"gave up waiting for voice preview {task_id!r} after {timeout:g} s{state}. It may "
        "still finish: check it with get_voice_preview()",
        video_id=task_id,
        video=None,
        preview=last,
        timeout=timeout,
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
