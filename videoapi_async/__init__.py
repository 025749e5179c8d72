"""An asyncio client for Hour One's video generation API.

Quick use::

    from videoapi_async import VideoAPI

    async with VideoAPI() as api:  # the key comes from VIDEOAPI_API_KEY
        video = await api.create_video(source_draft_id="...", name="Q3 update")
        video = await api.get_video(video.id)

Everything public is importable from this package; the underscore modules are private.
Two public submodules stand apart: `videoapi_async.sandbox` (a local stand-in for the
API) and `videoapi_async.webhooks` (verifying and acting on webhook deliveries).
"""

from __future__ import annotations

from ._budget import RateLimit
from ._bulk import CreateResult
from ._cadence import PollPolicy
from ._client import VideoAPI
from ._config import RetryPolicy, Timeouts
from ._converters import response_to_json
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CreateOutcomeUnknownError,
    ErrorDetail,
    NotFoundError,
    RateLimitError,
    RenderFailedError,
    RenderStalledError,
    RenderTimeoutError,
    RequestValidationError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
    VideoAPIError,
    VideoNotReadyError,
    VoicePreviewFailedError,
    VoicePreviewTimeoutError,
)
from ._models import (
    CreateScene,
    CreateVideoRequest,
    MediaElement,
    MetadataValue,
    NewVideoRequest,
    OverrideScene,
    OverrideVideoRequest,
    PaletteColor,
    Scene,
    SceneMetadata,
    SourceDraftVideoRequest,
    TextElement,
    Video,
    VideoMetadata,
    VideoStatus,
    WorkflowVariable,
    WorkflowVideoRequest,
)
from ._requester import RawResponse
from ._requests import flat_create_fields, request_from_json, request_to_json
from ._resources import Subtitles, UsagePeriod, VoicePreview, VoicePreviewStatus
from ._transport import HTTPRequest, HTTPResponse, MockTransport, Transport
from ._version import __version__
from ._videolist import SkippedVideo, VideoList
from ._waits import BatchUpdate, BatchWait, RenderOutcome, RenderUpdate, RenderWait
from ._webhook_admin import CreateExample, Webhook, Webhooks, WebhookStatus

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BatchUpdate",
    "BatchWait",
    "CreateExample",
    "CreateOutcomeUnknownError",
    "CreateResult",
    "CreateScene",
    "CreateVideoRequest",
    "ErrorDetail",
    "HTTPRequest",
    "HTTPResponse",
    "MediaElement",
    "MetadataValue",
    "MockTransport",
    "NewVideoRequest",
    "NotFoundError",
    "OverrideScene",
    "OverrideVideoRequest",
    "PaletteColor",
    "PollPolicy",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "RenderFailedError",
    "RenderOutcome",
    "RenderStalledError",
    "RenderTimeoutError",
    "RenderUpdate",
    "RenderWait",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Scene",
    "SceneMetadata",
    "ServerError",
    "SkippedVideo",
    "SourceDraftVideoRequest",
    "Subtitles",
    "TextElement",
    "Timeouts",
    "Transport",
    "UsagePeriod",
    "Video",
    "VideoAPI",
    "VideoAPIError",
    "VideoList",
    "VideoMetadata",
    "VideoNotReadyError",
    "VideoStatus",
    "VoicePreview",
    "VoicePreviewFailedError",
    "VoicePreviewStatus",
    "VoicePreviewTimeoutError",
    "Webhook",
    "WebhookStatus",
    "Webhooks",
    "WorkflowVariable",
    "WorkflowVideoRequest",
    "__version__",
    "flat_create_fields",
    "request_from_json",
    "request_to_json",
    "response_to_json",
]
