"""The JSON shapes ``videoapi --json`` prints. They are part of the command's interface.

* Video: every field of the API's Video, always present (``null`` when unset);
  ``progress`` is ``null`` when the API does not know it; scenes carry their ``type``.
* Metadata: ``{"duration", "scenes_metadata": [{"scene_index", "start_time", "duration"}]}``.
* Render result (``wait``, ``render``): ``{"video_id", "ok", "status", "error", "elapsed",
  "file", "video"}``.
* Batch row (``batch`` stream and results file): see `ROW_FIELDS`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from videoapi_async import CreateScene, OverrideScene, Video, VideoMetadata

__all__ = ["ROW_FIELDS", "metadata_json", "plain", "render_result_json", "video_json"]

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

_SCENE_TYPES: Final = {OverrideScene: "override_scene", CreateScene: "create_scene"}


def plain(value: Any) -> Any:
    """Turn models, enums, tuples and mappings into plain JSON values, keeping every field."""
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        scene_type = _SCENE_TYPES.get(type(value))
        if scene_type is not None:
            out["type"] = scene_type
        for field in attrs.fields(type(value)):
            if field.name != "extra":  # fields the client does not know stay out of the shape
                out[field.name] = plain(getattr(value, field.name))
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def video_json(video: Video) -> dict[str, Any]:
    """Return the Video shape of ``video``."""
    data: dict[str, Any] = plain(video)
    return data


def metadata_json(metadata: VideoMetadata) -> dict[str, Any]:
    """Return the Metadata shape of ``metadata``."""
    data: dict[str, Any] = plain(metadata)
    return data


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
