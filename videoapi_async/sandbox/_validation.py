"""Validation of ``POST /videos`` bodies, answered the way the real FastAPI server does.

Pure functions, no I/O. Errors are FastAPI/pydantic v1 items
(``{"loc": [...], "msg": ..., "type": ..., "ctx"?: ...}``) collected for every bad field,
not just the first. Two revisions of the request are accepted:

* a body without ``type`` is the reference page's flat form (``name``, ``source_draft_id``,
  ``recipe_id``, ``folder_id``, ``palette_id``, ``character_id``, ``voice_id``), which needs
  ``source_draft_id`` or ``recipe_id``; errors are located at ``["body", field]``;
* a body with ``type`` is one member of the OpenAPI document's tagged union (``override``,
  ``create``, ``workflow``); as with a pydantic v1 discriminated union, errors are located at
  ``["body", "<ModelName>", field, ...]``.

As in pydantic v1: unknown fields are ignored, ``null`` for an optional field means "not
given", numbers given for string fields become strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from email.message import Message
from typing import Any, Final

import attrs

from videoapi_async.contract import (
    CREATE_FORM_TAGS,
    MAX_CORRELATION_ID,
    MAX_TRANSCRIPT,
    MAX_URL,
    PALETTE_COLOR_PATTERN,
    SCENE_TYPES,
)

__all__ = [
    "CREATE_FORMS",
    "VIDEO_FIELDS_AFTER_URLS",
    "VIDEO_FIELDS_BEFORE_URLS",
    "BodyError",
    "CreateRequest",
    "decode_json_body",
    "parse_create_body",
    "validate_create_body",
]

ErrorItem = dict[str, Any]
Loc = tuple[str | int, ...]

CREATE_FORMS: Final = ("source_draft", *CREATE_FORM_TAGS)
"""The create-request forms: the flat reference-page form, then the three tagged ones."""

_SCHEME_RE: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)")
VIDEO_FIELDS_BEFORE_URLS: Final = (
    "name",
    "source_draft_id",
    "recipe_id",
    "template_id",
    "palette_id",
    "character_id",
    "voice_id",
    "scenes",
)
"""The create fields a Video echoes before its URLs, in the order the API shows them."""
VIDEO_FIELDS_AFTER_URLS: Final = ("metadata", "correlation_id", "palette", "global_media_elements")
"""The create fields a Video echoes after its URLs, in the order the API shows them."""
_ECHOED: Final = VIDEO_FIELDS_BEFORE_URLS + VIDEO_FIELDS_AFTER_URLS


class BodyError(Exception):
    """A create body the server refuses: ``status`` and the JSON ``detail`` to answer with."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


@attrs.frozen
class CreateRequest:
    """A valid create body: its form and the fields a Video echoes back."""

    form: str
    fields: dict[str, Any]

    @property
    def scenes(self) -> list[dict[str, Any]]:
        """The requested scenes (empty when the request names none)."""
        scenes: list[dict[str, Any]] = self.fields.get("scenes", [])
        return scenes


def _error(loc: Loc, msg: str, type_: str, ctx: dict[str, Any] | None = None) -> ErrorItem:
    item: ErrorItem = {"loc": list(loc), "msg": msg, "type": type_}
    if ctx is not None:
        item["ctx"] = ctx
    return item


# A field checker takes (value, loc, errors) and returns the clean value, or None after
# appending errors.
Checker = Callable[[Any, Loc, list[ErrorItem]], Any]


def _coerce_str(value: Any, loc: Loc, errors: list[ErrorItem]) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    errors.append(_error(loc, "str type expected", "type_error.str"))
    return None


def _string(*, max_length: int | None = None, pattern: str | None = None) -> Checker:
    regex = re.compile(pattern) if pattern is not None else None

    def check(value: Any, loc: Loc, errors: list[ErrorItem]) -> str | None:
        text = _coerce_str(value, loc, errors)
        if text is None:
            return None
        if max_length is not None and len(text) > max_length:
            errors.append(
                _error(
                    loc,
                    f"ensure this value has at most {max_length} characters",
                    "value_error.any_str.max_length",
                    {"limit_value": max_length},
                )
            )
            return None
        if regex is not None and regex.match(text) is None:
            errors.append(
                _error(
                    loc,
                    f'string does not match regex "{pattern}"',
                    "value_error.str.regex",
                    {"pattern": pattern},
                )
            )
            return None
        return text

    return check


_STR: Final = _string()


def _http_url(value: Any, loc: Loc, errors: list[ErrorItem]) -> str | None:
    text = _coerce_str(value, loc, errors)
    if text is None:
        return None
    if not text:
        errors.append(
            _error(
                loc,
                "ensure this value has at least 1 characters",
                "value_error.any_str.min_length",
                {"limit_value": 1},
            )
        )
        return None
    if len(text) > MAX_URL:
        errors.append(
            _error(
                loc,
                f"ensure this value has at most {MAX_URL} characters",
                "value_error.any_str.max_length",
                {"limit_value": MAX_URL},
            )
        )
        return None
    match = _SCHEME_RE.match(text)
    if match is None:
        errors.append(_error(loc, "invalid or missing URL scheme", "value_error.url.scheme"))
        return None
    if match.group(1).lower() not in ("http", "https"):
        errors.append(
            _error(
                loc,
                "URL scheme not permitted",
                "value_error.url.scheme",
                {"allowed_schemes": ["http", "https"]},
            )
        )
        return None
    if not match.group(2).rpartition("@")[2]:
        errors.append(_error(loc, "URL host invalid", "value_error.url.host"))
        return None
    return text


def _const(expected: str) -> Checker:
    def check(value: Any, loc: Loc, errors: list[ErrorItem]) -> str | None:
        if value == expected and isinstance(value, str):
            return expected
        errors.append(
            _error(
                loc,
                f"unexpected value; permitted: {expected!r}",
                "value_error.const",
                {"given": value, "permitted": [expected]},
            )
        )
        return None

    return check


def _metadata(value: Any, loc: Loc, errors: list[ErrorItem]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        errors.append(_error(loc, "value is not a valid dict", "type_error.dict"))
        return None
    clean: dict[str, Any] = {}
    failed = False
    for key, item in value.items():
        item_loc = (*loc, key)
        if isinstance(item, (str, int)):  # bool is an int
            clean[key] = item
        elif isinstance(item, float):
            clean[key] = str(item)  # a float only fits the str member of str | int | bool
        elif item is None:
            errors.append(
                _error(item_loc, "none is not an allowed value", "type_error.none.not_allowed")
            )
            failed = True
        else:
            errors.append(_error(item_loc, "str type expected", "type_error.str"))
            errors.append(_error(item_loc, "value is not a valid integer", "type_error.integer"))
            errors.append(
                _error(item_loc, "value could not be parsed to a boolean", "type_error.bool")
            )
            failed = True
    return None if failed else clean


def _list_of(item: Checker, *, min_items: int = 0) -> Checker:
    def check(value: Any, loc: Loc, errors: list[ErrorItem]) -> list[Any] | None:
        if not isinstance(value, list):
            errors.append(_error(loc, "value is not a valid list", "type_error.list"))
            return None
        clean: list[Any] = []
        failed = False
        for index, element in enumerate(value):
            element_loc = (*loc, index)
            if element is None:
                errors.append(
                    _error(
                        element_loc, "none is not an allowed value", "type_error.none.not_allowed"
                    )
                )
                failed = True
                continue
            result = item(element, element_loc, errors)
            failed = failed or result is None
            clean.append(result)
        if len(value) < min_items:
            errors.append(
                _error(
                    loc,
                    f"ensure this value has at least {min_items} items",
                    "value_error.list.min_items",
                    {"limit_value": min_items},
                )
            )
            return None
        return None if failed else clean

    return check


@attrs.frozen
class _Field:
    name: str
    check: Checker
    required: bool = False
    default: Any = None


def _model(fields: Sequence[_Field]) -> Checker:
    def check(value: Any, loc: Loc, errors: list[ErrorItem]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            errors.append(_error(loc, "value is not a valid dict", "type_error.dict"))
            return None
        return _check_fields(value, fields, loc, errors)

    return check


def _check_fields(
    value: dict[str, Any], fields: Sequence[_Field], loc: Loc, errors: list[ErrorItem]
) -> dict[str, Any] | None:
    clean: dict[str, Any] = {}
    failed = False
    for field in fields:
        field_loc = (*loc, field.name)
        raw = value.get(field.name)
        if raw is None:
            if field.required and field.name not in value:
                errors.append(_error(field_loc, "field required", "value_error.missing"))
                failed = True
            elif field.required:
                errors.append(
                    _error(field_loc, "none is not an allowed value", "type_error.none.not_allowed")
                )
                failed = True
            elif field.default is not None:
                clean[field.name] = field.default
            continue
        result = field.check(raw, field_loc, errors)
        if result is None:
            failed = True
        else:
            clean[field.name] = result
    return None if failed else clean


_MEDIA: Final = _model(
    (_Field("id", _STR), _Field("url", _http_url), _Field("media_id", _STR)),
)
_TEXT: Final = _model((_Field("id", _STR), _Field("text", _STR, required=True)))
_PALETTE: Final = _model((_Field("color", _string(pattern=PALETTE_COLOR_PATTERN), required=True),))
_VARIABLE: Final = _model(
    (_Field("name", _STR), _Field("variable_id", _STR), _Field("value", _STR, required=True)),
)
_OVERRIDE, _CREATE, _WORKFLOW = CREATE_FORM_TAGS
_OVERRIDE_SCENE_TYPE, _CREATE_SCENE_TYPE = SCENE_TYPES
_TRANSCRIPT: Final = _string(max_length=MAX_TRANSCRIPT)
_CORRELATION_ID: Final = _string(max_length=MAX_CORRELATION_ID)
_OVERRIDE_SCENE: Final = _model(
    (
        _Field("name", _STR, required=True),
        _Field("type", _const(_OVERRIDE_SCENE_TYPE), default=_OVERRIDE_SCENE_TYPE),
        _Field("media", _list_of(_STR)),
        _Field("texts", _list_of(_STR)),
        _Field("transcript", _TRANSCRIPT),
        _Field("voice_recording_url", _STR),
    ),
)
_CREATE_SCENE: Final = _model(
    (
        _Field("name", _STR, required=True),
        _Field("type", _const(_CREATE_SCENE_TYPE), default=_CREATE_SCENE_TYPE),
        _Field("layout_id", _STR, required=True),
        _Field("media_elements", _list_of(_MEDIA)),
        _Field("texts_elements", _list_of(_TEXT)),
        _Field("transcript", _TRANSCRIPT),
        _Field("voice_recording_url", _STR),
    ),
)
_SOURCE_FIELDS: Final = (
    _Field("name", _STR),
    _Field("source_draft_id", _STR),
    _Field("recipe_id", _STR),
    _Field("folder_id", _STR),
    _Field("palette_id", _STR),
    _Field("character_id", _STR),
    _Field("voice_id", _STR),
)
_TAGGED: Final[dict[str, tuple[str, tuple[_Field, ...]]]] = {
    _OVERRIDE: (
        "OverrideVideoRequest",
        (
            _Field("type", _const(_OVERRIDE), required=True),
            *_SOURCE_FIELDS,
            _Field("scenes", _list_of(_OVERRIDE_SCENE), required=True),
            _Field("logo_url", _STR),
            _Field("metadata", _metadata),
            _Field("correlation_id", _CORRELATION_ID),
        ),
    ),
    _CREATE: (
        "NewVideoRequest",
        (
            _Field("type", _const(_CREATE), required=True),
            _Field("name", _STR),
            _Field("template_id", _STR, required=True),
            _Field("folder_id", _STR),
            _Field("palette_id", _STR),
            _Field("character_id", _STR, required=True),
            _Field("voice_id", _STR, required=True),
            _Field("scenes", _list_of(_CREATE_SCENE, min_items=1), required=True),
            _Field("global_media_elements", _list_of(_MEDIA)),
            _Field("palette", _list_of(_PALETTE)),
            _Field("metadata", _metadata),
            _Field("correlation_id", _CORRELATION_ID),
        ),
    ),
    _WORKFLOW: (
        "WorkflowVideoRequest",
        (
            _Field("type", _const(_WORKFLOW), required=True),
            _Field("workflow_id", _STR, required=True),
            _Field("variables", _list_of(_VARIABLE), required=True),
            _Field("correlation_id", _CORRELATION_ID),
            _Field("metadata", _metadata),
        ),
    ),
}


def _echo(form: str, clean: dict[str, Any]) -> CreateRequest:
    return CreateRequest(form=form, fields={key: clean[key] for key in _ECHOED if key in clean})


def validate_create_body(body: object) -> CreateRequest:
    """Validate a decoded create body; raise :class:`BodyError` (422) listing every problem."""
    if not isinstance(body, dict):
        raise BodyError(422, [_error(("body",), "value is not a valid dict", "type_error.dict")])
    errors: list[ErrorItem] = []
    if "type" not in body:
        clean = _check_fields(body, _SOURCE_FIELDS, ("body",), errors)
        if body.get("source_draft_id") is None and body.get("recipe_id") is None:
            errors.append(
                _error(
                    ("body", "__root__"),
                    "either source_draft_id or recipe_id is required",
                    "value_error",
                )
            )
        if errors or clean is None:
            raise BodyError(422, errors)
        return _echo("source_draft", clean)
    tag = body["type"]
    member = _TAGGED.get(tag) if isinstance(tag, str) else None
    if member is None:
        allowed = ", ".join(repr(name) for name in _TAGGED)
        raise BodyError(
            422,
            [
                _error(
                    ("body",),
                    f"No match for discriminator 'type' and value {tag!r} "
                    f"(allowed values: {allowed})",
                    "value_error.discriminated_union.invalid_discriminator",
                    {
                        "discriminator_key": "type",
                        "discriminator_value": tag,
                        "allowed_values": allowed,
                    },
                )
            ],
        )
    model_name, fields = member
    clean = _check_fields(body, fields, ("body", model_name), errors)
    if errors or clean is None:
        raise BodyError(422, errors)
    return _echo(str(tag), clean)


def decode_json_body(raw: bytes, content_type: str | None) -> object:
    """Decode a request body as FastAPI does before validating it.

    An empty body is a missing one (422 ``field required``); invalid JSON is a 422
    ``value_error.jsondecode`` located at its character offset; bytes that are not UTF-8 are
    a 400. A body sent with a non-JSON ``Content-Type`` is not parsed (so it is not an object).
    """
    if not raw:
        raise BodyError(422, [_error(("body",), "field required", "value_error.missing")])
    if content_type:
        message = Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (
            subtype == "json" or subtype.endswith("+json")
        ):
            return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError(400, "There was an error parsing the body") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        ctx = {
            "msg": exc.msg,
            "doc": exc.doc,
            "pos": exc.pos,
            "lineno": exc.lineno,
            "colno": exc.colno,
        }
        raise BodyError(
            422, [_error(("body", exc.pos), str(exc), "value_error.jsondecode", ctx)]
        ) from None


def parse_create_body(raw: bytes, content_type: str | None) -> tuple[object, CreateRequest]:
    """Decode and validate a raw create body; return the decoded JSON and the request."""
    body = decode_json_body(raw, content_type)
    return body, validate_create_body(body)
