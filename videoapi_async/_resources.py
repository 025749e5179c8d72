"""Models for the API beyond the four video endpoints: subtitles, voice previews, usage.

Frozen attrs classes, read by the same tolerant converter as videos.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._models import OpenEnum, _extra_field
from .contract import (
    SUBTITLE_FORMATS,
    SUBTITLE_LANGUAGES,
    USAGE_BREAKDOWNS,
)

__all__ = [
    "SUBTITLE_FORMATS",
    "SUBTITLE_LANGUAGES",
    "USAGE_BREAKDOWNS",
    "Subtitles",
    "UsagePeriod",
    "VoicePreview",
    "VoicePreviewStatus",
]


@attrs.frozen(kw_only=True)
class Subtitles:
    """A subtitle file made for a rendered video.

    Attributes:
        language_code: The subtitles' language, e.g. ``"en"``.
        format: ``"vtt"`` or ``"srt"``.
        url: Where to download the file.
        extra: The fields of the answer this client does not know, read-only.
    """

    language_code: str
    url: str
    format: str = "vtt"
    extra: Mapping[str, Any] = _extra_field()


class VoicePreviewStatus(OpenEnum):
    """Where a voice preview is: ``in_progress``, then ``ready`` or ``failed``.

    Like `VideoStatus`, a value the API adds later is kept and is not terminal.
    """

    IN_PROGRESS = "in_progress"
    READY = "ready"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """Whether the preview has ended, successfully or not."""
        return self in (VoicePreviewStatus.READY, VoicePreviewStatus.FAILED)

    @property
    def is_success(self) -> bool:
        """Whether the preview's audio is ready."""
        return self is VoicePreviewStatus.READY

    @property
    def is_failure(self) -> bool:
        """Whether the preview failed."""
        return self is VoicePreviewStatus.FAILED


@attrs.frozen(kw_only=True)
class VoicePreview:
    """A voice preview: a short audio render of a transcript in a project's voice.

    Attributes:
        id: The preview task's id; pass it to `VideoAPI.get_voice_preview`.
        req_id: The id of the request that created it.
        status: Where the preview is.
        url: The audio file's URL once ready, otherwise None.
        transcript: The transcript (given when the preview is created).
        voice_id: The voice used (given when the preview is created).
        extra: The fields of the answer this client does not know, read-only.
    """

    id: str
    req_id: str
    status: VoicePreviewStatus = VoicePreviewStatus.IN_PROGRESS
    url: str | None = None
    transcript: str | None = None
    voice_id: str | None = None
    extra: Mapping[str, Any] = _extra_field()

    @property
    def progress(self) -> int | None:
        """Always None: the API reports no progress for voice previews."""
        return None

    @property
    def is_terminal(self) -> bool:
        """Whether the preview has ended, successfully or not."""
        return self.status.is_terminal

    @property
    def is_ready(self) -> bool:
        """Whether the audio is ready."""
        return self.status.is_success


@attrs.frozen(kw_only=True)
class UsagePeriod:
    """Usage in one period of a `VideoAPI.get_usage_summary` breakdown.

    Attributes:
        year: The period's year.
        month: The month (1-12), for monthly and finer breakdowns, when given.
        week: The week of the year, for weekly breakdowns.
        day: The day of the month, for daily breakdowns.
        videos_created: Videos created in the period.
        total_duration: Their total duration, in seconds.
        extra: The fields of the answer this client does not know, read-only.
    """

    videos_created: int
    total_duration: int
    year: int | None = None
    month: int | None = None
    week: int | None = None
    day: int | None = None
    extra: Mapping[str, Any] = _extra_field()
