"""The exceptions raised by `videoapi_async`.

Every exception the client raises on purpose derives from `VideoAPIError`, so one
``except VideoAPIError`` is enough to handle them all; no ``aiohttp`` exception ever
reaches the caller. Bad arguments are the exception to that rule: they raise the
built-in `ValueError` / `TypeError` before anything is sent.

The tree::

    VideoAPIError                  base; also raised for configuration problems (no API key)
    ├── APIConnectionError         the server could not be reached or the connection broke
    │   └── APITimeoutError        connecting or reading took longer than the configured timeout
    ├── APIStatusError             the server answered with an error status (4xx/5xx)
    │   ├── AuthenticationError    401 or 403: the API key is missing, wrong or not allowed
    │   ├── NotFoundError          404: no such video (or path)
    │   ├── RequestValidationError 422: the server rejected the request body; see `.errors`
    │   ├── RateLimitError         429: too many requests; see `.retry_after`
    │   └── ServerError            5xx: the server or a gateway in front of it failed
    ├── ResponseDecodeError        a success status whose body is not the JSON we expect
    │   └── ResponseTooLargeError  a body (decompressed) longer than ``max_response_size``
    ├── CreateOutcomeUnknownError  a create was sent but its answer was lost: the video may exist
    ├── RenderFailedError          a render ended as failed, cancelled or stopped; see `.video`
    ├── RenderTimeoutError         a wait hit its deadline first; see `.video` (the last state seen)
    │   ├── VoicePreviewTimeoutError   the same for a voice preview; see `.preview`
    │   └── RenderStalledError     a render showed no change for `PollPolicy.stall_timeout`
    ├── VoicePreviewFailedError    a voice preview ended failed; see `.preview`
    ├── VideoNotReadyError         subtitles were asked for a video whose render has not succeeded
    └── WebhookError               a webhook delivery was refused (in `videoapi_async.webhooks`)
        ├── WebhookSignatureError  the signature is missing or does not match the secret
        ├── WebhookReplayError     the delivery was seen before, or is too old
        └── WebhookPayloadError    the body is not a delivery we understand

Errors never contain the API key: messages name the method and path, never headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from multidict import MultiMapping

    from ._models import Video
    from ._resources import VoicePreview

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "CreateOutcomeUnknownError",
    "ErrorDetail",
    "NotFoundError",
    "RateLimitError",
    "RenderFailedError",
    "RenderStalledError",
    "RenderTimeoutError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "VideoAPIError",
    "VideoNotReadyError",
    "VoicePreviewFailedError",
    "VoicePreviewTimeoutError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookReplayError",
    "WebhookSignatureError",
]


class VideoAPIError(Exception):
    """Base class of every error raised by `videoapi_async`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, so rebuild from the attributes rather
        # than by calling the class with ``args``: errors survive pickle and deepcopy.
        state = {name: _portable(value) for name, value in self.__dict__.items()}
        return (_restore_error, (type(self), self.args), state)


def _restore_error(cls: type[VideoAPIError], args: tuple[Any, ...]) -> VideoAPIError:
    error = cls.__new__(cls)
    error.args = args
    return error


def _portable(value: Any) -> Any:
    """Return an attribute as it should travel: response headers as a plain copy.

    An error's ``headers`` are a live view (aiohttp's headers, which do not pickle,
    behind a view that redacts the API key as values are read, and so knows the key).
    What travels is a case-insensitive copy of what the view shows, never the key.
    """
    from multidict import CIMultiDict, CIMultiDictProxy

    from ._redact import RedactedHeaders

    if isinstance(value, (RedactedHeaders, CIMultiDictProxy)):
        return CIMultiDict(value.items())
    return value


class APIConnectionError(VideoAPIError):
    """The server could not be reached, or the connection broke during the exchange.

    Attributes:
        method: The HTTP method of the request.
        path: The request path, relative to the base URL.
        request_sent: False when the connection failed before any byte of the request
            left this machine, so the server certainly did not act on it; True when the
            server may have received it.

    """

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """Connecting, or waiting for the response, took longer than the configured timeout."""


class APIStatusError(VideoAPIError):
    """The server answered with an error status.

    Attributes:
        status_code: The HTTP status code.
        detail: The server's explanation: FastAPI's ``detail`` member when the body is
            JSON, otherwise a short excerpt of the body (HTML gateway pages included),
            or None when the body was empty.
        headers: The response headers (case-insensitive; ``getall`` gives every value
            of a repeated header).
        method: The HTTP method of the request.
        path: The request path, relative to the base URL.
        request_id: The server's id for the request, from the ``x-request-id`` header
            or the body's ``req_id``, or None. It ends the message too: quote it to the
            vendor's support.

    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        detail: Any,
        headers: Mapping[str, str],
        method: str,
        path: str,
        request_id: str | None = None,
    ) -> None:
        if request_id is not None:
            message = f"{message} [request id {request_id}]"
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail
        self.headers: MultiMapping[str] = _multi_valued(headers)
        self.method = method
        self.path = path
        self.request_id = request_id


def _multi_valued(headers: Mapping[str, str]) -> MultiMapping[str]:
    """Return `headers` as a case-insensitive multi-valued view (a plain dict is copied)."""
    from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

    if isinstance(headers, MultiMapping):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers))


class AuthenticationError(APIStatusError):
    """401 or 403: the API key is missing, wrong, or not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: the video (or the path) does not exist for this API key."""


@attrs.frozen
class ErrorDetail:
    """One problem the server found in a request (an item of a 422 ``detail`` list).

    Attributes:
        loc: Where the problem is, e.g. ``("body", "scenes", 0, "name")``.
        msg: What is wrong, in the server's words.
        type: The server's error code, e.g. ``"value_error.missing"``.

    """

    loc: tuple[str | int, ...]
    msg: str
    type: str

    @property
    def field(self) -> str:
        """The location as a dotted path without the leading ``body``, e.g. ``scenes.0.name``."""
        parts = self.loc[1:] if self.loc[:1] == ("body",) else self.loc
        return ".".join(str(part) for part in parts) or "(request)"

    def __str__(self) -> str:
        return f"{self.field}: {self.msg}"


class RequestValidationError(APIStatusError):
    """422: the server rejected the request; `errors` names each bad field.

    Attributes:
        errors: The parsed problems, one per bad field. Empty when the server's body did
            not follow FastAPI's validation format.

    """

    def __init__(self, message: str, *, errors: Sequence[ErrorDetail], **status: Any) -> None:
        super().__init__(message, **status)
        self.errors = tuple(errors)


class RateLimitError(APIStatusError):
    """429: the server asks us to slow down.

    Attributes:
        retry_after: Seconds the server asked us to wait (from ``Retry-After``), or None
            when it did not say.

    """

    def __init__(self, message: str, *, retry_after: float | None, **status: Any) -> None:
        super().__init__(message, **status)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server, or a gateway in front of it, failed to handle the request."""


class ResponseDecodeError(VideoAPIError):
    """The server answered with a success status but a body we cannot understand.

    Attributes:
        status_code: The HTTP status code of the response.
        method: The HTTP method of the request.
        path: The request path, relative to the base URL.
        body_excerpt: The first few hundred characters of the body, for diagnosis.
        malformed_json: True when the body was not JSON at all (cut short, garbled, an
            HTML page): often transient, so reads are retried. False when it was JSON of
            the wrong shape, which retrying will not fix.

    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        path: str,
        body_excerpt: str,
        malformed_json: bool = False,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.path = path
        self.body_excerpt = body_excerpt
        self.malformed_json = malformed_json


class CreateOutcomeUnknownError(VideoAPIError):
    """A create request was sent, but whether the server created the video is unknown.

    The connection broke or timed out after the request left, or a gateway failed, or
    the answer could not be read. The API has no idempotency key, so sending the request
    again could start a second, billed render. Look for the video first with
    ``await api.find_created_video(error)`` (by the ``correlation_id`` the client sent, or
    by ``name``), and create it again only if that returns None.

    This error deliberately does not derive from `APIConnectionError` or
    `APIStatusError`, so generic retry handlers for those do not re-send it by accident.

    Attributes:
        body: The JSON body that was sent (no credentials), to help find the video; it
            holds the ``correlation_id`` sent.
        cause: The underlying error (also available as ``__cause__``).
        video_id: The new video's id when the answer named one though it could not be
            read in full: that video exists (and is billed), so wait for it rather than
            creating it again. None when the id is unknown.
        request_id: The server's id for the create request when an answer gave one
            (also shown in the message), or None.
        lost_at: When the answer was lost, on the client's clock (``time.monotonic`` by
            default), or None if unknown; the grace before looking counts from it.

    """

    def __init__(
        self,
        message: str,
        *,
        body: Mapping[str, Any],
        cause: VideoAPIError,
        video_id: str | None = None,
        request_id: str | None = None,
        lost_at: float | None = None,
    ) -> None:
        if request_id is not None and request_id not in message:
            message = f"{message} [request id {request_id}]"
        super().__init__(message)
        self.body = body
        self.cause = cause
        self.video_id = video_id
        self.request_id = request_id
        self.lost_at = lost_at

    @property
    def correlation_id(self) -> str | None:
        """The ``correlation_id`` the create was sent with, or None."""
        value = self.body.get("correlation_id")
        return value if isinstance(value, str) else None


class RenderFailedError(VideoAPIError):
    """A render ended in a failure status (``failed``, ``cancelled`` or ``stopped``).

    Attributes:
        video: The video as last seen, with its final status.

    """

    def __init__(self, message: str, *, video: Video) -> None:
        super().__init__(message)
        self.video = video


class RenderTimeoutError(VideoAPIError):
    """A wait reached its deadline before the render finished.

    The render itself may still finish later; only the wait gave up.

    Attributes:
        video: The last state seen before the deadline, or None if no poll succeeded.
        video_id: The id of the video that was being waited on.
        timeout: The deadline, in seconds, that was reached.

    """

    def __init__(self, message: str, *, video_id: str, video: Video | None, timeout: float) -> None:
        super().__init__(message)
        self.video_id = video_id
        self.video = video
        self.timeout = timeout


class VoicePreviewTimeoutError(RenderTimeoutError):
    """A wait for a voice preview reached its deadline first.

    Attributes:
        preview: The last state seen, or None if no poll succeeded.
    """

    def __init__(
        self,
        message: str,
        *,
        video_id: str,
        video: Video | None,
        preview: VoicePreview | None,
        timeout: float,
    ) -> None:
        super().__init__(message, video_id=video_id, video=video, timeout=timeout)
        self.preview = preview


class RenderStalledError(RenderTimeoutError):
    """A render's status and progress did not change for `PollPolicy.stall_timeout`.

    The wait gave up on a render that looks stuck; it may still move later.

    Attributes:
        video: The render's state when the wait gave up (it has not changed for
            `stalled_for` seconds).
        stalled_for: Seconds the status and progress stayed the same.

    """

    def __init__(
        self, message: str, *, video_id: str, video: Video | None, stalled_for: float
    ) -> None:
        super().__init__(message, video_id=video_id, video=video, timeout=stalled_for)
        self.stalled_for = stalled_for


class VoicePreviewFailedError(VideoAPIError):
    """A voice preview ended ``failed``.

    Attributes:
        preview: The preview as last seen.
    """

    def __init__(self, message: str, *, preview: VoicePreview) -> None:
        super().__init__(message)
        self.preview = preview


class VideoNotReadyError(VideoAPIError):
    """Subtitles need a finished render; this video's has not succeeded (yet).

    Attributes:
        video: The video as just read.
    """

    def __init__(self, message: str, *, video: Video) -> None:
        super().__init__(message)
        self.video = video


class WebhookError(VideoAPIError):
    """A webhook delivery was refused; the message says why."""


class WebhookSignatureError(WebhookError):
    """The delivery's signature is missing, malformed, or made with another secret."""


class WebhookReplayError(WebhookError):
    """The delivery was already received, or is older than the allowed clock skew."""


class WebhookPayloadError(WebhookError):
    """The delivery's body is not JSON, or not an event we understand."""


class ResponseTooLargeError(ResponseDecodeError):
    """A response body, once decompressed, was longer than the client's ``max_response_size``.

    Reading stopped at the bound, so an endless or hugely compressed body cannot exhaust
    memory. It is not retried: the same answer would be refused again. Raise the bound
    (``VideoAPI(max_response_size=...)``) if the server's answers are legitimately larger.

    Attributes:
        limit: The bound, in bytes, that was exceeded.

    """

    def __init__(self, message: str, *, limit: int, **decode: Any) -> None:
        super().__init__(message, **decode)
        self.limit = limit
