"""The JSON shapes ``videoapi --json`` prints. They are part of the command's interface.

* Video: every field of the API's Video, always present (``null`` when unset), then any
  field the server sent that the client does not know; ``progress`` is ``null`` when the
  API does not know it; scenes carry their ``type`` (`videoapi_async.response_to_json`).
* Metadata: ``{"duration", "scenes_metadata": [{"scene_index", "start_time", "duration"}]}``.
* Render result (``wait``, ``render``): ``{"video_id", "ok", "status", "error", "elapsed",
  "file", "video"}``.
* Batch row (``batch`` stream and results file): see `ROW_FIELDS`.
"""

from __future__ import annotations

from typing import Any, Final

from videoapi_async import Video, VideoMetadata, response_to_json

__all__ = ["ROW_FIELDS", "metadata_json", "render_result_json", "video_json"]

ROW_FIELDS: Final = (
    "row",
    "line",
    "video_id",
    "status",
    "ok",
    "video_player_url",
    "download_url",
    "file",
    "error",
)
"""The fields of a batch row, in the order of the results file's columns."""


def video_json(video: Video) -> dict[str, Any]:
    """Return the Video shape of ``video``."""
    return response_to_json(video)


def metadata_json(metadata: VideoMetadata) -> dict[str, Any]:
    """Return the Metadata shape of ``metadata``."""
    return response_to_json(metadata)


def render_result_json(
    *,
    video_id: str,
    video: Video | None,
    error: str | None,
    elapsed: float,
    file: str | None = None,
) -> dict[str, Any]:
    """Return the render result shape printed by ``wait`` and ``render``."""
    return {
        "video_id": video_id,
        "ok": error is None and video is not None and video.is_ready,
        "status": video.status.value if video is not None else None,
        "error": error,
        "elapsed": round(elapsed, 3),
        "file": file,
        "video": video_json(video) if video is not None else None,
    }
