"""`VideoAPI`, the object users hold: one call per endpoint, and waits on renders.

It composes its parts rather than inheriting them: the settings, a `Requester` (the
request path), the render poller and the voice-preview poller, built in `_assembly`. The
steps of a create are in `_creates`, those of subtitles and voice previews in `_around`.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, ParamSpec, Protocol, TypeVar

import aiohttp

from . import _around
from ._assembly import (
    PollReads,
    build_pollers,
    build_requester,
    call_for_raw_response,
    check_settings,
    create_headers,
    link_replicas,
    pick_transport,
    setting,
    view_requester,
)
from ._budget import PRIORITY_CREATE, RateLimit
from ._bulk import CreateResult, create_many
from ._cadence import PollPolicy
from ._config import (
    DEFAULT_MAX_RESPONSE_SIZE,
    RetryPolicy,
    Timeouts,
)
from ._coordination import Coordination
from ._creates import answer_ids, check_bulk, check_render_fields, create_body, create_request
from ._errors import (
    APIConnectionError,
    CreateOutcomeUnknownError,
    NotFoundError,
    ResponseDecodeError,
    ServerError,
    VideoAPIError,
)
from ._models import (
    CreateVideoRequest,
    Video,
    VideoMetadata,
)
from ._outcomes import (
    outcome_unknown,
)
from ._protocol import (
    parse_metadata,
    parse_usage,
    parse_video,
    parse_videos,
    video_path,
)
from ._recovery import (
    LOST_CREATE_GRACE,
    lost_create_markers,
    match_lost_creates,
    unproven_absence,
)
from ._requester import (
    Extras,
    RawResponse,
)
from ._requests import (
    FLAT_CREATE_FIELDS,
    build_create_body,
    build_subtitles_body,
    build_usage_query,
)
from ._resources import Subtitles, UsagePeriod, VoicePreview
from ._shared import SharedPolls
from ._transport import Transport
from ._videolist import VideoList
from ._waits import BatchWait, RenderWait
from ._webhook_admin import CreateExample, Webhooks, get_create_example
from .validators import check_seconds

__all__ = ["VideoAPI"]

FLAT_FIELDS: Final = FLAT_CREATE_FIELDS
"""The keyword arguments of `VideoAPI.create_video`: the flat create form's fields."""

_C = TypeVar("_C", bound="VideoAPI")
_T = TypeVar("_T")
_P = ParamSpec("_P")


class _WebhookEvent(Protocol):
    """What `VideoAPI.handle_webhook_event` reads of a `videoapi_async.webhooks.WebhookEvent`."""

    @property
    def video_id(self) -> str: ...

    @property
    def video(self) -> Video | None: ...

    @property
    def outcome(self) -> str | None: ...


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
        bearer_token: The bearer token of the webhook operations (`VideoAPI.webhooks`)
            and `get_create_example`, which take no API key. Defaults to
            ``VIDEOAPI_BEARER_TOKEN``; optional. It is only ever sent to those calls, and
            the API key never is.
        session: An `aiohttp.ClientSession` to use. The client never closes a session it
            was given. By default it creates (and later closes) its own.
        transport: Anything implementing the `Transport` protocol (one async ``send``),
            instead of the default aiohttp one; `MockTransport` answers from a function,
            for tests. The client never closes a transport it was given.
        timeouts: Per-request connect and read timeouts (see `Timeouts`).
        retry: How failed requests are retried (see `RetryPolicy`);
            ``RetryPolicy.disabled()`` sends every request exactly once.
        poll: How renders are polled while waiting (see `PollPolicy`).
        rate_limit: The client-wide request budget shared by creates, polls and
            direct calls (see `RateLimit`). None, the default, sets no client-side cap:
            the client slows down only when the server answers 429, and recovers when
            the 429s stop. ``RateLimit(requests_per_second=10)`` caps it. Waiting
            creates go first, with a share kept for status polls.
        max_connections: The most connections open (and requests out) at once, when the
            client creates its own session; 64 by default, which keeps 64 concurrent
            callers from queueing behind each other. Requests beyond it wait in the
            request budget (without their timeouts running).
        max_response_size: The longest response body read, in bytes, after
            decompression (default 64 MiB, room for a list of some 10,000 videos).
            Reading stops there with a `ResponseDecodeError`, so an endless or hugely
            compressed body cannot exhaust memory.
        coordination: Share polls, webhook news and back-off with the other replicas
            of a service through a backend, such as
            `videoapi_async.coordination.RedisCoordination`. The client starts it on
            ``async with`` (or its first wait) and closes it with itself.
        clock: A monotonic clock in seconds; injectable for tests.
        sleep: The coroutine used to wait; injectable for tests.

    Every call that sends a request also takes ``extra_headers``, ``extra_query`` and
    ``extra_body``: headers, query parameters and JSON body fields the client does not
    know, sent as given (they override the client's own, except the key's header).
    `with_options` gives a view with other settings; `with_raw_response` gives a call's
    HTTP status and headers.

    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        workspace_id: str | None = None,
        team_id: str | None = None,
        bearer_token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        transport: Transport | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        rate_limit: RateLimit | None = None,
        max_connections: int = 64,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        coordination: Coordination | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Check the settings; nothing is opened until first use (or ``async with``)."""
        key = check_settings(
            api_key,
            base_url=base_url,
            max_response_size=max_response_size,
            clock=clock,
            sleep=sleep,
        )
        transport, self._own_transport = pick_transport(session, transport, max_connections)
        poll = setting("poll", poll, PollPolicy)
        self._create_headers = create_headers(workspace_id, team_id)
        self._clock = clock
        self._sleep = sleep
        self._poll: PollPolicy | None = None  # a view's own, else the pollers'
        # Whether the server keeps the flat form's correlation_id ("flat": True/False),
        # once seen; a dict so that views made by with_options share what is learnt.
        self._echoes: dict[str, bool] = {}
        self._requester = build_requester(
            transport=transport,
            api_key=key,
            base_url=base_url,
            bearer_token=bearer_token,
            timeouts=timeouts,
            retry=setting("retry", retry, RetryPolicy),
            rate_limit=rate_limit,
            max_connections=max_connections,
            max_response_size=max_response_size,
            clock=clock,
            sleep=sleep,
        )
        self._poller, self._voice_poller = build_pollers(
            PollReads(self._requester), poll, clock=clock, sleep=sleep
        )
        self.webhooks: Final = Webhooks(self._requester)
        """The account's webhooks (list, create, update, delete, ...); needs `bearer_token`."""
        self._shared: SharedPolls | None = None
        if coordination is not None:
            self._shared = link_replicas(
                coordination, self._poller, self._requester.budget, clock=clock
            )

    def with_options(
        self,
        *,
        timeout: Timeouts | float | None = None,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        rate_limit: RateLimit | None = None,
    ) -> VideoAPI:
        """Return a view of this client with other settings for the calls made through it.

        The view is cheap: it shares this client's connections, request budget,
        pollers and lifetime (closing either closes both). Use it for one slow call or
        one impatient wait::

            video = await api.with_options(timeout=300).get_video(video_id)
            await api.with_options(poll=PollPolicy(max_interval=2)).wait_for_render(v)

        Args:
            timeout: `Timeouts`, or a number of seconds for the read timeout alone.
            retry: The `RetryPolicy` of the view's calls.
            poll: The `PollPolicy` of the view's waits. A video that several waits
                watch is polled as eagerly as the most eager of them asks.
            rate_limit: A `RateLimit` the view's requests must keep as well as the
                client's: it can only make them slower, never faster.
        """
        view = copy.copy(self)
        view._requester = view_requester(
            self._requester,
            timeout=timeout,
            retry=retry,
            rate_limit=rate_limit,
            clock=self._clock,
            sleep=self._sleep,
        )
        if poll is not None:
            view._poll = setting("poll", poll, PollPolicy)
        return view

    async def with_raw_response(
        self, call: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> RawResponse[_T]:
        """Make a call and return its value with the HTTP status and headers it came with.

        ::

            raw = await api.with_raw_response(api.get_video, video_id)
            print(raw.status_code, raw.request_id, raw.headers["content-type"])
            video = raw.parsed

        `call` is any request-sending method of this client (or of a view of it); for a
        call that makes several requests, the answer described is the last.

        Raises:
            TypeError: The call sent no request (a wait, for example).
        """
        return await call_for_raw_response(call, *args, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} base_url={self.base_url!r}{' closed' if self.closed else ''}>"
        )

    # --- settings and lifetime ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API's base URL in use."""
        return str(self._requester.base_url)

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._requester.closed

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed requests are retried."""
        return self._requester.retry

    @property
    def timeouts(self) -> Timeouts:
        """Per-request timeouts."""
        return self._requester.timeouts

    @property
    def poll_policy(self) -> PollPolicy:
        """How renders are polled while waiting."""
        return self._poll if self._poll is not None else self._poller.policy

    @property
    def rate_limit(self) -> RateLimit:
        """The request budget: the client-wide one, or a view's own stricter one."""
        return self._requester.rate_limit

    @property
    def stats(self) -> dict[str, int]:
        """Counters: status polls and list polls sent, 429 answers met, jobs watched."""
        return {
            "polls": self._poller.polls + self._voice_poller.polls,
            "list_polls": self._poller.list_polls,
            "rate_limited": self._requester.budget.rate_limited,
            "watching": self._poller.watched + self._voice_poller.watched,
        }

    async def __aenter__(self: _C) -> _C:
        if self._own_transport is not None:
            await self._own_transport.open()
        if self._shared is not None:
            await self._shared.start()
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
        self._requester.close()
        await self._poller.aclose()
        await self._voice_poller.aclose()
        if self._shared is not None:
            await self._shared.aclose()
        if self._own_transport is not None:
            await self._own_transport.aclose()

    # --- the four video calls ----------------------------------------------------------

    async def list_videos(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> VideoList:
        """Return every video of the account (the API has no paging).

        An item that is not a readable Video is left out, logged as a WARNING and
        described in the result's `VideoList.skipped`.

        Raises:
            VideoAPIError: Or one of its subclasses, when the request fails.

        """
        path = "/videos"
        reply = await self._requester.send(
            "GET", path, extras=Extras.of(extra_headers, extra_query, extra_body)
        )
        return parse_videos(reply.value, method="GET", path=path, status=reply.status)

    async def get_video(
        self,
        video_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Video:
        """Return one video and the current state of its render.

        Raises:
            NotFoundError: No video has this id.
            VideoAPIError: Or one of its subclasses, when the request fails.

        """
        path = video_path(video_id)
        reply = await self._requester.send(
            "GET", path, extras=Extras.of(extra_headers, extra_query, extra_body)
        )
        return parse_video(reply.value, method="GET", path=path, status=reply.status)

    async def get_video_metadata(
        self,
        video_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> VideoMetadata:
        """Return the timing (duration, scenes) of a video.

        Raises:
            NotFoundError: No video has this id.
            VideoAPIError: Or one of its subclasses, when the request fails.

        """
        path = video_path(video_id, "/metadata")
        reply = await self._requester.send(
            "GET", path, extras=Extras.of(extra_headers, extra_query, extra_body)
        )
        return parse_metadata(reply.value, method="GET", path=path, status=reply.status)

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
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Video:
        """Start a render and return the new video (its status is usually ``not_started``).

        Either pass keyword arguments (the reference page's form: render an existing
        project, ``source_draft_id``, or a recipe, ``recipe_id``), or one request object
        for the other forms: `OverrideVideoRequest`, `NewVideoRequest`,
        `WorkflowVideoRequest`. Only the fields you set are sent.

        A create is re-sent only when the server certainly did not act on it (HTTP 429,
        or a connection that failed before sending); the API has no idempotency key.
        A request without a ``correlation_id`` is sent with a fresh one (the flat form's
        page does not list the field; it is sent there too), so that a create whose
        answer is lost can be found with `find_created_video`.

        Raises:
            ValueError: A field breaks a documented rule (checked before sending).
            TypeError: Both a request object and keyword arguments were given, or a
                field has the wrong type.
            CreateOutcomeUnknownError: The request was sent but its answer was lost; the
                video may exist. Look for it with `find_created_video` before creating
                it again.
            RequestValidationError: The server rejected the request; see ``.errors``.
            VideoAPIError: Or another subclass, when the request fails.

        """
        given = locals()  # the keyword arguments are FLAT_FIELDS, named once in the model
        flat = {field: given[field] for field in FLAT_FIELDS}
        body = create_body(create_request("create_video", request, flat), extra_body)
        path = "/videos"
        try:
            reply = await self._requester.send(
                "POST",
                path,
                body=body,
                idempotent=False,
                headers=self._create_headers,
                priority=PRIORITY_CREATE,
                extras=Extras.of(extra_headers, extra_query, extra_body),
            )
        except (APIConnectionError, ServerError, ResponseDecodeError) as exc:
            if isinstance(exc, APIConnectionError) and not exc.request_sent:
                raise
            raise outcome_unknown(exc, body, lost_at=self._clock()) from exc
        try:
            video = parse_video(reply.value, method="POST", path=path, status=reply.status)
        except ResponseDecodeError as exc:
            created, request_id = answer_ids(reply.value, reply.headers)
            if created is None:
                raise outcome_unknown(
                    exc, body, request_id=request_id, lost_at=self._clock()
                ) from exc
            # The answer names the new video: it exists and is billed. Read it in full.
            try:
                return await self.get_video(created)
            except (VideoAPIError, ValueError) as again:
                raise outcome_unknown(exc, body, video_id=created, request_id=request_id) from again
        if "type" not in body:
            self._echoes["flat"] = video.correlation_id == body["correlation_id"]
        return video

    async def find_created_video(
        self,
        lost: CreateOutcomeUnknownError | CreateVideoRequest,
        *,
        grace: float = LOST_CREATE_GRACE,
        exclude: Collection[str] = (),
    ) -> Video | None:
        """Find the video a create whose answer was lost made, if it made one.

        ``lost`` is the `CreateOutcomeUnknownError` that `create_video`, `create_videos`
        or `render` raised, or the create request itself (which then needs its own
        ``correlation_id``, or a ``name``). The server may store a video a moment after
        taking its create, so the account's videos are listed (one ``GET /videos``) only
        once ``grace`` seconds have passed since the answer was lost (since this call,
        for a request).

        The video is recognised by the ``correlation_id`` sent with the create when the
        server is known to keep it: always for the tagged forms, and for the flat form
        once this client has seen a create's answer echo it. Otherwise by the name: a
        video with the create's ``name`` (or a shortened form of it, at least 16
        characters) whose echoed fields agree with the request. A name is not unique:
        pass the ids of videos that existed before the create as ``exclude``, or give
        creates unique names.

        Args:
            lost: The error, or the create request that was sent.
            grace: Seconds the server is given to store the video before looking;
                5 by default.
            exclude: Ids of videos never to return (videos that existed before).

        Returns:
            The video the create made, or None: after the grace no such video exists,
            so the create did not make one and is safe to send again.

        Raises:
            ValueError: ``grace`` is negative, or the create cannot be recognised (a
                flat create without a name, on a server that does not keep
                ``correlation_id``, or a request with neither).
            VideoAPIError: Listing the videos failed; nothing is known yet.
        """
        if isinstance(lost, CreateOutcomeUnknownError):
            if lost.video_id is not None:  # the answer named it: it exists
                return await self.get_video(lost.video_id)
            body, lost_at = dict(lost.body), lost.lost_at
        else:
            body, lost_at = build_create_body(lost), None
        grace = check_seconds(
            grace, "find_created_video's grace", zero=True, default=LOST_CREATE_GRACE
        )
        flat_echoes = self._echoes.get("flat")
        markers = lost_create_markers(body, flat_echoes=flat_echoes)
        start = self._clock() if lost_at is None else lost_at
        delay = start + grace - self._clock()
        if delay > 0:
            await self._sleep(delay)
        videos = await self.list_videos()
        for marker in markers:
            found = match_lost_creates([(0, marker)], videos, exclude=exclude).get(0)
            if found is not None:
                if marker.field == "correlation_id" and "type" not in body:
                    self._echoes["flat"] = True
                return found
        unproven = unproven_absence(body, flat_echoes=flat_echoes)
        if unproven is not None:
            raise unproven
        return None

    # --- around a render ---------------------------------------------------------------

    async def delete_video(
        self,
        video_id: str,
        *,
        missing_ok: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        """Delete a video.

        Args:
            video_id: The video to delete.
            missing_ok: Treat a video that does not exist (any more) as deleted. Useful
                when a retried delete finds that the first attempt, whose answer was
                lost, already deleted it.
            extra_headers: Headers to add to the request (see `VideoAPI`).
            extra_query: Query parameters to add.
            extra_body: JSON body fields to add.

        Raises:
            NotFoundError: No such video, unless `missing_ok`.
            VideoAPIError: Or another subclass, when the request fails.
        """
        try:
            await self._requester.send(
                "DELETE",
                video_path(video_id),
                extras=Extras.of(extra_headers, extra_query, extra_body),
            )
        except NotFoundError:
            if not missing_ok:
                raise

    async def create_subtitles(
        self,
        video: str | Video,
        language_code: str = "en",
        format: str = "vtt",
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Subtitles:
        """Make a subtitle file for a rendered video, in one of the API's languages.

        Subtitles need a finished render: the video is read first (unless you pass a
        `Video` that is already ``ready`` or ``published``), and one that is not gets
        `VideoNotReadyError` without the request being sent.

        Args:
            video: The video, or its id.
            language_code: The subtitles' language, e.g. ``"en"``, ``"fr"``, ``"ja"``.
            format: ``"vtt"`` (default) or ``"srt"``.
            extra_headers: Headers to add to the request (see `VideoAPI`).
            extra_query: Query parameters to add.
            extra_body: JSON body fields to add.

        Raises:
            ValueError: The language or format is not offered.
            VideoNotReadyError: The render has not succeeded (yet); see ``.video``.
            VideoAPIError: Or another subclass, when a request fails.
        """
        body = build_subtitles_body(language_code, format)
        current = video if isinstance(video, Video) and video.is_ready else None
        if current is None:
            video_id = video.id if isinstance(video, Video) else video
            current = await self.get_video(video_id)
        extras = Extras.of(extra_headers, extra_query, extra_body)
        return await _around.send_subtitles(self._requester, current, body, extras)

    async def create_voice_preview(
        self,
        transcript: str,
        source_draft_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> VoicePreview:
        """Start a voice preview: the transcript spoken in the project's voice.

        Returns the preview task (status ``in_progress``); wait for it with
        `VideoAPI.wait_for_voice_preview`.

        Raises:
            ValueError: The transcript or project id is empty.
            VideoAPIError: Or a subclass, when the request fails. Like video creates,
                it is re-sent only when the server certainly did not act.
        """
        extras = Extras.of(extra_headers, extra_query, extra_body)
        requester = self._requester
        return await _around.create_voice_preview(requester, transcript, source_draft_id, extras)

    async def get_voice_preview(
        self,
        task_id: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> VoicePreview:
        """Return a voice preview's state (and its audio URL once ready).

        Raises:
            NotFoundError: No such preview task.
            VideoAPIError: Or another subclass, when the request fails.
        """
        extras = Extras.of(extra_headers, extra_query, extra_body)
        return await _around.get_voice_preview(self._requester, task_id, extras)

    async def get_usage_summary(
        self,
        breakdown: str = "monthly",
        *,
        from_date: dt.date | str | None = None,
        to_date: dt.date | str | None = None,
        correlation_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> list[UsagePeriod]:
        """Return how many videos were made, and for how long, per day, week or month.

        Args:
            breakdown: ``"daily"``, ``"weekly"`` or ``"monthly"`` (the default).
            from_date: The window's first day (a `datetime.date` or ``"YYYY-MM-DD"``).
            to_date: The window's last day.
            correlation_id: Count only videos created with this correlation id.
            extra_headers: Headers to add to the request (see `VideoAPI`).
            extra_query: Query parameters to add.
            extra_body: JSON body fields to add.

        Raises:
            ValueError: The breakdown is unknown, or the window is malformed, reversed
                or starts in the future (checked before sending).
            VideoAPIError: Or a subclass, when the request fails.
        """
        query = build_usage_query(breakdown, from_date, to_date, correlation_id)
        path = "/analytics/summary"
        reply = await self._requester.send(
            "GET", path, query=query, extras=Extras.of(extra_headers, extra_query, extra_body)
        )
        return parse_usage(reply.value, method="GET", path=path, status=reply.status)

    async def get_create_example(
        self, draft_id: str, example_type: str = "create"
    ) -> CreateExample:
        """Return the create body the API suggests for a project (needs `bearer_token`).

        Args:
            draft_id: The project (draft) to render.
            example_type: ``"create"`` (default), ``"override"`` or
                ``"create_video_from_workflow"``.

        Raises:
            ValueError: The draft id is empty or the type unknown (checked before sending).
            VideoAPIError: No bearer token, or a subclass when the request fails.
        """
        return await get_create_example(
            self._requester, draft_id, example_type, headers=self._create_headers
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
        return RenderWait(self._poller, video, timeout=timeout, clock=self._clock, poll=self._poll)

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
        return BatchWait(self._poller, videos, timeout=timeout, poll=self._poll)

    def render(
        self,
        request: CreateVideoRequest | None = None,
        /,
        *,
        timeout: float | None = None,
        on_created: Callable[[Video], object | Awaitable[object]] | None = None,
        **fields: str | None,
    ) -> RenderWait:
        """Create a video and wait for its render, in one step.

        Takes the same arguments as `create_video` plus ``timeout``, and returns the
        same two-way object as `wait_for_render`: await it for the finished `Video`,
        or iterate it for progress. The create is sent once, on first use, however
        many times the object is awaited or iterated.

        The new video's id is known as soon as the create answers, before the wait:
        `RenderWait.video_id` is set and ``await wait.created_video_id()`` returns the
        id, then ``on_created(video)`` is called. It may be an ``async def`` function:
        what it returns, if awaitable, is awaited before the wait goes on, so a callback
        that stores the id in a database has finished before the first poll. An
        exception raised by ``on_created`` (or by what it returns) ends the wait
        (awaiting or iterating it raises that exception, and nothing is polled), but the
        video exists and is billed: its id stays on `RenderWait.video_id` and
        ``created_video_id()`` still returns it. A create whose answer is lost raises
        `CreateOutcomeUnknownError`; pass it to `find_created_video`.
        """
        check_render_fields(fields, FLAT_FIELDS)
        to_create = create_request("render", request, fields)
        build_create_body(to_create)  # fail now, not on first await

        if on_created is not None and not callable(on_created):
            raise TypeError(f"on_created must be a function, got {type(on_created).__name__}")

        async def create() -> Video:
            return await self.create_video(to_create)

        return RenderWait(
            self._poller,
            create,
            timeout=timeout,
            clock=self._clock,
            poll=self._poll,
            on_created=on_created,
        )

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
        check_bulk(requests, concurrency)
        return await create_many(
            self.create_video, requests, concurrency=concurrency, on_result=on_result
        )

    async def wait_for_voice_preview(
        self, preview: str | VoicePreview, *, timeout: float | None = None
    ) -> VoicePreview:
        """Wait for a voice preview to finish and return it (with its audio ``url``).

        Polling is shared and paced like render waits (see `wait_for_render`).

        Args:
            preview: The preview task's id, or the `VoicePreview` that
                `create_voice_preview` returned.
            timeout: The most seconds to wait overall; None waits until it ends.

        Raises:
            VoicePreviewFailedError: The preview failed; see ``.preview``.
            VoicePreviewTimeoutError: The deadline came first (a `RenderTimeoutError`).
            VideoAPIError: Polling failed for good, or the client was closed.
        """
        poller = self._voice_poller
        return await _around.wait_for_voice_preview(poller, preview, timeout, self._poll)

    def handle_webhook_event(self, event: _WebhookEvent) -> bool:
        """Feed a verified webhook event (a `videoapi_async.webhooks.WebhookEvent`) to waits.

        Waits on the event's video end at once when the event carries the finished
        video, or after one immediate poll when it does not. From then on, renders in
        progress are polled only every `PollPolicy.webhook_safety_interval` seconds,
        as a safety net for lost deliveries.

        With ``coordination=``, the event is relayed to the other replicas too.

        Returns:
            Whether anybody was waiting on that video (in this replica).
        """
        video = event.video
        if video is not None and event.outcome is not None and not video.is_terminal:
            video = None  # an event says it ended, the video says not: ask the API
        if self._shared is not None:
            self._shared.relay_event(event.video_id, video)
        return self._poller.feed(event.video_id, video)
