"""Delete, subtitles, voice previews and usage, against a mocked API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from aioresponses import CallbackResult

from videoapi_async import (
    NotFoundError,
    RenderTimeoutError,
    VideoAPI,
    VideoNotReadyError,
    VoicePreviewFailedError,
    VoicePreviewStatus,
    VoicePreviewTimeoutError,
)
from videoapi_async._protocol import parse_video
from videoapi_async._requests import build_usage_query

from .conftest import BASE_URL, VIDEO, MockAPI
from .fakes import FakeTime

VIDEO_URL = f"{BASE_URL}/videos/vid-1"
READY = {**VIDEO, "status": "ready", "progress": 100, "video_player_url": "https://p/v"}


@pytest.fixture
async def api(fake_time_api: VideoAPI) -> VideoAPI:
    return fake_time_api


class TestDelete:
    async def test_delete(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """delete_video sends DELETE to the encoded path and accepts 204."""
        mock_api.delete(f"{BASE_URL}/videos/a%2Fb", status=204)
        await api.delete_video("a/b")
        assert len(mock_api.calls("DELETE", f"{BASE_URL}/videos/a%2Fb")) == 1

    async def test_missing(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A missing video raises NotFoundError, unless missing_ok."""
        mock_api.delete(VIDEO_URL, status=404, payload={"detail": "Video not found"}, repeat=True)
        with pytest.raises(NotFoundError):
            await api.delete_video("vid-1")
        await api.delete_video("vid-1", missing_ok=True)


class TestSubtitles:
    async def test_ready_video(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """For a ready video the request is sent with language and format."""
        mock_api.get(VIDEO_URL, payload=READY)
        mock_api.post(
            f"{VIDEO_URL}/subtitles",
            status=201,
            payload={"language_code": "fr", "format": "srt", "url": "https://s/fr.srt"},
        )
        subtitles = await api.create_subtitles("vid-1", "fr", format="srt")
        assert (subtitles.language_code, subtitles.format, subtitles.url) == (
            "fr",
            "srt",
            "https://s/fr.srt",
        )
        (call,) = mock_api.calls("POST", f"{VIDEO_URL}/subtitles")
        assert json.loads(call.kwargs["data"]) == {"language_code": "fr", "format": "srt"}

    async def test_ready_video_object_skips_the_read(
        self, api: VideoAPI, mock_api: MockAPI
    ) -> None:
        """Passing a ready Video saves the status read."""
        mock_api.post(
            f"{VIDEO_URL}/subtitles", status=201, payload={"language_code": "en", "url": "u"}
        )
        video = parse_video(READY, method="GET", path="/")
        assert (await api.create_subtitles(video)).format == "vtt"
        assert mock_api.calls("GET", VIDEO_URL) == []

    async def test_not_ready(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A render still in progress gets VideoNotReadyError and nothing is posted."""
        mock_api.get(VIDEO_URL, payload=VIDEO)
        with pytest.raises(VideoNotReadyError, match="wait_for_render") as info:
            await api.create_subtitles("vid-1", "en")
        assert info.value.video.status.value == "processing"
        assert mock_api.calls("POST", f"{VIDEO_URL}/subtitles") == []

    @pytest.mark.parametrize(
        ("language", "fmt", "needle"), [("xx", "vtt", "language_code"), ("en", "ass", "format")]
    )
    async def test_bad_arguments(self, api: VideoAPI, language: str, fmt: str, needle: str) -> None:
        """Unknown languages and formats are refused before any request."""
        with pytest.raises(ValueError, match=needle):
            await api.create_subtitles("vid-1", language, format=fmt)


class TestVoicePreviews:
    async def test_create_get_and_wait(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """A preview is created, polled until ready, and returned with its URL."""
        created = {"id": "t-1", "transcript": "Hi", "voice_id": "v", "req_id": "r"}
        mock_api.post(f"{BASE_URL}/voice-preview", status=201, payload=created)
        done_at = time.now + 4

        def progress(url: Any, **kwargs: Any) -> CallbackResult:
            ready = time.now >= done_at
            body = {"id": "t-1", "req_id": "r", "status": "ready" if ready else "in_progress"}
            if ready:
                body["url"] = "https://a/t-1.mp3"
            return CallbackResult(payload=body)

        mock_api.get(f"{BASE_URL}/voice-preview/t-1", callback=progress, repeat=True)
        preview = await api.create_voice_preview("Hi", "draft-1")
        assert preview.status is VoicePreviewStatus.IN_PROGRESS
        assert preview.transcript == "Hi"
        (call,) = mock_api.calls("POST", f"{BASE_URL}/voice-preview")
        assert json.loads(call.kwargs["data"]) == {"transcript": "Hi", "source_draft_id": "draft-1"}
        final = await api.wait_for_voice_preview(preview, timeout=60)
        assert final.is_ready
        assert final.url == "https://a/t-1.mp3"
        assert done_at <= time.now <= done_at + 3
        assert (await api.get_voice_preview("t-1")).is_ready

    async def test_failed(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A failed preview raises VoicePreviewFailedError with the preview."""
        mock_api.get(
            f"{BASE_URL}/voice-preview/t-2",
            payload={"id": "t-2", "req_id": "r", "status": "failed"},
        )
        with pytest.raises(VoicePreviewFailedError) as info:
            await api.wait_for_voice_preview("t-2")
        assert info.value.preview.status is VoicePreviewStatus.FAILED

    async def test_timeout(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A preview that never ends times out with its last state, as a RenderTimeoutError."""
        mock_api.get(
            f"{BASE_URL}/voice-preview/t-3",
            payload={"id": "t-3", "req_id": "r", "status": "in_progress"},
            repeat=True,
        )
        with pytest.raises(VoicePreviewTimeoutError) as info:
            await api.wait_for_voice_preview("t-3", timeout=20)
        assert isinstance(info.value, RenderTimeoutError)
        assert info.value.preview is not None
        assert info.value.preview.status is VoicePreviewStatus.IN_PROGRESS

    async def test_bad_arguments(self, api: VideoAPI) -> None:
        """Empty transcripts and ids are refused before any request."""
        with pytest.raises(ValueError, match="transcript"):
            await api.create_voice_preview(" ", "d")
        with pytest.raises(ValueError, match="task_id"):
            await api.wait_for_voice_preview("")


class TestUsage:
    async def test_summary(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """The usage summary sends its window as query parameters and parses periods."""
        url = (
            f"{BASE_URL}/analytics/summary?breakdown=daily&from_date=2026-11-01&to_date=2026-11-02"
        )
        mock_api.get(
            url,
            payload=[
                {"year": 2026, "month": 11, "day": 1, "videos_created": 3, "total_duration": 95},
                {"year": 2026, "month": 11, "day": 2, "videos_created": 0, "total_duration": 0},
            ],
        )
        periods = await api.get_usage_summary(
            "daily", from_date=dt.date(2026, 11, 1), to_date="2026-11-02"
        )
        assert [(p.day, p.videos_created, p.total_duration) for p in periods] == [
            (1, 3, 95),
            (2, 0, 0),
        ]

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"breakdown": "hourly"}, "breakdown"),
            ({"from_date": "2026-13-01"}, "from_date"),
            ({"from_date": "2026-11-05", "to_date": "2026-11-01"}, "after to_date"),
            ({"from_date": "2999-01-01"}, "in the future"),
            ({"correlation_id": ""}, "correlation_id"),
        ],
    )
    def test_window_checked_before_sending(self, kwargs: dict[str, Any], needle: str) -> None:
        """Malformed, reversed or future windows are refused, saying how to fix them."""
        args = {"breakdown": "monthly", "from_date": None, "to_date": None, "correlation_id": None}
        args.update(kwargs)
        with pytest.raises(ValueError, match=needle):
            build_usage_query(
                args["breakdown"], args["from_date"], args["to_date"], args["correlation_id"]
            )
