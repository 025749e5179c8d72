"""Subtitles, voice previews and the usage summary, over real sockets with plain aiohttp."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from videoapi_async.sandbox import (
    FaultConfig,
    ManualClock,
    RenderProfile,
    RouteFaults,
    Sandbox,
    ServerRateLimit,
    VoicePreviewProfile,
)
from videoapi_async.sandbox._routes import (
    ROUTE_ANALYTICS,
    ROUTE_SUBTITLES,
    ROUTE_VOICE_PREVIEW_CREATE,
    ROUTE_VOICE_PREVIEW_GET,
)
from videoapi_async.sandbox._subtitles import SUBTITLE_LANGUAGES

from .conftest import CREATE_BODY, FLAT_BODY, OVERRIDE_BODY, TEN_SECONDS, ApiCaller, yarl_url

pytestmark = pytest.mark.e2e

DAY = 86_400.0
# 2024-01-31 12:00:00 UTC, a Wednesday of ISO week 5.
NOON_JAN_31 = dt.datetime(2024, 1, 31, 12, tzinfo=dt.timezone.utc).timestamp()

NEW_ROUTES = [
    ("POST", "/videos/some-id/subtitles", {"language_code": "en"}),
    ("POST", "/voice-preview", {"transcript": "Hi", "source_draft_id": "d"}),
    ("GET", "/voice-preview/some-task", None),
    ("GET", "/analytics/summary", None),
]


async def _fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes]:
    async with session.get(yarl_url(url)) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


# -- common rules ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), NEW_ROUTES)
async def test_new_routes_need_a_valid_key(
    caller: ApiCaller, method: str, path: str, body: Any
) -> None:
    """403 Not authenticated without a key, 401 Invalid API key with a wrong one."""
    missing = await caller.call(method, path, body=body, key=None)
    assert (missing.status, missing.json()) == (403, {"detail": "Not authenticated"})
    wrong = await caller.call(method, path, body=body, key="nope")
    assert (wrong.status, wrong.json()) == (401, {"detail": "Invalid API key"})


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/videos/x/subtitles", "POST"),
        ("GET", "/voice-preview", "POST"),
        ("DELETE", "/voice-preview/t", "GET"),
        ("POST", "/analytics/summary", "GET"),
    ],
)
async def test_wrong_method_is_405_with_allow(
    caller: ApiCaller, method: str, path: str, allowed: str
) -> None:
    reply = await caller.call(method, path)
    assert (reply.status, reply.headers["Allow"]) == (405, allowed)


@pytest.mark.parametrize(
    "path", ["/analytics/summary/", "/voice-preview/", "/videos/x/subtitles/", "/videos/x/"]
)
async def test_trailing_slash_redirects_like_starlette(
    session: aiohttp.ClientSession, sandbox: Sandbox, path: str
) -> None:
    async with session.get(
        yarl_url(sandbox.base_url + path + "?a=1"), allow_redirects=False
    ) as response:
        assert response.status == 307
        assert response.headers["Location"] == sandbox.base_url + path[:-1] + "?a=1"


async def test_new_route_keys_take_scripted_faults_and_count_in_stats(
    caller: ApiCaller, sandbox: Sandbox
) -> None:
    """Faults queue per new route key; statistics count per route and status."""
    sandbox.faults.queue(ROUTE_ANALYTICS, "http_503")
    sandbox.faults.queue(ROUTE_VOICE_PREVIEW_GET, "malformed_json")
    sandbox.faults.queue(ROUTE_SUBTITLES, "http_429")
    first = await caller.call("GET", "/analytics/summary")
    assert (first.status, first.headers["Content-Type"]) == (503, "text/html")
    assert (await caller.call("GET", "/analytics/summary")).status == 200
    task = sandbox.create_voice_preview()
    garbled = await caller.call("GET", f"/voice-preview/{task['id']}")
    assert garbled.status == 200
    with pytest.raises(json.JSONDecodeError):
        garbled.json()
    limited = await caller.call("POST", "/videos/x/subtitles", body={"language_code": "en"})
    assert (limited.status, limited.headers["Retry-After"]) == (429, "1")
    stats = sandbox.stats
    assert stats.requests[ROUTE_ANALYTICS] == 2
    assert stats.route_responses[ROUTE_ANALYTICS] == {503: 1, 200: 1}
    assert stats.route_responses[ROUTE_VOICE_PREVIEW_GET] == {200: 1}
    assert stats.route_responses[ROUTE_SUBTITLES] == {429: 1}
    assert stats.faults == {"http_503": 1, "malformed_json": 1, "http_429": 1}
    assert stats.video_requests["x"] == 1


async def test_random_faults_on_a_new_route_are_seeded(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """A route's random faults replay with the seed, unaffected by other routes."""

    async def statuses(seed: int) -> list[int]:
        faults = FaultConfig(routes={ROUTE_VOICE_PREVIEW_CREATE: RouteFaults({"http_502": 0.4})})
        sb = await start_sandbox(seed=seed, faults=faults)
        caller = ApiCaller(session, sb)
        body = {"transcript": "Hi", "source_draft_id": "d"}
        return [(await caller.call("POST", "/voice-preview", body=body)).status for _ in range(30)]

    first = await statuses(3)
    assert first == await statuses(3)
    assert 4 <= first.count(502) <= 20
    assert set(first) == {201, 502}


async def test_rate_limit_covers_the_new_routes(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    sb = await start_sandbox(seed=1, clock=clock, rate_limit=ServerRateLimit(1, burst=2))
    caller = ApiCaller(session, sb)
    assert (await caller.call("GET", "/analytics/summary")).status == 200
    assert (await caller.call("GET", "/voice-preview/x")).status == 404
    limited = await caller.call("GET", "/analytics/summary")
    assert (limited.status, limited.headers["Retry-After"]) == (429, "1")
    assert sb.stats.faults["rate_limited"] == 1


# -- subtitles ---------------------------------------------------------------------------


async def test_subtitles_of_a_finished_video(
    caller: ApiCaller, sandbox: Sandbox, clock: ManualClock, session: aiohttp.ClientSession
) -> None:
    """201 with the URL of a VTT file whose cues follow the metadata's scene timings."""
    video = await caller.create(OVERRIDE_BODY)
    clock.advance(10)
    reply = await caller.call(
        "POST", f"/videos/{video['id']}/subtitles", body={"language_code": "en"}
    )
    assert reply.status == 201
    answer = reply.json()
    assert list(answer) == ["language_code", "format", "url"]
    assert (answer["language_code"], answer["format"]) == ("en", "vtt")
    assert answer["url"].startswith(sandbox.origin + "/media/subtitles/")
    status, content_type, body = await _fetch(session, answer["url"])
    assert (status, content_type) == (200, "text/vtt; charset=utf-8")
    text = body.decode()
    assert text.startswith("WEBVTT\n\n1\n00:00:00.000 --> ")
    metadata = (await caller.call("GET", f"/videos/{video['id']}/metadata")).json()
    second = metadata["scenes_metadata"][1]
    start = second["start_time"]
    assert f"--> 00:00:{start:06.3f}\nHello\n" in text  # scene 1's on-screen text
    assert f"\n00:00:{start:06.3f} --> " in text
    assert "Thanks for watching and see you next time" in text
    end = metadata["duration"]
    assert text.rstrip().splitlines()[-2].endswith(f"--> 00:00:{end:06.3f}")


async def test_subtitles_in_srt_and_other_languages(
    caller: ApiCaller, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    """SRT uses commas in timings and no header; another language marks its cues."""
    video = sandbox.create_video(CREATE_BODY, status="published")
    reply = await caller.call(
        "POST", f"/videos/{video['id']}/subtitles", body={"language_code": "ja", "format": "srt"}
    )
    assert reply.status == 201
    assert reply.json()["format"] == "srt"
    status, content_type, body = await _fetch(session, reply.json()["url"])
    assert (status, content_type) == (200, "application/x-subrip; charset=utf-8")
    lines = body.decode().splitlines()
    assert lines[:3] == [
        "1",
        "00:00:00,000 --> 00:00:04,000",
        "[ja] one two three four five six seven eight nine ten",
    ]
    # A file that was not asked for is not there.
    vtt_url = reply.json()["url"].replace("ja.srt", "ja.vtt")
    assert (await _fetch(session, vtt_url))[0] == 404


async def test_subtitles_of_an_odd_id_and_every_language(
    caller: ApiCaller, sandbox: Sandbox
) -> None:
    video = sandbox.create_video(FLAT_BODY, status="ready")
    path = f"/videos/{quote(video['id'], safe='')}/subtitles"
    for code in SUBTITLE_LANGUAGES:
        reply = await caller.call("POST", path, body={"language_code": code})
        assert (reply.status, reply.json()["language_code"]) == (201, code)


@pytest.mark.parametrize("status", ["not_started", "processing", "failed", "cancelled"])
async def test_subtitles_of_an_unfinished_video_are_409(
    caller: ApiCaller, sandbox: Sandbox, status: str
) -> None:
    video = sandbox.create_video(FLAT_BODY, status=status)
    reply = await caller.call(
        "POST", f"/videos/{video['id']}/subtitles", body={"language_code": "en"}
    )
    assert reply.status == 409
    assert reply.json() == {
        "detail": f"Video {video['id']} is not ready: subtitles need a finished render "
        f"(status {status})"
    }


async def test_subtitles_of_an_unknown_or_foreign_video_are_404(
    caller: ApiCaller, sandbox: Sandbox
) -> None:
    other = sandbox.create_video(FLAT_BODY, api_key=sandbox.new_api_key(), status="ready")
    for video_id in ("nope", other["id"]):
        reply = await caller.call(
            "POST", f"/videos/{video_id}/subtitles", body={"language_code": "en"}
        )
        assert (reply.status, reply.json()) == (404, {"detail": "Video not found"})


ENUM_LANGUAGES = {
    "loc": ["body", "language_code"],
    "msg": "value is not a valid enumeration member; permitted: "
    + ", ".join(repr(code) for code in SUBTITLE_LANGUAGES),
    "type": "type_error.enum",
    "ctx": {"enum_values": list(SUBTITLE_LANGUAGES)},
}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {},
            [
                {
                    "loc": ["body", "language_code"],
                    "msg": "field required",
                    "type": "value_error.missing",
                }
            ],
        ),
        ({"language_code": "xx"}, [ENUM_LANGUAGES]),
        ({"language_code": "EN"}, [ENUM_LANGUAGES]),
        ({"language_code": 1}, [ENUM_LANGUAGES]),
        (
            {"language_code": "en", "format": "mp4"},
            [
                {
                    "loc": ["body", "format"],
                    "msg": "value is not a valid enumeration member; permitted: 'vtt', 'srt'",
                    "type": "type_error.enum",
                    "ctx": {"enum_values": ["vtt", "srt"]},
                }
            ],
        ),
        (
            {"language_code": None, "format": None},
            [
                {
                    "loc": ["body", "language_code"],
                    "msg": "none is not an allowed value",
                    "type": "type_error.none.not_allowed",
                },
                {
                    "loc": ["body", "format"],
                    "msg": "none is not an allowed value",
                    "type": "type_error.none.not_allowed",
                },
            ],
        ),
        (
            ["en"],
            [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}],
        ),
    ],
)
async def test_bad_subtitles_bodies_are_422_even_for_unknown_videos(
    caller: ApiCaller, body: Any, detail: list[dict[str, Any]]
) -> None:
    """The body is validated first (FastAPI does it before the endpoint runs)."""
    reply = await caller.call("POST", "/videos/unknown/subtitles", body=body)
    assert (reply.status, reply.json()) == (422, {"detail": detail})


async def test_missing_or_broken_subtitles_body(caller: ApiCaller) -> None:
    missing = await caller.call("POST", "/videos/v/subtitles")
    assert missing.json() == {
        "detail": [{"loc": ["body"], "msg": "field required", "type": "value_error.missing"}]
    }
    broken = await caller.call(
        "POST", "/videos/v/subtitles", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken.status == 422
    assert broken.json()["detail"][0]["type"] == "value_error.jsondecode"


# -- voice previews ------------------------------------------------------------------------


async def test_voice_preview_runs_then_is_ready_with_audio(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    """201 in_progress; in_progress until its duration (divided by time_scale); then ready."""
    sb = await start_sandbox(
        seed=2,
        clock=clock,
        render=RenderProfile(time_scale=2),
        voice_preview=VoicePreviewProfile(min_duration=4, max_duration=4),
    )
    caller = ApiCaller(session, sb)
    body = {"transcript": "Welcome to the quarterly update", "source_draft_id": "draft-9"}
    created = await caller.call("POST", "/voice-preview", body=body)
    assert created.status == 201
    task = created.json()
    assert list(task) == ["id", "transcript", "voice_id", "req_id", "status"]
    assert (task["transcript"], task["status"]) == (body["transcript"], "in_progress")
    assert sb.stats.created_voice_previews == [task["id"]]
    clock.advance(1.99)
    running = (await caller.call("GET", f"/voice-preview/{task['id']}")).json()
    assert running == {"id": task["id"], "req_id": task["req_id"], "status": "in_progress"}
    clock.advance(0.01)
    ready = (await caller.call("GET", f"/voice-preview/{task['id']}")).json()
    assert ready["status"] == "ready"
    assert ready["url"] == f"{sb.origin}/media/voice-preview/{task['id']}.wav"
    status, content_type, audio = await _fetch(session, ready["url"])
    assert (status, content_type) == (200, "audio/wav")
    assert audio[:4] == b"RIFF"
    assert audio[8:16] == b"WAVEfmt "
    assert int.from_bytes(audio[4:8], "little") == len(audio) - 8
    # The same draft has the same voice; another draft another one.
    again = (await caller.call("POST", "/voice-preview", body=body)).json()
    other = (
        await caller.call("POST", "/voice-preview", body={**body, "source_draft_id": "x"})
    ).json()
    assert again["voice_id"] == task["voice_id"] != other["voice_id"]
    assert len({task["id"], again["id"], other["id"]}) == 3


async def test_voice_preview_failures_and_server_side_helpers(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    """failure_rate 1: every task fails, without url; null_unset_fields sends url: null."""
    sb = await start_sandbox(
        seed=2,
        clock=clock,
        voice_preview=VoicePreviewProfile(failure_rate=1.0),
    )
    caller = ApiCaller(session, sb)
    created = await caller.call(
        "POST", "/voice-preview", body={"transcript": "a", "source_draft_id": "d"}
    )
    clock.advance(4)
    failed = (await caller.call("GET", f"/voice-preview/{created.json()['id']}")).json()
    assert failed["status"] == "failed"
    assert "url" not in failed
    assert (await _fetch(session, f"{sb.origin}/media/voice-preview/{failed['id']}.wav"))[0] == 404
    made = sb.create_voice_preview("Hi there", "d", outcome="ready", duration=0)
    assert sb.voice_preview(made["id"]) == {
        "id": made["id"],
        "req_id": made["req_id"],
        "status": "ready",
        "url": f"{sb.origin}/media/voice-preview/{made['id']}.wav",
    }
    assert sb.voice_preview("nope") is None
    assert sb.config.voice_preview == VoicePreviewProfile(failure_rate=1.0)
    sb.set_voice_preview_profile(VoicePreviewProfile())
    later = sb.create_voice_preview()
    clock.advance(4)
    assert sb.voice_preview(later["id"])["status"] == "ready"  # type: ignore[index]


async def test_voice_preview_url_is_null_in_null_unset_fields_mode(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    from videoapi_async.sandbox import SandboxConfig

    sb = await start_sandbox(config=SandboxConfig(null_unset_fields=True), clock=clock)
    task = sb.create_voice_preview()
    reply = await ApiCaller(session, sb).call("GET", f"/voice-preview/{task['id']}")
    assert reply.json()["url"] is None


async def test_voice_preview_plans_replay_with_the_seed(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
) -> None:
    first = await start_sandbox(seed=9)
    second = await start_sandbox(seed=9)
    assert first.create_voice_preview() == second.create_voice_preview()


async def test_unknown_or_foreign_task_is_404(caller: ApiCaller, sandbox: Sandbox) -> None:
    foreign = sandbox.create_voice_preview(api_key=sandbox.new_api_key())
    for task_id in ("nope", foreign["id"]):
        reply = await caller.call("GET", f"/voice-preview/{task_id}")
        assert (reply.status, reply.json()) == (404, {"detail": "Voice preview not found"})


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {},
            [
                {
                    "loc": ["body", "transcript"],
                    "msg": "field required",
                    "type": "value_error.missing",
                },
                {
                    "loc": ["body", "source_draft_id"],
                    "msg": "field required",
                    "type": "value_error.missing",
                },
            ],
        ),
        (
            {"transcript": None, "source_draft_id": ["d"]},
            [
                {
                    "loc": ["body", "transcript"],
                    "msg": "none is not an allowed value",
                    "type": "type_error.none.not_allowed",
                },
                {
                    "loc": ["body", "source_draft_id"],
                    "msg": "str type expected",
                    "type": "type_error.str",
                },
            ],
        ),
        (
            "text",
            [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}],
        ),
    ],
)
async def test_bad_voice_preview_bodies_are_422(
    caller: ApiCaller, body: Any, detail: list[dict[str, Any]]
) -> None:
    reply = await caller.call("POST", "/voice-preview", body=body)
    assert (reply.status, reply.json()) == (422, {"detail": detail})


async def test_voice_preview_numbers_become_strings(caller: ApiCaller) -> None:
    """As pydantic v1 does for str fields."""
    reply = await caller.call(
        "POST", "/voice-preview", body={"transcript": 12, "source_draft_id": 3.5}
    )
    assert (reply.status, reply.json()["transcript"]) == (201, "12")


# -- analytics -----------------------------------------------------------------------------


@pytest.fixture
async def usage(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> tuple[Sandbox, ApiCaller]:
    """Videos made on Jan 31, Feb 1 (two) and Feb 7 2024, plus one in another account."""
    sb = await start_sandbox(seed=4, clock=clock, render=TEN_SECONDS, wall_start=NOON_JAN_31)
    caller = ApiCaller(session, sb)
    one_scene = {
        "type": "override",
        "source_draft_id": "d",
        "scenes": [{"name": "s", "transcript": "w " * 25}],
    }
    await caller.create({**one_scene, "correlation_id": "batch-a"})  # 10 s long
    clock.advance(DAY)
    await caller.create({**one_scene, "correlation_id": "batch-b"})
    deleted = await caller.create({**one_scene, "correlation_id": "batch-a"})
    assert (await caller.call("DELETE", f"/videos/{deleted['id']}")).status == 204
    clock.advance(6 * DAY)
    sb.create_video(
        {**one_scene, "scenes": [{"name": "s", "transcript": "w " * 11}] * 2}
    )  # 4.4 s x2
    sb.create_video(FLAT_BODY, api_key=sb.new_api_key())
    return sb, caller


async def test_summary_breakdowns(usage: tuple[Sandbox, ApiCaller]) -> None:
    """Monthly by default; daily and weekly (ISO) rows; only periods with videos."""
    _, caller = usage
    monthly = await caller.call("GET", "/analytics/summary")
    assert monthly.status == 200
    assert monthly.json() == [
        {"month": 1, "year": 2024, "videos_created": 1, "total_duration": 10},
        {"month": 2, "year": 2024, "videos_created": 3, "total_duration": 29},
    ]
    daily = (await caller.call("GET", "/analytics/summary?breakdown=daily")).json()
    assert daily == [
        {"day": 31, "month": 1, "year": 2024, "videos_created": 1, "total_duration": 10},
        {"day": 1, "month": 2, "year": 2024, "videos_created": 2, "total_duration": 20},
        {"day": 7, "month": 2, "year": 2024, "videos_created": 1, "total_duration": 9},
    ]
    weekly = (await caller.call("GET", "/analytics/summary?breakdown=weekly")).json()
    assert weekly == [
        {"week": 5, "year": 2024, "videos_created": 3, "total_duration": 30},
        {"week": 6, "year": 2024, "videos_created": 1, "total_duration": 9},
    ]


async def test_summary_filters(usage: tuple[Sandbox, ApiCaller]) -> None:
    """Dates are inclusive; correlation_id selects; the last of repeated values wins."""
    sb, caller = usage

    async def rows(query: str) -> Any:
        reply = await caller.call("GET", "/analytics/summary?" + query)
        assert reply.status == 200, reply.body
        return reply.json()

    assert await rows("breakdown=daily&from_date=2024-02-01&to_date=2024-02-01") == [
        {"day": 1, "month": 2, "year": 2024, "videos_created": 2, "total_duration": 20}
    ]
    assert await rows("from_date=2024-02-02") == [
        {"month": 2, "year": 2024, "videos_created": 1, "total_duration": 9}
    ]
    assert await rows("to_date=2024-1-31&breakdown=weekly") == [
        {"week": 5, "year": 2024, "videos_created": 1, "total_duration": 10}
    ]
    assert await rows("correlation_id=batch-a&breakdown=daily") == [
        {"day": 31, "month": 1, "year": 2024, "videos_created": 1, "total_duration": 10},
        {"day": 1, "month": 2, "year": 2024, "videos_created": 1, "total_duration": 10},
    ]
    assert await rows("correlation_id=none-such") == []
    assert await rows("from_date=2030-01-01") == []
    assert (await rows("breakdown=weekly&breakdown=monthly&unknown=1"))[0]["month"] == 1
    # pydantic v1 also takes Unix seconds for a date.
    feb_2 = int(dt.datetime(2024, 2, 2, tzinfo=dt.timezone.utc).timestamp())
    assert await rows(f"from_date={feb_2}") == await rows("from_date=2024-02-02")
    other = await ApiCaller(caller.session, sb).call(
        "GET", "/analytics/summary", key=sb.new_api_key()
    )
    assert other.json() == []


async def test_summary_counts_dates_on_the_wall_clock(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
) -> None:
    """Without wall_start, a video made now is dated today (UTC)."""
    sb = await start_sandbox(seed=1)
    sb.create_video(FLAT_BODY)
    assert abs(sb.wall_time() - dt.datetime.now(dt.timezone.utc).timestamp()) < 5
    day = dt.datetime.fromtimestamp(sb.wall_time(), dt.timezone.utc).date()
    rows = (await ApiCaller(session, sb).call("GET", "/analytics/summary?breakdown=daily")).json()
    assert [(row["year"], row["month"], row["day"]) for row in rows] == [
        (day.year, day.month, day.day)
    ]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        (
            "breakdown=yearly",
            [
                {
                    "loc": ["query", "breakdown"],
                    "msg": "value is not a valid enumeration member; permitted: "
                    "'daily', 'weekly', 'monthly'",
                    "type": "type_error.enum",
                    "ctx": {"enum_values": ["daily", "weekly", "monthly"]},
                }
            ],
        ),
        (
            "from_date=2024-02-30&to_date=31/01/2024",
            [
                {
                    "loc": ["query", "from_date"],
                    "msg": "invalid date format",
                    "type": "value_error.date",
                },
                {
                    "loc": ["query", "to_date"],
                    "msg": "invalid date format",
                    "type": "value_error.date",
                },
            ],
        ),
        (
            "from_date=",
            [
                {
                    "loc": ["query", "from_date"],
                    "msg": "invalid date format",
                    "type": "value_error.date",
                }
            ],
        ),
        (
            "from_date=2024-03-01&to_date=2024-02-29",
            [
                {
                    "loc": ["query", "from_date"],
                    "msg": "from_date (2024-03-01) must not be after to_date (2024-02-29)",
                    "type": "value_error",
                }
            ],
        ),
    ],
)
async def test_bad_summary_queries_are_422(
    caller: ApiCaller, query: str, detail: list[dict[str, Any]]
) -> None:
    reply = await caller.call("GET", "/analytics/summary?" + query)
    assert (reply.status, reply.json()) == (422, {"detail": detail})


async def test_summary_has_no_window_limit(caller: ApiCaller) -> None:
    reply = await caller.call("GET", "/analytics/summary?from_date=1900-01-01&to_date=2999-12-31")
    assert (reply.status, reply.json()) == (200, [])


@pytest.mark.parametrize(
    ("method", "path", "bearer"),
    [
        ("POST", "/videos", False),
        ("POST", "/videos/some-id/subtitles", False),
        ("POST", "/voice-preview", False),
        ("POST", "/webhooks", True),
        ("PUT", "/webhooks/some-id", True),
    ],
)
async def test_every_body_route_refuses_a_body_over_the_size_limit(
    caller: ApiCaller, method: str, path: str, bearer: bool
) -> None:
    """A body over 1 MiB answers 413 with a JSON detail on every route that reads one."""
    sandbox = caller.sandbox
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {sandbox.bearer_token}"
    else:
        headers["api-key"] = sandbox.api_key
    too_big = io.BytesIO(b'{"name": "' + b"x" * (1024 * 1024) + b'"}')
    url = yarl_url(sandbox.base_url + path)
    async with caller.session.request(method, url, data=too_big, headers=headers) as response:
        assert response.status == 413
        assert response.content_type == "application/json"
        assert (await response.json())["detail"]
