"""The vendor's enums and limits, each stated once; the client and the sandbox import them.

Public, so that a program can check its input before sending it (``from
videoapi_async.contract import SUBTITLE_LANGUAGES``) and offer the choices the API
does (``WEBHOOK_EVENTS``, ``CREATE_EXAMPLE_TYPES``). Values come from the vendor's
OpenAPI document (its schema names are given); the tuples keep its order, except the
video statuses, which follow a render's life. This module imports nothing of the
package, so any module may import it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CREATE_EXAMPLE_TYPES",
    "CREATE_FORM_TAGS",
    "FAILURE_STATUSES",
    "IN_PROGRESS_STATUSES",
    "MAX_CORRELATION_ID",
    "MAX_TRANSCRIPT",
    "MAX_URL",
    "PALETTE_COLOR_PATTERN",
    "REQUEST_ID_HEADER",
    "SCENE_TYPES",
    "SUBTITLE_FORMATS",
    "SUBTITLE_LANGUAGES",
    "SUCCESS_STATUSES",
    "TERMINAL_STATUSES",
    "USAGE_BREAKDOWNS",
    "VIDEO_STATUSES",
    "VOICE_PREVIEW_STATUSES",
    "WEBHOOK_EVENTS",
    "WEBHOOK_STATUSES",
]

VIDEO_STATUSES: Final = (
    "not_started",
    "started",
    "processing",
    "ready",
    "published",
    "failed",
    "stopped",
    "cancelled",
)
"""A video's statuses (``VideoStatusEnum``), in the order a render goes through them."""

SUCCESS_STATUSES: Final = frozenset({"ready", "published"})
"""The statuses of a render that ended with a video."""

FAILURE_STATUSES: Final = frozenset({"failed", "stopped", "cancelled"})
"""The statuses of a render that ended without one."""

TERMINAL_STATUSES: Final = SUCCESS_STATUSES | FAILURE_STATUSES
"""The statuses of a render that has ended."""

IN_PROGRESS_STATUSES: Final = frozenset(VIDEO_STATUSES) - TERMINAL_STATUSES
"""The documented statuses of a render still going."""

VOICE_PREVIEW_STATUSES: Final = ("in_progress", "ready", "failed")
"""A voice preview's statuses (``StatusTypes``)."""

SUBTITLE_LANGUAGES: Final = (
    "en", "es", "de", "pt", "it", "fr", "nl", "ja", "tr",
    "pl", "hu", "cz", "he", "zh", "hi", "ru", "ko", "ar",
)  # fmt: skip
"""Language codes of subtitles (``SupportedTranslationSubtitlesLanguagesCode``)."""

SUBTITLE_FORMATS: Final = ("vtt", "srt")
"""Subtitle file formats (``SubtitlesFileExtension``)."""

USAGE_BREAKDOWNS: Final = ("daily", "weekly", "monthly")
"""How the usage summary groups usage (``UsageBreakdown``)."""

MAX_TRANSCRIPT: Final = 1000
"""The longest transcript of one scene, in characters."""

MAX_CORRELATION_ID: Final = 100
"""The longest ``correlation_id`` of a tagged create form, in characters."""

MAX_URL: Final = 2083
"""The longest media URL, in characters (pydantic's ``HttpUrl``)."""

PALETTE_COLOR_PATTERN: Final = "^#?(?:[0-9A-Fa-f]{8}|[0-9A-Fa-f]{6})$"
"""A palette colour: ``#RRGGBB`` or ``#RRGGBBAA``, the ``#`` optional."""

WEBHOOK_EVENTS: Final = ("video.ready", "video.failed")
"""The events a webhook delivers (``EventName``)."""

WEBHOOK_STATUSES: Final = ("active", "inactive", "paused", "pending")
"""A webhook's states (``WebhookStatusOptions``)."""

CREATE_FORM_TAGS: Final = ("override", "create", "workflow")
"""The ``type`` of the tagged create forms: ``OverrideVideoRequest``, ``NewVideoRequest``,
``WorkflowVideoRequest`` (the reference page's flat form has none)."""

SCENE_TYPES: Final = ("override_scene", "create_scene")
"""The ``type`` of the two scene shapes: ``VideoScene`` and ``NewVideoScene``."""

CREATE_EXAMPLE_TYPES: Final = ("create", "override", "create_video_from_workflow")
"""The ``example_type`` values of ``GET /examples/create-video``."""

REQUEST_ID_HEADER: Final = "x-request-id"
"""The response header that carries the server's id for a request. The vendor documents
none; this is the gateways' usual name, which the client reads and the sandbox sends."""
