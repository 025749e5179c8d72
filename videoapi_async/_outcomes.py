"""The errors that end a wait or report a lost create, worded to say what to do next."""

from __future__ import annotations

from typing import Any

from ._errors import (
    CreateOutcomeUnknownError,
    RenderFailedError,
    RenderStalledError,
    RenderTimeoutError,
    ResponseDecodeError,
    ServerError,
    VideoAPIError,
    VoicePreviewFailedError,
    VoicePreviewTimeoutError,
)
from ._models import Video
from ._resources import VoicePreview

__all__ = [
    "outcome_unknown",
    "render_failed",
    "render_stalled",
    "render_timed_out",
    "voice_failed",
    "voice_timed_out",
]


def outcome_unknown(
    exc: VideoAPIError,
    body: dict[str, Any],
    *,
    video_id: str | None = None,
    request_id: Any = None,
    lost_at: float | None = None,
) -> CreateOutcomeUnknownError:
    """Return the error for a create whose outcome (or whose answer) was lost."""
    if not isinstance(request_id, str) or not request_id:
        request_id = getattr(exc, "request_id", None)
    if video_id is not None:
        return CreateOutcomeUnknownError(
            f"create_video: the server created video {video_id!r} but its answer could not "
            "be read, nor could the video be read again. It exists and is rendering (and "
            f"billed): wait for it with wait_for_render({video_id!r}) rather than creating "
            f"it again. Cause: {exc}",
            body=body,
            cause=exc,
            video_id=video_id,
            request_id=request_id,
            lost_at=lost_at,
        )
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
        f"it with find_created_video(error){find} before creating it again. Cause: {exc}",
        body=body,
        cause=exc,
        request_id=request_id,
        lost_at=lost_at,
    )


def render_failed(video: Video) -> VideoAPIError:
    """Return the error that ends a wait on a render that failed."""
    return RenderFailedError(
        f"render of video {video.id!r} ended {video.status.value}", video=video
    )


def render_timed_out(video_id: str, last: Video | None, timeout: float) -> VideoAPIError:
    """Return the error that ends a wait at its deadline."""
    return RenderTimeoutError(
        f"gave up waiting for video {video_id!r} after {timeout:g} s{_last_seen(last)}. The "
        "render may still finish: wait again, or check it with get_video()",
        video_id=video_id,
        video=last,
        timeout=timeout,
    )


def render_stalled(video_id: str, last: Video | None, stalled_for: float) -> VideoAPIError:
    """Return the error that ends a wait on a render that stopped moving."""
    return RenderStalledError(
        f"gave up waiting for video {video_id!r}: no change for {stalled_for:.0f} s "
        f"(PollPolicy.stall_timeout){_last_seen(last)}. The render may still move: wait "
        "again, or ask support",
        video_id=video_id,
        video=last,
        stalled_for=stalled_for,
    )


def _last_seen(last: Video | VoicePreview | None) -> str:
    """Say where a wait last saw its job, as ``; last seen processing at 40 %``."""
    if last is None:
        return ""
    progress = f" at {last.progress} %" if last.progress is not None else ""
    return f"; last seen {last.status.value}{progress}"


def voice_failed(preview: VoicePreview) -> VideoAPIError:
    """Return the error that ends a wait on a voice preview that failed."""
    return VoicePreviewFailedError(f"voice preview {preview.id!r} failed", preview=preview)


def voice_timed_out(task_id: str, last: VoicePreview | None, timeout: float) -> VideoAPIError:
    """Return the error that ends a wait on a voice preview at its deadline."""
    return VoicePreviewTimeoutError(
        f"gave up waiting for voice preview {task_id!r} after {timeout:g} s{_last_seen(last)}. "
        "It may still finish: check it with get_voice_preview()",
        video_id=task_id,
        video=None,
        preview=last,
        timeout=timeout,
    )
