"""`VideoAPI`: the async session object users hold. Thin: it composes the other modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from ._bulk import CreateResult, create_many
from ._endpoints import Endpoints
from ._models import CreateVideoRequest, SourceDraftVideoRequest, Video
from ._protocol import encode_id
from ._requests import build_create_body
from ._resources import VoicePreview
from ._waits import BatchWait, RenderWait, check_timeout

if TYPE_CHECKING:
    from .webhooks import WebhookEvent

__all__ = ["VideoAPI"]

_FLAT_FIELDS: Final = frozenset(
    {"name", "source_draft_id", "recipe_id", "folder_id", "palette_id", "character_id", "voice_id"}
)


class VideoAPI(Endpoints):
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

    @property
    def stats(self) -> dict[str, int]:
        """Counters: status polls and list polls sent, 429 answers met, jobs watched."""
        return {
            "polls": self._poller.polls + self._voice_poller.polls,
            "list_polls": self._poller.list_polls,
            "rate_limited": self._budget.rate_limited,
            "watching": self._poller.watched + self._voice_poller.watched,
        }

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
        seed = preview if isinstance(preview, VoicePreview) else None
        task_id = preview.id if isinstance(preview, VoicePreview) else preview
        encode_id(task_id, "task_id")
        sub = self._voice_poller.subscribe(task_id, timeout=check_timeout(timeout), seed=seed)
        try:
            return await sub.outcome
        finally:
            self._voice_poller.unsubscribe(sub)

    def handle_webhook_event(self, event: WebhookEvent) -> bool:
        """Feed a verified webhook event to this client's waits.

        Waits on the event's video end at once when the event carries the finished
        video, or after one immediate poll when it does not. From then on, renders in
        progress are polled only every `PollPolicy.webhook_safety_interval` seconds,
        as a safety net for lost deliveries.

        Returns:
            Whether anybody was waiting on that video.
        """
        video = event.video
        if video is not None and event.outcome is not None and not video.is_terminal:
            video = None  # an event says it ended, the video says not: ask the API
        return self._poller.feed(event.video_id, video)
