"""The one cattrs converter: tolerant when reading responses, strict when building requests.

Reading: unknown keys are ignored, ``null`` optionals become ``None``, an unknown
``status`` becomes a `VideoStatus` pseudo-member, ``progress`` of ``-1`` (or any
negative value, or ``null``) becomes ``None``, and a ``null`` ``video_player_url``
becomes ``""``. Types are still checked: a string field never silently turns a number
or an object into text.

Writing: only the fields that are set are emitted (never ``null`` for an unset
optional), and the tagged create forms get their ``type`` member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._models import (
    CreateScene,
    CreateVideoRequest,
    MediaElement,
    MetadataValue,
    NewVideoRequest,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    Scene,
    SceneMetadata,
    SourceDraftVideoRequest,
    TextElement,
    Video,
    VideoMetadata,
    VideoStatus,
    WorkflowVariable,
    WorkflowVideoRequest,
)
from ._resources import VoicePreviewStatus

__all__ = ["REQUEST_TYPE_TAGS", "converter", "unstructure_request"]

converter: Final = cattrs.Converter(detailed_validation=True)

REQUEST_TYPE_TAGS: Final[Mapping[type[Any], str | None]] = {
    SourceDraftVideoRequest: None,
    OverrideVideoRequest: "override",
    NewVideoRequest: "create",
    WorkflowVideoRequest: "workflow",
}
"""The ``type`` member each create form is sent with (None: the flat form has none)."""


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _structure_str(value: Any, _: object) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {_describe(value)}")


def _structure_optional_str(value: Any, _: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a string or null, got {_describe(value)}")


def _structure_int(value: Any, _: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {_describe(value)}")


def _structure_float(value: Any, _: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected a number, got {_describe(value)}")


def _structure_status(value: Any, _: object) -> VideoStatus:
    if isinstance(value, str):
        return VideoStatus(value)
    raise TypeError(f"expected a status string, got {_describe(value)}")


def _structure_voice_status(value: Any, _: object) -> VoicePreviewStatus:
    if isinstance(value, str):
        return VoicePreviewStatus(value)
    raise TypeError(f"expected a status string, got {_describe(value)}")


def _structure_progress(value: Any, _: object) -> int | None:
    # -1 is the API's undocumented "unknown"; a percentage is never negative or over 100.
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if value < 0:
            return None
        return min(int(value), 100)
    raise TypeError(f"expected an integer progress, got {_describe(value)}")


def _structure_player_url(value: Any, _: object) -> str:
    return "" if value is None else _structure_str(value, None)


def _structure_metadata(value: Any, _: object) -> dict[str, MetadataValue]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {_describe(value)}")
    for key, item in value.items():
        if item is not None and not isinstance(item, (str, int, float)):
            raise TypeError(f"metadata[{key!r}]: expected a scalar, got {_describe(item)}")
    return value


def _structure_scene(value: Any, _: object) -> Scene:
    if not isinstance(value, dict):
        raise TypeError(f"expected a scene object, got {_describe(value)}")
    kind = value.get("type")
    if kind == "create_scene" or (kind != "override_scene" and "layout_id" in value):
        return converter.structure(value, CreateScene)
    return converter.structure(value, OverrideScene)


def _structure_list(item_type: type[Any]) -> Any:
    def structure(value: Any, _: object) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {_describe(value)}")
        return tuple(converter.structure(item, item_type) for item in value)

    return structure


def _structure_scene_list(value: Any, _: object) -> tuple[Scene, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TypeError(f"expected a list of scenes, got {_describe(value)}")
    return tuple(_structure_scene(item, None) for item in value)


def _configure() -> None:
    converter.register_structure_hook(str, _structure_str)
    # One direct hook for the many optional strings, instead of a union dispatch each.
    converter.register_structure_hook_func(lambda t: t == str | None, _structure_optional_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(VideoStatus, _structure_status)
    converter.register_structure_hook(VoicePreviewStatus, _structure_voice_status)

    converter.register_structure_hook(
        OverrideScene,
        make_dict_structure_fn(
            OverrideScene,
            converter,
            media=override(struct_hook=_optional_str_list),
            texts=override(struct_hook=_optional_str_list),
        ),
    )
    converter.register_structure_hook(
        CreateScene,
        make_dict_structure_fn(
            CreateScene,
            converter,
            media_elements=override(struct_hook=_structure_list(MediaElement)),
            texts_elements=override(struct_hook=_structure_list(TextElement)),
        ),
    )
    converter.register_structure_hook(
        Video,
        make_dict_structure_fn(
            Video,
            converter,
            progress=override(struct_hook=_structure_progress),
            video_player_url=override(struct_hook=_structure_player_url),
            metadata=override(struct_hook=_structure_metadata),
            scenes=override(struct_hook=_structure_scene_list),
            palette=override(struct_hook=_structure_list(PaletteColor)),
            global_media_elements=override(struct_hook=_structure_list(MediaElement)),
        ),
    )
    converter.register_structure_hook(
        VideoMetadata,
        make_dict_structure_fn(
            VideoMetadata,
            converter,
            scenes_metadata=override(struct_hook=_structure_list(SceneMetadata)),
        ),
    )

    # Requests: emit only what is set. Every optional request field defaults to None.
    # Leaves first: a class's generated function looks up the hooks of its fields.
    for cls in (
        MediaElement,
        TextElement,
        PaletteColor,
        WorkflowVariable,
        OverrideScene,
        CreateScene,
        SourceDraftVideoRequest,
        OverrideVideoRequest,
        NewVideoRequest,
        WorkflowVideoRequest,
    ):
        converter.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True)
        )


def _optional_str_list(value: Any, _: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError(f"expected a list of strings, got {_describe(value)}")
    return tuple(_structure_str(item, None) for item in value)


def unstructure_request(request: CreateVideoRequest) -> dict[str, Any]:
    """Turn a create form into the JSON body to send, with its ``type`` tag if it has one."""
    body: dict[str, Any] = converter.unstructure(request)
    tag = REQUEST_TYPE_TAGS[type(request)]
    if tag is not None:
        body = {"type": tag, **body}
    return body


_configure()
