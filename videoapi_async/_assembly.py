"""How a `VideoAPI` is put together: its settings checked, its requester, its pollers.

Also the reads the pollers make, the link to other replicas, and the plumbing of the
views `VideoAPI.with_options` and `VideoAPI.with_raw_response` make. Nothing here is
public; `VideoAPI` composes what these functions build.
"""

from __future__ import annotations

import platform
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Final, ParamSpec, TypeVar

import aiohttp
import attrs

from ._aiohttp import AiohttpTransport
from ._around import voice_preview_path
from ._budget import PRIORITY_POLL, RateLimit, RequestBudget
from ._cadence import PollPolicy
from ._config import (
    DEFAULT_BASE_URL,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_BEARER_TOKEN,
    ENV_TEAM_ID,
    ENV_WORKSPACE_ID,
    RetryPolicy,
    Timeouts,
    env_setting,
)
from ._coordination import Coordination
from ._errors import VideoAPIError
from ._models import Video
from ._outcomes import (
    render_failed,
    render_stalled,
    render_timed_out,
    voice_failed,
    voice_timed_out,
)
from ._poller import Poller
from ._protocol import (
    decode_json,
    parse_video,
    parse_videos,
    parse_voice_preview,
    video_path,
)
from ._requester import RawResponse, Requester, capture_reply, parse_base_url, stop_capture
from ._resources import VoicePreview
from ._shared import SharedPolls
from ._transport import Transport
from ._version import __version__
from .contract import REQUEST_ID_HEADER

__all__ = [
    "PollReads",
    "build_pollers",
    "build_requester",
    "call_for_raw_response",
    "check_settings",
    "create_headers",
    "link_replicas",
    "pick_transport",
    "setting",
    "view_requester",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_USER_AGENT: Final = (
    f"videoapi-async/{__version__} aiohttp/{aiohttp.__version__} python/{platform.python_version()}"
)

# --- settings ---------------------------------------------------------------------------


def header_value(name: str, value: str | None, *, secret: bool = False) -> str | None:
    """Check a setting sent as a header value (None stays None)."""
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


def setting(name: str, value: Any, cls: type[Any]) -> Any:
    """Return a settings object, or the default one for None; refuse another type."""
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
    return value


def check_settings(
    api_key: str | None,
    *,
    base_url: str | None,
    max_response_size: int,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> str:
    """Check the settings a client cannot start without, and return the API key to use."""
    key = api_key if api_key is not None else env_setting(ENV_API_KEY)
    if key is None:
        raise VideoAPIError(
            f"no API key: pass api_key=... to VideoAPI or set the {ENV_API_KEY} "
            "environment variable"
        )
    header_value("api_key", key, secret=True)
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
    if (
        isinstance(max_response_size, bool)
        or not isinstance(max_response_size, int)
        or max_response_size < 1
    ):
        raise ValueError(
            f"max_response_size must be a number of bytes >= 1, got {max_response_size!r}"
        )
    return key


def pick_transport(
    session: aiohttp.ClientSession | None, transport: Transport | None, max_connections: int
) -> tuple[Transport, AiohttpTransport | None]:
    """Return the transport to use, and the one the client owns (opens and closes), if any."""
    if transport is None:
        own = AiohttpTransport(session=session, max_connections=max_connections)
        return own, own
    if session is not None:
        raise TypeError("pass either session= or transport= to VideoAPI, not both")
    if not isinstance(transport, Transport):
        raise TypeError(
            "transport must implement the Transport protocol (an async send(request) "
            f"returning an HTTPResponse), got {type(transport).__name__}"
        )
    return transport, None


def create_headers(workspace_id: str | None, team_id: str | None) -> dict[str, str]:
    """Return the headers sent on creates: ``workspace-id`` and ``team-id``, when set."""
    headers = {
        "workspace-id": header_value(
            "workspace_id",
            workspace_id if workspace_id is not None else env_setting(ENV_WORKSPACE_ID),
        ),
        "team-id": header_value(
            "team_id", team_id if team_id is not None else env_setting(ENV_TEAM_ID)
        ),
    }
    return {k: v for k, v in headers.items() if v is not None}


# --- the parts ----------------------------------------------------------------------------


def build_requester(
    *,
    transport: Transport,
    api_key: str,
    base_url: str | None,
    bearer_token: str | None,
    timeouts: Timeouts | None,
    retry: RetryPolicy,
    rate_limit: RateLimit | None,
    max_connections: int,
    max_response_size: int,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> Requester:
    """Return the client's request path: budget, transport, redaction, decoding, retries."""
    return Requester(
        transport=transport,
        base_url=parse_base_url(base_url or env_setting(ENV_BASE_URL) or DEFAULT_BASE_URL),
        headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
        api_key=api_key,
        bearer_token=header_value(
            "bearer_token",
            bearer_token if bearer_token is not None else env_setting(ENV_BEARER_TOKEN),
            secret=True,
        ),
        budget=RequestBudget(
            setting("rate_limit", rate_limit, RateLimit),
            clock=clock,
            sleep=sleep,
            max_pause=retry.max_retry_after,
            max_in_flight=max_connections,
        ),
        retry=retry,
        timeouts=setting("timeouts", timeouts, Timeouts),
        max_response_size=max_response_size,
        clock=clock,
        sleep=sleep,
    )


@attrs.frozen
class PollReads:
    """The reads the pollers make: one attempt each, at the lowest priority.

    Each returns what it read and what reading it cost in seconds (queueing excluded).
    """

    requester: Requester

    async def video(self, video_id: str) -> tuple[Video, float]:
        """Read one render's state."""
        path = video_path(video_id)
        reply = await self.requester.send(
            "GET",
            path,
            priority=PRIORITY_POLL,
            retry=False,
            decode=lambda status, _, body: parse_video(
                decode_json(body, status=status, method="GET", path=path),
                method="GET",
                path=path,
                status=status,
            ),
        )
        return reply.value, reply.elapsed

    async def videos(self, video_ids: Collection[str]) -> tuple[dict[str, Video], float]:
        """Read many renders at once from the list endpoint, structuring only `video_ids`."""
        wanted = set(video_ids)
        path = "/videos"

        def decode(status: int, headers: Mapping[str, str], body: bytes) -> list[Video]:
            data = decode_json(body, status=status, method="GET", path=path)
            return parse_videos(data, method="GET", path=path, ids=wanted)

        reply = await self.requester.send(
            "GET", path, priority=PRIORITY_POLL, retry=False, decode=decode
        )
        return {video.id: video for video in reply.value}, reply.elapsed

    async def voice_preview(self, task_id: str) -> tuple[VoicePreview, float]:
        """Read one voice preview's state."""
        path = voice_preview_path(task_id)
        reply = await self.requester.send("GET", path, priority=PRIORITY_POLL, retry=False)
        return parse_voice_preview(
            reply.value, method="GET", path=path, status=reply.status
        ), reply.elapsed


def build_pollers(
    reads: PollReads,
    poll: PollPolicy,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> tuple[Poller[Video], Poller[VoicePreview]]:
    """Return the render poller and the voice-preview poller."""
    renders: Poller[Video] = Poller(
        fetch_one=reads.video,
        fetch_many=reads.videos,
        failed=render_failed,
        timed_out=render_timed_out,
        stalled=render_stalled,
        policy=poll,
        clock=clock,
        sleep=sleep,
    )
    voices: Poller[VoicePreview] = Poller(
        fetch_one=reads.voice_preview,
        fetch_many=None,
        failed=voice_failed,
        timed_out=voice_timed_out,
        policy=poll,
        clock=clock,
        sleep=sleep,
    )
    return renders, voices


def link_replicas(
    coordination: Coordination,
    poller: Poller[Video],
    budget: RequestBudget,
    *,
    clock: Callable[[], float],
) -> SharedPolls:
    """Share the render poller's work and the budget's back-off with other replicas."""

    def divide(replicas: int) -> None:
        # The replicas present together poll with the concurrency of one client.
        poller.max_polls = max(1, poller.policy.max_concurrent_polls // replicas)

    shared = SharedPolls(
        coordination,
        feed=lambda video_id, video, webhook: poller.feed(video_id, video, webhook=webhook),
        divide=divide,
        watching=poller.is_watching,
        backoff=lambda retry_after: budget.on_rate_limited(retry_after, relayed=True),
        follow=budget.follow_shared,
        limit=budget.limit,
        clock=clock,
    )
    poller.share = shared
    budget.shared = shared
    return shared


# --- views ------------------------------------------------------------------------------


def view_requester(
    requester: Requester,
    *,
    timeout: Timeouts | float | None,
    retry: RetryPolicy | None,
    rate_limit: RateLimit | None,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
) -> Requester:
    """Return the request path of a `VideoAPI.with_options` view (see its arguments)."""
    timeouts: Timeouts | None
    if timeout is None or isinstance(timeout, Timeouts):
        timeouts = timeout
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        timeouts = attrs.evolve(requester.timeouts, read=timeout)
    else:
        raise TypeError(
            f"timeout must be a Timeouts or a number of seconds, got {type(timeout).__name__}"
        )
    if retry is not None:
        setting("retry", retry, RetryPolicy)
    own_budget = None
    if rate_limit is not None:
        setting("rate_limit", rate_limit, RateLimit)
        own_budget = RequestBudget(
            rate_limit,
            clock=clock,
            sleep=sleep,
            max_pause=(retry or requester.retry).max_retry_after,
        )
    return requester.with_options(timeouts=timeouts, retry=retry, own_budget=own_budget)


async def call_for_raw_response(
    call: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
) -> RawResponse[_T]:
    """Make a call and return its value with the last HTTP answer it received."""
    slot, token = capture_reply()
    try:
        value = await call(*args, **kwargs)
    finally:
        stop_capture(token)
    if not slot:
        raise TypeError(
            f"{getattr(call, '__name__', call)!s} sent no request, so it has no raw "
            "response; pass a method that calls the API, such as api.get_video"
        )
    reply = slot[-1]
    return RawResponse(value, reply.status, reply.headers, reply.headers.get(REQUEST_ID_HEADER))
