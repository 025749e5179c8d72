"""Every error survives pickling (process pools, task queues) whole and without the API key."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from videoapi_async import _errors
from videoapi_async._converters import converter, fast_video, structure_video
from videoapi_async._protocol import status_error
from videoapi_async._redact import REDACTED, Redactor
from videoapi_async._resources import VoicePreview

KEY = "vk-live-8d2f61c0a4b94e7f"

VIDEO_JSON: dict[str, Any] = {
    "id": "vid-1",
    "status": "failed",
    "req_id": "req-1",
    "draft_id": "draft-1",
    "video_player_url": "",
    "progress": 40,
    "scenes": [{"type": "override_scene", "name": "intro", "texts": ["hi"]}],
}


def _headers() -> Any:
    """Response headers as the client keeps them: aiohttp's, behind the redacting view."""
    raw = CIMultiDictProxy(
        CIMultiDict(
            [
                ("Content-Type", "application/json"),
                ("X-Request-Id", "req-42"),
                ("Retry-After", "3"),
                ("X-Echo", f"api-key={KEY}"),
            ]
        )
    )
    return Redactor(KEY).headers(raw)


def _status(status: int, detail: Any) -> Callable[[], _errors.VideoAPIError]:
    def build() -> _errors.VideoAPIError:
        body = orjson.dumps({"detail": detail})
        return status_error(status, _headers(), body, method="GET", path="/videos/vid-1")

    return build


def _lost_create() -> _errors.VideoAPIError:
    cause = status_error(
        502, _headers(), b"<html>bad gateway</html>", method="POST", path="/videos"
    )
    return _errors.CreateOutcomeUnknownError(
        "POST /videos: the answer was lost",
        body={"source_draft_id": "d", "correlation_id": "videoapi-async-1"},
        cause=cause,
        video_id="vid-1",
        request_id="req-42",
        lost_at=12.5,
    )


def _video() -> Any:
    return structure_video(VIDEO_JSON)


def _preview() -> VoicePreview:
    return converter.structure(
        {"id": "task-1", "req_id": "req-1", "status": "failed"}, VoicePreview
    )


EXAMPLES: dict[type[_errors.VideoAPIError], Callable[[], _errors.VideoAPIError]] = {
    _errors.VideoAPIError: lambda: _errors.VideoAPIError("no API key: pass api_key="),
    _errors.APIConnectionError: lambda: _errors.APIConnectionError(
        "GET /videos: connection refused", method="GET", path="/videos", request_sent=False
    ),
    _errors.APITimeoutError: lambda: _errors.APITimeoutError(
        "GET /videos: read timed out", method="GET", path="/videos", request_sent=True
    ),
    _errors.APIStatusError: _status(400, "Bad request"),
    _errors.AuthenticationError: _status(401, "Invalid API key"),
    _errors.NotFoundError: _status(404, "Video not found"),
    _errors.RequestValidationError: _status(
        422, [{"loc": ["body", "name"], "msg": "too long", "type": "value_error"}]
    ),
    _errors.RateLimitError: _status(429, "Too Many Requests"),
    _errors.ServerError: _status(503, "Service Unavailable"),
    _errors.ResponseDecodeError: lambda: _errors.ResponseDecodeError(
        "GET /videos: not JSON",
        status_code=200,
        method="GET",
        path="/videos",
        body_excerpt="<html>",
        malformed_json=True,
    ),
    _errors.ResponseTooLargeError: lambda: _errors.ResponseTooLargeError(
        "GET /videos: too large",
        limit=1024,
        status_code=200,
        method="GET",
        path="/videos",
        body_excerpt="[",
    ),
    _errors.CreateOutcomeUnknownError: _lost_create,
    _errors.RenderFailedError: lambda: _errors.RenderFailedError(
        "render vid-1 failed", video=_video()
    ),
    _errors.RenderTimeoutError: lambda: _errors.RenderTimeoutError(
        "render vid-1 timed out", video_id="vid-1", video=fast_video(dict(VIDEO_JSON)), timeout=30.0
    ),
    _errors.VoicePreviewTimeoutError: lambda: _errors.VoicePreviewTimeoutError(
        "preview task-1 timed out", video_id="task-1", video=None, preview=_preview(), timeout=5.0
    ),
    _errors.RenderStalledError: lambda: _errors.RenderStalledError(
        "render vid-1 stalled", video_id="vid-1", video=_video(), stalled_for=600.0
    ),
    _errors.VoicePreviewFailedError: lambda: _errors.VoicePreviewFailedError(
        "preview task-1 failed", preview=_preview()
    ),
    _errors.VideoNotReadyError: lambda: _errors.VideoNotReadyError(
        "vid-1 has not finished", video=_video()
    ),
    _errors.WebhookError: lambda: _errors.WebhookError("refused"),
    _errors.WebhookSignatureError: lambda: _errors.WebhookSignatureError("bad signature"),
    _errors.WebhookReplayError: lambda: _errors.WebhookReplayError("seen before"),
    _errors.WebhookPayloadError: lambda: _errors.WebhookPayloadError("not JSON"),
}

ERROR_CLASSES = sorted(
    (
        cls
        for cls in vars(_errors).values()
        if isinstance(cls, type)
        and issubclass(cls, BaseException)
        and cls.__module__ == _errors.__name__
    ),
    key=lambda cls: cls.__name__,
)

COPIERS: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda error: pickle.loads(pickle.dumps(error)),
    "deepcopy": copy.deepcopy,
}


def _assert_same(copied: Any, original: Any) -> None:
    assert type(copied) is type(original)
    assert str(copied) == str(original)
    assert copied.args == original.args
    assert copied.__dict__.keys() == original.__dict__.keys()
    for name, value in original.__dict__.items():
        again = copied.__dict__[name]
        if isinstance(value, BaseException):
            _assert_same(again, value)
        elif name == "headers":
            assert list(again.items()) == list(value.items())
            assert again["x-request-id"] == value["X-REQUEST-ID"]  # still case-insensitive
        else:
            assert again == value, name


def test_every_error_class_has_an_example() -> None:
    """The examples below cover every exception class of the package: none is left out."""
    assert set(ERROR_CLASSES) == set(EXAMPLES)


@pytest.mark.parametrize("copier", COPIERS.values(), ids=COPIERS.keys())
@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_errors_survive_pickle_and_deepcopy(
    cls: type[_errors.VideoAPIError], copier: Callable[[Any], Any]
) -> None:
    """Each error comes back whole (type, message, every attribute) from pickle or deepcopy."""
    error = EXAMPLES[cls]()
    assert type(error) is cls
    _assert_same(copier(error), error)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_pickled_errors_hold_no_api_key(cls: type[_errors.VideoAPIError]) -> None:
    """A pickled error holds neither the API key nor the redactor that knows it."""
    error = EXAMPLES[cls]()
    data = pickle.dumps(error)
    assert KEY.encode() not in data
    assert b"Redactor" not in data
    headers = getattr(pickle.loads(data), "headers", None)
    if headers is not None:
        assert headers["X-Echo"] == f"api-key={REDACTED}"
