"""Videos, their parts and the create-request forms, as frozen attrs classes.

Responses (`Video`, `VideoMetadata`, ...) are read tolerantly by the converter in
`_converters`: unknown fields are kept in the read-only ``extra``, ``null`` optionals
become ``None``, and an unknown ``status`` is kept as a `VideoStatus` that is not
terminal. Request forms (`SourceDraftVideoRequest`, `OverrideVideoRequest`,
`NewVideoRequest`, `WorkflowVideoRequest`) are checked strictly before anything is
sent, and only the fields that are set are sent. No (de)serialisation code lives here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

import attrs

from .contract import FAILURE_STATUSES, SUCCESS_STATUSES

__all__ = [
    "NO_EXTRA",
    "CreateScene",
    "CreateVideoRequest",
    "MediaElement",
    "MetadataValue",
    "NewVideoRequest",
    "OverrideScene",
    "OverrideVideoRequest",
    "PaletteColor",
    "ReadOnlyMapping",
    "Scene",
    "SceneMetadata",
    "SourceDraftVideoRequest",
    "TextElement",
    "Video",
    "VideoMetadata",
    "VideoStatus",
    "WorkflowVariable",
    "WorkflowVideoRequest",
]

MetadataValue = str | int | float | bool | None
"""A value of a video's ``metadata`` map (the API documents str, int and bool)."""


class OpenEnum(str, enum.Enum):
    """A string enum that keeps values it does not know as pseudo-members.

    The API may add values; reading one must neither fail nor be mistaken for a known
    member. ``str()`` gives the value, as the API spells it.
    """

    @classmethod
    def _missing_(cls, value: object) -> OpenEnum | None:
        if not isinstance(value, str):
            return None
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value
        pseudo._value_ = value
        return pseudo

    def __str__(self) -> str:
        return str(self._value_)

    @property
    def is_known(self) -> bool:
        """Whether this is one of the documented values, not one the API added later."""
        return type(self).__members__.get(self._name_) is self


class VideoStatus(OpenEnum):
    """Where a render is in its life.

    ``ready`` and ``published`` are terminal successes; ``failed``, ``stopped`` and
    ``cancelled`` are terminal failures; everything else is still in progress. A status
    the API adds later is kept as a pseudo-member (``VideoStatus("queued").value ==
    "queued"``) that is neither terminal nor known, so new values never break parsing or
    end a wait early.
    """

    NOT_STARTED = "not_started"
    STARTED = "started"
    PROCESSING = "processing"
    READY = "ready"
    PUBLISHED = "published"
    FAILED = "failed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """Whether the render has ended, successfully or not."""
        return self in _SUCCESS or self in _FAILURE

    @property
    def is_success(self) -> bool:
        """Whether the render ended with a playable video (``ready`` or ``published``)."""
        return self in _SUCCESS

    @property
    def is_failure(self) -> bool:
        """Whether the render ended without a video (``failed``, ``stopped``, ``cancelled``)."""
        return self in _FAILURE


_SUCCESS = frozenset(map(VideoStatus, SUCCESS_STATUSES))
_FAILURE = frozenset(map(VideoStatus, FAILURE_STATUSES))


def _tuple_or_none(value: object) -> object:
    """Turn a list (or any iterable but a string) into a tuple; keep None."""
    kind = type(value)
    if kind is tuple or value is None:  # the common cases first: this runs per field
        return value
    if kind is list:
        return tuple(cast(list[Any], value))
    if isinstance(value, (str, bytes, Mapping)):
        return value
    try:
        return tuple(cast(Iterable[Any], value))
    except TypeError:
        return value


def _to_tuple(value: object) -> object:
    return () if value is None else _tuple_or_none(value)


class ReadOnlyMapping(Mapping[str, Any]):
    """A mapping that cannot be changed, over a dict it owns; copied and pickled like one.

    (`types.MappingProxyType` is read-only too, but cannot be pickled or deep-copied,
    and a `Video` must survive both.)
    """

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


NO_EXTRA: Mapping[str, Any] = ReadOnlyMapping({})
"""The `extra` of a response that held only the fields the client knows."""


def _read_only(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not value:
        return NO_EXTRA
    if type(value) is ReadOnlyMapping:
        return value
    return ReadOnlyMapping(dict(value))


def _extra_field() -> Any:
    """Return the ``extra`` field of a response model: shown, not compared or hashed."""
    return attrs.field(default=NO_EXTRA, converter=_read_only, eq=False, repr=repr)


@attrs.frozen(kw_only=True)
class MediaElement:
    """An image or video used by a scene or by the whole video.

    Attributes:
        url: The media's URL (1 to 2083 characters).
        id: The element's id in the layout, when it replaces a specific element.
        media_id: The id of media already in the vendor's library.

    """

    url: str | None = None
    id: str | None = None
    media_id: str | None = None


@attrs.frozen(kw_only=True)
class TextElement:
    """A text value for a scene of a ``create`` request.

    Attributes:
        text: The text.
        id: The element's id in the layout, when it replaces a specific element.

    """

    text: str
    id: str | None = None


@attrs.frozen(kw_only=True)
class PaletteColor:
    """One colour of a palette: ``#RRGGBB`` or ``#RRGGBBAA`` (the ``#`` is optional)."""

    color: str


@attrs.frozen(kw_only=True)
class OverrideScene:
    """A scene of an ``override`` request: replaces a scene of the source project.

    Attributes:
        name: The scene's name.
        media: Image or video URLs, in the layout's order; extra ones are dropped.
        texts: Text values, in the layout's order; extra ones are dropped.
        transcript: What the presenter says (at most 1000 characters).
        voice_recording_url: A recording to use instead of a generated voice.

    """

    name: str
    media: tuple[str, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    texts: tuple[str, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    transcript: str | None = None
    voice_recording_url: str | None = None


@attrs.frozen(kw_only=True)
class CreateScene:
    """A scene of a ``create`` request: built from a layout.

    Attributes:
        name: The scene's name.
        layout_id: The layout the scene uses.
        media_elements: Media for the layout's media slots.
        texts_elements: Texts for the layout's text slots.
        transcript: What the presenter says (at most 1000 characters).
        voice_recording_url: A recording to use instead of a generated voice.

    """

    name: str
    layout_id: str
    media_elements: tuple[MediaElement, ...] | None = attrs.field(
        default=None, converter=_tuple_or_none
    )
    texts_elements: tuple[TextElement, ...] | None = attrs.field(
        default=None, converter=_tuple_or_none
    )
    transcript: str | None = None
    voice_recording_url: str | None = None


Scene = OverrideScene | CreateScene
"""Either scene shape; a `Video`'s ``scenes`` may hold both kinds."""


@attrs.frozen(kw_only=True)
class Video:
    """A video and the state of its render, as the API reports it.

    Attributes:
        id: The video's id; pass it to `VideoAPI.get_video` and friends.
        status: Where the render is; see `VideoStatus`.
        progress: Render progress in percent (0 to 100), or None when the API does not
            know (it reports ``-1`` or ``null``). Never a negative number.
        req_id: The id of the request that created the video.
        draft_id: The id of the project the request created.
        video_player_url: The player URL; an empty or placeholder string until the
            render is ready.
        download_url: The file's URL once the render is ready, otherwise None.
        name: The video's name.
        correlation_id: The correlation id given at creation.
        metadata: The metadata given at creation.
        extra: The fields of the answer this client does not know (a field the API adds
            later), read-only, as decoded from JSON. Not part of equality.

    """

    id: str
    status: VideoStatus
    req_id: str
    draft_id: str
    video_player_url: str = ""
    progress: int | None = 0
    name: str | None = None
    source_draft_id: str | None = None
    recipe_id: str | None = None
    template_id: str | None = None
    palette_id: str | None = None
    character_id: str | None = None
    voice_id: str | None = None
    download_url: str | None = None
    correlation_id: str | None = None
    scenes: tuple[Scene, ...] = attrs.field(default=(), converter=_to_tuple)
    metadata: Mapping[str, MetadataValue] = attrs.field(factory=dict, hash=False)
    palette: tuple[PaletteColor, ...] = attrs.field(default=(), converter=_to_tuple)
    global_media_elements: tuple[MediaElement, ...] = attrs.field(default=(), converter=_to_tuple)
    extra: Mapping[str, Any] = _extra_field()

    @property
    def is_terminal(self) -> bool:
        """Whether the render has ended, successfully or not."""
        return self.status.is_terminal

    @property
    def is_ready(self) -> bool:
        """Whether the render ended with a playable video."""
        return self.status.is_success

    @property
    def is_failed(self) -> bool:
        """Whether the render ended without a video."""
        return self.status.is_failure


@attrs.frozen(kw_only=True)
class SceneMetadata:
    """Timing of one scene in a rendered video.

    Attributes:
        scene_index: The scene's position, from 0.
        start_time: When the scene starts, in seconds from the start of the video.
        duration: How long the scene lasts, in seconds.

    """

    scene_index: int
    start_time: float
    duration: float


@attrs.frozen(kw_only=True)
class VideoMetadata:
    """Timing of a rendered video.

    Attributes:
        duration: The video's length in seconds.
        scenes_metadata: The timing of each scene.
        extra: The fields of the answer this client does not know, read-only.

    """

    duration: float
    scenes_metadata: tuple[SceneMetadata, ...] = attrs.field(converter=_to_tuple)
    extra: Mapping[str, Any] = _extra_field()


@attrs.frozen(kw_only=True)
class WorkflowVariable:
    """A value for one variable of a workflow.

    Attributes:
        value: The value.
        name: The variable's name (give it or `variable_id`).
        variable_id: The variable's id (give it or `name`).

    """

    value: str
    name: str | None = None
    variable_id: str | None = None


@attrs.frozen(kw_only=True)
class SourceDraftVideoRequest:
    """The reference page's create form: render an existing project (draft) or recipe.

    This is what `VideoAPI.create_video`'s keyword arguments build. It carries no
    ``type`` member. Give `source_draft_id` or `recipe_id` (or both).
    """

    name: str | None = None
    source_draft_id: str | None = None
    recipe_id: str | None = None
    folder_id: str | None = None
    palette_id: str | None = None
    character_id: str | None = None
    voice_id: str | None = None


@attrs.frozen(kw_only=True)
class OverrideVideoRequest:
    """The ``override`` create form: an existing project with its scenes replaced.

    Attributes:
        scenes: One scene per scene of the source project, in order.
        logo_url: A logo to use instead of the project's.
        metadata: Your own key/value data, returned with the video.
        correlation_id: Your own id for the request (at most 100 characters); it is
            returned with the video and is how a lost create can be found again.

    """

    scenes: tuple[OverrideScene, ...] = attrs.field(converter=_tuple_or_none)
    name: str | None = None
    source_draft_id: str | None = None
    recipe_id: str | None = None
    folder_id: str | None = None
    palette_id: str | None = None
    character_id: str | None = None
    voice_id: str | None = None
    logo_url: str | None = None
    metadata: Mapping[str, str | int | bool] | None = attrs.field(default=None, hash=False)
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class NewVideoRequest:
    """The ``create`` create form: a new video from a template, character and voice.

    Attributes:
        template_id: The template to build from.
        character_id: The presenter.
        voice_id: The presenter's voice.
        scenes: At least one scene, in order.
        palette: Colours to use instead of the template's.
        global_media_elements: Media used across the whole video.
        metadata: Your own key/value data, returned with the video.
        correlation_id: Your own id for the request (at most 100 characters).

    """

    template_id: str
    character_id: str
    voice_id: str
    scenes: tuple[CreateScene, ...] = attrs.field(converter=_tuple_or_none)
    name: str | None = None
    folder_id: str | None = None
    palette_id: str | None = None
    palette: tuple[PaletteColor, ...] | None = attrs.field(default=None, converter=_tuple_or_none)
    global_media_elements: tuple[MediaElement, ...] | None = attrs.field(
        default=None, converter=_tuple_or_none
    )
    metadata: Mapping[str, str | int | bool] | None = attrs.field(default=None, hash=False)
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class WorkflowVideoRequest:
    """The ``workflow`` create form: run a workflow with values for its variables.

    Attributes:
        workflow_id: The workflow to run.
        variables: A value for each variable.
        metadata: Your own key/value data, returned with the video.
        correlation_id: Your own id for the request (at most 100 characters).

    """

    workflow_id: str
    variables: tuple[WorkflowVariable, ...] = attrs.field(converter=_tuple_or_none)
    metadata: Mapping[str, str | int | bool] | None = attrs.field(default=None, hash=False)
    correlation_id: str | None = None


CreateVideoRequest = (
    SourceDraftVideoRequest | OverrideVideoRequest | NewVideoRequest | WorkflowVideoRequest
)
"""Any of the four create forms `VideoAPI.create_video` accepts."""
