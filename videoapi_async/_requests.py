"""Building requests strictly: every field checked before anything is sent.

The create forms' bodies (and their JSON both ways: `request_from_json`,
`request_to_json`), the subtitles and voice-preview bodies, and the usage query.
Messages name the field (``scenes[2].transcript``) and say what to pass instead. Only
the fields that are set are sent; text that cannot be encoded as UTF-8 is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs

from ._converters import structure_request, unstructure_request
from ._models import (
    CreateScene,
    CreateVideoRequest,
    MediaElement,
    NewVideoRequest,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    SourceDraftVideoRequest,
    TextElement,
    WorkflowVariable,
    WorkflowVideoRequest,
)
from .contract import (
    MAX_CORRELATION_ID,
    MAX_TRANSCRIPT,
    MAX_URL,
    PALETTE_COLOR_PATTERN,
    SUBTITLE_FORMATS,
    SUBTITLE_LANGUAGES,
    USAGE_BREAKDOWNS,
)

__all__ = [
    "FLAT_CREATE_FIELDS",
    "build_create_body",
    "build_subtitles_body",
    "build_usage_query",
    "build_voice_preview_body",
    "flat_create_fields",
    "request_from_json",
    "request_to_json",
]

_PALETTE_COLOR: Final = re.compile(PALETTE_COLOR_PATTERN)

FLAT_CREATE_FIELDS: Final = tuple(field.name for field in attrs.fields(SourceDraftVideoRequest))
"""The fields of the flat create form: `VideoAPI.create_video`'s keyword arguments."""


def flat_create_fields() -> tuple[str, ...]:
    """Return the flat create form's fields, in order: ``name``, ``source_draft_id``, ....

    They are `VideoAPI.create_video`'s keyword arguments and `SourceDraftVideoRequest`'s
    fields: the columns a table of flat creates may have.
    """
    return FLAT_CREATE_FIELDS


def request_from_json(data: object) -> CreateVideoRequest:
    """Build a create request from its JSON body, any of the four forms, checked strictly.

    Without ``type`` the body is the flat form (`FLAT_CREATE_FIELDS`); with ``"type":
    "override" | "create" | "workflow"`` it is that tagged form (a scene may also carry
    its own ``type``). Unknown fields are refused, so a typo never drops data silently, and
    the request is checked as `VideoAPI.create_video` would check it.

    Raises:
        ValueError: The body is not a request the API takes; the message names the field.

    """
    if not isinstance(data, dict):
        raise ValueError(f"a create request must be a JSON object, got {type(data).__name__}")
    try:
        request = structure_request(data)
    except cattrs.BaseValidationError as exc:
        raise ValueError("; ".join(cattrs.transform_error(exc, path="request"))) from None
    try:
        build_create_body(request)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return request


def request_to_json(request: CreateVideoRequest) -> dict[str, Any]:
    """Return the JSON body sent for `request` (with its ``type`` tag), checked strictly.

    Only the fields that are set are included. The inverse of `request_from_json`.

    Raises:
        TypeError: `request` is not one of the create forms, or a field has the wrong type.
        ValueError: A field breaks a documented limit; the message names the field.

    """
    return build_create_body(request)


_T = TypeVar("_T")


def build_create_body(request: CreateVideoRequest) -> dict[str, Any]:
    """Check a create form strictly and return the JSON body to send.

    Raises:
        TypeError: `request` is not one of the create forms, or a field has the wrong type.
        ValueError: A field breaks a documented limit; the message names the field.

    """
    check = _Checker()
    if isinstance(request, SourceDraftVideoRequest):
        check.strings(request, *FLAT_CREATE_FIELDS)
        if request.source_draft_id is None and request.recipe_id is None:
            raise ValueError(
                "create_video needs source_draft_id= or recipe_id= (the project or recipe "
                "to render); for the other create forms pass an OverrideVideoRequest, "
                "NewVideoRequest or WorkflowVideoRequest"
            )
    elif isinstance(request, OverrideVideoRequest):
        check.strings(request, *FLAT_CREATE_FIELDS, "logo_url")
        check.common(request.metadata, request.correlation_id)
        for i, old in enumerate(check.items(request.scenes, "scenes", OverrideScene)):
            check.scene(old, f"scenes[{i}]")
            for field in ("media", "texts"):
                values = getattr(old, field)
                if values is not None:
                    check.items(values, f"scenes[{i}].{field}", str)
    elif isinstance(request, NewVideoRequest):
        check.required(request, "template_id", "character_id", "voice_id")
        check.strings(request, "name", "folder_id", "palette_id")
        check.common(request.metadata, request.correlation_id)
        scenes = check.items(request.scenes, "scenes", CreateScene)
        if not scenes:
            raise ValueError("scenes must hold at least one CreateScene")
        for i, new in enumerate(scenes):
            check.scene(new, f"scenes[{i}]")
            check.required(new, "layout_id", where=f"scenes[{i}]")
            check.media(new.media_elements, f"scenes[{i}].media_elements")
            if new.texts_elements is not None:
                where = f"scenes[{i}].texts_elements"
                for j, text in enumerate(check.items(new.texts_elements, where, TextElement)):
                    if not isinstance(text.text, str):
                        raise TypeError(
                            f"{where}[{j}].text must be a string, got {type(text.text).__name__}"
                        )
                    check.strings(text, "id", where=f"{where}[{j}]")
        if request.palette is not None:
            for i, color in enumerate(check.items(request.palette, "palette", PaletteColor)):
                if not isinstance(color.color, str) or not _PALETTE_COLOR.match(color.color):
                    raise ValueError(
                        f"palette[{i}].color must look like #RRGGBB or #RRGGBBAA, "
                        f"got {color.color!r}"
                    )
        check.media(request.global_media_elements, "global_media_elements")
    elif isinstance(request, WorkflowVideoRequest):
        check.required(request, "workflow_id")
        check.common(request.metadata, request.correlation_id)
        variables = check.items(request.variables, "variables", WorkflowVariable)
        for i, variable in enumerate(variables):
            check.required(variable, "value", where=f"variables[{i}]")
            check.strings(variable, "name", "variable_id", where=f"variables[{i}]")
    else:
        raise TypeError(
            "request must be a SourceDraftVideoRequest, OverrideVideoRequest, "
            f"NewVideoRequest or WorkflowVideoRequest, got {type(request).__name__}"
        )
    body = unstructure_request(request)
    _check_encodable(body, "")
    return body


def _check_encodable(value: Any, where: str) -> None:
    """Refuse text that cannot be sent as UTF-8 (lone surrogates), naming its field."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{where or 'a field'} is not valid Unicode text (it holds lone surrogates, "
                "often from bytes decoded with errors='surrogateescape'); fix the text"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_encodable(key, where)
            _check_encodable(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_encodable(item, f"{where}[{index}]")


class _Checker:
    """Field checks with messages that name the field and say what to pass instead."""

    def strings(self, obj: object, *names: str, where: str = "") -> None:
        for name in names:
            value = getattr(obj, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(
                    f"{_at(where, name)} must be a string or None, got "
                    f"{type(value).__name__}: {value!r}"
                )

    def required(self, obj: object, *names: str, where: str = "") -> None:
        for name in names:
            value = getattr(obj, name)
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"{_at(where, name)} is required and must be a non-empty string, got {value!r}"
                )

    def items(self, values: object, where: str, kind: type[_T]) -> tuple[_T, ...]:
        if not isinstance(values, tuple) or not all(isinstance(v, kind) for v in values):
            raise TypeError(f"{where} must be a list of {kind.__name__}, got {values!r}")
        return values

    def scene(self, scene: OverrideScene | CreateScene, where: str) -> None:
        self.required(scene, "name", where=where)
        self.strings(scene, "transcript", "voice_recording_url", where=where)
        if scene.transcript is not None and len(scene.transcript) > MAX_TRANSCRIPT:
            raise ValueError(
                f"{where}.transcript is {len(scene.transcript)} characters; the API allows "
                f"at most {MAX_TRANSCRIPT}. Split it across scenes."
            )

    def media(self, elements: tuple[MediaElement, ...] | None, where: str) -> None:
        if elements is None:
            return
        for i, element in enumerate(self.items(elements, where, MediaElement)):
            self.strings(element, "url", "id", "media_id", where=f"{where}[{i}]")
            if element.url is not None and not 1 <= len(element.url) <= MAX_URL:
                raise ValueError(
                    f"{where}[{i}].url must be 1 to {MAX_URL} characters long, "
                    f"got {len(element.url)}"
                )

    def common(self, metadata: object, correlation_id: object) -> None:
        if correlation_id is not None:
            if not isinstance(correlation_id, str):
                raise TypeError(
                    f"correlation_id must be a string, got {type(correlation_id).__name__}"
                )
            if len(correlation_id) > MAX_CORRELATION_ID:
                raise ValueError(
                    f"correlation_id is {len(correlation_id)} characters; the API allows "
                    f"at most {MAX_CORRELATION_ID}"
                )
        if metadata is None:
            return
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, (str, int, bool)):
                raise TypeError(
                    f"metadata must map strings to str, int or bool; {key!r} maps to "
                    f"{type(value).__name__}: {value!r}"
                )


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def build_subtitles_body(language_code: str, format: str) -> dict[str, str]:
    """Check a subtitles request and return its body.

    Raises:
        ValueError: The language or format is not one the API offers.
    """
    if language_code not in SUBTITLE_LANGUAGES:
        raise ValueError(
            f"language_code {language_code!r} is not offered; use one of "
            f"{', '.join(sorted(SUBTITLE_LANGUAGES))}"
        )
    if format not in SUBTITLE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(SUBTITLE_FORMATS)}, got {format!r}")
    return {"language_code": language_code, "format": format}


def build_voice_preview_body(transcript: str, source_draft_id: str) -> dict[str, str]:
    """Check a voice preview request and return its body."""
    for name, value in (("transcript", transcript), ("source_draft_id", source_draft_id)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} is required and must be a non-empty string, got {value!r}")
    body = {"transcript": transcript, "source_draft_id": source_draft_id}
    _check_encodable(body, "")
    return body


def build_usage_query(
    breakdown: str,
    from_date: dt.date | str | None,
    to_date: dt.date | str | None,
    correlation_id: str | None,
    *,
    today: dt.date | None = None,
) -> dict[str, str]:
    """Check a usage summary window and return its query parameters.

    Dates may be `datetime.date` objects or ``YYYY-MM-DD`` strings. The window must
    not be reversed, and must not start in the future.

    Raises:
        ValueError: The breakdown is unknown, a date is malformed, or the window is
            reversed or in the future.
    """
    if breakdown not in USAGE_BREAKDOWNS:
        raise ValueError(
            f"breakdown must be one of {', '.join(USAGE_BREAKDOWNS)}, got {breakdown!r}"
        )
    query = {"breakdown": breakdown}
    start = _as_date("from_date", from_date)
    end = _as_date("to_date", to_date)
    if start is not None and end is not None and start > end:
        raise ValueError(f"from_date ({start}) is after to_date ({end}); swap them")
    current = today if today is not None else dt.date.today()
    if start is not None and start > current:
        raise ValueError(f"from_date ({start}) is in the future; nothing has been used yet")
    if start is not None:
        query["from_date"] = start.isoformat()
    if end is not None:
        query["to_date"] = end.isoformat()
    if correlation_id is not None:
        if not isinstance(correlation_id, str) or not correlation_id:
            raise ValueError(f"correlation_id must be a non-empty string, got {correlation_id!r}")
        query["correlation_id"] = correlation_id
    return query


def _as_date(name: str, value: dt.date | str | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be a date or a 'YYYY-MM-DD' string, got {value!r}")
