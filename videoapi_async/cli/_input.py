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

import videoapi_async
from videoapi_async import CreateVideoRequest, flat_create_fields, request_to_json

__all__ = [
    "FLAT_FIELDS",
    "InputError",
    "InputFileError",
    "InputRow",
    "detect_format",
    "read_rows",
    "request_from_json",
]

FLAT_FIELDS: Final = flat_create_fields()
"""The flat create form's fields: the columns a batch CSV may have."""

Format = Literal["csv", "jsonl"]

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
        body: The create body the row asks for, as it is sent; None when the row is
            malformed.
        request: The request built from ``body`` when it was checked, or None.
        error: Why the row is malformed, or None.
    """

    row: int
    line: int
    body: dict[str, Any] | None = None
    request: CreateVideoRequest | None = attrs.field(default=None, eq=False)
    error: str | None = None


def request_from_json(data: object) -> CreateVideoRequest:
    """Build and check a create request from its JSON body (any of the four forms).

    Raises:
        InputError: The body is not a request the API takes; the message names the field.
    """
    fields: dict[str, Any] = data if isinstance(data, dict) else {"type": None}
    if "type" not in fields and not (fields.get("source_draft_id") or fields.get("recipe_id")):
        # Said for a file's row or a JSON body, not for a Python call.
        raise InputError(
            "give source_draft_id or recipe_id (the project or recipe to render), or a "
            'tagged form with "type": override, create or workflow'
        )
    try:
        return videoapi_async.request_from_json(data)
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc)) from None


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
        request = request_from_json(data)  # the one check a row gets before it is sent
    except InputError as exc:
        return InputRow(row=row, line=line, error=str(exc))
    return InputRow(row=row, line=line, body=request_to_json(request), request=request)


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
