"""Validation of the subtitles and voice-preview bodies and the analytics query (pure).

Errors are FastAPI/pydantic v1 items, as for ``POST /videos``: body fields are located at
``["body", field]`` and query parameters at ``["query", name]``; every bad field is
reported, not just the first.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs

from videoapi_async.contract import SUBTITLE_FORMATS, SUBTITLE_LANGUAGES, USAGE_BREAKDOWNS

from ._validation import BodyError, ErrorItem, Loc, _coerce_str, _error, decode_json_body

__all__ = [
    "USAGE_BREAKDOWNS",
    "SubtitlesRequest",
    "UsageQuery",
    "VoicePreviewRequest",
    "parse_subtitles_body",
    "parse_usage_query",
    "parse_voice_preview_body",
]


_DATE_RE: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})$")
_MS_WATERSHED: Final = 2e10  # pydantic v1: larger Unix times are in milliseconds
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@attrs.frozen
class SubtitlesRequest:
    """A valid ``POST /videos/{video_id}/subtitles`` body."""

    language_code: str
    format: str = "vtt"


@attrs.frozen
class VoicePreviewRequest:
    """A valid ``POST /voice-preview`` body."""

    transcript: str
    source_draft_id: str


@attrs.frozen
class UsageQuery:
    """A valid ``GET /analytics/summary`` query (dates are inclusive, in UTC)."""

    breakdown: str = "monthly"
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    correlation_id: str | None = None


def _enum(value: Any, loc: Loc, members: Sequence[str], errors: list[ErrorItem]) -> str | None:
    if isinstance(value, str) and value in members:
        return value
    permitted = ", ".join(repr(member) for member in members)
    errors.append(
        _error(
            loc,
            f"value is not a valid enumeration member; permitted: {permitted}",
            "type_error.enum",
            {"enum_values": list(members)},
        )
    )
    return None


def _field(
    body: dict[str, Any], name: str, errors: list[ErrorItem], *, required: bool
) -> tuple[bool, Any]:
    """Return ``(present, value)``; report a missing required field or a ``null``."""
    if name not in body:
        if required:
            errors.append(_error(("body", name), "field required", "value_error.missing"))
        return False, None
    if body[name] is None:
        # Neither field here is Optional: pydantic v1 refuses null even with a default.
        errors.append(
            _error(("body", name), "none is not an allowed value", "type_error.none.not_allowed")
        )
        return False, None
    return True, body[name]


def _as_dict(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BodyError(422, [_error(("body",), "value is not a valid dict", "type_error.dict")])
    return body


def parse_subtitles_body(raw: bytes, content_type: str | None) -> SubtitlesRequest:
    """Decode and validate a subtitles body (``BodyError`` with every problem if bad)."""
    body = _as_dict(decode_json_body(raw, content_type))
    errors: list[ErrorItem] = []
    present, value = _field(body, "language_code", errors, required=True)
    language = (
        _enum(value, ("body", "language_code"), SUBTITLE_LANGUAGES, errors) if present else None
    )
    present, value = _field(body, "format", errors, required=False)
    file_format = _enum(value, ("body", "format"), SUBTITLE_FORMATS, errors) if present else "vtt"
    if errors or language is None or file_format is None:
        raise BodyError(422, errors)
    return SubtitlesRequest(language, file_format)


def parse_voice_preview_body(raw: bytes, content_type: str | None) -> VoicePreviewRequest:
    """Decode and validate a voice-preview body (``BodyError`` with every problem if bad)."""
    body = _as_dict(decode_json_body(raw, content_type))
    errors: list[ErrorItem] = []
    clean: dict[str, str] = {}
    for name in ("transcript", "source_draft_id"):
        present, value = _field(body, name, errors, required=True)
        if present:
            text = _coerce_str(value, ("body", name), errors)
            if text is not None:
                clean[name] = text
    if errors:
        raise BodyError(422, errors)
    return VoicePreviewRequest(clean["transcript"], clean["source_draft_id"])


def _date(value: str, loc: Loc, errors: list[ErrorItem]) -> dt.date | None:
    """Parse a date query value as pydantic v1 does: ``YYYY-MM-DD``, or Unix seconds."""
    try:
        number: float | None = float(value)
    except ValueError:
        number = None
    if number is not None and math.isfinite(number):
        while abs(number) > _MS_WATERSHED:
            number /= 1000
        try:
            return (_EPOCH + dt.timedelta(seconds=number)).date()
        except OverflowError:
            pass
    elif number is None:
        match = _DATE_RE.match(value)
        if match is not None:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                pass
    errors.append(_error(loc, "invalid date format", "value_error.date"))
    return None


def parse_usage_query(query: str) -> UsageQuery:
    """Validate the raw query string of ``GET /analytics/summary`` (``BodyError`` if bad).

    As in FastAPI, the last of repeated parameters wins and unknown ones are ignored. A
    ``from_date`` after ``to_date`` is refused too.
    """
    params = dict(parse_qsl(query, keep_blank_values=True))
    errors: list[ErrorItem] = []
    breakdown: str | None = "monthly"
    if "breakdown" in params:
        breakdown = _enum(params["breakdown"], ("query", "breakdown"), USAGE_BREAKDOWNS, errors)
    dates: dict[str, dt.date | None] = {}
    for name in ("from_date", "to_date"):
        dates[name] = _date(params[name], ("query", name), errors) if name in params else None
    if errors or breakdown is None:
        raise BodyError(422, errors)
    start, end = dates["from_date"], dates["to_date"]
    if start is not None and end is not None and start > end:
        raise BodyError(
            422,
            [
                _error(
                    ("query", "from_date"),
                    f"from_date ({start.isoformat()}) must not be after "
                    f"to_date ({end.isoformat()})",
                    "value_error",
                )
            ],
        )
    return UsageQuery(breakdown, start, end, params.get("correlation_id"))
