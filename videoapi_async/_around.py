"""The calls around a render: subtitles and voice previews, as `VideoAPI` makes them.

Each function takes the requester (or poller) of the client or view it serves, so a
view's options apply.
"""

from __future__ import annotations

from ._budget import PRIORITY_CREATE
from ._cadence import PollPolicy
from ._errors import VideoNotReadyError
from ._models import Video
from ._poller import Poller
from ._protocol import encode_id, parse_subtitles, parse_voice_preview, video_path
from ._requester import Extras, Requester
from ._requests import build_voice_preview_body
from ._resources import Subtitles, VoicePreview
from ._waits import check_timeout

__all__ = [
    "create_voice_preview",
    "get_voice_preview",
    "send_subtitles",
    "voice_preview_path",
    "wait_for_voice_preview",
]


def voice_preview_path(task_id: str) -> str:
    """Return the path of one voice preview task (its id checked and encoded)."""
    return f"/voice-preview/{encode_id(task_id, 'task_id')}"


async def send_subtitles(
    requester: Requester, video: Video, body: dict[str, str], extras: Extras | None
) -> Subtitles:
    """Ask for a finished video's subtitles; refuse before sending if it is not finished."""
    if not video.is_ready:
        raise VideoNotReadyError(
            f"video {video.id!r} is {video.status.value}: subtitles need a finished "
            "render. Wait for it first (await api.wait_for_render(video))",
            video=video,
        )
    path = video_path(video.id, "/subtitles")
    # Re-sending at worst makes the same file twice: no render is started or billed.
    reply = await requester.send("POST", path, body=body, idempotent=True, extras=extras)
    return parse_subtitles(reply.value, method="POST", path=path, status=reply.status)


async def create_voice_preview(
    requester: Requester, transcript: str, source_draft_id: str, extras: Extras | None
) -> VoicePreview:
    """Start a voice preview; re-sent only when the server certainly did not act."""
    body = build_voice_preview_body(transcript, source_draft_id)
    path = "/voice-preview"
    reply = await requester.send(
        "POST", path, body=body, idempotent=False, priority=PRIORITY_CREATE, extras=extras
    )
    return parse_voice_preview(reply.value, method="POST", path=path, status=reply.status)


async def get_voice_preview(
    requester: Requester, task_id: str, extras: Extras | None
) -> VoicePreview:
    """Read a voice preview's state."""
    path = voice_preview_path(task_id)
    reply = await requester.send("GET", path, extras=extras)
    return parse_voice_preview(reply.value, method="GET", path=path, status=reply.status)


async def wait_for_voice_preview(
    poller: Poller[VoicePreview],
    preview: str | VoicePreview,
    timeout: float | None,
    policy: PollPolicy | None,
) -> VoicePreview:
    """Wait on the voice-preview poller for a preview to end."""
    seed = preview if isinstance(preview, VoicePreview) else None
    task_id = preview.id if isinstance(preview, VoicePreview) else preview
    encode_id(task_id, "task_id")
    sub = poller.subscribe(task_id, timeout=check_timeout(timeout), seed=seed, policy=policy)
    try:
        return await sub.outcome
    finally:
        poller.unsubscribe(sub)
