"""The API's protocol as pure functions: no sockets, no event loop, no aiohttp.

Build paths, decipher responses (every status maps to a result or to one exception of
`_errors`), read response bodies into models, and read ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import re
from collections.abc import Collection, Mapping
from datetime import datetime, timezone
from typing import Any, Final, TypeVar
from urllib.parse import quote

import cattrs
import orjson

from ._converters import converter, fast_video, structure_video
from ._errors import (
    APIStatusError,
    AuthenticationError,
    ErrorDetail,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    ServerError,
)
from ._models import Video, VideoMetadata
from ._resources import (
    Subtitles,
    UsagePeriod,
    VoicePreview,
)
from ._videolist import SkippedVideo, VideoList
from .contract import REQUEST_ID_HEADER

__all__ = [
    "MAX_ID_LENGTH",
    "decipher_response",
    "decode_json",
    "parse_metadata",
    "parse_retry_after",
    "parse_subtitles",
    "parse_usage",
    "parse_video",
    "parse_videos",
    "parse_voice_preview",
    "request_id_of",
    "video_path",
]

MAX_ID_LENGTH: Final = 1024
"""The longest video id accepted; real ids are far shorter (UUID-like)."""

_CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_ID: Final = re.compile(r"[A-Za-z0-9_-]+")
_EXCERPT: Final = 300
_QUOTED: Final = 1000
_SHAPE_ERRORS: Final = (cattrs.BaseValidationError, KeyError, TypeError, ValueError, AttributeError)
_LOGGED_SKIPS: Final = 5
logger: Final = logging.getLogger("videoapi_async")
_T = TypeVar("_T")


# --- paths -----------------------------------------------------------------------------


def video_path(video_id: str, suffix: str = "") -> str:
    """Return ``/videos/{video_id}{suffix}`` with the id percent-encoded as one segment.

    Raises:
        TypeError: `video_id` is not a string.
        ValueError: `video_id` is empty, longer than `MAX_ID_LENGTH`, or holds control
            characters.

    """
    return f"/videos/{encode_id(video_id, 'video_id')}{suffix}"


def encode_id(value: str, name: str) -> str:
    """Percent-encode an opaque id as exactly one path segment, after checking it."""
    if type(value) is str and len(value) <= MAX_ID_LENGTH and _PLAIN_ID.fullmatch(value):
        return value  # the usual UUID-like id: nothing to check or encode
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a string such as Video.id, got {type(value).__name__}: {value!r}"
        )
    if not value:
        raise ValueError(f"{name} must not be empty; pass the id the API returned (Video.id)")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(
            f"{name} is {len(value)} characters long; ids are at most {MAX_ID_LENGTH}. "
            "Pass the id the API returned (Video.id)."
        )
    if _CONTROL_CHARS.search(value):
        raise ValueError(
            f"{name} {value!r} contains control characters; pass the id the API returned (Video.id)"
        )
    if value in (".", ".."):
        # Even percent-encoded, URL normalisation treats these as "this/parent folder".
        raise ValueError(
            f"{name} {value!r} cannot be sent: it would change the path, not name a video"
        )
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        raise ValueError(
            f"{name} {value!r} is not valid Unicode text (it holds lone surrogates); "
            "pass the id the API returned (Video.id)"
        ) from None


# --- responses -------------------------------------------------------------------------


def decode_json(body: bytes, *, status: int, method: str, path: str) -> Any:
    """Parse a success body as JSON, or raise `ResponseDecodeError` saying what came instead.

    orjson reads the usual body about twice as fast as `json`; what it refuses (NaN,
    Infinity, lone surrogates, nesting deeper than 1024) is then read by `json`, so every
    body `json` accepts is accepted. One difference remains: an integer beyond 64 bits
    arrives as a float (no field of the API holds one).
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError too
        excerpt = _excerpt(body)
        what = "an empty body" if not body.strip() else f"a body that is not JSON: {excerpt!r}"
        raise ResponseDecodeError(
            f"{method} {path} answered HTTP {status} with {what}",
            status_code=status,
            method=method,
            path=path,
            body_excerpt=excerpt,
            malformed_json=True,
        ) from exc


def decipher_response(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, path: str
) -> Any:
    """Map a response to its parsed JSON body, or raise the error its status means.

    A 2xx answer returns the decoded JSON (None for an empty body, e.g. 204). Anything
    else raises an `APIStatusError` subclass carrying the status, the server's
    ``detail`` and the headers.
    """
    if 200 <= status < 300:
        if not body:
            return None
        return decode_json(body, status=status, method=method, path=path)
    raise status_error(status, headers, body, method=method, path=path)


def status_error(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str, path: str
) -> APIStatusError:
    """Build the exception for a non-2xx answer."""
    detail = _error_detail(body, headers)
    where = f"{method} {path}"
    summary = _summarise(detail)
    common = {
        "status_code": status,
        "detail": detail,
        "headers": headers,
        "method": method,
        "request_id": request_id_of(headers, body),
    }
    if status in (401, 403):
        return AuthenticationError(
            f"{where} was refused with HTTP {status} ({summary}): check the API key "
            "(pass api_key= or set VIDEOAPI_API_KEY)",
            path=path,
            **common,
        )
    if status == 404:
        return NotFoundError(
            f"{where} answered HTTP 404 ({summary}): no such video for this API key",
            path=path,
            **common,
        )
    if status == 422:
        errors = _validation_errors(detail)
        listed = _clip("; ".join(str(e) for e in errors)) if errors else summary
        if method == "POST" and path == "/videos" and any(map(_is_missing_type, errors)):
            listed += _TAGGED_FORMS_HINT
        return RequestValidationError(
            f"{where} was rejected with HTTP 422: {listed}", errors=errors, path=path, **common
        )
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        when = f"retry after {retry_after:g} s" if retry_after is not None else "slow down"
        return RateLimitError(
            f"{where} was rate limited (HTTP 429): {when}",
            retry_after=retry_after,
            path=path,
            **common,
        )
    if 500 <= status < 600:
        return ServerError(f"{where} failed with HTTP {status}: {summary}", path=path, **common)
    if 300 <= status < 400:
        return APIStatusError(
            f"{where} answered with a redirect (HTTP {status}) that was not followed; check "
            "base_url",
            path=path,
            **common,
        )
    return APIStatusError(f"{where} failed with HTTP {status}: {summary}", path=path, **common)


_TAGGED_FORMS_HINT: Final = (
    ". This server wants a create form tagged with `type` (as in the OpenAPI document), not "
    "the flat form that create_video(source_draft_id=...) sends: pass "
    "OverrideVideoRequest(source_draft_id=..., scenes=[OverrideScene(name=...), ...]) to "
    "render a project with its scenes replaced (type 'override'), NewVideoRequest(...) to "
    "build one from a template (type 'create') or WorkflowVideoRequest(...) to run a "
    "workflow (type 'workflow'), as create_video(request); the client adds the `type`"
)


def _is_missing_type(error: ErrorDetail) -> bool:
    """Whether a 422 item says the create body lacks its ``type`` discriminator."""
    if "missing_discriminator" in error.type or error.type == "union_tag_not_found":
        return True  # pydantic v1 / v2 discriminated unions
    return bool(error.loc) and error.loc[-1] == "type" and "missing" in error.type


def request_id_of(headers: Mapping[str, str], body: bytes) -> str | None:
    """Return the server's id for a request: ``x-request-id``, else the body's ``req_id``."""
    found = headers.get(REQUEST_ID_HEADER)
    if found is None and body.lstrip().startswith(b"{") and b'"req_id"' in body:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None
        found = data.get("req_id") if isinstance(data, dict) else None
    if not isinstance(found, str) or not found.strip():
        return None
    return found.strip()[:200]


def _error_detail(body: bytes, headers: Mapping[str, str]) -> Any:
    if not body:
        return None
    content_type = headers.get("Content-Type", "")
    if "html" not in content_type:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            pass
        else:
            return data.get("detail", data) if isinstance(data, dict) else data
    text = body.decode("utf-8", "replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        return " ".join(title.group(1).split())[:_EXCERPT]
    return _excerpt(body)


def _summarise(detail: Any) -> str:
    if detail is None:
        return "no details given"
    if isinstance(detail, str):
        return _clip(detail) or "no details given"
    return json.dumps(detail)[:_EXCERPT]


def _clip(text: str) -> str:
    """Cap what a message quotes of the server; the whole detail stays on the error."""
    if len(text) <= _QUOTED:
        return text
    return f"{text[:_QUOTED]}... ({len(text):,} characters in all; see the error's .detail)"


def _validation_errors(detail: Any) -> tuple[ErrorDetail, ...]:
    if not isinstance(detail, list):
        return ()
    errors = []
    for item in detail:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        errors.append(
            ErrorDetail(
                loc=tuple(p for p in loc if isinstance(p, (str, int)))
                if isinstance(loc, list)
                else (),
                msg=str(item.get("msg", "")),
                type=str(item.get("type", "")),
            )
        )
    return tuple(errors)


def _excerpt(body: bytes) -> str:
    text = " ".join(body[: _EXCERPT * 4].decode("utf-8", "replace").split())
    return text[:_EXCERPT]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read ``Retry-After`` as seconds to wait: delta-seconds or an HTTP date.

    Returns None when the header is absent or unreadable, and 0 for dates in the past.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a missing zone means UTC
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else datetime.now(timezone.utc)
    return max((when - current).total_seconds(), 0.0)


def _structure(data: Any, cls: type[_T], method: str, path: str, status: int) -> _T:
    try:
        return converter.structure(data, cls)
    except _SHAPE_ERRORS as exc:
        raise _shape_error(exc, cls.__name__, data, method, path, status) from exc


def _shape_error(
    exc: Exception, what: str, data: Any, method: str, path: str, status: int
) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"{method} {path} answered HTTP {status} with JSON that is not a {what}: {_reason(exc)}",
        status_code=status,
        method=method,
        path=path,
        body_excerpt=_data_excerpt(data),
    )


def _reason(exc: Exception) -> str:
    """Say which field of a response was wrong, and how."""
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path="$"))
    if isinstance(exc, KeyError):
        return f"required field {exc.args[0]!r} is missing"
    return str(exc) or type(exc).__name__


def _data_excerpt(data: Any) -> str:
    """Show decoded JSON briefly, even when it is too deeply nested to print whole."""
    try:
        return json.dumps(data)[:_EXCERPT]
    except (TypeError, ValueError):
        pass
    except RecursionError:
        return "(JSON nested too deeply to show)"
    try:
        return repr(data)[:_EXCERPT]
    except RecursionError:
        return "(JSON nested too deeply to show)"


def _expect_object(data: Any, what: str, method: str, path: str, status: int) -> None:
    _expect(dict, "a JSON object", data, what, method, path, status)


def _expect_array(data: Any, what: str, method: str, path: str, status: int) -> None:
    _expect(list, "a JSON array", data, what, method, path, status)


def _expect(
    kind: type, kind_name: str, data: Any, what: str, method: str, path: str, status: int
) -> None:
    if not isinstance(data, kind):
        raise _shape_error(
            TypeError(f"expected {kind_name}, got {_json_kind(data)}"),
            what,
            data,
            method,
            path,
            status,
        )


def _json_kind(data: Any) -> str:
    if data is None:
        return "null"
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return kinds.get(type(data), "a number")


def parse_video(data: Any, *, method: str, path: str, status: int = 200) -> Video:
    """Structure one Video from decoded JSON, or raise `ResponseDecodeError`."""
    if type(data) is not dict:
        _expect_object(data, "Video", method, path, status)
    try:
        return structure_video(data)
    except _SHAPE_ERRORS as exc:
        raise _shape_error(exc, "Video", data, method, path, status) from exc


def parse_videos(
    data: Any,
    *,
    method: str,
    path: str,
    status: int = 200,
    ids: Collection[str] | None = None,
) -> VideoList:
    """Structure the list endpoint's bare array of Videos, item by item.

    An item that is not a Video is left out and described in `VideoList.skipped` (and
    logged as a WARNING), so one malformed video never hides the others. Given `ids`,
    only the items whose ``id`` is one of them are structured. Raises
    `ResponseDecodeError` only when the answer is not an array at all.
    """
    _expect_array(data, "list of Video", method, path, status)
    videos: list[Video] = []
    skipped: list[SkippedVideo] = []
    reasons: list[str] = []
    for index, item in enumerate(data):
        if ids is not None and _item_id(item) not in ids:
            continue
        video = fast_video(item)  # the usual case, on the hand-written path
        if video is not None:
            videos.append(video)
            continue
        try:
            if type(item) is not dict:
                raise TypeError(f"expected a JSON object, got {_json_kind(item)}")
            videos.append(structure_video(item))
        except _SHAPE_ERRORS as exc:
            item_id = _item_id(item)
            what = f"Video (item {index}" + (f", id {item_id!r})" if item_id else ")")
            error = _shape_error(exc, what, item, method, path, status)
            skipped.append(SkippedVideo(index=index, id=item_id, error=error))
            reasons.append(f"item {index}" + (f" (id {item_id!r})" if item_id else ""))
            reasons[-1] += f": {_reason(exc)}"
    if skipped:
        more = len(skipped) - _LOGGED_SKIPS
        logger.warning(
            "%s %s: left out %d of %d items that are not Videos (see VideoList.skipped): %s%s",
            method,
            path,
            len(skipped),
            len(data),
            "; ".join(reasons[:_LOGGED_SKIPS]),
            f"; and {more} more" if more > 0 else "",
        )
    return VideoList(videos, skipped)


def _item_id(item: Any) -> str | None:
    """Return a list item's ``id`` when it is a string (never hashing a list or object)."""
    item_id = item.get("id") if type(item) is dict else None
    return item_id if type(item_id) is str else None


def parse_metadata(data: Any, *, method: str, path: str, status: int = 200) -> VideoMetadata:
    """Structure a VideoMetadata from decoded JSON, or raise `ResponseDecodeError`."""
    _expect_object(data, "VideoMetadata", method, path, status)
    return _structure(data, VideoMetadata, method, path, status)


def parse_subtitles(data: Any, *, method: str, path: str, status: int = 201) -> Subtitles:
    """Structure a subtitles answer, or raise `ResponseDecodeError`."""
    _expect_object(data, "Subtitles", method, path, status)
    return _structure(data, Subtitles, method, path, status)


def parse_voice_preview(data: Any, *, method: str, path: str, status: int = 200) -> VoicePreview:
    """Structure a voice preview (as created or as polled), or raise `ResponseDecodeError`."""
    _expect_object(data, "VoicePreview", method, path, status)
    return _structure(data, VoicePreview, method, path, status)


def parse_usage(data: Any, *, method: str, path: str, status: int = 200) -> list[UsagePeriod]:
    """Structure the usage summary's array, or raise `ResponseDecodeError`."""
    _expect_array(data, "list of UsagePeriod", method, path, status)
    periods = []
    for item in data:
        _expect_object(item, "UsagePeriod", method, path, status)
        periods.append(_structure(item, UsagePeriod, method, path, status))
    return periods
