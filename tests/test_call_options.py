"""Per-call options, request ids and escape hatches, tested above the transport."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from videoapi_async import (
    CreateOutcomeUnknownError,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    NotFoundError,
    PollPolicy,
    RateLimit,
    RawResponse,
    RetryPolicy,
    ServerError,
    Timeouts,
    Video,
    VideoAPI,
    VideoAPIError,
)
from videoapi_async._protocol import parse_video

from .conftest import VIDEO, Sleeps

READY = {**VIDEO, "status": "ready", "progress": 100}


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, answer: Callable[[HTTPRequest], HTTPResponse] | None = None) -> None:
        self.requests: list[HTTPRequest] = []
        self.answer = answer or (lambda request: HTTPResponse.from_json(VIDEO))

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        self.requests.append(request)
        return self.answer(request)


def client(recorder: Recorder, sleeps: Sleeps, **kwargs: Any) -> VideoAPI:
    return VideoAPI(
        "k",
        base_url="http://api.test/api/v1",
        transport=MockTransport(recorder),
        sleep=sleeps,
        clock=sleeps.clock,
        **kwargs,
    )


# --- with_options ---------------------------------------------------------------------


async def test_view_timeouts_apply_to_its_calls_only(sleeps: Sleeps) -> None:
    """A view's timeout reaches its requests; the parent's requests keep the parent's."""
    recorder = Recorder()
    async with client(recorder, sleeps) as api:
        await api.with_options(timeout=300).get_video("vid-1")
        await api.with_options(timeout=Timeouts(connect=1, read=2)).get_video("vid-1")
        await api.get_video("vid-1")
    assert [r.timeouts for r in recorder.requests] == [
        Timeouts(connect=10.0, read=300),
        Timeouts(connect=1, read=2),
        Timeouts(),
    ]


async def test_view_retry_policy_applies_to_its_calls_only(sleeps: Sleeps) -> None:
    """A view that never retries sends once; the parent retries the same 503."""
    recorder = Recorder(lambda r: HTTPResponse.from_json({"detail": "busy"}, status=503))
    async with client(recorder, sleeps, retry=RetryPolicy(max_elapsed=3600)) as api:
        with pytest.raises(ServerError):
            await api.with_options(retry=RetryPolicy.disabled()).get_video("vid-1")
        assert len(recorder.requests) == 1
        with pytest.raises(ServerError):
            await api.get_video("vid-1")
    assert len(recorder.requests) == 1 + 4


async def test_view_shares_the_lifetime_and_transport(sleeps: Sleeps) -> None:
    """A view uses the parent's transport, and closing the parent closes the view."""
    recorder = Recorder()
    api = client(recorder, sleeps)
    view = api.with_options(timeout=5)
    assert (await view.get_video("vid-1")).id == "vid-1"
    assert len(recorder.requests) == 1
    await api.aclose()
    assert view.closed
    with pytest.raises(VideoAPIError, match="closed"):
        await view.get_video("vid-1")


async def test_view_rate_limit_is_stricter_never_looser(sleeps: Sleeps) -> None:
    """A view's rate limit paces its own calls; the parent's calls are not held by it."""
    recorder = Recorder()
    async with client(recorder, sleeps) as api:
        slow = api.with_options(rate_limit=RateLimit(requests_per_second=1, burst=1))
        assert slow.rate_limit.requests_per_second == 1
        assert api.rate_limit.requests_per_second is None
        for _ in range(3):
            await api.get_video("vid-1")
        assert sleeps.delays == []
        for _ in range(3):
            await slow.get_video("vid-1")
    assert sum(sleeps.delays) == pytest.approx(2.0, abs=0.05)  # 3 calls at 1/s after a burst of 1


async def test_view_poll_policy_paces_its_waits(sleeps: Sleeps) -> None:
    """A view's PollPolicy is the one its waits use; the parent keeps its own."""
    polls: list[float] = []

    def answer(request: HTTPRequest) -> HTTPResponse:
        polls.append(sleeps.now)
        return HTTPResponse.from_json(READY if len(polls) >= 3 else VIDEO)

    fast = PollPolicy(first_poll=0.5, growth=1.0, min_interval=0.5, max_interval=0.5, jitter=0)
    async with client(Recorder(answer), sleeps, poll=PollPolicy(jitter=0)) as api:
        view = api.with_options(poll=fast)
        assert view.poll_policy == fast
        assert api.poll_policy == PollPolicy(jitter=0)
        video = await view.wait_for_render("vid-1")
    assert video.is_ready
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert len(gaps) == 2
    assert max(gaps) <= 0.5 + 1e-9


def test_bad_view_options_are_refused() -> None:
    """with_options names the option that has the wrong type."""
    api = VideoAPI("k")
    with pytest.raises(TypeError, match="timeout"):
        api.with_options(timeout="slow")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RetryPolicy"):
        api.with_options(retry=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PollPolicy"):
        api.with_options(poll={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="RateLimit"):
        api.with_options(rate_limit=10)  # type: ignore[arg-type]


# --- request ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"x-request-id": "req-hdr-1"}, {"detail": "Video not found"}, "req-hdr-1"),
        ({}, {"detail": "Video not found", "req_id": "req-body-2"}, "req-body-2"),
        ({}, {"detail": "Video not found"}, None),
    ],
)
async def test_status_errors_carry_the_request_id(
    sleeps: Sleeps, headers: dict[str, str], body: dict[str, str], expected: str | None
) -> None:
    """A status error carries the request id from the header or the body, and shows it."""
    recorder = Recorder(lambda r: HTTPResponse.from_json(body, status=404, headers=headers))
    async with client(recorder, sleeps) as api:
        with pytest.raises(NotFoundError) as info:
            await api.get_video("vid-1")
    assert info.value.request_id == expected
    if expected is not None:
        assert f"[request id {expected}]" in str(info.value)


async def test_lost_creates_carry_the_request_id(sleeps: Sleeps) -> None:
    """A create lost behind a 502 carries the gateway's request id."""
    recorder = Recorder(
        lambda r: HTTPResponse(502, {"x-request-id": "gw-9", "Content-Type": "text/html"}, b"")
    )
    async with client(recorder, sleeps) as api:
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="d")
    assert info.value.request_id == "gw-9"
    assert str(info.value).count("gw-9") == 1


# --- escape hatches -------------------------------------------------------------------

Call = Callable[[VideoAPI, dict[str, Any]], Awaitable[object]]
CALLS: dict[str, Call] = {
    "list_videos": lambda api, x: api.list_videos(**x),
    "get_video": lambda api, x: api.get_video("vid-1", **x),
    "get_video_metadata": lambda api, x: api.get_video_metadata("vid-1", **x),
    "create_video": lambda api, x: api.create_video(source_draft_id="d", **x),
    "delete_video": lambda api, x: api.delete_video("vid-1", **x),
    "create_subtitles": lambda api, x: api.create_subtitles(
        parse_video(READY, method="GET", path="/"), **x
    ),
    "create_voice_preview": lambda api, x: api.create_voice_preview("Hi", "d", **x),
    "get_voice_preview": lambda api, x: api.get_voice_preview("t-1", **x),
    "get_usage_summary": lambda api, x: api.get_usage_summary(from_date=dt.date(2026, 1, 1), **x),
}
ANSWERS: dict[str, Any] = {
    "list_videos": [VIDEO],
    "get_video_metadata": {"duration": 1.0, "scenes_metadata": []},
    "delete_video": None,
    "create_subtitles": {"language_code": "en", "format": "vtt", "url": "https://x/s.vtt"},
    "create_voice_preview": {"id": "t-1", "status": "in_progress", "req_id": "r"},
    "get_voice_preview": {"id": "t-1", "status": "in_progress", "req_id": "r"},
    "get_usage_summary": [],
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_call_sends_extra_headers_query_and_body(sleeps: Sleeps, name: str) -> None:
    """Each call sends the caller's extra headers, query parameters and body fields."""
    answer = ANSWERS.get(name, VIDEO)

    def respond(request: HTTPRequest) -> HTTPResponse:
        if answer is None:
            return HTTPResponse(204)
        return HTTPResponse.from_json(answer, status=201 if request.method == "POST" else 200)

    recorder = Recorder(respond)
    extras = {
        "extra_headers": {"X-Trace": "t-1"},
        "extra_query": {"beta": "1"},
        "extra_body": {"new_field": [1, 2]},
    }
    async with client(recorder, sleeps) as api:
        await CALLS[name](api, extras)
    request = recorder.requests[-1]
    assert request.headers["X-Trace"] == "t-1"
    assert request.headers["api-key"] == "k"
    assert "beta=1" in request.url.partition("?")[2]
    assert request.json()["new_field"] == [1, 2]


async def test_extras_merge_with_what_the_call_sends(sleeps: Sleeps) -> None:
    """Extra body fields join the create's own, and an extra query joins the call's."""
    recorder = Recorder(lambda r: HTTPResponse.from_json([]))
    async with client(recorder, sleeps) as api:
        await api.get_usage_summary(from_date="2026-01-01", extra_query={"tz": "UTC"})
    url = recorder.requests[-1].url
    assert "from_date=2026-01-01" in url
    assert "tz=UTC" in url

    recorder = Recorder(lambda r: HTTPResponse.from_json(VIDEO, status=201))
    async with client(recorder, sleeps) as api:
        await api.create_video(source_draft_id="d", extra_body={"logo_url": "https://x/l.png"})
    sent = recorder.requests[-1].json()
    assert sent.pop("correlation_id").startswith("videoapi-async-")  # none was given
    assert sent == {"source_draft_id": "d", "logo_url": "https://x/l.png"}


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"extra_headers": {"api-key": "other"}}, ValueError, "api-key"),
        ({"extra_headers": {"X-A": "a\r\nX-B: b"}}, ValueError, "line break"),
        ({"extra_headers": {"X-A": 1}}, TypeError, "extra_headers"),
        ({"extra_query": ["a"]}, TypeError, "extra_query"),
        ({"extra_body": {1: "a"}}, TypeError, "extra_body"),
    ],
)
async def test_bad_extras_are_refused_before_sending(
    sleeps: Sleeps, kwargs: dict[str, Any], error: type[Exception], needle: str
) -> None:
    """Extras that would replace the key, split a header or are not mappings are refused."""
    recorder = Recorder()
    async with client(recorder, sleeps) as api:
        with pytest.raises(error, match=needle):
            await api.get_video("vid-1", **kwargs)
    assert recorder.requests == []


# --- raw responses --------------------------------------------------------------------


async def test_raw_response_gives_status_headers_and_request_id(sleeps: Sleeps) -> None:
    """with_raw_response returns the parsed value with the answer's status and headers."""
    recorder = Recorder(
        lambda r: HTTPResponse.from_json(
            VIDEO, status=201, headers={"x-request-id": "r-7", "X-RateLimit-Remaining": "9"}
        )
    )
    async with client(recorder, sleeps) as api:
        raw = await api.with_raw_response(api.create_video, source_draft_id="d")
        again = await api.with_options(timeout=1).with_raw_response(api.get_video, "vid-1")
    assert isinstance(raw, RawResponse)
    assert isinstance(raw.parsed, Video)
    assert (raw.status_code, raw.request_id) == (201, "r-7")
    assert raw.headers["x-ratelimit-remaining"] == "9"
    assert again.parsed.id == "vid-1"


async def test_raw_response_needs_a_call_that_sends(sleeps: Sleeps) -> None:
    """A call that sends no request is refused with a message saying so."""

    async def nothing() -> int:
        return 1

    async with client(Recorder(), sleeps) as api:
        with pytest.raises(TypeError, match="sent no request"):
            await api.with_raw_response(nothing)
