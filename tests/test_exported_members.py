"""The public surface is exactly what `__all__` says, and nothing leaks from private modules."""

from __future__ import annotations

import videoapi_async

EXPECTED = {
    "CreateExample",
    "Webhook",
    "WebhookStatus",
    "Webhooks",
    "VoicePreviewStatus",
    "VoicePreview",
    "UsagePeriod",
    "Subtitles",
    "VoicePreviewTimeoutError",
    "VoicePreviewFailedError",
    "VideoNotReadyError",
    "RenderWait",
    "RenderUpdate",
    "RenderOutcome",
    "RateLimit",
    "PollPolicy",
    "CreateResult",
    "CreateMarker",
    "LOST_CREATE_GRACE",
    "match_lost_creates",
    "run_together",
    "BatchWait",
    "BatchUpdate",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "CreateOutcomeUnknownError",
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
    "RateLimitError",
    "RawResponse",
    "RenderFailedError",
    "RenderStalledError",
    "RenderTimeoutError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Scene",
    "SceneMetadata",
    "ServerError",
    "SourceDraftVideoRequest",
    "TextElement",
    "Timeouts",
    "Transport",
    "Video",
    "VideoList",
    "flat_create_fields",
    "request_from_json",
    "request_to_json",
    "response_to_json",
    "SkippedVideo",
    "VideoAPI",
    "VideoAPIError",
    "VideoMetadata",
    "VideoStatus",
    "WorkflowVariable",
    "WorkflowVideoRequest",
    "__version__",
}


def test_all_is_pinned() -> None:
    """`__all__` lists exactly the documented public names, sorted."""
    assert set(videoapi_async.__all__) == EXPECTED
    assert list(videoapi_async.__all__) == sorted(videoapi_async.__all__)


def test_every_exported_name_exists_and_is_public() -> None:
    """Each exported name resolves, and public classes claim the package as their home."""
    for name in videoapi_async.__all__:
        member = getattr(videoapi_async, name)
        module = getattr(member, "__module__", "")
        if isinstance(member, type):
            assert module.startswith("videoapi_async"), name


def test_errors_share_one_base() -> None:
    """Every exported exception derives from VideoAPIError."""
    for name in videoapi_async.__all__:
        member = getattr(videoapi_async, name)
        if isinstance(member, type) and issubclass(member, BaseException):
            assert issubclass(member, videoapi_async.VideoAPIError), name


def test_version_is_a_string() -> None:
    """`__version__` comes from the installed metadata."""
    assert isinstance(videoapi_async.__version__, str)
    assert videoapi_async.__version__[0].isdigit()
