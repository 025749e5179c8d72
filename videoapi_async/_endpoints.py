"""The API's endpoints as methods: the four video calls and the calls around a render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ._budget import PRIORITY_CREATE
from ._errors import (
    APIConnectionError,
    CreateOutcomeUnknownError,
    NotFoundError,
    ResponseDecodeError,
    ServerError,
    VideoAPIError,
    VideoNotReadyError,
)
from ._models import (
    CreateVideoRequest,
    SourceDraftVideoRequest,
    Video,
    VideoList,
    VideoMetadata,
)
from ._protocol import (
    encode_id,
    parse_metadata,
    parse_subtitles,
    parse_usage,
    parse_video,
    parse_videos,
    parse_voice_preview,
    video_path,
)
from ._requests import (
    build_create_body,
    build_subtitles_body,
    build_usage_query,
    build_voice_preview_body,
)
from ._resources import Subtitles, UsagePeriod, VoicePreview
from ._session import Session

__all__ = ["Endpoints"]


class Endpoints(Session):
    """One method per API call; `VideoAPI` adds waiting on top."""

    async def list_videos(self) -> VideoList:
        """Return every video of the account (the API has no paging).

        An item that is not a readable Video is left out, logged as a WARNING and
        described in the result's `VideoList.skipped`.

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

    # --- around a render ---------------------------------------------------------------

    async def delete_video(self, video_id: str, *, missing_ok: bool = False) -> None:
        """Delete a video.

        Args:
            video_id: The video to delete.
            missing_ok: Treat a video that does not exist (any more) as deleted. Useful
                when a retried delete finds that the first attempt, whose answer was
                lost, already deleted it.

        Raises:
            NotFoundError: No such video, unless `missing_ok`.
            VideoAPIError: Or another subclass, when the request fails.
        """
        try:
            await self._request("DELETE", video_path(video_id))
        except NotFoundError:
            if not missing_ok:
                raise

    async def create_subtitles(
        self, video: str | Video, language_code: str = "en", format: str = "vtt"
    ) -> Subtitles:
        """Make a subtitle file for a rendered video, in one of the API's languages.

        Subtitles need a finished render: the video is read first (unless you pass a
        `Video` that is already ``ready`` or ``published``), and one that is not gets
        `VideoNotReadyError` without the request being sent.

        Args:
            video: The video, or its id.
            language_code: The subtitles' language, e.g. ``"en"``, ``"fr"``, ``"ja"``.
            format: ``"vtt"`` (default) or ``"srt"``.

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
        if not current.is_ready:
            raise VideoNotReadyError(
                f"video {current.id!r} is {current.status.value}: subtitles need a finished "
                "render. Wait for it first (await api.wait_for_render(video))",
                video=current,
            )
        path = video_path(current.id, "/subtitles")
        # Re-sending at worst makes the same file twice: no render is started or billed.
        data = await self._request("POST", path, body=body, idempotent=True)
        return parse_subtitles(data, method="POST", path=path)

    async def create_voice_preview(self, transcript: str, source_draft_id: str) -> VoicePreview:
        """Start a voice preview: the transcript spoken in the project's voice.

        Returns the preview task (status ``in_progress``); wait for it with
        `VideoAPI.wait_for_voice_preview`.

        Raises:
            ValueError: The transcript or project id is empty.
            VideoAPIError: Or a subclass, when the request fails. Like video creates,
                it is re-sent only when the server certainly did not act.
        """
        body = build_voice_preview_body(transcript, source_draft_id)
        path = "/voice-preview"
        data = await self._request(
            "POST", path, body=body, idempotent=False, priority=PRIORITY_CREATE
        )
        return parse_voice_preview(data, method="POST", path=path, status=201)

    async def get_voice_preview(self, task_id: str) -> VoicePreview:
        """Return a voice preview's state (and its audio URL once ready).

        Raises:
            NotFoundError: No such preview task.
            VideoAPIError: Or another subclass, when the request fails.
        """
        path = f"/voice-preview/{encode_id(task_id, 'task_id')}"
        data = await self._request("GET", path)
        return parse_voice_preview(data, method="GET", path=path)

    async def get_usage_summary(
        self,
        breakdown: str = "monthly",
        *,
        from_date: dt.date | str | None = None,
        to_date: dt.date | str | None = None,
        correlation_id: str | None = None,
    ) -> list[UsagePeriod]:
        """Return how many videos were made, and for how long, per day, week or month.

        Args:
            breakdown: ``"daily"``, ``"weekly"`` or ``"monthly"`` (the default).
            from_date: The window's first day (a `datetime.date` or ``"YYYY-MM-DD"``).
            to_date: The window's last day.
            correlation_id: Count only videos created with this correlation id.

        Raises:
            ValueError: The breakdown is unknown, or the window is malformed, reversed
                or starts in the future (checked before sending).
            VideoAPIError: Or a subclass, when the request fails.
        """
        query = build_usage_query(breakdown, from_date, to_date, correlation_id)
        path = "/analytics/summary"
        data = await self._request("GET", path, query=query)
        return parse_usage(data, method="GET", path=path)


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
