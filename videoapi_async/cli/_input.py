"""Reading create requests: from JSON (any form) and from batch files (CSV, JSON Lines).

A JSON request is the API's own body: without ``type`` it is the flat form (the fields of
`FLAT_FIELDS`); with ``"type": "override" | "create" | "workflow"`` it is one of the
tagged forms. Unknown fields are refused (a typo must not silently drop data), and every
request is checked by the client's own rules before anything is sent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import attrs

from videoapi_async import (
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
from videoapi_async._requests import build_create_body

__all__ = [
    "FLAT_FIELDS",
    "InputError",
    "InputFileError",
    "InputRow",
    "detect_format",
    "read_rows",
    "request_from_json",
]

FLAT_FIELDS: Final = (
    "name",
    "source_draft_id",
    "recipe_id",
    "folder_id",
    "palette_id",
    "character_id",
    "voice_id",
)
"""The flat create form's fields: the columns a batch CSV may have."""

Format = Literal["csv", "jsonl"]

_FORMS: Final[Mapping[str, type[Any]]] = {
    "override": OverrideVideoRequest,
    "create": NewVideoRequest,
    "workflow": WorkflowVideoRequest,
}
_ITEMS: Final[Mapping[tuple[type[Any], str], type[Any]]] = {
    (OverrideVideoRequest, "scenes"): OverrideScene,
    (NewVideoRequest, "scenes"): CreateScene,
    (NewVideoRequest, "palette"): PaletteColor,
    (NewVideoRequest, "global_media_elements"): MediaElement,
    (CreateScene, "media_elements"): MediaElement,
    (CreateScene, "texts_elements"): TextElement,
    (WorkflowVideoRequest, "variables"): WorkflowVariable,
}
_SCENE_TAGS: Final[Mapping[type[Any], str]] = {
    OverrideScene: "override_scene",
    CreateScene: "create_scene",
}
_EXTENSIONS: Final[Mapping[str, Format]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class InputError(ValueError):
    """A request (or batch row) that cannot be sent; the message says where and why."""


class InputFileError(ValueError):
    """A batch file that cannot be read at all (encoding, CSV header, format)."""


@attrs.frozen(kw_only=True)
class InputRow:
    """One row of a batch file.

    Attributes:
        row: The row's number, from 1, counting rows that hold a request (blank lines
            and the CSV header are not rows).
        line: The line of the file where the row starts, from 1.
        body: The create body the row asks for, checked; None when the row is malformed.
        error: Why the row is malformed, or None.
    """

    row: int
    line: int
    body: dict[str, Any] | None = None
    error: str | None = None


_NAMES: Final[Mapping[type[Any], str]] = {
    SourceDraftVideoRequest: "the flat create form",
    OverrideVideoRequest: 'the "override" form',
    NewVideoRequest: 'the "create" form',
    WorkflowVideoRequest: 'the "workflow" form',
    OverrideScene: "an override scene",
    CreateScene: "a create scene",
    MediaElement: "a media element",
    TextElement: "a text element",
    PaletteColor: "a palette color",
    WorkflowVariable: "a workflow variable",
}


def _describe(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _build(cls: type[Any], data: object, where: str) -> Any:
    what = where or "the request"
    if not isinstance(data, dict):
        raise InputError(f"{what} must be a JSON object, got {_describe(data)}")
    fields = {field.name: field for field in attrs.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "type" and where and _SCENE_TAGS.get(cls) == value:
            continue  # a scene may name its own kind; it is implied by the form
        if key not in fields:
            raise InputError(
                f"{_at(where, key)} is not a field of {_NAMES.get(cls, cls.__name__)}; "
                f"use some of: {', '.join(fields)}"
            )
        if value is None:
            continue
        item_cls = _ITEMS.get((cls, key))
        if item_cls is not None:
            if not isinstance(value, list):
                raise InputError(f"{_at(where, key)} must be an array, got {_describe(value)}")
            value = [
                _build(item_cls, item, f"{_at(where, key)}[{index}]")
                for index, item in enumerate(value)
            ]
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    missing = [
        name
        for name, field in fields.items()
        if field.default is attrs.NOTHING and name not in kwargs
    ]
    if missing:
        raise InputError(f"{what} is missing required field(s): {', '.join(missing)}")
    return cls(**kwargs)


def request_from_json(data: object) -> CreateVideoRequest:
    """Build and check a create request from its JSON body (any of the four forms).

    Raises:
        InputError: The body is not a request the API takes; the message names the field.
    """
    if isinstance(data, dict) and "type" in data:
        tag = data["type"]
        cls = _FORMS.get(tag) if isinstance(tag, str) else None
        if cls is None:
            raise InputError(
                f"type must be one of {', '.join(map(repr, _FORMS))} (or absent for the "
                f"flat form), got {tag!r}"
            )
        data = {key: value for key, value in data.items() if key != "type"}
    else:
        cls = SourceDraftVideoRequest
    request: CreateVideoRequest = _build(cls, data, "")
    if isinstance(request, SourceDraftVideoRequest) and not (
        request.source_draft_id or request.recipe_id
    ):
        raise InputError(
            "give source_draft_id or recipe_id (the project or recipe to render), or a "
            'tagged form with "type": override, create or workflow'
        )
    try:
        build_create_body(request)
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc)) from None
    return request


def detect_format(path: Path, given: str | None = None) -> Format:
    """Return the format of a batch file: ``given``, or the one its extension names."""
    if given is not None:
        if given not in ("csv", "jsonl"):
            raise InputFileError(f"unknown format {given!r}: use csv or jsonl")
        return "csv" if given == "csv" else "jsonl"
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InputFileError(
            f"cannot tell the format of {path.name} from its extension: name it .csv or "
            ".jsonl, or pass --format"
        )
    return found


def read_rows(data: bytes, fmt: Format) -> Iterator[InputRow]:
    """Read a batch file's rows; a malformed row is yielded with its `InputRow.error`.

    Raises:
        InputFileError: The file as a whole cannot be read (not UTF-8, a bad CSV header).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"the file is not UTF-8 text (byte {exc.start})") from None
    if fmt == "csv":
        yield from _csv_rows(text)
    else:
        yield from _jsonl_rows(text)


def _row(row: int, line: int, data: object) -> InputRow:
    try:
        body = build_create_body(request_from_json(data))
    except InputError as exc:
        return InputRow(row=row, line=line, error=str(exc))
    return InputRow(row=row, line=line, body=body)


def _csv_rows(text: str) -> Iterator[InputRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError("the CSV file is empty: it needs a header row") from None
    except csv.Error as exc:
        raise InputFileError(f"line 1: {exc}") from None
    columns = [name.strip() for name in header]
    for name in columns:
        if name not in FLAT_FIELDS:
            shown = repr(name) if name else "an empty column name"
            raise InputFileError(
                f"the CSV header has {shown}, which is not a field of the create form; "
                f"columns may be: {', '.join(FLAT_FIELDS)} (use JSON Lines for other forms)"
            )
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        raise InputFileError(f"the CSV header names {', '.join(duplicated)} more than once")
    row = 0
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputFileError(f"line {start}: {exc}") from None
        end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row += 1
        if len(cells) > len(columns):
            yield InputRow(
                row=row,
                line=start,
                error=f"{len(cells)} cells, but the header has {len(columns)} columns",
            )
            continue
        values = {
            name: cell.strip() for name, cell in zip(columns, cells, strict=False) if cell.strip()
        }
        yield _row(row, start, values)


def _jsonl_rows(text: str) -> Iterator[InputRow]:
    row = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row += 1
        try:
            data = json.loads(line)
        except ValueError as exc:
            yield InputRow(row=row, line=number, error=f"not valid JSON: {exc}")
            continue
        yield _row(row, number, data)
