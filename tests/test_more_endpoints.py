"""Delete, subtitles, voice previews, usage and webhooks, against a mocked API."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
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
from videoapi_async.webhooks import (
    WebhookEvent,
    WebhookPayloadError,
    WebhookReplayError,
    WebhookSignatureError,
    WebhookVerifier,
    parse_event,
    sign,
    verify_signature,
    webhook_handler,
)

from .conftest import BASE_URL, VIDEO, MockAPI
from .fakes import FakeRender, FakeTime

VIDEO_URL = f"{BASE_URL}/videos/vid-1"
READY = {**VIDEO, "status": "ready", "progress": 100, "video_player_url": "https://p/v"}
SECRET = "whsec-test-secret"


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


def delivery(
    event: str = "video.ready", video: dict[str, Any] | None = None, **extra: Any
) -> bytes:
    body = {
        "id": "d-1",
        "event": event,
        "created_at": 1_800_000_000.0,
        "data": video or READY,
        **extra,
    }
    return json.dumps(body).encode()


class TestWebhookVerification:
    def verifier(self, **kwargs: Any) -> WebhookVerifier:
        return WebhookVerifier(SECRET, clock=lambda: 1_800_000_010.0, **kwargs)

    def test_good_delivery(self) -> None:
        """A correctly signed delivery parses into an event carrying the video."""
        body = delivery()
        event = self.verifier().verify({"webhook-signature": sign(body, SECRET)}, body)
        assert (event.event, event.outcome, event.video_id) == ("video.ready", "ready", "vid-1")
        assert event.video is not None
        assert event.video.is_ready
        assert event.delivery_id == "d-1"

    @pytest.mark.parametrize("form", ["hex", "sha256", "v1", "several"])
    def test_signature_forms(self, form: str) -> None:
        """Hex, sha256=hex, v1,base64 and space-separated lists are all accepted."""
        import base64
        import hashlib
        import hmac

        body = delivery()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        value = {
            "hex": digest.hex(),
            "sha256": "sha256=" + digest.hex(),
            "v1": "v1," + base64.b64encode(digest).decode(),
            "several": "v1,AAAA " + sign(body, SECRET),
        }[form]
        verify_signature(body, value, SECRET)

    @pytest.mark.parametrize(
        "signature", [None, "", "sha256=00", sign(b"other body", SECRET), sign(b"x", "wrong")]
    )
    def test_bad_signatures(self, signature: str | None) -> None:
        """Missing, malformed or wrong signatures are refused."""
        body = delivery()
        headers = {} if signature is None else {"webhook-signature": signature}
        with pytest.raises(WebhookSignatureError):
            self.verifier().verify(headers, body)

    def test_tampered_body(self) -> None:
        """A body changed after signing fails verification."""
        body = delivery()
        signature = sign(body, SECRET)
        with pytest.raises(WebhookSignatureError, match="raw body"):
            self.verifier().verify(
                {"webhook-signature": signature}, body.replace(b"ready", b"faile")
            )

    def test_replay(self) -> None:
        """The same delivery twice is refused the second time."""
        verifier = self.verifier()
        body = delivery()
        headers = {"webhook-signature": sign(body, SECRET)}
        verifier.verify(headers, body)
        with pytest.raises(WebhookReplayError, match="already received"):
            verifier.verify(headers, body)

    def test_stale(self) -> None:
        """A delivery older than the tolerance is refused as a possible replay."""
        body = delivery(created_at=1_700_000_000.0)
        with pytest.raises(WebhookReplayError, match="ago"):
            self.verifier().verify({"webhook-signature": sign(body, SECRET)}, body)

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[1, 2]",
            json.dumps({"data": READY}).encode(),
            json.dumps({"event": "video.ready"}).encode(),
        ],
    )
    def test_bad_payloads(self, body: bytes) -> None:
        """Bodies that are not events about a video are refused."""
        with pytest.raises(WebhookPayloadError):
            self.verifier().verify({"webhook-signature": sign(body, SECRET)}, body)

    def test_event_spelling_is_configurable(self) -> None:
        """Other event names can be mapped to ready and failed."""
        body = delivery(event="VIDEO_FAILED", video={**VIDEO, "status": "failed"})
        verifier = self.verifier(failed_events=("VIDEO_FAILED",), signature_header="x-sig")
        event = verifier.verify({"x-sig": sign(body, SECRET)}, body)
        assert event.outcome == "failed"

    def test_event_without_full_video(self) -> None:
        """An event carrying only an id still names the video, without a Video."""
        event = parse_event(json.dumps({"event": "video.ready", "video_id": "v9"}).encode())
        assert event.video_id == "v9"
        assert event.video is None


class TestWebhookDrivenWaits:
    async def test_event_ends_the_wait_and_polling_slows(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """A delivery ends a long wait at once; later waits only poll as a safety net."""
        render = FakeRender(time, duration=3000)
        mock_api.get(VIDEO_URL, callback=render, repeat=True)
        waiter = asyncio.ensure_future(api.wait_for_render("vid-1"))
        while render.polls < 2:  # noqa: ASYNC110 - fake time moves only when the poller sleeps
            await asyncio.sleep(0)
        event = parse_event(delivery())
        assert api.handle_webhook_event(event)
        assert (await waiter).is_ready
        polls_before = render.polls

        other = FakeRender(time, video_id="vid-2", duration=300)
        mock_api.get(f"{BASE_URL}/videos/vid-2", callback=other, repeat=True)
        started = time.now
        await api.wait_for_render("vid-2")
        # Without webhooks a 300 s render costs several polls; with them, 1 per safety interval.
        assert other.polls <= 2 + (time.now - started) / api.poll_policy.webhook_safety_interval
        assert render.polls == polls_before

    async def test_event_without_video_polls_at_once(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """An event without the video triggers one immediate poll that ends the wait."""
        answers = iter([VIDEO, READY])
        mock_api.get(
            VIDEO_URL, callback=lambda url, **kw: CallbackResult(payload=next(answers)), repeat=True
        )
        waiter = asyncio.ensure_future(api.wait_for_render("vid-1"))
        await asyncio.sleep(0)
        while api.stats["polls"] < 1:  # noqa: ASYNC110 - see above
            await asyncio.sleep(0)
        started = time.now
        api.handle_webhook_event(
            parse_event(json.dumps({"event": "video.ready", "video_id": "vid-1"}).encode())
        )
        assert (await waiter).is_ready
        assert time.now - started < 1

    def test_unwatched_video(self, api: VideoAPI) -> None:
        """An event about a video nobody waits on is accepted and reported as unmatched."""
        assert not api.handle_webhook_event(parse_event(delivery()))


class TestWebhookHandler:
    async def test_handler_end_to_end(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """The aiohttp handler answers 204, 401, 409 and 400 and feeds the client."""
        seen: list[WebhookEvent] = []
        verifier = WebhookVerifier(SECRET, clock=lambda: 1_800_000_000.0)
        app = web.Application()
        app.router.add_post("/hook", webhook_handler(verifier, api=api, on_event=seen.append))
        mock_api.get(VIDEO_URL, payload=VIDEO, repeat=True)
        waiter = asyncio.ensure_future(api.wait_for_render("vid-1"))
        body = delivery()
        mock_api._passthrough.append("http://127.0.0.1")  # the handler is a real server
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            ok = await client.post(
                "/hook", data=body, headers={"webhook-signature": sign(body, SECRET)}
            )
            again = await client.post(
                "/hook", data=body, headers={"webhook-signature": sign(body, SECRET)}
            )
            forged = await client.post(
                "/hook", data=body, headers={"webhook-signature": sign(body, "x")}
            )
            junk = await client.post(
                "/hook", data=b"{}", headers={"webhook-signature": sign(b"{}", SECRET)}
            )
            statuses = [ok.status, again.status, forged.status, junk.status]
        assert statuses == [204, 409, 401, 400]
        assert [e.delivery_id for e in seen] == ["d-1"]
        assert (await waiter).is_ready
