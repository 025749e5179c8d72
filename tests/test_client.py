"""Client tests against a mocked API (aioresponses): requests, retries, every error type."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

import videoapi_async
from videoapi_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CreateOutcomeUnknownError,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    NotFoundError,
    OverrideScene,
    OverrideVideoRequest,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
    SourceDraftVideoRequest,
    Timeouts,
    VideoAPI,
    VideoAPIError,
    VideoStatus,
)

from .conftest import BASE_URL, CANARY_KEY, VIDEO, MockAPI, Sleeps

VIDEO_URL = f"{BASE_URL}/videos/vid-1"
LIST_URL = f"{BASE_URL}/videos"
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
HTML_503 = "<html><head><title>503 Service Unavailable</title></head></html>"


def sent_json(call: Any) -> Any:
    return json.loads(call.kwargs["data"])


class TestConfiguration:
    def test_missing_key_fails_before_any_request(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No key at all raises VideoAPIError saying how to set one."""
        monkeypatch.delenv("VIDEOAPI_API_KEY", raising=False)
        with pytest.raises(VideoAPIError, match=r"api_key=.*VIDEOAPI_API_KEY"):
            VideoAPI()

    async def test_settings_come_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, mock_api: MockAPI
    ) -> None:
        """Key, base URL, workspace and team default to their environment variables."""
        monkeypatch.setenv("VIDEOAPI_API_KEY", "env-key")
        monkeypatch.setenv("VIDEOAPI_BASE_URL", "http://env.test/api/v1/")
        monkeypatch.setenv("VIDEOAPI_WORKSPACE_ID", "ws-1")
        monkeypatch.setenv("VIDEOAPI_TEAM_ID", "team-1")
        mock_api.post("http://env.test/api/v1/videos", status=201, payload=VIDEO)
        async with VideoAPI() as api:
            assert api.base_url == "http://env.test/api/v1"
            await api.create_video(source_draft_id="d")
        (call,) = mock_api.calls("POST", "http://env.test/api/v1/videos")
        assert call.kwargs["headers"]["api-key"] == "env-key"
        assert call.kwargs["headers"]["workspace-id"] == "ws-1"
        assert call.kwargs["headers"]["team-id"] == "team-1"

    def test_default_base_url(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without settings the production base URL is used."""
        monkeypatch.delenv("VIDEOAPI_BASE_URL", raising=False)
        assert VideoAPI("k").base_url == "https://api.makereals.com/api/v1"

    @pytest.mark.parametrize(
        ("kwargs", "error", "needle"),
        [
            ({"base_url": "api.makereals.com"}, VideoAPIError, "absolute http"),
            ({"base_url": "ftp://x/api"}, VideoAPIError, "absolute http"),
            ({"max_connections": 0}, ValueError, "max_connections"),
            ({"timeouts": 5}, TypeError, "Timeouts"),
            ({"retry": 3}, TypeError, "RetryPolicy"),
            ({"session": object()}, TypeError, "aiohttp.ClientSession"),
            ({"workspace_id": "a\nb"}, VideoAPIError, "workspace_id"),
        ],
    )
    def test_bad_settings_fail_fast(
        self, kwargs: dict[str, Any], error: type[Exception], needle: str
    ) -> None:
        """Bad settings raise at construction, naming what to fix."""
        with pytest.raises(error, match=needle):
            VideoAPI("k", **kwargs)

    def test_bad_key_is_refused_without_echoing_it(self) -> None:
        """A key that cannot be a header value is refused; the message omits the key."""
        with pytest.raises(VideoAPIError) as info:
            VideoAPI("secret-part\nmore")
        assert "secret-part" not in str(info.value)

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"connect": 0}, "Timeouts.connect"),
            ({"read": -1}, "Timeouts.read"),
            ({"read": "5"}, "Timeouts.read"),
        ],
    )
    def test_bad_timeouts(self, kwargs: dict[str, Any], needle: str) -> None:
        """Timeouts must be positive numbers or None."""
        with pytest.raises(ValueError, match=needle):
            Timeouts(**kwargs)

    def test_bad_retry_policy(self) -> None:
        """Retry policies reject impossible values."""
        with pytest.raises(ValueError, match="max_attempts"):
            RetryPolicy(max_attempts=0)
        with pytest.raises(ValueError, match="max_backoff"):
            RetryPolicy(max_backoff=-1)

    def test_repr(self) -> None:
        """The client's repr shows where it points, never the key."""
        api = VideoAPI(CANARY_KEY, base_url=BASE_URL)
        assert repr(api) == f"<VideoAPI base_url={BASE_URL!r}>"


class TestRequests:
    async def test_get_video(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """get_video sends the key and parses the Video."""
        mock_api.get(VIDEO_URL, payload=VIDEO)
        video = await api.get_video("vid-1")
        assert video.id == "vid-1"
        assert video.status is VideoStatus.PROCESSING
        (call,) = mock_api.calls("GET", VIDEO_URL)
        sent = call.kwargs["headers"]
        assert sent["api-key"] == CANARY_KEY
        assert sent["Accept"] == "application/json"
        assert sent["User-Agent"].startswith("videoapi-async/")
        assert "workspace-id" not in sent
        assert "team-id" not in sent

    async def test_video_id_is_one_segment(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """An id with a slash reaches the server as one encoded segment."""
        mock_api.get(
            f"{BASE_URL}/videos/a%2Fb/metadata", payload={"duration": 1, "scenes_metadata": []}
        )
        await api.get_video_metadata("a/b")
        assert len(mock_api.calls("GET", f"{BASE_URL}/videos/a%2Fb/metadata")) == 1

    async def test_list_videos(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """list_videos parses the bare array."""
        mock_api.get(LIST_URL, payload=[VIDEO, {**VIDEO, "id": "vid-2", "status": "ready"}])
        videos = await api.list_videos()
        assert [(v.id, v.status.is_success) for v in videos] == [("vid-1", False), ("vid-2", True)]

    async def test_metadata(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """get_video_metadata parses durations and scenes."""
        mock_api.get(
            f"{VIDEO_URL}/metadata",
            payload={
                "duration": 9.5,
                "scenes_metadata": [{"scene_index": 0, "start_time": 0, "duration": 9.5}],
            },
        )
        meta = await api.get_video_metadata("vid-1")
        assert meta.duration == 9.5
        assert meta.scenes_metadata[0].duration == 9.5

    async def test_create_flat_form(self, mock_api: MockAPI, sleeps: Sleeps) -> None:
        """Keyword arguments send the flat form with only set fields, headers when set."""
        mock_api.post(LIST_URL, status=201, payload=VIDEO)
        async with VideoAPI("k", base_url=BASE_URL, workspace_id="ws", sleep=sleeps) as api:
            video = await api.create_video(source_draft_id="src-1", name="Q3 update")
        assert video.name == "Q3 update"
        (call,) = mock_api.calls("POST", LIST_URL)
        sent = sent_json(call)
        assert sent.pop("correlation_id").startswith("videoapi-async-")  # none was given
        assert sent == {"name": "Q3 update", "source_draft_id": "src-1"}
        assert call.kwargs["headers"]["workspace-id"] == "ws"
        assert call.kwargs["headers"]["Content-Type"] == "application/json"
        assert "team-id" not in call.kwargs["headers"]

    async def test_create_tagged_form(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A request object is sent in its tagged form."""
        mock_api.post(LIST_URL, status=201, payload=VIDEO)
        await api.create_video(
            OverrideVideoRequest(source_draft_id="d", scenes=[OverrideScene(name="s")])
        )
        (call,) = mock_api.calls("POST", LIST_URL)
        sent = sent_json(call)
        assert sent.pop("correlation_id").startswith("videoapi-async-")  # none was given
        assert sent == {
            "type": "override",
            "scenes": [{"name": "s"}],
            "source_draft_id": "d",
        }

    async def test_create_any_2xx(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A create answered with 200 instead of 201 is accepted."""
        mock_api.post(LIST_URL, status=200, payload=VIDEO)
        assert (await api.create_video(recipe_id="r")).id == "vid-1"

    async def test_create_rejects_mixed_arguments(self, api: VideoAPI) -> None:
        """A request object and keyword arguments together are refused before sending."""
        request = OverrideVideoRequest(scenes=[OverrideScene(name="s")])
        with pytest.raises(TypeError, match="not both"):
            await api.create_video(request, name="x")

    async def test_create_checks_before_sending(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """An invalid create fails locally and sends nothing."""
        with pytest.raises(ValueError, match="source_draft_id= or recipe_id="):
            await api.create_video(name="no source")
        assert mock_api.requests == {}


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "payload", "error"),
        [
            (401, {"detail": "Invalid API key"}, AuthenticationError),
            (403, {"detail": "Not authenticated"}, AuthenticationError),
            (404, {"detail": "Video not found"}, NotFoundError),
        ],
    )
    async def test_status_errors(
        self,
        api: VideoAPI,
        mock_api: MockAPI,
        status: int,
        payload: Any,
        error: type[Exception],
    ) -> None:
        """Each error status raises its own type once, without retries."""
        mock_api.get(VIDEO_URL, status=status, payload=payload)
        with pytest.raises(error) as info:
            await api.get_video("vid-1")
        assert info.value.status_code == status  # type: ignore[attr-defined]
        assert info.value.detail == payload["detail"]  # type: ignore[attr-defined]
        assert len(mock_api.calls("GET", VIDEO_URL)) == 1

    async def test_validation_error(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A 422 on create raises RequestValidationError with each field; no retry."""
        detail = [
            {"loc": ["body", "source_draft_id"], "msg": "unknown draft", "type": "value_error"}
        ]
        mock_api.post(LIST_URL, status=422, payload={"detail": detail})
        with pytest.raises(RequestValidationError) as info:
            await api.create_video(source_draft_id="nope")
        assert info.value.errors[0].field == "source_draft_id"
        assert len(mock_api.calls("POST", LIST_URL)) == 1

    async def test_decode_error_on_wrong_shape(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """JSON of the wrong shape raises ResponseDecodeError and is not retried."""
        mock_api.get(VIDEO_URL, payload={"id": "vid-1"}, repeat=True)
        with pytest.raises(ResponseDecodeError, match="status"):
            await api.get_video("vid-1")
        assert len(mock_api.calls("GET", VIDEO_URL)) == 1

    async def test_rate_limit_after_retries(
        self, api: VideoAPI, mock_api: MockAPI, sleeps: Sleeps
    ) -> None:
        """Persistent 429s end in RateLimitError after max_attempts, waiting as told."""
        mock_api.get(VIDEO_URL, status=429, headers={"Retry-After": "2"}, repeat=True)
        with pytest.raises(RateLimitError) as info:
            await api.get_video("vid-1")
        assert info.value.retry_after == 2.0
        assert len(mock_api.calls("GET", VIDEO_URL)) == 4
        assert sleeps.delays == [2.0, 2.0, 2.0]


class TestRetries:
    async def test_get_retried_through_html_502_and_503(
        self, api: VideoAPI, mock_api: MockAPI, sleeps: Sleeps
    ) -> None:
        """A GET survives an HTML 502 then a 503, with growing jittered backoff."""
        mock_api.get(VIDEO_URL, status=502, body=HTML_502, content_type="text/html")
        mock_api.get(VIDEO_URL, status=503, body=HTML_503, content_type="text/html")
        mock_api.get(VIDEO_URL, payload=VIDEO)
        video = await api.get_video("vid-1")
        assert video.id == "vid-1"
        assert len(mock_api.calls("GET", VIDEO_URL)) == 3
        first, second = sleeps.delays
        assert 0.25 <= first <= 0.5
        assert 0.5 <= second <= 0.75

    async def test_gives_up_with_the_last_error(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """After max_attempts the last ServerError is raised, with the page title."""
        mock_api.get(VIDEO_URL, status=502, body=HTML_502, content_type="text/html", repeat=True)
        with pytest.raises(ServerError) as info:
            await api.get_video("vid-1")
        assert info.value.detail == "502 Bad Gateway"
        assert len(mock_api.calls("GET", VIDEO_URL)) == 4

    async def test_retry_after_is_honoured(
        self, api: VideoAPI, mock_api: MockAPI, sleeps: Sleeps
    ) -> None:
        """The wait after a 429 is exactly what Retry-After asked."""
        mock_api.get(VIDEO_URL, status=429, headers={"Retry-After": "3"})
        mock_api.get(VIDEO_URL, payload=VIDEO)
        await api.get_video("vid-1")
        assert sleeps.delays == [3.0]

    async def test_retry_after_beyond_cap_raises_at_once(
        self, mock_api: MockAPI, sleeps: Sleeps
    ) -> None:
        """A Retry-After longer than the cap is not waited out; the error says when."""
        mock_api.get(VIDEO_URL, status=429, headers={"Retry-After": "600"})
        async with VideoAPI("k", base_url=BASE_URL, sleep=sleeps) as api:
            with pytest.raises(RateLimitError) as info:
                await api.get_video("vid-1")
        assert info.value.retry_after == 600
        assert sleeps.delays == []

    async def test_total_time_bounds_retries(self, mock_api: MockAPI, sleeps: Sleeps) -> None:
        """Retries stop when the next wait would pass the total time budget."""
        mock_api.get(VIDEO_URL, status=429, headers={"Retry-After": "20"}, repeat=True)
        policy = RetryPolicy(max_attempts=10, max_elapsed=30)
        async with VideoAPI(
            "k", base_url=BASE_URL, sleep=sleeps, clock=sleeps.clock, retry=policy
        ) as api:
            with pytest.raises(RateLimitError):
                await api.get_video("vid-1")
        assert len(mock_api.calls("GET", VIDEO_URL)) == 2
        assert sleeps.delays == [20.0]

    async def test_retries_can_be_switched_off(self, mock_api: MockAPI, sleeps: Sleeps) -> None:
        """RetryPolicy.disabled() sends every request exactly once."""
        mock_api.get(VIDEO_URL, status=503, repeat=True)
        async with VideoAPI(
            "k", base_url=BASE_URL, retry=RetryPolicy.disabled(), sleep=sleeps
        ) as api:
            with pytest.raises(ServerError):
                await api.get_video("vid-1")
        assert len(mock_api.calls("GET", VIDEO_URL)) == 1
        assert sleeps.delays == []

    async def test_connection_errors_on_reads_are_retried(
        self, api: VideoAPI, mock_api: MockAPI
    ) -> None:
        """A dropped connection or a read timeout on a GET is retried."""
        mock_api.get(VIDEO_URL, exception=aiohttp.ServerDisconnectedError())
        mock_api.get(VIDEO_URL, exception=aiohttp.SocketTimeoutError())
        mock_api.get(VIDEO_URL, payload=VIDEO)
        assert (await api.get_video("vid-1")).id == "vid-1"
        assert len(mock_api.calls("GET", VIDEO_URL)) == 3

    async def test_read_timeout_error_type(self, mock_api: MockAPI) -> None:
        """A read timeout surfaces as APITimeoutError (an APIConnectionError)."""
        mock_api.get(VIDEO_URL, exception=aiohttp.SocketTimeoutError())
        async with VideoAPI("k", base_url=BASE_URL, retry=RetryPolicy.disabled()) as api:
            with pytest.raises(APITimeoutError) as info:
                await api.get_video("vid-1")
        assert isinstance(info.value, APIConnectionError)
        assert info.value.request_sent

    async def test_malformed_body_is_retried(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A garbled 200 body on a GET is retried; the next good answer wins."""
        mock_api.get(VIDEO_URL, body='{"id": "vid-1", "sta')
        mock_api.get(VIDEO_URL, payload=VIDEO)
        assert (await api.get_video("vid-1")).id == "vid-1"

    async def test_cancellation_is_not_retried(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """Cancelling a call mid-request stops it; it is never retried."""
        mock_api.get(VIDEO_URL, exception=asyncio.CancelledError(), repeat=True)
        with pytest.raises(asyncio.CancelledError):
            await api.get_video("vid-1")
        assert len(mock_api.calls("GET", VIDEO_URL)) == 1


class TestCreateSafety:
    async def test_create_not_resent_after_dropped_answer(
        self, api: VideoAPI, mock_api: MockAPI
    ) -> None:
        """A create whose connection broke after sending is not re-sent; the error says so."""
        mock_api.post(LIST_URL, exception=aiohttp.ServerDisconnectedError(), repeat=True)
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="d", name="Q3 update")
        assert len(mock_api.calls("POST", LIST_URL)) == 1
        assert "may exist" in str(info.value)
        assert "name='Q3 update'" in str(info.value)
        assert info.value.body == {
            "name": "Q3 update",
            "source_draft_id": "d",
            "correlation_id": info.value.correlation_id,
        }
        assert f"correlation_id={info.value.correlation_id!r}" in str(info.value)
        assert isinstance(info.value.cause, APIConnectionError)
        assert info.value.__cause__ is info.value.cause
        assert not isinstance(info.value, APIConnectionError)

    async def test_create_not_resent_after_read_timeout(
        self, api: VideoAPI, mock_api: MockAPI
    ) -> None:
        """A create that timed out waiting for its answer is not re-sent."""
        mock_api.post(LIST_URL, exception=aiohttp.SocketTimeoutError(), repeat=True)
        with pytest.raises(CreateOutcomeUnknownError):
            await api.create_video(source_draft_id="d")
        assert len(mock_api.calls("POST", LIST_URL)) == 1

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    async def test_create_not_resent_after_server_error(
        self, api: VideoAPI, mock_api: MockAPI, status: int
    ) -> None:
        """A 5xx after a create may hide a stored video: not re-sent, reported as unknown."""
        mock_api.post(LIST_URL, status=status, body=HTML_502, content_type="text/html", repeat=True)
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="d")
        assert isinstance(info.value.cause, ServerError)
        assert len(mock_api.calls("POST", LIST_URL)) == 1

    async def test_create_with_unreadable_answer(self, api: VideoAPI, mock_api: MockAPI) -> None:
        """A 201 whose body cannot be read means the video exists; that is said plainly."""
        mock_api.post(LIST_URL, status=201, body="{trunc")
        with pytest.raises(CreateOutcomeUnknownError, match="accepted the create"):
            await api.create_video(source_draft_id="d")
        assert len(mock_api.calls("POST", LIST_URL)) == 1

    async def test_create_resent_after_429(
        self, api: VideoAPI, mock_api: MockAPI, sleeps: Sleeps
    ) -> None:
        """A 429 means the server did not act: the create is sent again after Retry-After."""
        mock_api.post(LIST_URL, status=429, headers={"Retry-After": "1"})
        mock_api.post(LIST_URL, status=201, payload=VIDEO)
        video = await api.create_video(source_draft_id="d")
        assert video.id == "vid-1"
        calls = mock_api.calls("POST", LIST_URL)
        assert len(calls) == 2
        assert sent_json(calls[0]) == sent_json(calls[1])
        assert sleeps.delays == [1.0]

    async def test_create_resent_when_connecting_failed(
        self, api: VideoAPI, mock_api: MockAPI
    ) -> None:
        """A create whose connection never opened is certainly not stored: it is re-sent."""
        mock_api.post(LIST_URL, exception=aiohttp.ConnectionTimeoutError())
        mock_api.post(LIST_URL, status=201, payload=VIDEO)
        assert (await api.create_video(source_draft_id="d")).id == "vid-1"
        assert len(mock_api.calls("POST", LIST_URL)) == 2

    async def test_create_not_sent_raises_connection_error(self, mock_api: MockAPI) -> None:
        """When no attempt ever reached the server, the plain connection error is raised."""
        mock_api.post(LIST_URL, exception=aiohttp.ConnectionTimeoutError(), repeat=True)
        async with VideoAPI("k", base_url=BASE_URL, retry=RetryPolicy.disabled()) as api:
            with pytest.raises(APITimeoutError) as info:
                await api.create_video(source_draft_id="d")
        assert not info.value.request_sent


class TestSessions:
    async def test_caller_session_is_used_and_left_open(self, mock_api: MockAPI) -> None:
        """A caller's session carries the requests and stays open after the client closes."""
        mock_api.get(VIDEO_URL, payload=VIDEO)
        async with aiohttp.ClientSession() as session:
            async with VideoAPI("k", base_url=BASE_URL, session=session) as api:
                await api.get_video("vid-1")
            assert api.closed
            assert not session.closed

    async def test_closed_client_refuses_requests(self) -> None:
        """Using a closed client raises a clear error instead of reopening."""
        api = VideoAPI("k", base_url=BASE_URL)
        await api.aclose()
        await api.aclose()
        with pytest.raises(VideoAPIError, match="closed"):
            await api.get_video("vid-1")

    async def test_client_without_context_manager(self, mock_api: MockAPI) -> None:
        """Without `async with`, the session opens on first use and aclose() closes it."""
        mock_api.get(VIDEO_URL, payload=VIDEO)
        api = VideoAPI("k", base_url=BASE_URL)
        try:
            await api.get_video("vid-1")
        finally:
            await api.aclose()


class TestLogging:
    async def test_each_request_is_logged_at_debug(
        self, api: VideoAPI, mock_api: MockAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each exchange is logged with method, path, status, time and req_id."""
        mock_api.get(VIDEO_URL, payload=VIDEO)
        with caplog.at_level("DEBUG", logger="videoapi_async"):
            await api.get_video("vid-1")
        (record,) = [r for r in caplog.records if r.name == "videoapi_async"]
        assert re.fullmatch(
            r"GET /videos/vid-1 -> 200 in \d+\.\d ms \(req_id=req-1\)", record.getMessage()
        )

    async def test_retries_are_logged(
        self, api: VideoAPI, mock_api: MockAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A retry is logged at INFO with its cause and wait."""
        mock_api.get(VIDEO_URL, status=503)
        mock_api.get(VIDEO_URL, payload=VIDEO)
        with caplog.at_level("INFO", logger="videoapi_async"):
            await api.get_video("vid-1")
        messages = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
        assert len(messages) == 1
        assert messages[0].startswith("GET /videos/vid-1 failed (ServerError")
        assert "retrying in" in messages[0]


class TestTransport:
    async def test_mock_transport_carries_every_call(self) -> None:
        """A MockTransport's handler sees the absolute URL, the key and the body, and answers."""
        seen: list[HTTPRequest] = []

        def handler(request: HTTPRequest) -> HTTPResponse:
            seen.append(request)
            return HTTPResponse.from_json(VIDEO, status=201)

        async with VideoAPI(
            CANARY_KEY, base_url=BASE_URL, transport=MockTransport(handler), workspace_id="ws"
        ) as api:
            video = await api.create_video(source_draft_id="d", name="n")
        assert video.id == "vid-1"
        (request,) = seen
        assert (request.method, request.url, request.path) == ("POST", LIST_URL, "/videos")
        assert request.headers["api-key"] == CANARY_KEY
        assert request.headers["workspace-id"] == "ws"
        sent = request.json()
        assert sent.pop("correlation_id").startswith("videoapi-async-")  # none was given
        assert sent == {"source_draft_id": "d", "name": "n"}
        assert CANARY_KEY not in repr(request)

    async def test_async_handler_and_connection_errors(self) -> None:
        """A coroutine handler works, and an APIConnectionError it raises is retried."""
        calls = 0

        async def handler(request: HTTPRequest) -> HTTPResponse:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise APIConnectionError(
                    "reset", method=request.method, path=request.path, request_sent=True
                )
            return HTTPResponse.from_json(VIDEO)

        async def no_sleep(_: float) -> None:
            return None

        async with VideoAPI(
            "k", base_url=BASE_URL, transport=MockTransport(handler), sleep=no_sleep
        ) as api:
            assert (await api.get_video("vid-1")).id == "vid-1"
        assert calls == 2

    async def test_redirects_across_origins_are_refused_above_the_transport(self) -> None:
        """Same-origin redirects are followed and cross-origin ones refused, for any transport."""
        urls: list[str] = []

        def handler(request: HTTPRequest) -> HTTPResponse:
            urls.append(request.url)
            if request.url.endswith("/videos/vid-1"):
                return HTTPResponse(307, {"Location": "/api/v1/videos/moved"})
            if request.url.endswith("/moved"):
                return HTTPResponse(302, {"Location": "http://evil.test/steal"})
            raise AssertionError(f"unexpected request to {request.url}")

        async with VideoAPI("k", base_url=BASE_URL, transport=MockTransport(handler)) as api:
            with pytest.raises(APIStatusError, match="another origin"):
                await api.get_video("vid-1")
        assert urls == [VIDEO_URL, f"{BASE_URL}/videos/moved"]

    def test_bad_transport_arguments(self) -> None:
        """A non-transport, or a transport together with a session, is refused clearly."""
        with pytest.raises(TypeError, match="Transport protocol"):
            VideoAPI("k", transport=object())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="session= or transport="):
            VideoAPI(
                "k",
                transport=MockTransport(lambda r: HTTPResponse(200)),
                session=aiohttp.ClientSession.__new__(aiohttp.ClientSession),
            )
        with pytest.raises(TypeError, match="HTTPResponse"):
            MockTransport("not a function")  # type: ignore[arg-type]

    async def test_handler_must_return_a_response(self) -> None:
        """A handler returning something else fails with a message naming HTTPResponse."""
        async with VideoAPI(
            "k",
            base_url=BASE_URL,
            transport=MockTransport(lambda r: None),  # type: ignore[arg-type,return-value]
        ) as api:
            with pytest.raises(TypeError, match="must return an HTTPResponse"):
                await api.get_video("vid-1")

    async def test_given_transport_is_not_closed(self) -> None:
        """The client leaves a transport it was given alone when it closes."""

        class Recording(MockTransport):
            closed = False

            async def aclose(self) -> None:
                self.closed = True

        transport = Recording(lambda r: HTTPResponse.from_json(VIDEO))
        async with VideoAPI("k", base_url=BASE_URL, transport=transport) as api:
            await api.get_video("vid-1")
        assert api.closed
        assert not transport.closed


class TestShape:
    def test_no_import_cycles_through_the_client(self) -> None:
        """No runtime import cycle in the package, and none through `_client` even for types."""
        package = Path(videoapi_async.__file__).parent
        everything: dict[str, set[str]] = {}
        runtime: dict[str, set[str]] = {}
        for file in package.glob("*.py"):
            tree = ast.parse(file.read_text())
            typing_only = {
                id(node)
                for block in ast.walk(tree)
                if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                for statement in block.body
                for node in ast.walk(statement)
            }
            imports = [
                node
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
            ]
            everything[file.stem] = {n.module.split(".")[0] for n in imports if n.module}
            runtime[file.stem] = {
                n.module.split(".")[0] for n in imports if n.module and id(n) not in typing_only
            }

        def in_cycle(graph: dict[str, set[str]], start: str) -> bool:
            seen, todo = set(), list(graph.get(start, ()))
            while todo:
                module = todo.pop()
                if module == start:
                    return True
                if module not in seen:
                    seen.add(module)
                    todo.extend(graph.get(module, ()))
            return False

        assert [m for m in sorted(runtime) if in_cycle(runtime, m)] == []
        assert not in_cycle(everything, "_client")
        assert not in_cycle(everything, "webhooks")

    def test_create_keywords_are_the_flat_request_fields(self) -> None:
        """create_video's keywords are exactly the flat request class's fields, in order."""
        keywords = [
            p.name
            for p in inspect.signature(VideoAPI.create_video).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and not p.name.startswith("extra_")
        ]
        assert keywords == [f.name for f in attrs.fields(SourceDraftVideoRequest)]


class TestReportedStatus:
    async def test_an_unreadable_answer_names_its_real_status_and_json_kind(self) -> None:
        """A 2xx answer that is not the expected shape is reported with its own status and kind."""
        answers = {"GET": HTTPResponse.from_json({"videos": []}, status=203)}

        def handler(request: HTTPRequest) -> HTTPResponse:
            return answers[request.method]

        async with VideoAPI(
            CANARY_KEY,
            base_url=BASE_URL,
            transport=MockTransport(handler),
            retry=RetryPolicy.disabled(),
        ) as api:
            with pytest.raises(ResponseDecodeError) as listed:
                await api.list_videos()
            answers["GET"] = HTTPResponse.from_json([], status=206)
            with pytest.raises(ResponseDecodeError) as got:
                await api.get_video("vid-1")
        assert "HTTP 203" in str(listed.value)
        assert "got an object" in str(listed.value)
        assert listed.value.status_code == 203
        assert "HTTP 206" in str(got.value)
        assert "got an array" in str(got.value)
