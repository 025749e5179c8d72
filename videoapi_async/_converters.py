"""The one cattrs converter: tolerant when reading responses, strict when building requests.

Reading: unknown keys are kept in the model's read-only ``extra``, ``null`` optionals
become ``None``, an unknown ``status`` becomes a `VideoStatus` pseudo-member,
``progress`` of ``-1`` (or any negative value, or ``null``) becomes ``None``, and a
``null`` ``video_player_url`` becomes ``""``. Types are still checked: a string field
never silently turns a number or an object into text.

`structure_video` reads the usual shape of a `Video` on a hand-written path (the list
endpoint answers thousands of them); anything it does not expect goes through the
cattrs-generated hooks, which apply the same rules and give detailed errors. For list
items, `fast_video` checks a video's scenes, palette and media but builds them only when
first read (`_BuiltOnFirstRead`).

Requests are read strictly (unknown keys fail) as a cattrs tagged union on ``type``, the
flat form being the one without it. Writing: only the fields that are set are emitted
(never ``null`` for an unset optional), and the tagged forms get their ``type``.
`response_to_json` writes a response model back in the API's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar, cast

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.strategies import configure_tagged_union

from ._models import (
    NO_EXTRA,
    CreateScene,
    CreateVideoRequest,
    MediaElement,
    MetadataValue,
    NewVideoRequest,
    OpenEnum,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    ReadOnlyMapping,
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
from ._resources import Subtitles, UsagePeriod, VoicePreview
from .contract import CREATE_FORM_TAGS, SCENE_TYPES

__all__ = [
    "REQUEST_TYPE_TAGS",
    "ResponseModel",
    "converter",
    "fast_video",
    "response_to_json",
    "structure_request",
    "structure_video",
    "unstructure_request",
]

_T = TypeVar("_T")
_S = TypeVar("_S", bound=OpenEnum)

converter: Final = cattrs.Converter(detailed_validation=True)

_OVERRIDE_TAG, _CREATE_TAG, _WORKFLOW_TAG = CREATE_FORM_TAGS
_OVERRIDE_SCENE, _CREATE_SCENE = SCENE_TYPES

REQUEST_TYPE_TAGS: Final[Mapping[type[Any], str | None]] = {
    SourceDraftVideoRequest: None,
    OverrideVideoRequest: _OVERRIDE_TAG,
    NewVideoRequest: _CREATE_TAG,
    WorkflowVideoRequest: _WORKFLOW_TAG,
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


def _structure_status(value: Any, cls: type[_S]) -> _S:
    if isinstance(value, str):
        return cls(value)
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
    if _is_create_scene(value):
        return converter.structure(value, CreateScene)
    return converter.structure(value, OverrideScene)


def _structure_list(item_type: Any) -> Any:  # a class, or the `Scene` union
    def structure(value: Any, _: object) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {_describe(value)}")
        return tuple(converter.structure(item, item_type) for item in value)

    return structure


def _configure() -> Callable[[Any, Any], Video]:
    """Register every hook; return the cattrs-generated hook for `Video` (the slow path)."""
    converter.register_structure_hook(str, _structure_str)
    # One direct hook for the many optional strings, instead of a union dispatch each.
    converter.register_structure_hook_func(lambda t: t == str | None, _structure_optional_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    # Every status enum (`WebhookStatus` too): the str hook would keep a plain str.
    converter.register_structure_hook(OpenEnum, _structure_status)
    converter.register_structure_hook_func(lambda t: t == Scene, _structure_scene)

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
    slow_video = _with_extra(
        Video,
        make_dict_structure_fn(
            Video,
            converter,
            progress=override(struct_hook=_structure_progress),
            video_player_url=override(struct_hook=_structure_player_url),
            metadata=override(struct_hook=_structure_metadata),
            scenes=override(struct_hook=_structure_list(Scene)),
            palette=override(struct_hook=_structure_list(PaletteColor)),
            global_media_elements=override(struct_hook=_structure_list(MediaElement)),
            extra=override(omit=True),
        ),
    )
    converter.register_structure_hook(
        Video, lambda data, _: _built_video(data) or slow_video(data, Video)
    )
    converter.register_structure_hook(
        VideoMetadata,
        _with_extra(
            VideoMetadata,
            make_dict_structure_fn(
                VideoMetadata,
                converter,
                scenes_metadata=override(struct_hook=_structure_list(SceneMetadata)),
                extra=override(omit=True),
            ),
        ),
    )
    for resource in (Subtitles, VoicePreview, UsagePeriod):
        converter.register_structure_hook(
            resource,
            _with_extra(
                resource, make_dict_structure_fn(resource, converter, extra=override(omit=True))
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
    return slow_video


def _optional_str_list(value: Any, _: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError(f"expected a list of strings, got {_describe(value)}")
    return tuple(_structure_str(item, None) for item in value)


def _with_extra(cls: type[_T], structure: Callable[[Any, Any], _T]) -> Callable[[Any, Any], _T]:
    """Wrap a generated hook so that the model keeps the fields it does not know."""
    known = frozenset(field.name for field in attrs.fields(cast(Any, cls))) - {"extra"}
    set_extra = _slot_setter(cls, "extra")

    def structure_with_extra(data: Any, _: object) -> _T:
        obj = structure(data, cls)
        if not data.keys() <= known:
            set_extra(obj, _unknown(data, known))
        return obj

    return structure_with_extra


def _unknown(data: dict[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    return ReadOnlyMapping({k: v for k, v in data.items() if k not in known})


def _slot(cls: type[Any], name: str) -> Any:
    """Return the slot (member descriptor) of one field of a slotted attrs class."""
    descriptor = cls.__dict__[name]
    return getattr(descriptor, "slot", descriptor)  # under a `_BuiltOnFirstRead`


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """Return the setter of one slot of a frozen attrs class, for objects being built."""
    setter: Callable[[Any, Any], None] = _slot(cls, name).__set__
    return setter


def _builder(cls: type[_T]) -> Callable[..., _T]:
    """Return ``build(*values)``: a `cls` from its field values in order, past ``__init__``.

    For values the fast path has already checked and converted (tuples, not lists): it
    skips the keyword parsing and converters of the generated ``__init__``, which cost
    more than the rest of reading a video. The object is filled in as an instance of a
    subclass that adds no slots and allows plain assignment (a store the interpreter
    makes fast, unlike a call per slot), then becomes a `cls`.
    """
    names = [field.name for field in attrs.fields(cast(Any, cls))]
    members = {name: _slot(cls, name) for name in names}
    filling = type(
        f"_Filling{cls.__name__}",
        (cls,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            **members,  # the bare slots, even where `cls` reads a field through a descriptor
        },
    )
    lines = [f"def build({', '.join(names)}):", "    obj = new(filling)"]
    lines += [f"    obj.{name} = {name}" for name in names]
    lines += ["    obj.__class__ = cls", "    return obj"]
    namespace: dict[str, Any] = {"new": object.__new__, "filling": filling, "cls": cls}
    exec("\n".join(lines), namespace)  # how attrs and cattrs build their functions too
    build: Callable[..., _T] = namespace["build"]
    return build


# --- the fast path for Video -----------------------------------------------------------
# `fast_video` returns None for anything unusual; the caller then takes the cattrs path,
# which reads the same shapes the same way and explains what is wrong. The `_*_ok`
# functions hold the fast path's rules (what it accepts); the `_build_*` functions build
# what they accepted, without checking again.

_ABSENT: Final[Any] = object()
_STATUSES: Final = {member.value: member for member in VideoStatus}
_SCALARS: Final = frozenset({str, int, float, bool})
_VIDEO_KEYS: Final = frozenset(field.name for field in attrs.fields(Video)) - {"extra"}
_build_video: Final = _builder(Video)
_new_override_scene: Final = _builder(OverrideScene)
_new_create_scene: Final = _builder(CreateScene)
_new_media: Final = _builder(MediaElement)
_new_text: Final = _builder(TextElement)
_new_color: Final = _builder(PaletteColor)


def fast_video(data: Any) -> Video | None:
    """Read the usual shape of a Video quickly; None for anything else (then use cattrs).

    The video's scenes, palette and global media are checked here, but kept as their
    JSON until first read (see `_BuiltOnFirstRead`): a list of videos is mostly read for
    ids and statuses. Use it only on JSON nothing else holds (`parse_videos` does);
    `structure_video` builds everything at once.
    """
    if type(data) is not dict:
        return None
    get = data.get
    video_id = get("id")
    status = get("status")
    req_id = get("req_id")
    draft_id = get("draft_id")
    if (
        type(video_id) is not str
        or type(status) is not str
        or type(req_id) is not str
        or type(draft_id) is not str
    ):
        return None
    status = _STATUSES.get(status)  # an unknown status takes the cattrs path
    if status is None:
        return None
    player_url = get("video_player_url", "")
    if type(player_url) is not str:
        if player_url is not None:
            return None
        player_url = ""
    progress = get("progress", 0)
    if type(progress) is int:
        if progress < 0:
            progress = None
        elif progress > 100:
            progress = 100
    elif progress is not None:
        return None
    name = get("name")
    source_draft_id = get("source_draft_id")
    recipe_id = get("recipe_id")
    template_id = get("template_id")
    palette_id = get("palette_id")
    character_id = get("character_id")
    voice_id = get("voice_id")
    download_url = get("download_url")
    correlation_id = get("correlation_id")
    if (  # unrolled: this runs for every video of a list
        (name is not None and type(name) is not str)
        or (source_draft_id is not None and type(source_draft_id) is not str)
        or (recipe_id is not None and type(recipe_id) is not str)
        or (template_id is not None and type(template_id) is not str)
        or (palette_id is not None and type(palette_id) is not str)
        or (character_id is not None and type(character_id) is not str)
        or (voice_id is not None and type(voice_id) is not str)
        or (download_url is not None and type(download_url) is not str)
        or (correlation_id is not None and type(correlation_id) is not str)
    ):
        return None
    scenes = get("scenes")
    if scenes is None or scenes == []:
        scenes = ()
    elif not _scenes_ok(scenes):
        return None
    palette = get("palette")
    if palette is None or palette == []:
        palette = ()
    elif not _palette_ok(palette):
        return None
    global_media = get("global_media_elements")
    if global_media is None or global_media == []:
        global_media = ()
    elif not _media_ok(global_media):
        return None
    metadata = get("metadata")
    if metadata is None:
        metadata = {}
    elif type(metadata) is not dict or not all(
        value is None or type(value) in _SCALARS for value in metadata.values()
    ):
        return None
    extra = NO_EXTRA if data.keys() <= _VIDEO_KEYS else _unknown(data, _VIDEO_KEYS)
    return _build_video(
        video_id,
        status,
        req_id,
        draft_id,
        player_url,
        progress,
        name,
        source_draft_id,
        recipe_id,
        template_id,
        palette_id,
        character_id,
        voice_id,
        download_url,
        correlation_id,
        scenes,
        metadata,
        palette,
        global_media,
        extra,
    )


def _is_create_scene(scene: dict[str, Any]) -> bool:
    """Whether a scene read from JSON is a `CreateScene`: typed so, or untyped with a layout."""
    kind = scene.get("type")
    return kind == _CREATE_SCENE or (kind != _OVERRIDE_SCENE and "layout_id" in scene)


def _scenes_ok(raw: Any) -> bool:
    if type(raw) is not list:
        return False
    for scene in raw:
        if type(scene) is not dict:
            return False
        get = scene.get
        name = get("name")
        transcript = get("transcript")
        recording = get("voice_recording_url")
        if (
            type(name) is not str
            or (transcript is not None and type(transcript) is not str)
            or (recording is not None and type(recording) is not str)
        ):
            return False
        if _is_create_scene(scene):
            media = get("media_elements")
            texts = get("texts_elements")
            if (
                type(get("layout_id")) is not str
                or (media is not None and not _media_ok(media))
                or (texts is not None and not _texts_ok(texts))
            ):
                return False
        else:
            media = get("media")
            texts = get("texts")
            if (media is not None and not _strs_ok(media)) or (
                texts is not None and not _strs_ok(texts)
            ):
                return False
    return True


def _strs_ok(raw: Any) -> bool:
    return type(raw) is list and all(type(item) is str for item in raw)


def _media_ok(raw: Any) -> bool:
    if type(raw) is not list:
        return False
    for item in raw:
        if type(item) is not dict:
            return False
        get = item.get
        url = get("url")
        element_id = get("id")
        media_id = get("media_id")
        if (
            (url is not None and type(url) is not str)
            or (element_id is not None and type(element_id) is not str)
            or (media_id is not None and type(media_id) is not str)
        ):
            return False
    return True


def _texts_ok(raw: Any) -> bool:
    if type(raw) is not list:
        return False
    for item in raw:
        if type(item) is not dict:
            return False
        element_id = item.get("id")
        if type(item.get("text")) is not str or (
            element_id is not None and type(element_id) is not str
        ):
            return False
    return True


def _palette_ok(raw: Any) -> bool:
    return type(raw) is list and all(
        type(item) is dict and type(item.get("color")) is str for item in raw
    )


def _build_scenes(raw: list[Any]) -> tuple[Scene, ...]:
    scenes: list[Scene] = []
    new: Scene
    for scene in raw:
        get = scene.get
        if _is_create_scene(scene):
            # As the generated hooks do: a missing list stays None, a null one reads as ().
            media: Any = get("media_elements", _ABSENT)
            texts: Any = get("texts_elements", _ABSENT)
            if media is _ABSENT:
                media = None
            elif media is None:
                media = ()
            else:
                media = _build_media(media)
            if texts is _ABSENT:
                texts = None
            elif texts is None:
                texts = ()
            else:
                texts = tuple(_new_text(item["text"], item.get("id")) for item in texts)
            new = _new_create_scene(
                scene["name"],
                scene["layout_id"],
                media,
                texts,
                get("transcript"),
                get("voice_recording_url"),
            )
        else:
            media = get("media")
            texts = get("texts")
            new = _new_override_scene(
                scene["name"],
                None if media is None else tuple(media),
                None if texts is None else tuple(texts),
                get("transcript"),
                get("voice_recording_url"),
            )
        scenes.append(new)
    return tuple(scenes)


def _build_media(raw: list[Any]) -> tuple[MediaElement, ...]:
    return tuple(_new_media(item.get("url"), item.get("id"), item.get("media_id")) for item in raw)


def _build_palette(raw: list[Any]) -> tuple[PaletteColor, ...]:
    return tuple(_new_color(item["color"]) for item in raw)


class _BuiltOnFirstRead:
    """A field of `Video` that `fast_video` may leave as checked JSON, built when first read.

    The slot holds either the built tuple or, until the field is first read, the JSON
    list that `fast_video` checked (a built value is never a list: the field's converter
    makes a tuple of any list given to `Video`). Reading builds the tuple once and keeps
    it in the slot, so equality, hashing, repr, copies and pickles all see built values.
    """

    __slots__ = ("_build", "_get", "_set", "slot")

    def __init__(self, slot: Any, build: Callable[[list[Any]], tuple[Any, ...]]) -> None:
        self.slot = slot
        self._get = slot.__get__
        self._set = slot.__set__
        self._build = build

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = self._get(obj, owner)
        if type(value) is list:
            value = self._build(value)
            self._set(obj, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self._set(obj, value)


_DEFERRED: Final = (
    ("scenes", _build_scenes),
    ("palette", _build_palette),
    ("global_media_elements", _build_media),
)
for _name, _build in _DEFERRED:
    setattr(Video, _name, _BuiltOnFirstRead(Video.__dict__[_name], _build))


def _built_video(data: Any) -> Video | None:
    """Return `fast_video`'s Video with everything built now, or None as it does."""
    video = fast_video(data)
    if video is not None:
        for name, _ in _DEFERRED:
            if data.get(name):  # empty or absent: already built, as ()
                getattr(video, name)
    return video


def structure_video(data: Any) -> Video:
    """Read one Video from decoded JSON, tolerantly; raise as the converter does.

    Everything is built now, so the caller may change or reuse `data` afterwards.
    """
    return _built_video(data) or converter.structure(data, Video)


def unstructure_request(request: CreateVideoRequest) -> dict[str, Any]:
    """Turn a create form into the JSON body to send, with its ``type`` tag if it has one.

    No checks: `build_create_body` checks a form first, then calls this.
    """
    body: dict[str, Any] = converter.unstructure(request, unstructure_as=CreateVideoRequest)
    tag = body.pop("type", None)  # None for the flat form, which has no tag
    return body if tag is None else {"type": tag, **body}


ResponseModel = Video | VideoMetadata | Subtitles | VoicePreview | UsagePeriod
"""A model read from an answer of the API."""

_SCENE_TAGS: Final[Mapping[type[Any], str]] = {
    OverrideScene: _OVERRIDE_SCENE,
    CreateScene: _CREATE_SCENE,
}


def response_to_json(model: ResponseModel) -> dict[str, Any]:
    """Return a response model as the API's JSON shape, ready for `json.dumps`.

    Every field the client knows is present (``null`` when unset); scenes carry their
    ``type``; enums are their values; the unknown fields kept in ``extra`` follow.
    """
    if type(model) not in (Video, VideoMetadata, Subtitles, VoicePreview, UsagePeriod):
        raise TypeError(f"expected a response model such as Video, got {type(model).__name__}")
    data: dict[str, Any] = _plain(model)
    return data


def _plain(value: Any) -> Any:
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        tag = _SCENE_TAGS.get(type(value))
        if tag is not None:
            out["type"] = tag
        for field in attrs.fields(type(value)):
            if field.name != "extra":
                out[field.name] = _plain(getattr(value, field.name))
        for key, item in getattr(value, "extra", NO_EXTRA).items():
            out.setdefault(key, item)
        return out
    if isinstance(value, OpenEnum):
        return value.value
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def structure_request(data: dict[str, Any]) -> CreateVideoRequest:
    """Structure a create body strictly: its ``type`` picks the form; unknown keys fail.

    Raises:
        ValueError: ``type`` is not one of the forms'.
        cattrs.BaseValidationError: A field is missing, unknown or of the wrong type.

    """
    tag = data.get("type")
    if "type" in data and (type(tag) is not str or tag not in _FORMS_BY_TAG):
        allowed = ", ".join(repr(t) for t in _FORMS_BY_TAG)
        raise ValueError(
            f"type must be one of {allowed} (or absent for the flat form), got {tag!r}"
        )
    request: CreateVideoRequest = converter.structure(data, cast(Any, CreateVideoRequest))
    return request


_FORMS_BY_TAG: Final = {tag: cls for cls, tag in REQUEST_TYPE_TAGS.items() if tag is not None}


def _configure_requests() -> None:
    """Register the strict hooks of the create forms, and their tagged union.

    Requests are read strictly (a typo must not silently drop data): unknown keys fail,
    and no string field takes a number. The scene, media, text and colour classes are
    also read by the tolerant response hooks, so their strict hooks are given per field.
    """
    media = _strict(MediaElement)
    palette = _strict(PaletteColor)
    override_scene = _strict(OverrideScene, tag=_OVERRIDE_SCENE)
    create_scene = _strict(
        CreateScene,
        tag=_CREATE_SCENE,
        media_elements=override(struct_hook=_strict_items(media, MediaElement)),
        texts_elements=override(struct_hook=_strict_items(_strict(TextElement), TextElement)),
    )
    converter.register_structure_hook_func(
        lambda t: t == Mapping[str, str | int | bool], _structure_request_metadata
    )
    converter.register_structure_hook(WorkflowVariable, _strict(WorkflowVariable))
    converter.register_structure_hook(
        WorkflowVideoRequest, _strict(WorkflowVideoRequest, tag=_WORKFLOW_TAG)
    )
    converter.register_structure_hook(SourceDraftVideoRequest, _strict(SourceDraftVideoRequest))
    converter.register_structure_hook(
        OverrideVideoRequest,
        _strict(
            OverrideVideoRequest,
            tag=_OVERRIDE_TAG,
            scenes=override(struct_hook=_strict_items(override_scene, OverrideScene)),
        ),
    )
    converter.register_structure_hook(
        NewVideoRequest,
        _strict(
            NewVideoRequest,
            tag=_CREATE_TAG,
            scenes=override(struct_hook=_strict_items(create_scene, CreateScene)),
            palette=override(struct_hook=_strict_items(palette, PaletteColor)),
            global_media_elements=override(struct_hook=_strict_items(media, MediaElement)),
        ),
    )
    configure_tagged_union(
        CreateVideoRequest,
        converter,
        tag_generator=REQUEST_TYPE_TAGS.__getitem__,  # type: ignore[arg-type]
        tag_name="type",
        default=SourceDraftVideoRequest,
    )


def _strict(cls: type[_T], *, tag: str | None = None, **overrides: Any) -> Callable[[Any, Any], _T]:
    """Return a hook reading `cls` strictly; ``type`` may name `cls`'s own tag."""
    structure = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True, **overrides)
    if tag is None:
        return structure

    def structure_tagged(data: Any, _: object) -> _T:
        if isinstance(data, dict) and data.get("type") == tag:
            data = {key: value for key, value in data.items() if key != "type"}
        return structure(data, cls)

    return structure_tagged


def _strict_items(
    structure: Callable[[Any, Any], _T], cls: type[_T]
) -> Callable[[Any, Any], tuple[_T, ...] | None]:
    """Return a hook reading a JSON array of `cls` into a tuple, naming a bad item's index."""

    def structure_items(value: Any, _: object) -> tuple[_T, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list):
            raise TypeError(f"expected a list of {cls.__name__}, got {_describe(value)}")
        items: list[_T] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(structure(item, cls))
            except Exception as exc:  # collected with its index, as cattrs does
                note = IterableValidationNote(
                    f"Structuring {cls.__name__} @ index {index}", index, cls
                )
                cast(Any, exc).__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        if errors:
            raise IterableValidationError(
                f"While structuring a list of {cls.__name__}", errors, cls
            )
        return tuple(items)

    return structure_items


def _structure_request_metadata(value: Any, _: object) -> dict[str, str | int | bool]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {_describe(value)}")
    for key, item in value.items():
        if not isinstance(item, (str, int)):  # bool is an int
            raise TypeError(f"metadata[{key!r}]: expected a string, integer or boolean")
    return value


_slow_video: Final = _configure()
_configure_requests()
