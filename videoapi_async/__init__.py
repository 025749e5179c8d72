"""An asyncio client for Hour One's video generation API.

Quick use::

    from videoapi_async import VideoAPI

    async with VideoAPI() as api:  # the key comes from VIDEOAPI_API_KEY
        video = await api.create_video(source_draft_id="...", name="Q3 update")
        video = await api.get_video(video.id)

Everything public is importable from this package; the underscore modules are private.
Names are imported on first use, so ``import videoapi_async`` (and the pytest plugin
and ``videoapi --help``) load neither aiohttp nor the client until something needs them.
Public submodules stand apart: `videoapi_async.sandbox` (a local stand-in for the
API), `videoapi_async.webhooks` (verifying and acting on webhook deliveries),
`videoapi_async.coordination` (replicas sharing their work) and
`videoapi_async.contract` (the vendor's enums and limits).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from ._version import __version__

if TYPE_CHECKING:
    from ._budget import RateLimit
    from ._bulk import CreateResult, run_together
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
    from ._recovery import LOST_CREATE_GRACE, CreateMarker, match_lost_creates
    from ._requester import RawResponse
    from ._requests import flat_create_fields, request_from_json, request_to_json
    from ._resources import Subtitles, UsagePeriod, VoicePreview, VoicePreviewStatus
    from ._transport import HTTPRequest, HTTPResponse, MockTransport, Transport
    from ._videolist import SkippedVideo, VideoList
    from ._waits import BatchUpdate, BatchWait, RenderOutcome, RenderUpdate, RenderWait
    from ._webhook_admin import CreateExample, Webhook, Webhooks, WebhookStatus

_WHERE: Final[dict[str, str]] = {
    "RateLimit": "_budget",
    "CreateResult": "_bulk",
    "run_together": "_bulk",
    "PollPolicy": "_cadence",
    "VideoAPI": "_client",
    "RetryPolicy": "_config",
    "Timeouts": "_config",
    "response_to_json": "_converters",
    "APIConnectionError": "_errors",
    "APIStatusError": "_errors",
    "APITimeoutError": "_errors",
    "AuthenticationError": "_errors",
    "CreateOutcomeUnknownError": "_errors",
    "ErrorDetail": "_errors",
    "NotFoundError": "_errors",
    "RateLimitError": "_errors",
    "RenderFailedError": "_errors",
    "RenderStalledError": "_errors",
    "RenderTimeoutError": "_errors",
    "RequestValidationError": "_errors",
    "ResponseDecodeError": "_errors",
    "ResponseTooLargeError": "_errors",
    "ServerError": "_errors",
    "VideoAPIError": "_errors",
    "VideoNotReadyError": "_errors",
    "VoicePreviewFailedError": "_errors",
    "VoicePreviewTimeoutError": "_errors",
    "CreateScene": "_models",
    "CreateVideoRequest": "_models",
    "MediaElement": "_models",
    "MetadataValue": "_models",
    "NewVideoRequest": "_models",
    "OverrideScene": "_models",
    "OverrideVideoRequest": "_models",
    "PaletteColor": "_models",
    "Scene": "_models",
    "SceneMetadata": "_models",
    "SourceDraftVideoRequest": "_models",
    "TextElement": "_models",
    "Video": "_models",
    "VideoMetadata": "_models",
    "VideoStatus": "_models",
    "WorkflowVariable": "_models",
    "WorkflowVideoRequest": "_models",
    "CreateMarker": "_recovery",
    "LOST_CREATE_GRACE": "_recovery",
    "match_lost_creates": "_recovery",
    "RawResponse": "_requester",
    "flat_create_fields": "_requests",
    "request_from_json": "_requests",
    "request_to_json": "_requests",
    "Subtitles": "_resources",
    "UsagePeriod": "_resources",
    "VoicePreview": "_resources",
    "VoicePreviewStatus": "_resources",
    "HTTPRequest": "_transport",
    "HTTPResponse": "_transport",
    "MockTransport": "_transport",
    "Transport": "_transport",
    "SkippedVideo": "_videolist",
    "VideoList": "_videolist",
    "BatchUpdate": "_waits",
    "BatchWait": "_waits",
    "RenderOutcome": "_waits",
    "RenderUpdate": "_waits",
    "RenderWait": "_waits",
    "CreateExample": "_webhook_admin",
    "Webhook": "_webhook_admin",
    "WebhookStatus": "_webhook_admin",
    "Webhooks": "_webhook_admin",
}
"""Which private module defines each public name (imported on first use)."""


def __getattr__(name: str) -> Any:
    """Import a public name from the module that defines it, the first time it is used."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# Plain sorted order (tests/test_exported_members.py pins it), not ruff's constants-first.
__all__ = [  # noqa: RUF022
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BatchUpdate",
    "BatchWait",
    "CreateExample",
    "CreateMarker",
    "CreateOutcomeUnknownError",
    "CreateResult",
    "CreateScene",
    "CreateVideoRequest",
    "ErrorDetail",
    "HTTPRequest",
    "HTTPResponse",
    "LOST_CREATE_GRACE",
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
    "match_lost_creates",
    "request_from_json",
    "request_to_json",
    "response_to_json",
    "run_together",
]
