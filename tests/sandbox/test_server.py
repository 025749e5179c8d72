"""End-to-end tests of the sandbox's API over real sockets, with a plain aiohttp client."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from videoapi_async.contract import REQUEST_ID_HEADER
from videoapi_async.sandbox import ManualClock, RenderProfile, Sandbox
from videoapi_async.sandbox._routes import ROUTE_CREATE, ROUTE_GET, ROUTE_LIST

from .conftest import (
    CREATE_BODY,
    FLAT_BODY,
    OVERRIDE_BODY,
    TEN_SECONDS,
    WORKFLOW_BODY,
    ApiCaller,
    yarl_url,
)

pytestmark = pytest.mark.e2e

ROUTES = [
    ("GET", "/videos"),
    ("POST", "/videos"),
    ("GET", "/videos/some-id"),
    ("GET", "/videos/some-id/metadata"),
    ("DELETE", "/videos/some-id"),
]


async def test_base_url_and_api_key(sandbox: Sandbox) -> None:
    """base_url is http://127.0.0.1:<port>/api/v1 and each sandbox has its own key."""
    assert sandbox.base_url == f"http://127.0.0.1:{sandbox.port}/api/v1"
    assert sandbox.api_key
    assert Sandbox().api_key != sandbox.api_key


async def test_create_flat_form_returns_201_video(caller: ApiCaller) -> None:
    """POST /videos with the flat form answers 201 with a not_started Video echoing fields."""
    reply = await caller.call("POST", "/videos", body={**FLAT_BODY, "unknown": 1})
    assert reply.status == 201
    assert reply.headers["Content-Type"] == "application/json"
    video = reply.json()
    assert video["status"] == "not_started"
    assert video["progress"] == 0
    assert video["name"] == "Q3 update"
    assert video["source_draft_id"] == "draft-src-1"
    assert video["video_player_url"] == ""
    assert "download_url" not in video
    assert "unknown" not in video
    assert len({video["id"], video["req_id"], video["draft_id"]}) == 3


@pytest.mark.parametrize(
    ("body", "echoed"),
    [
        (OVERRIDE_BODY, ["scenes", "metadata", "correlation_id", "palette_id", "character_id"]),
        (CREATE_BODY, ["template_id", "palette", "global_media_elements", "correlation_id"]),
        (WORKFLOW_BODY, ["metadata", "correlation_id"]),
    ],
)
async def test_create_tagged_forms_echo_their_fields(
    caller: ApiCaller, body: dict[str, Any], echoed: list[str]
) -> None:
    """Each tagged form is accepted and its Video fields come back as sent."""
    video = await caller.create(body)
    for field in echoed:
        if field == "scenes":
            assert [scene["name"] for scene in video["scenes"]] == ["Intro", "Outro"]
            assert {scene["type"] for scene in video["scenes"]} == {"override_scene"}
        else:
            assert video[field] == body[field]


async def test_list_get_metadata_and_delete(caller: ApiCaller) -> None:
    """A created video is listed, readable by id with metadata, and gone after DELETE."""
    first = await caller.create()
    second = await caller.create(CREATE_BODY)
    listed = (await caller.call("GET", "/videos")).json()
    assert [video["id"] for video in listed] == [first["id"], second["id"]]
    got = await caller.call("GET", f"/videos/{first['id']}")
    assert got.status == 200
    assert got.json()["id"] == first["id"]
    metadata = (await caller.call("GET", f"/videos/{second['id']}/metadata")).json()
    assert [scene["scene_index"] for scene in metadata["scenes_metadata"]] == [0, 1]
    deleted = await caller.call("DELETE", f"/videos/{first['id']}")
    assert (deleted.status, deleted.body) == (204, b"")
    assert (await caller.call("GET", f"/videos/{first['id']}")).status == 404
    assert (await caller.call("DELETE", f"/videos/{first['id']}")).status == 404
    listed = (await caller.call("GET", "/videos")).json()
    assert [video["id"] for video in listed] == [second["id"]]


async def test_metadata_matches_the_scenes(caller: ApiCaller) -> None:
    """Scene timings add up: start times are cumulative, the duration is their sum."""
    video = await caller.create(CREATE_BODY)
    metadata = (await caller.call("GET", f"/videos/{video['id']}/metadata")).json()
    scenes = metadata["scenes_metadata"]
    assert scenes[0] == {"scene_index": 0, "start_time": 0.0, "duration": 4.0}
    assert scenes[1]["start_time"] == 4.0
    assert metadata["duration"] == pytest.approx(sum(scene["duration"] for scene in scenes))
    flat = await caller.create()
    flat_metadata = (await caller.call("GET", f"/videos/{flat['id']}/metadata")).json()
    assert len(flat_metadata["scenes_metadata"]) == 1


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_missing_key_is_403_and_wrong_key_is_401(
    caller: ApiCaller, method: str, path: str
) -> None:
    """Every route answers 403 Not authenticated without a key, 401 with a wrong one."""
    missing = await caller.call(method, path, key=None, body=FLAT_BODY)
    assert (missing.status, missing.json()) == (403, {"detail": "Not authenticated"})
    wrong = await caller.call(method, path, key="nope", body=FLAT_BODY)
    assert (wrong.status, wrong.json()) == (401, {"detail": "Invalid API key"})
    assert not caller.sandbox.stats.created_ids


@pytest.mark.parametrize(("method", "path"), ROUTES[2:])
async def test_unknown_video_is_404(caller: ApiCaller, method: str, path: str) -> None:
    """Unknown ids answer 404 {"detail": "Video not found"}."""
    reply = await caller.call(method, path)
    assert (reply.status, reply.json()) == (404, {"detail": "Video not found"})


async def test_percent_encoded_id_is_one_opaque_segment(caller: ApiCaller) -> None:
    """a%2Fb is the (unknown) id 'a/b', not a path: 404 Video not found for that id."""
    for encoded, decoded in [("a%2Fb", "a/b"), ("..%2Fx", "../x"), ("%3Fq%3D1", "?q=1")]:
        reply = await caller.call("GET", f"/videos/{encoded}")
        assert (reply.status, reply.json()) == (404, {"detail": "Video not found"})
        metadata = await caller.call("GET", f"/videos/{encoded}/metadata")
        assert metadata.json() == {"detail": "Video not found"}
        assert caller.sandbox.stats.video_requests[decoded] == 2


async def test_videos_of_another_account_are_invisible(caller: ApiCaller) -> None:
    """Each API key has its own list; ids of other accounts are 404."""
    other_key = caller.sandbox.new_api_key()
    mine = await caller.create()
    theirs = await caller.create(key=other_key)
    listed = (await caller.call("GET", "/videos", key=other_key)).json()
    assert [video["id"] for video in listed] == [theirs["id"]]
    assert (await caller.call("GET", f"/videos/{mine['id']}", key=other_key)).status == 404


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error_type"),
    [
        (b"{not json", "application/json", 422, "value_error.jsondecode"),
        (b"[1, 2]", "application/json", 422, "type_error.dict"),
        (b"", "application/json", 422, "value_error.missing"),
        (b'{"name": "x"}', "application/json", 422, "value_error"),
        (b'{"type": "clone"}', "application/json", 422, "invalid_discriminator"),
        (b'{"source_draft_id": "d"}', "text/plain", 422, "type_error.dict"),
        (b"\xff\xfe", "application/json", 400, None),
    ],
)
async def test_bad_create_bodies(
    caller: ApiCaller, data: bytes, content_type: str, status: int, error_type: str | None
) -> None:
    """Bad bodies answer FastAPI's 422 detail items (400 for non-UTF-8) and create nothing."""
    reply = await caller.call("POST", "/videos", data=data, headers={"Content-Type": content_type})
    assert reply.status == status
    detail = reply.json()["detail"]
    if error_type is not None:
        assert error_type in detail[0]["type"]
        assert {"loc", "msg", "type"} <= set(detail[0])
    assert caller.sandbox.stats.created_ids == []


async def test_workspace_and_team_headers_are_kept(caller: ApiCaller) -> None:
    """workspace-id and team-id headers land on the stored record."""
    video = await caller.create(headers={"workspace-id": "ws-1", "team-id": "team-9"})
    record = caller.sandbox.video_record(video["id"])
    assert record is not None
    assert (record.workspace_id, record.team_id) == ("ws-1", "team-9")
    assert record.body == FLAT_BODY
    assert record.form == "source_draft"


async def test_render_lifecycle_follows_the_clock(caller: ApiCaller, clock: ManualClock) -> None:
    """A 10 s render reads not_started, started, processing (rising), then ready with URLs."""
    video = await caller.create()
    path = f"/videos/{video['id']}"
    seen = []
    for _ in range(12):
        seen.append((await caller.call("GET", path)).json())
        clock.advance(1.0)
    statuses = [item["status"] for item in seen]
    assert statuses[:3] == ["not_started", "started", "processing"]
    assert statuses[-1] == "ready"
    progress = [item["progress"] for item in seen]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert 0 < progress[5] < 100
    assert all(item["video_player_url"] == "" for item in seen[:10])
    assert all("download_url" not in item for item in seen[:10])
    final = seen[-1]
    assert final["video_player_url"].startswith(caller.sandbox.origin)
    assert final["download_url"].endswith(".mp4")


async def test_failed_render_stops_progress_before_failing(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    """With failure_rate=1 the progress freezes, then the status turns failed, no URLs."""
    profile = RenderProfile(min_duration=10, max_duration=10, failure_rate=1.0)
    sandbox = await start_sandbox(seed=3, clock=clock, render=profile)
    caller = ApiCaller(session, sandbox)
    video = await caller.create()
    readings = []
    for _ in range(22):
        readings.append((await caller.call("GET", f"/videos/{video['id']}")).json())
        clock.advance(0.5)
    final = readings[-1]
    assert final["status"] == "failed"
    assert final["progress"] < 100
    assert final["video_player_url"] == ""
    assert "download_url" not in final
    frozen = [item for item in readings if item["progress"] == final["progress"]]
    assert len(frozen) >= 3
    assert frozen[0]["status"] == "processing"


async def test_player_and_download_urls_are_served(
    caller: ApiCaller, session: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A ready video's player page and MP4 download answer 200; unfinished ones 404."""
    video = await caller.create()
    player = caller.sandbox.origin + "/media/player/" + video["id"]
    async with session.get(player) as response:
        assert response.status == 404
    clock.advance(10)
    ready = (await caller.call("GET", f"/videos/{video['id']}")).json()
    async with session.get(ready["video_player_url"]) as response:
        assert response.status == 200
        assert "<video" in await response.text()
    async with session.get(ready["download_url"]) as response:
        assert response.headers["Content-Type"] == "video/mp4"
        assert (await response.read())[4:8] == b"ftyp"


async def test_unknown_paths_methods_and_trailing_slash(
    caller: ApiCaller, session: aiohttp.ClientSession
) -> None:
    """Unknown path 404 Not Found, wrong method 405 with Allow, /videos/ redirects 307."""
    assert (await caller.call("GET", "/nothing")).json() == {"detail": "Not Found"}
    reply = await caller.call("PUT", "/videos")
    assert (reply.status, reply.headers["Allow"]) == (405, "GET, POST")
    async with session.get(
        yarl_url(caller.sandbox.base_url + "/videos/"), allow_redirects=False
    ) as response:
        assert response.status == 307
        assert response.headers["Location"] == caller.sandbox.base_url + "/videos"
    assert caller.sandbox.stats.requests["other"] == 3


async def test_every_answer_carries_its_own_request_id(caller: ApiCaller) -> None:
    """Successes, errors, unknown paths and faulty answers each carry a new x-request-id."""
    await caller.create()
    caller.sandbox.faults.queue(ROUTE_LIST, "http_429", "http_502", "malformed_json")
    replies = [
        await caller.call("POST", "/videos", body=FLAT_BODY),
        await caller.call("GET", "/videos/nothing-here"),
        await caller.call("GET", "/videos/nothing-here", key=None),
        await caller.call("GET", "/nothing"),
        await caller.call("PUT", "/videos"),
        await caller.call("GET", "/videos"),
        await caller.call("GET", "/videos"),
        await caller.call("GET", "/videos"),
    ]
    assert [reply.status for reply in replies] == [201, 404, 403, 404, 405, 429, 502, 200]
    ids = [CIMultiDict(reply.headers).get(REQUEST_ID_HEADER) for reply in replies]
    assert None not in ids
    assert len(set(ids)) == len(ids)


async def test_stats_count_requests_responses_and_creates(
    caller: ApiCaller, clock: ManualClock
) -> None:
    """Counters per route, status, video id and create body reflect the traffic; reset zeroes."""
    stats = caller.sandbox.stats
    first = await caller.create()
    await caller.create()  # the same body again: a duplicate
    await caller.create(WORKFLOW_BODY)
    for _ in range(3):
        await caller.call("GET", f"/videos/{first['id']}")
    await caller.call("GET", "/videos/unknown")
    await caller.call("GET", "/videos", key=None)
    assert stats.requests == {ROUTE_CREATE: 3, ROUTE_GET: 4, ROUTE_LIST: 1}
    assert stats.responses == {201: 3, 200: 3, 404: 1, 403: 1}
    assert stats.route_responses[ROUTE_GET] == {200: 3, 404: 1}
    assert stats.video_requests[first["id"]] == 3
    assert len(stats.created_ids) == 3
    assert stats.created_ids[0] == first["id"]
    assert stats.duplicate_creates() == {'{"name":"Q3 update","source_draft_id":"draft-src-1"}': 2}
    assert stats.total_requests == 8
    caller.sandbox.reset_stats()
    assert stats.total_requests == 0
    assert not stats.created_ids
    assert not stats.creates_by_body
    assert len(caller.sandbox.videos()) == 3


async def test_first_seen_records_detection_delay(caller: ApiCaller, clock: ManualClock) -> None:
    """first_seen_at is the first GET showing the final status; the list counts too."""
    by_id = await caller.create()
    by_list = await caller.create(WORKFLOW_BODY)
    clock.advance(12.0)  # both finished 2 s ago
    assert caller.sandbox.stats.renders()[0].first_seen_at is None
    await caller.call("GET", f"/videos/{by_id['id']}")
    clock.advance(3.0)
    await caller.call("GET", "/videos")
    clock.advance(5.0)
    await caller.call("GET", "/videos")  # later reads do not move first_seen_at
    timings = {timing.video_id: timing for timing in caller.sandbox.stats.renders()}
    assert timings[by_id["id"]].first_seen_at == 1012.0
    assert timings[by_id["id"]].detection_delay == pytest.approx(2.0)
    assert timings[by_list["id"]].detection_delay == pytest.approx(5.0)
    assert timings[by_list["id"]].final_status == "ready"


async def test_create_response_does_not_count_as_seeing_the_end(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """A render that is finished at creation is not 'seen' until a GET shows it."""
    instant = RenderProfile(min_duration=0, max_duration=0)
    sandbox = await start_sandbox(render=instant)
    caller = ApiCaller(session, sandbox)
    video = await caller.create()
    assert video["status"] == "ready"
    assert sandbox.stats.renders()[0].first_seen_at is None
    await caller.call("GET", f"/videos/{video['id']}")
    assert sandbox.stats.renders()[0].first_seen_at is not None


async def test_same_seed_same_videos_over_http(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """Two sandboxes with seed 7 hand out the same ids and plans for the same creates."""
    results = []
    for _ in range(2):
        sandbox = await start_sandbox(seed=7, render=RenderProfile(failure_rate=0.5))
        caller = ApiCaller(session, sandbox)
        ids = [(await caller.create())["id"] for _ in range(20)]
        records = [sandbox.video_record(video_id) for video_id in ids]
        results.append([(r.video_id, r.plan.duration, r.plan.outcome) for r in records if r])
    assert results[0] == results[1]
    assert len({outcome for _, _, outcome in results[0]}) == 2


async def test_unknown_progress_reads(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    """With unknown_progress_rate=1 unfinished reads say -1; finished ones say 100."""
    profile = RenderProfile(min_duration=10, max_duration=10, unknown_progress_rate=1.0)
    sandbox = await start_sandbox(clock=clock, render=profile)
    caller = ApiCaller(session, sandbox)
    video = await caller.create()
    clock.advance(5)
    assert (await caller.call("GET", f"/videos/{video['id']}")).json()["progress"] == -1
    assert sandbox.video(video["id"])["progress"] > 0  # type: ignore[index]
    clock.advance(5)
    assert (await caller.call("GET", "/videos")).json()[0]["progress"] == 100


async def test_seed_videos_fills_a_big_account(caller: ApiCaller) -> None:
    """seed_videos adds finished videos that GET /videos lists in full."""
    ids = caller.sandbox.seed_videos(2000, status="ready")
    caller.sandbox.seed_videos(3, status="processing")
    listed = (await caller.call("GET", "/videos")).json()
    assert len(listed) == 2003
    assert [video["id"] for video in listed[:2000]] == ids
    assert {video["status"] for video in listed} == {"ready", "processing"}
    assert caller.sandbox.stats.created_ids == []


async def test_ten_thousand_renders_in_flight(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    """10,000 renders in flight are listed with statuses computed from the clock alone."""
    profile = RenderProfile(min_duration=1, max_duration=20)
    sandbox = await start_sandbox(seed=2, clock=clock, render=profile)
    for _ in range(10_000):
        sandbox.create_video(FLAT_BODY)
    caller = ApiCaller(session, sandbox)
    clock.advance(10)
    listed = (await caller.call("GET", "/videos")).json()
    ready_early = sum(video["status"] == "ready" for video in listed)
    assert len(listed) == 10_000
    assert {video["status"] for video in listed} == {"processing", "ready"}
    clock.advance(10)
    listed = (await caller.call("GET", "/videos")).json()
    assert {video["status"] for video in listed} == {"ready"}
    seen = Counter(timing.first_seen_at for timing in sandbox.stats.renders())
    assert seen == {1010.0: ready_early, 1020.0: 10_000 - ready_early}


async def test_server_side_create_and_pinned_status(caller: ApiCaller, clock: ManualClock) -> None:
    """create_video validates its body; set_status pins a status whatever the clock says."""
    video = caller.sandbox.create_video(OVERRIDE_BODY, status="processing", progress=40)
    clock.advance(1000)
    got = (await caller.call("GET", f"/videos/{video['id']}")).json()
    assert (got["status"], got["progress"]) == ("processing", 40)
    caller.sandbox.set_status(video["id"], "published")
    got = (await caller.call("GET", f"/videos/{video['id']}")).json()
    assert (got["status"], got["progress"]) == ("published", 100)
    assert got["video_player_url"]
    with pytest.raises(ValueError, match="invalid create body"):
        caller.sandbox.create_video({"type": "create"})
    with pytest.raises(ValueError, match="unknown video status"):
        caller.sandbox.set_status(video["id"], "done")
    with pytest.raises(KeyError):
        caller.sandbox.set_status("missing", "ready")


async def test_forced_outcome_for_one_video(caller: ApiCaller, clock: ManualClock) -> None:
    """create_video(outcome=..., duration=...) plans that one render as asked."""
    video = caller.sandbox.create_video(FLAT_BODY, outcome="cancelled", duration=2)
    clock.advance(2)
    assert (await caller.call("GET", f"/videos/{video['id']}")).json()["status"] == "cancelled"


async def test_null_unset_fields_mode(
    start_sandbox: Callable[..., Awaitable[Sandbox]], session: aiohttp.ClientSession
) -> None:
    """With null_unset_fields every optional field without a value is sent as null."""
    from videoapi_async.sandbox import SandboxConfig

    sandbox = await start_sandbox(config=SandboxConfig(null_unset_fields=True, render=TEN_SECONDS))
    video = await ApiCaller(session, sandbox).create(OVERRIDE_BODY)
    assert video["download_url"] is None
    assert video["template_id"] is None
    assert video["palette"] is None
    assert video["scenes"][0]["transcript"] is None


async def test_start_twice_and_close_twice(sandbox: Sandbox) -> None:
    """A sandbox starts once; close is idempotent."""
    with pytest.raises(RuntimeError, match="already started"):
        await sandbox.start()
    await sandbox.close()
    await sandbox.close()


async def test_port_before_start_is_an_error() -> None:
    """Asking for the URL of a sandbox not started says how to start it."""
    with pytest.raises(RuntimeError, match="not started"):
        _ = Sandbox().base_url


async def test_port_in_use_fails_cleanly() -> None:
    """Starting on a port another socket listens on raises OSError and leaks nothing."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        sandbox = Sandbox(port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            await sandbox.start()
        await sandbox.close()
