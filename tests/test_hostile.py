"""Hostile input: whatever a server sends or a caller passes, the client fails cleanly.

Property-based (hypothesis) at the pure level: any JSON for each endpoint parses into
our models or raises a `VideoAPIError`; raw bodies of any kind go through
`decipher_response` the same way; any string id stays one path segment or is refused
before sending; and bad arguments fail fast with messages that say what to pass.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from yarl import URL

from videoapi_async import (
    APIStatusError,
    CreateScene,
    HTTPRequest,
    HTTPResponse,
    MediaElement,
    MockTransport,
    NewVideoRequest,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    PollPolicy,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    SourceDraftVideoRequest,
    TextElement,
    Timeouts,
    Video,
    VideoAPI,
    VideoAPIError,
    VideoMetadata,
    VideoStatus,
    WorkflowVariable,
    WorkflowVideoRequest,
)
from videoapi_async._converters import _slow_video, fast_video
from videoapi_async._protocol import (
    MAX_ID_LENGTH,
    decipher_response,
    decode_json,
    parse_metadata,
    parse_retry_after,
    parse_video,
    parse_videos,
    video_path,
)
from videoapi_async._requests import build_create_body
from videoapi_async.contract import VIDEO_STATUSES

from .conftest import BASE_URL, MockAPI

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ----------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity too: Python's json reads them
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Allow null too: optional fields may arrive as null."""
    return strategy | st.none()


text = st.text(max_size=30)
media_elements = st.fixed_dictionaries(
    {},
    optional={
        "id": nullable(text),
        "url": nullable(st.text(min_size=1, max_size=40)),
        "media_id": nullable(text),
    },
)
override_scenes = st.fixed_dictionaries(
    {"name": text},
    optional={
        "type": st.just("override_scene"),
        "media": nullable(st.lists(text, max_size=3)),
        "texts": nullable(st.lists(text, max_size=3)),
        "transcript": nullable(text),
        "voice_recording_url": nullable(text),
    },
)
create_scenes = st.fixed_dictionaries(
    {"name": text, "layout_id": text},
    optional={
        "type": st.just("create_scene"),
        "media_elements": nullable(st.lists(media_elements, max_size=3)),
        "texts_elements": nullable(
            st.lists(
                st.fixed_dictionaries({"text": text}, optional={"id": nullable(text)}),
                max_size=3,
            )
        ),
        "transcript": nullable(text),
        "voice_recording_url": nullable(text),
    },
)
metadata_maps = st.dictionaries(text, text | st.integers() | st.booleans(), max_size=4)
# Exactly what #?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8}) matches, at about half the cost of from_regex.
_hex_digits = "0123456789abcdefABCDEF"
colors = st.builds(
    str.__add__,
    st.sampled_from(["", "#"]),
    st.text(_hex_digits, min_size=6, max_size=6) | st.text(_hex_digits, min_size=8, max_size=8),
)
OPTIONAL_STRINGS = (
    "name",
    "source_draft_id",
    "recipe_id",
    "template_id",
    "palette_id",
    "character_id",
    "voice_id",
    "download_url",
    "correlation_id",
)
valid_videos = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=30),
        "status": st.sampled_from(VIDEO_STATUSES) | text,  # a future status must not break parsing
        "req_id": text,
        "draft_id": text,
        "video_player_url": text,
    },
    optional={
        **{name: nullable(text) for name in OPTIONAL_STRINGS},
        # -1 (the API's "unknown") apart: integers(-1, 100) almost never draws it.
        "progress": nullable(st.just(-1) | st.integers(min_value=0, max_value=100)),
        "scenes": nullable(
            st.lists(override_scenes, max_size=3)
            | st.lists(create_scenes, max_size=3)
            | st.lists(override_scenes | create_scenes, max_size=3)
        ),
        "metadata": nullable(metadata_maps),
        "palette": nullable(st.lists(st.fixed_dictionaries({"color": colors}), max_size=3)),
        "global_media_elements": nullable(st.lists(media_elements, max_size=3)),
        # The server evolves: fields we do not know may appear.
        "thumbnail_url": json_values,
        "x-future": json_values,
    },
)
valid_metadata = st.fixed_dictionaries(
    {
        "duration": st.floats(allow_nan=False, allow_infinity=False)
        | st.integers(min_value=-(2**63), max_value=2**63),
        "scenes_metadata": st.lists(
            st.fixed_dictionaries(
                {
                    "scene_index": st.integers(),
                    "start_time": st.floats(allow_nan=False, allow_infinity=False),
                    "duration": st.floats(allow_nan=False, allow_infinity=False),
                },
                optional={"x-future": json_values},
            ),
            max_size=4,
        ),
    },
    optional={"x-future": json_values},
)


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in a JSON document, nested ones included."""
    found: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            found.append((node, key))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return found


_mutations = st.sampled_from(["remove", "replace", "wrap", "stringify"])


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """Draw a near-valid document: one to three fields removed, retyped or wrapped."""
    doc = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        slots = _slots(doc)
        if not slots:
            break
        # An index, not sampled_from(slots): a strategy built per draw costs more.
        container, key = slots[draw(st.integers(min_value=0, max_value=len(slots) - 1))]
        action = draw(_mutations)
        if action == "remove":
            del container[key]
        elif action == "replace":
            container[key] = draw(json_values)
        elif action == "wrap":
            container[key] = [container[key]] if draw(st.booleans()) else {"value": container[key]}
        else:
            container[key] = json.dumps(container[key])
    return doc


Parser = Callable[..., Any]
ENDPOINTS: dict[str, tuple[Parser, str, str, int]] = {
    "list": (parse_videos, "GET", "/videos", 200),
    "get": (parse_video, "GET", "/videos/vid-1", 200),
    "metadata": (parse_metadata, "GET", "/videos/vid-1/metadata", 200),
    "create": (parse_video, "POST", "/videos", 201),
}
RESULT_TYPES: dict[str, Callable[[Any], bool]] = {
    "list": lambda r: isinstance(r, list) and all(isinstance(v, Video) for v in r),
    "get": lambda r: isinstance(r, Video),
    "metadata": lambda r: isinstance(r, VideoMetadata),
    "create": lambda r: isinstance(r, Video),
}


def check_video(video: Video) -> None:
    """Check what a parsed Video always promises, whatever the server sent."""
    assert isinstance(video.id, str)
    assert isinstance(video.status, VideoStatus)
    assert video.progress is None or (
        isinstance(video.progress, int) and 0 <= video.progress <= 100
    )
    assert isinstance(video.video_player_url, str)
    assert all(isinstance(scene, (OverrideScene, CreateScene)) for scene in video.scenes)
    assert isinstance(video.scenes, tuple)


def parse_or_fail_cleanly(endpoint: str, data: Any) -> Any:
    """Parse `data` as `endpoint`'s answer: a model, or a ResponseDecodeError (returned)."""
    parse, method, path, status = ENDPOINTS[endpoint]
    try:
        result = parse(data, method=method, path=path, status=status)
    except ResponseDecodeError as exc:
        error: ResponseDecodeError | None = exc
    else:
        error = None
    if error is not None:
        assert error.status_code == status
        assert error.method == method
        assert error.path == path
        assert not error.malformed_json  # it was JSON, of the wrong shape
        assert str(error).startswith(f"{method} {path} answered HTTP {status}")
        return error
    assert RESULT_TYPES[endpoint](result), result
    for video in result if isinstance(result, list) else [result]:
        if isinstance(video, Video):
            check_video(video)
    return result


# --- responses: decoded JSON ---------------------------------------------------------


@FAST
@given(video=valid_videos)
def test_documented_videos_always_parse(video: dict[str, Any]) -> None:
    """Any Video the document allows (nulls, unknown fields, new statuses) parses faithfully."""
    for endpoint in ("get", "create"):
        parsed = parse_or_fail_cleanly(endpoint, video)
        assert isinstance(parsed, Video), parsed
        assert parsed.id == video["id"]
        assert parsed.status.value == video["status"]
        assert parsed.req_id == video["req_id"]
        progress = video.get("progress", 0)
        assert parsed.progress == (None if progress is None or progress < 0 else progress)
        assert parsed.metadata == (video.get("metadata") or {})
        assert len(parsed.scenes) == len(video.get("scenes") or [])
    (listed,) = parse_or_fail_cleanly("list", [video])
    assert listed.id == video["id"]


@FAST
@given(meta=valid_metadata)
def test_documented_metadata_always_parses(meta: dict[str, Any]) -> None:
    """Any VideoMetadata the document allows parses, scene by scene."""
    parsed = parse_or_fail_cleanly("metadata", meta)
    assert isinstance(parsed, VideoMetadata), parsed
    assert parsed.duration == float(meta["duration"])
    assert [s.scene_index for s in parsed.scenes_metadata] == [
        s["scene_index"] for s in meta["scenes_metadata"]
    ]


@FAST
@given(endpoint=st.sampled_from(sorted(ENDPOINTS)), data=json_values)
def test_any_json_parses_or_raises_decode_error(endpoint: str, data: Any) -> None:
    """Any JSON value for any endpoint gives its model or ResponseDecodeError, nothing else."""
    parse_or_fail_cleanly(endpoint, data)


@FAST
@given(endpoint=st.sampled_from(["get", "create"]), data=mutated(valid_videos))
def test_near_valid_videos_parse_or_raise_decode_error(endpoint: str, data: Any) -> None:
    """A Video with fields removed, retyped or wrapped parses or raises ResponseDecodeError."""
    parse_or_fail_cleanly(endpoint, data)


@FAST
@given(data=st.lists(valid_videos | mutated(valid_videos) | json_values, max_size=4))
def test_near_valid_lists_parse_or_raise_decode_error(data: list[Any]) -> None:
    """A list mixing good, near-valid and junk items parses or raises ResponseDecodeError."""
    parse_or_fail_cleanly("list", data)


@FAST
@given(data=mutated(valid_metadata))
def test_near_valid_metadata_parses_or_raises_decode_error(data: Any) -> None:
    """VideoMetadata with fields removed, retyped or wrapped parses or raises cleanly."""
    parse_or_fail_cleanly("metadata", data)


@pytest.mark.parametrize("progress", [math.inf, -math.inf, math.nan, 1e300, "50", [50], True])
def test_odd_progress_values_never_crash(progress: Any) -> None:
    """Progress of Infinity, NaN, huge, text or list gives None/0..100 or ResponseDecodeError."""
    video = {"id": "v", "status": "ready", "req_id": "r", "draft_id": "d", "video_player_url": ""}
    parse_or_fail_cleanly("get", {**video, "progress": progress})


# --- responses: raw bytes ------------------------------------------------------------

statuses = st.sampled_from(
    [200, 201, 202, 204, 301, 302, 400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504]
) | st.integers(min_value=100, max_value=599)
content_types = st.sampled_from(
    ["application/json", "application/problem+json", "text/html; charset=utf-8", "text/plain", ""]
)
http_dates = st.sampled_from(
    [
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Mon, 01 Jan 99999999999 00:00:00 GMT",
        "Mon, 01 Jan 2024 00:00:00 +99999999999999999999",
        "Mon, 01 Jan 0 00:00:00 GMT",
        "Sun, 31 Dec 9999 23:59:59 -2359",
    ]
)
retry_afters = st.none() | text | http_dates | st.floats().map(str) | st.integers().map(str)


def _truncations(doc: Any) -> st.SearchStrategy[bytes]:
    raw = json.dumps(doc).encode()
    return st.integers(min_value=0, max_value=len(raw)).map(lambda n: raw[:n])


bodies = st.one_of(
    st.binary(max_size=200),
    valid_videos.flatmap(_truncations),
    st.lists(valid_videos, max_size=2).flatmap(_truncations),
    json_values.map(lambda value: json.dumps(value).encode()),
    text.map(lambda t: f"<html><head><title>{t}</title></head><body>{t}</body></html>".encode()),
    text.map(lambda t: t.encode("utf-16")),
    st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.just(b"1" * 5000),  # more digits than Python converts to an int
)


@FAST
@given(
    status=statuses,
    body=bodies,
    content_type=content_types,
    retry_after=retry_afters,
    endpoint=st.sampled_from(sorted(ENDPOINTS)),
)
@example(status=200, body=b"[" * 100_000, content_type="", retry_after=None, endpoint="get")
@example(status=502, body=b"[" * 100_000, content_type="", retry_after=None, endpoint="get")
@example(
    status=429,
    body=b"",
    content_type="",
    retry_after="Mon, 01 Jan 99999999999 00:00:00 GMT",
    endpoint="get",
)
def test_any_raw_answer_is_a_result_or_our_error(
    status: int, body: bytes, content_type: str, retry_after: str | None, endpoint: str
) -> None:
    """Any status, body and headers give a parsed model or a VideoAPIError, nothing else."""
    headers = CIMultiDict({"Content-Type": content_type})
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    _, method, path, _ = ENDPOINTS[endpoint]
    success = 200 <= status < 300
    try:
        data = decipher_response(status, headers, body, method=method, path=path)
    except (APIStatusError, ResponseDecodeError) as exc:
        error: VideoAPIError | None = exc
    else:
        error = None
    if isinstance(error, APIStatusError):
        assert not success, f"HTTP {status} was taken for an error"
        assert error.status_code == status
        assert str(error).startswith(f"{method} {path} ")
        if isinstance(error, RateLimitError):
            assert error.retry_after is None or error.retry_after >= 0
    elif isinstance(error, ResponseDecodeError):
        assert success
        assert error.malformed_json
        assert len(error.body_excerpt) <= 300
    else:
        assert success, f"HTTP {status} was taken for a success"
        if data is not None:
            parse_or_fail_cleanly(endpoint, data)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 5000 + b"]" * 5000],
    ids=["open-arrays", "open-objects", "closed-arrays"],
)
@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_json_is_our_error(body: bytes, status: int) -> None:
    """JSON nested deeper than Python's parser goes is a ResponseDecodeError / ServerError."""
    with pytest.raises(ResponseDecodeError if status == 200 else APIStatusError):
        decipher_response(status, CIMultiDict(), body, method="GET", path="/videos")
    if status == 200:
        with pytest.raises(ResponseDecodeError):
            decode_json(body, status=status, method="GET", path="/videos")


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 01 Jan 99999999999 00:00:00 GMT",
        "Mon, 01 Jan 2024 00:00:00 +99999999999999999999",
        "Mon, 01 Jan 0 00:00:00 GMT",
        "1e400",
        "nan",
        "-5",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ],
)
def test_hostile_retry_after_is_unreadable_or_a_wait(value: str) -> None:
    """A Retry-After no date parser can hold reads as None (unknown), never raises."""
    wait = parse_retry_after(value)
    assert wait is None or (math.isfinite(wait) and wait >= 0)


@FAST
@given(value=st.text(max_size=60) | http_dates)
def test_any_retry_after_is_unreadable_or_a_wait(value: str) -> None:
    """Any Retry-After text reads as None or a finite wait >= 0."""
    wait = parse_retry_after(value)
    assert wait is None or (math.isfinite(wait) and wait >= 0)


# --- ids and paths -------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


def normalised(segment: str) -> str:
    """Decode escapes of unreserved characters, as RFC 3986 normalisers do.

    The WHATWG URL parser does the same for dots: ``%2E%2E`` is then ``..``.
    """
    return _UNRESERVED_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), segment)


def acceptable(video_id: str) -> bool:
    return (
        0 < len(video_id) <= MAX_ID_LENGTH
        and not _CONTROL.search(video_id)
        and video_id not in (".", "..")
    )


# Any id but "." and "..": the list leaves them out rather than drawing and rejecting them.
ids = st.text(max_size=40).filter(lambda i: i not in (".", "..")) | st.sampled_from(
    ["...", "../x", "a/b", "?", "#", "%2F", "%2E%2E", "a b", "é", "🎬", "x" * 1025]
)


@FAST
@given(video_id=ids, suffix=st.sampled_from(["", "/metadata"]))
def test_any_id_is_one_segment_or_refused(video_id: str, suffix: str) -> None:
    """Any string id becomes exactly one path segment that decodes back to it, or is refused.

    The ids "." and ".." have their own test below.
    """
    try:
        path = video_path(video_id, suffix)
    except ValueError as exc:
        refused: ValueError | None = exc
    else:
        refused = None
    if refused is not None:
        assert not acceptable(video_id), f"{video_id!r} refused: {refused}"
        assert "video_id" in str(refused)
        return
    assert path.startswith("/videos/")
    assert path.endswith(suffix)
    segment = path[len("/videos/") : len(path) - len(suffix)]
    for char in "/?#":
        assert char not in segment
    assert segment not in (".", "..")
    assert normalised(segment) not in (".", ".."), f"{segment!r} is a dot segment once normalised"
    assert unquote(segment, errors="strict") == video_id
    url = URL(BASE_URL).with_path("/api/v1" + path, encoded=True)
    expected = ["/", "api", "v1", "videos", video_id, *(["metadata"] if suffix else [])]
    assert list(url.parts) == expected


@pytest.mark.parametrize("video_id", [".", ".."])
def test_dot_ids_are_refused_before_sending(video_id: str) -> None:
    """'.' and '..' are refused: no encoding survives URL normalisation as one segment.

    RFC 3986 (section 6.2.2.2) makes ``%2E`` equivalent to ``.``, and WHATWG URL
    parsers treat ``%2E%2E`` as ``..``: a Node.js proxy or server (Prism among them)
    resolves ``/videos/%2E%2E/metadata`` to ``/metadata``. Real ids are never dots.
    """
    with pytest.raises(ValueError, match="video_id"):
        video_path(video_id)


@pytest.mark.parametrize("video_id", ["\ud800", "abc\udfff", "\udcff\udcfe"])
def test_ids_that_are_not_valid_unicode_are_refused_clearly(video_id: str) -> None:
    """An id holding a lone surrogate (e.g. from surrogateescape) is refused, naming video_id."""
    with pytest.raises(ValueError, match="video_id"):
        video_path(video_id)


# --- bad arguments -------------------------------------------------------------------


def wrong(value: object) -> Any:
    """Pass a deliberately wrong value past the type checker."""
    return value


def _api(**kwargs: Any) -> Callable[[], Any]:
    return lambda: VideoAPI("key", **{"base_url": BASE_URL, **kwargs})


Errors = type[Exception] | tuple[type[Exception], ...]
BAD_SETTINGS: list[tuple[str, Callable[[], Any], Errors, str]] = [
    ("api_key int", lambda: VideoAPI(wrong(123)), TypeError, r"api_key must be a string"),
    ("api_key bytes", lambda: VideoAPI(wrong(b"key")), TypeError, r"api_key must be a string"),
    ("api_key blank", lambda: VideoAPI("   "), VideoAPIError, r"api_key .*blank"),
    ("base_url int", _api(base_url=123), TypeError, r"base_url must be .*'https://"),
    ("base_url no scheme", _api(base_url="api.makereals.com"), VideoAPIError, r"absolute http"),
    ("base_url ftp", _api(base_url="ftp://x/api"), VideoAPIError, r"absolute http"),
    ("workspace_id int", _api(workspace_id=5), TypeError, r"workspace_id must be a string"),
    ("team_id newline", _api(team_id="a\nb"), VideoAPIError, r"team_id"),
    ("session str", _api(session="s"), TypeError, r"session must be an aiohttp.ClientSession"),
    ("timeouts number", _api(timeouts=30), TypeError, r"timeouts must be a Timeouts"),
    ("timeouts dict", _api(timeouts={"read": 1}), TypeError, r"timeouts must be a Timeouts"),
    ("retry bool", _api(retry=False), TypeError, r"retry must be a RetryPolicy"),
    ("rate_limit number", _api(rate_limit=10), TypeError, r"rate_limit must be a RateLimit"),
    ("poll str", _api(poll="fast"), TypeError, r"poll must be a PollPolicy"),
    ("max_connections 0", _api(max_connections=0), ValueError, r"max_connections must be an"),
    ("max_connections float", _api(max_connections=2.5), ValueError, r"max_connections must"),
    ("clock None", _api(clock=None), TypeError, r"clock"),
    ("clock number", _api(clock=1.0), TypeError, r"clock"),
    ("sleep number", _api(sleep=0), TypeError, r"sleep"),
    ("read negative", lambda: Timeouts(read=-1), ValueError, r"Timeouts.read must be a positive"),
    ("read zero", lambda: Timeouts(read=0), ValueError, r"Timeouts.read must be a positive"),
    ("connect str", lambda: Timeouts(connect=wrong("10")), ValueError, r"Timeouts.connect must"),
    ("connect nan", lambda: Timeouts(connect=math.nan), ValueError, r"Timeouts.connect must"),
    ("read bool", lambda: Timeouts(read=True), ValueError, r"Timeouts.read must be a positive"),
    ("attempts 0", lambda: RetryPolicy(max_attempts=0), ValueError, r"max_attempts must be an"),
    ("attempts float", lambda: RetryPolicy(max_attempts=wrong(2.5)), ValueError, r"max_attempts"),
    ("attempts str", lambda: RetryPolicy(max_attempts=wrong("3")), ValueError, r"max_attempts"),
    (
        "attempts bool",
        lambda: RetryPolicy(max_attempts=True),
        (TypeError, ValueError),
        r"max_attempts",
    ),
    ("elapsed negative", lambda: RetryPolicy(max_elapsed=-1), ValueError, r"max_elapsed must be"),
    ("backoff str", lambda: RetryPolicy(max_backoff=wrong("8")), ValueError, r"max_backoff must"),
    ("backoff nan", lambda: RetryPolicy(initial_backoff=math.nan), ValueError, r"initial_backoff"),
    ("enabled str", lambda: RetryPolicy(enabled=wrong("no")), (TypeError, ValueError), r"enabled"),
]


@pytest.mark.parametrize(
    ("make", "errors", "needle"),
    [pytest.param(make, errors, needle, id=label) for label, make, errors, needle in BAD_SETTINGS],
)
def test_bad_settings_fail_fast_saying_what_to_pass(
    make: Callable[[], Any], errors: Errors, needle: str
) -> None:
    """Each bad constructor argument is refused at once, naming it and what it should be."""
    with pytest.raises(errors, match=needle):
        make()


def _scene(**kwargs: Any) -> CreateScene:
    return CreateScene(**{"name": "intro", "layout_id": "layout-1", **kwargs})


def _new(**kwargs: Any) -> NewVideoRequest:
    fields = {"template_id": "t", "character_id": "c", "voice_id": "v", "scenes": [_scene()]}
    return NewVideoRequest(**{**fields, **kwargs})


def _override(**kwargs: Any) -> OverrideVideoRequest:
    return OverrideVideoRequest(**{"scenes": [OverrideScene(name="intro")], **kwargs})


def _workflow(**kwargs: Any) -> WorkflowVideoRequest:
    fields = {"workflow_id": "w", "variables": [WorkflowVariable(value="x", name="n")]}
    return WorkflowVideoRequest(**{**fields, **kwargs})


BAD_CREATES: list[tuple[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]], Any, str]] = [
    ("no arguments", lambda: ((), {}), ValueError, r"source_draft_id= or recipe_id="),
    (
        "name int",
        lambda: ((), {"name": 5, "source_draft_id": "d"}),
        TypeError,
        r"name must be a string",
    ),
    (
        "source_draft_id list",
        lambda: ((), {"source_draft_id": ["d"]}),
        TypeError,
        r"source_draft_id must be a string",
    ),
    (
        "request str",
        lambda: (("draft-1",), {}),
        TypeError,
        r"request must be a SourceDraftVideoRequest",
    ),
    ("request dict", lambda: (({"type": "override"},), {}), TypeError, r"OverrideVideoRequest"),
    ("both", lambda: ((_override(),), {"name": "x"}), TypeError, r"not both"),
    (
        "override scenes None",
        lambda: ((_override(scenes=None),), {}),
        TypeError,
        r"list of OverrideScene",
    ),
    (
        "override scenes dicts",
        lambda: ((_override(scenes=[{"name": "x"}]),), {}),
        TypeError,
        r"scenes must be a list of OverrideScene",
    ),
    (
        "override scene without name",
        lambda: ((_override(scenes=[OverrideScene(name="")]),), {}),
        ValueError,
        r"scenes\[0\]\.name is required",
    ),
    (
        "override media str",
        lambda: ((_override(scenes=[OverrideScene(name="n", media="http://x")]),), {}),
        TypeError,
        r"scenes\[0\]\.media must be a list of str",
    ),
    (
        "override transcript too long",
        lambda: ((_override(scenes=[OverrideScene(name="n", transcript="x" * 1001)]),), {}),
        ValueError,
        r"transcript .*at most 1000",
    ),
    (
        "logo_url int",
        lambda: ((_override(logo_url=1),), {}),
        TypeError,
        r"logo_url must be a string",
    ),
    (
        "correlation_id too long",
        lambda: ((_override(correlation_id="c" * 101),), {}),
        ValueError,
        r"correlation_id .*at most 100",
    ),
    (
        "correlation_id int",
        lambda: ((_workflow(correlation_id=7),), {}),
        TypeError,
        r"correlation_id must be a string",
    ),
    (
        "metadata float",
        lambda: ((_override(metadata={"a": 1.5}),), {}),
        TypeError,
        r"metadata must map strings",
    ),
    (
        "metadata list",
        lambda: ((_new(metadata=[("a", "b")]),), {}),
        TypeError,
        r"metadata must be a dict",
    ),
    (
        "template_id empty",
        lambda: ((_new(template_id=""),), {}),
        ValueError,
        r"template_id is required",
    ),
    ("new scenes empty", lambda: ((_new(scenes=[]),), {}), ValueError, r"at least one CreateScene"),
    (
        "layout_id None",
        lambda: ((_new(scenes=[_scene(layout_id=None)]),), {}),
        ValueError,
        r"scenes\[0\]\.layout_id is required",
    ),
    (
        "palette colour",
        lambda: ((_new(palette=[PaletteColor(color="red")]),), {}),
        ValueError,
        r"palette\[0\]\.color must look like #RRGGBB",
    ),
    (
        "palette strs",
        lambda: ((_new(palette=["#ffffff"]),), {}),
        TypeError,
        r"list of PaletteColor",
    ),
    (
        "media url empty",
        lambda: ((_new(scenes=[_scene(media_elements=[MediaElement(url="")])]),), {}),
        ValueError,
        r"media_elements\[0\]\.url must be 1 to 2083",
    ),
    (
        "texts_elements dicts",
        lambda: ((_new(scenes=[_scene(texts_elements=[{"text": "x"}])]),), {}),
        TypeError,
        r"scenes\[0\]\.texts_elements must be a list of TextElement",
    ),
    (
        "texts_elements text int",
        lambda: ((_new(scenes=[_scene(texts_elements=[TextElement(text=wrong(5))])]),), {}),
        TypeError,
        r"scenes\[0\]\.texts_elements\[0\]\.text",
    ),
    (
        "workflow_id None",
        lambda: ((_workflow(workflow_id=None),), {}),
        ValueError,
        r"workflow_id is required",
    ),
    (
        "variables None",
        lambda: ((_workflow(variables=None),), {}),
        TypeError,
        r"list of WorkflowVariable",
    ),
    (
        "variable value int",
        lambda: ((_workflow(variables=[WorkflowVariable(value=wrong(5))]),), {}),
        ValueError,
        r"variables\[0\]\.value",
    ),
    (
        "name with a lone surrogate",
        lambda: ((), {"name": "Q3 \udcff", "source_draft_id": "d"}),
        ValueError,
        r"\bname\b",
    ),
]


@pytest.mark.parametrize(
    ("build", "error", "needle"),
    [pytest.param(b, e, n, id=label) for label, b, e, n in BAD_CREATES],
)
async def test_bad_create_arguments_fail_before_sending(
    mock_api: MockAPI,
    build: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]],
    error: type[Exception],
    needle: str,
) -> None:
    """create_video refuses bad kwargs and request objects before any request, saying why."""
    async with VideoAPI("key", base_url=BASE_URL, retry=RetryPolicy.disabled()) as api:

        async def create() -> None:
            # Built inside the check: a request class may refuse bad values itself.
            args, kwargs = build()
            await api.create_video(*args, **kwargs)

        with pytest.raises(error, match=needle):
            await create()
    assert mock_api.requests == {}


STRING_FIELDS = [
    "name",
    "source_draft_id",
    "recipe_id",
    "folder_id",
    "palette_id",
    "character_id",
    "voice_id",
]
non_strings = (
    st.integers()
    | st.floats()
    | st.booleans()
    | st.binary(max_size=5)
    | st.lists(st.text(), max_size=2)
)


@FAST
@given(field=st.sampled_from(STRING_FIELDS), value=non_strings)
def test_any_non_string_create_field_is_named(field: str, value: Any) -> None:
    """A non-string value in any keyword of the flat form raises TypeError naming that field."""
    fields = {"source_draft_id": "draft-1", field: value}
    with pytest.raises(TypeError, match=rf"\b{field} must be a string or None"):
        build_create_body(SourceDraftVideoRequest(**fields))


@pytest.mark.parametrize("bad", [5, None, b"vid-1", ["vid-1"], 1.5, object()])
@pytest.mark.parametrize("method", ["get_video", "get_video_metadata"])
async def test_non_string_ids_fail_fast(mock_api: MockAPI, method: str, bad: Any) -> None:
    """get_video / get_video_metadata with a non-str id raise TypeError before sending."""
    async with VideoAPI("key", base_url=BASE_URL) as api:
        with pytest.raises(TypeError, match=r"video_id must be a string such as Video.id"):
            await getattr(api, method)(bad)
    assert mock_api.requests == {}


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("", "must not be empty"),
        ("x" * (MAX_ID_LENGTH + 1), "characters long"),
        ("a\tb", "control"),
    ],
)
async def test_unusable_string_ids_fail_fast(mock_api: MockAPI, bad: str, needle: str) -> None:
    """Empty, too long and control-character ids raise ValueError before sending."""
    async with VideoAPI("key", base_url=BASE_URL) as api:
        for call in (api.get_video, api.get_video_metadata):
            with pytest.raises(ValueError, match=needle):
                await call(bad)
    assert mock_api.requests == {}


# --- one bad item of the list ----------------------------------------------------------

GOOD_ITEM: dict[str, Any] = {
    "id": "vid-1",
    "status": "ready",
    "req_id": "r",
    "draft_id": "d",
    "video_player_url": "",
}


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({**GOOD_ITEM, "id": ["vid-2"]}, "id"),
        ({**GOOD_ITEM, "id": {"x": "vid-2"}}, "id"),
        ({**GOOD_ITEM, "id": _nested(900)}, "id"),
        ({**GOOD_ITEM, "scenes": [{"media": ["u"]}]}, "name"),
        ({**GOOD_ITEM, "status": None}, "status"),
        ([GOOD_ITEM], "JSON object"),
        ("vid-2", "JSON object"),
    ],
    ids=["id-list", "id-object", "id-deep", "scene-nameless", "status-null", "array", "string"],
)
def test_one_bad_list_item_is_skipped_not_fatal(
    bad: Any, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A malformed item of the list is left out and reported; the good items are kept."""
    data = [GOOD_ITEM, bad, {**GOOD_ITEM, "id": "vid-3"}]
    videos = parse_videos(data, method="GET", path="/videos")
    assert [v.id for v in videos] == ["vid-1", "vid-3"]
    (skipped,) = videos.skipped
    assert skipped.index == 1
    assert isinstance(skipped.error, ResponseDecodeError)
    assert needle in str(skipped.error)
    assert "item 1" in str(skipped.error)
    (record,) = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "left out 1 of 3" in record.getMessage()
    assert needle in record.getMessage()


def test_a_skipped_item_is_named_by_its_id() -> None:
    """When the bad item's id is readable, the report and the error name it."""
    bad = {**GOOD_ITEM, "id": "vid-bad", "scenes": [{"layout_id": "L"}]}
    videos = parse_videos([bad], method="GET", path="/videos")
    assert list(videos) == []
    (skipped,) = videos.skipped
    assert skipped.id == "vid-bad"
    assert "'vid-bad'" in str(skipped.error)
    assert "name" in str(skipped.error)


@pytest.mark.parametrize("bad_id", [["vid-1"], {"id": "vid-1"}, _nested(900), 7])
def test_list_poll_filter_survives_ids_that_are_not_strings(bad_id: Any) -> None:
    """Filtering the list by wanted ids never hashes an id that is a list or an object."""
    data = [{**GOOD_ITEM, "id": bad_id}, GOOD_ITEM, "junk", None]
    videos = parse_videos(data, method="GET", path="/videos", ids={"vid-1"})
    assert [v.id for v in videos] == ["vid-1"]
    assert videos.skipped == ()


async def test_list_videos_returns_the_readable_videos(
    mock_api: MockAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """list_videos() answers with the good videos when one of them has a nameless scene."""
    bad = {**GOOD_ITEM, "id": "vid-2", "scenes": [{"type": "override_scene"}]}
    mock_api.get(f"{BASE_URL}/videos", payload=[GOOD_ITEM, bad])
    async with VideoAPI("key", base_url=BASE_URL) as api:
        videos = await api.list_videos()
    assert [v.id for v in videos] == ["vid-1"]
    assert [s.id for s in videos.skipped] == ["vid-2"]
    assert any("vid-2" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


# --- the fast path reads exactly what the cattrs path reads ----------------------------


def _slow(data: Any) -> Video | None:
    try:
        return _slow_video(data, Video)
    except Exception:
        return None


@FAST
@given(data=valid_videos | mutated(valid_videos))
def test_fast_path_agrees_with_the_converter(data: Any) -> None:
    """The hand-written Video reader gives the converter's Video, or leaves the item to it."""
    fast = fast_video(data)
    if fast is None:
        return
    slow = _slow(data)
    assert slow is not None, data
    assert fast == slow
    assert fast.extra == slow.extra
    assert [type(s) for s in fast.scenes] == [type(s) for s in slow.scenes]


@FAST
@given(items=st.lists(valid_videos | mutated(valid_videos), max_size=4))
def test_listed_videos_read_as_the_converter_reads_them(items: list[Any]) -> None:
    """A list keeps what cattrs reads, nested parts read later included, and skips the rest."""
    videos = parse_videos(copy.deepcopy(items), method="GET", path="/videos")
    assert len(videos) + len(videos.skipped) == len(items)
    read = iter(videos)
    skipped = {item.index for item in videos.skipped}
    for index, item in enumerate(items):
        alone = _slow(copy.deepcopy(item))
        if index in skipped:
            assert alone is None, item  # left out at list time exactly when cattrs refuses it
            continue
        video = next(read)
        assert alone is not None, item
        assert (video.scenes, video.palette, video.global_media_elements) == (
            alone.scenes,
            alone.palette,
            alone.global_media_elements,
        )
        assert video == alone


@pytest.mark.parametrize(
    "body",
    [b"[NaN]", b"[1e999]", b'["\\ud800"]', b'{"a": [1, 2.5, "x", null, true]}', b" [] "],
)
def test_decoding_accepts_what_json_accepts(body: bytes) -> None:
    """Bodies orjson refuses (NaN, Infinity, lone surrogates) still decode as json reads them."""
    decoded = decode_json(body, status=200, method="GET", path="/videos")
    assert repr(decoded) == repr(json.loads(body))


async def test_list_polls_go_on_past_malformed_items() -> None:
    """List polling keeps reading renders when other items have a list id or a nameless scene."""
    answers = 0

    def handler(request: HTTPRequest) -> HTTPResponse:
        nonlocal answers
        if request.path != "/videos":
            return HTTPResponse.from_json({"detail": "the list should be read"}, status=500)
        answers += 1
        status = "ready" if answers >= 2 else "processing"
        return HTTPResponse.from_json(
            [
                {**GOOD_ITEM, "id": ["vid-1"]},
                {**GOOD_ITEM, "id": {"deep": _nested(200)}},
                {**GOOD_ITEM, "id": "vid-x", "scenes": [{"layout_id": "L"}]},
                {**GOOD_ITEM, "id": "vid-1", "status": status},
                {**GOOD_ITEM, "id": "vid-2", "status": status},
            ]
        )

    policy = PollPolicy(
        list_polling="always", list_min_in_flight=1, first_poll=0.01, min_interval=0.01
    )
    async with VideoAPI(
        "k", base_url=BASE_URL, transport=MockTransport(handler), poll=policy
    ) as api:
        outcomes = await asyncio.wait_for(api.wait_for_renders(["vid-1", "vid-2"], timeout=5), 10)
    assert [o.error for o in outcomes] == [None, None]
    assert all(o.video is not None and o.video.is_ready for o in outcomes)
    assert answers >= 2
