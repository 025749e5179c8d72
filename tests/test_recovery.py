"""Lost creates found again from the library: `VideoAPI.find_created_video` and `render`'s id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from videoapi_async import (
    APIConnectionError,
    CreateOutcomeUnknownError,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    SourceDraftVideoRequest,
    Video,
    VideoAPI,
    VideoStatus,
    WorkflowVideoRequest,
)

from .fakes import FakeTime

# FakeTime is the clock of a SimulatedTimeLoop: a grace of seconds passes at once.
pytestmark = pytest.mark.simulated_time

BASE_URL = "https://api.example.test/api/v1"
WORKFLOW = WorkflowVideoRequest(workflow_id="wf", variables=[])


class Server:
    """A video API over `MockTransport` that can lose create answers and store videos late.

    Args:
        time: The shared fake time.
        echo_flat: Whether the flat form's ``correlation_id`` is kept (tagged forms: always).
        lose: Whether a create's answer is lost (after the video is made).
        store_delay: Seconds before a new video shows up in the list.
        make: Whether a create makes a video at all.
    """

    def __init__(
        self,
        time: FakeTime,
        *,
        echo_flat: bool,
        lose: bool = True,
        store_delay: float = 3.0,
        make: bool = True,
    ) -> None:
        self.time = time
        self.echo_flat = echo_flat
        self.lose = lose
        self.store_delay = store_delay
        self.make = make
        self.videos: list[tuple[float, dict[str, Any]]] = []
        self.posts: list[dict[str, Any]] = []
        self.lists: list[float] = []

    def add(self, **fields: Any) -> dict[str, Any]:
        video = {
            "id": f"vid-{len(self.videos) + 1}",
            "status": "processing",
            "req_id": "r",
            "draft_id": "d",
            "video_player_url": "",
            **fields,
        }
        self.videos.append((self.time.now, video))
        return video

    def handle(self, request: HTTPRequest) -> HTTPResponse:
        if request.method == "POST":
            body = request.json()
            self.posts.append(body)
            kept = {k: body[k] for k in ("name", "source_draft_id") if k in body}
            if "correlation_id" in body and ("type" in body or self.echo_flat):
                kept["correlation_id"] = body["correlation_id"]
            video = self.add(**kept) if self.make else None
            if self.lose:
                raise APIConnectionError(
                    "reset", method=request.method, path=request.path, request_sent=True
                )
            assert video is not None
            return HTTPResponse.from_json(video, status=201)
        assert (request.method, request.path) == ("GET", "/videos")
        self.lists.append(self.time.now)
        shown = [v for made, v in self.videos if made + self.store_delay <= self.time.now]
        return HTTPResponse.from_json(shown)


def client(server: Server) -> VideoAPI:
    return mock_client(server.handle, server.time)


def mock_client(handle: Callable[[HTTPRequest], HTTPResponse], time: FakeTime) -> VideoAPI:
    return VideoAPI(
        "k",
        base_url=BASE_URL,
        transport=MockTransport(handle),
        clock=time.clock,
        sleep=time.sleep,
    )


async def lose_one(
    api: VideoAPI, request: WorkflowVideoRequest | None = None, **fields: Any
) -> CreateOutcomeUnknownError:
    with pytest.raises(CreateOutcomeUnknownError) as info:
        await api.create_video(request, **fields)
    return info.value


async def test_tagged_create_is_found_by_its_correlation_id() -> None:
    """A lost tagged create is found by the correlation id the client gave it, once."""
    server = Server(FakeTime(), echo_flat=False)
    server.add(correlation_id="someone-else")
    async with client(server) as api:
        error = await lose_one(api, WORKFLOW)
        assert error.correlation_id is not None
        assert error.correlation_id.startswith("videoapi-async-")
        video = await api.find_created_video(error, grace=5)
    assert isinstance(video, Video)
    assert video.correlation_id == error.correlation_id
    assert len(server.posts) == 1
    assert server.lists == pytest.approx([error.lost_at + 5], abs=1e-9)  # once, after the grace


async def test_a_callers_correlation_id_is_kept() -> None:
    """A correlation id the caller set is sent as given, and used to find the video."""
    server = Server(FakeTime(), echo_flat=False)
    request = WorkflowVideoRequest(workflow_id="wf", variables=[], correlation_id="mine-1")
    async with client(server) as api:
        with pytest.raises(CreateOutcomeUnknownError):
            await api.create_video(request)
        video = await api.find_created_video(request, grace=5)
    assert server.posts[0]["correlation_id"] == "mine-1"
    assert video is not None
    assert video.correlation_id == "mine-1"


async def test_flat_create_is_found_by_name_when_correlation_id_is_not_echoed() -> None:
    """On a server that drops the flat form's correlation id, the name marker finds it."""
    server = Server(FakeTime(), echo_flat=False, lose=False)
    async with client(server) as api:
        first = await api.create_video(source_draft_id="d", name="earlier")
        assert first.correlation_id is None  # the server showed it does not keep it
        server.lose = True
        error = await lose_one(api, source_draft_id="d", name="Quarterly report for EMEA")
        assert "correlation_id" in error.body  # sent anyway
        video = await api.find_created_video(error, exclude={first.id})
    assert video is not None
    assert video.name == "Quarterly report for EMEA"
    assert len(server.posts) == 2


async def test_flat_create_is_found_by_correlation_id_when_echoed() -> None:
    """Once a flat create's answer echoed the correlation id, a nameless lost one is found."""
    server = Server(FakeTime(), echo_flat=True, lose=False)
    async with client(server) as api:
        first = await api.create_video(source_draft_id="d")
        assert first.correlation_id is not None
        server.lose = True
        error = await lose_one(api, source_draft_id="d")
        video = await api.find_created_video(error)
        assert video is not None
        assert video.correlation_id == error.correlation_id
        server.make = False
        gone = await lose_one(api, source_draft_id="d")
        assert await api.find_created_video(gone) is None
    assert len(server.posts) == 3


async def test_not_found_after_the_grace_is_none() -> None:
    """A create that made no video gives None, and only after the grace has passed."""
    time = FakeTime()
    server = Server(time, echo_flat=False, make=False)
    async with client(server) as api:
        error = await lose_one(api, source_draft_id="d", name="never made")
        time.now += 1.0  # some of the grace has passed already
        assert await api.find_created_video(error, grace=4.0) is None
    assert server.lists == pytest.approx([error.lost_at + 4.0], abs=1e-9)
    assert time.sleeps == [3.0]
    assert len(server.posts) == 1


async def test_too_short_a_grace_misses_a_slow_server_and_the_default_does_not() -> None:
    """A server storing videos 3 s late is found with the default grace, not with 1 s."""
    server = Server(FakeTime(), echo_flat=False, store_delay=3.0)
    async with client(server) as api:
        error = await lose_one(api, WORKFLOW)
        assert await api.find_created_video(error, grace=1.0) is None
        assert await api.find_created_video(error) is not None
    assert len(server.posts) == 1


async def test_unrecognisable_creates_are_refused_not_guessed() -> None:
    """A nameless flat create on a server not known to keep correlation ids is never 'None'."""
    server = Server(FakeTime(), echo_flat=False)
    async with client(server) as api:
        error = await lose_one(api, source_draft_id="d")
        with pytest.raises(ValueError, match="give creates a name"):
            await api.find_created_video(error)  # echo unknown, nothing found
        server.lose = False
        await api.create_video(source_draft_id="d")  # now known: not echoed
        with pytest.raises(ValueError, match="does not keep"):
            await api.find_created_video(error)
        with pytest.raises(ValueError, match="no correlation_id"):
            await api.find_created_video(SourceDraftVideoRequest(source_draft_id="d"))
        with pytest.raises(ValueError, match="grace"):
            await api.find_created_video(error, grace=-1)
    assert len(server.posts) == 2


async def test_render_tells_the_video_id_before_the_wait() -> None:
    """Render's on_created and created_video_id give the id when the create answers."""
    server = Server(FakeTime(), echo_flat=False, lose=False, store_delay=0)
    seen: list[Video] = []
    async with client(server) as api:
        wait = api.render(WORKFLOW, on_created=seen.append)
        assert wait.video_id is None
        video_id = await wait.created_video_id()
        assert video_id == wait.video_id == "vid-1"
        assert [v.id for v in seen] == ["vid-1"]
        assert await wait.created_video_id() == "vid-1"
    assert len(server.posts) == 1  # the create is sent once


async def test_render_awaits_an_async_on_created_before_polling() -> None:
    """An async on_created runs to its end before the new video is first polled."""
    time = FakeTime()
    events: list[str] = []

    def handle(request: HTTPRequest) -> HTTPResponse:
        events.append(request.method)
        status = "processing" if request.method == "POST" else "ready"
        video = {"id": "vid-1", "status": status, "req_id": "r", "draft_id": "d"}
        return HTTPResponse.from_json(video, status=201 if request.method == "POST" else 200)

    async def on_created(video: Video) -> None:
        events.append("storing")
        await asyncio.sleep(2)  # a slow database write
        events.append(f"stored {video.id}")

    async with mock_client(handle, time) as api:
        video = await api.render(WORKFLOW, on_created=on_created)
    assert video.status is VideoStatus.READY
    assert events[:3] == ["POST", "storing", "stored vid-1"]
    assert events[3:]
    assert set(events[3:]) == {"GET"}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_render_keeps_the_video_id_when_on_created_raises(kind: str) -> None:
    """A failing on_created, sync or async, ends the wait with its exception; the id stays."""
    server = Server(FakeTime(), echo_flat=False, lose=False, store_delay=0)
    seen_ids: list[str | None] = []

    class CallbackError(Exception):
        pass

    def on_created(video: Video) -> None:
        seen_ids.append(wait.video_id)
        raise CallbackError(video.id)

    async def on_created_async(video: Video) -> None:
        await asyncio.sleep(1)
        on_created(video)

    async with client(server) as api:
        wait = api.render(WORKFLOW, on_created=on_created if kind == "sync" else on_created_async)
        with pytest.raises(CallbackError):
            await wait
        assert seen_ids == ["vid-1"]  # set before the callback ran
        assert wait.video_id == "vid-1"
        assert await wait.created_video_id() == "vid-1"
        with pytest.raises(CallbackError):
            async for _update in wait:
                pass
    assert len(server.posts) == 1  # the create is sent once


async def test_render_lost_create_is_recoverable() -> None:
    """A lost create in render raises CreateOutcomeUnknownError that finds the video."""
    server = Server(FakeTime(), echo_flat=False)
    async with client(server) as api:
        wait = api.render(WORKFLOW, on_created=lambda video: None)
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await wait.created_video_id()
        with pytest.raises(CreateOutcomeUnknownError):
            await wait  # the same failure, not a second create
        video = await api.find_created_video(info.value)
    assert video is not None
    assert video.id == "vid-1"
    assert len(server.posts) == 1


async def test_create_videos_results_are_recoverable() -> None:
    """create_videos gives each request its own correlation id; a lost one is found."""
    server = Server(FakeTime(), echo_flat=False)
    async with client(server) as api:
        results = await api.create_videos([WORKFLOW, WORKFLOW])
        found = [
            await api.find_created_video(result.error)
            for result in results
            if isinstance(result.error, CreateOutcomeUnknownError)
        ]
    assert len({post["correlation_id"] for post in server.posts}) == 2
    assert sorted(video.id for video in found if video is not None) == ["vid-1", "vid-2"]


async def test_a_correlation_id_in_extra_body_is_the_one_recorded() -> None:
    """A correlation id sent through extra_body is what the error holds and what finds it."""
    server = Server(FakeTime(), echo_flat=False)
    async with client(server) as api:
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(WORKFLOW, extra_body={"correlation_id": "via-extra"})
        video = await api.find_created_video(info.value)
    assert server.posts[0]["correlation_id"] == "via-extra"
    assert info.value.correlation_id == "via-extra"
    assert video is not None
    assert video.correlation_id == "via-extra"


async def test_an_error_naming_the_video_returns_it_without_waiting() -> None:
    """When the lost answer named the new video, that video is read at once, no grace."""
    time = FakeTime()
    video = {"id": "vid-9", "status": "processing", "req_id": "r", "draft_id": "d"}
    video["video_player_url"] = ""
    seen: list[str] = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(f"{request.method} {request.path}")
        return HTTPResponse.from_json(video)

    error = CreateOutcomeUnknownError(
        "lost",
        body={"type": "workflow", "correlation_id": "c"},
        cause=APIConnectionError("reset", method="POST", path="/videos", request_sent=True),
        video_id="vid-9",
    )
    async with mock_client(handler, time) as api:
        found = await api.find_created_video(error)
    assert found is not None
    assert found.id == "vid-9"
    assert seen == ["GET /videos/vid-9"]
    assert time.sleeps == []


async def test_views_share_what_the_client_learnt_about_echoes() -> None:
    """A flat create answered through a with_options view teaches the parent client too."""
    server = Server(FakeTime(), echo_flat=True, lose=False)
    async with client(server) as api:
        await api.with_options().create_video(source_draft_id="d")
        server.lose = True
        error = await lose_one(api, source_draft_id="d")  # nameless: needs the echo
        video = await api.find_created_video(error)
    assert video is not None
    assert video.correlation_id == error.correlation_id


def test_the_public_matching_rule_is_the_one_find_created_video_uses() -> None:
    """CreateMarker and match_lost_creates: exact names first, shortened names, echoed fields."""
    from videoapi_async import CreateMarker, VideoStatus, match_lost_creates

    def video(id: str, name: str, draft: str = "d1") -> Video:
        return Video(
            id=id, status=VideoStatus.READY, req_id="r", draft_id=draft, name=name,
            source_draft_id=draft,
        )  # fmt: skip

    long = CreateMarker(
        field="name", value="quarterly-update-for-emea", body={"source_draft_id": "d1"}
    )
    assert long.matches(video("a", "quarterly-update-for-emea"))
    assert long.matches(video("b", "quarterly-update-fo"))  # shortened by the server
    assert not long.matches(video("c", "quarterly"))  # too short to be taken for it
    assert not long.matches(video("d", "quarterly-update-for-emea", draft="d2"))  # echo differs
    assert not long.matches(video("b", "quarterly-update-fo"), names={"quarterly-update-fo"})
    tagged = CreateMarker(field="correlation_id", value="c-1")
    found = match_lost_creates(
        [("x", long), ("y", tagged)],
        [video("b", "quarterly-update-fo"), video("a", "quarterly-update-for-emea")],
    )
    assert found == {"x": video("a", "quarterly-update-for-emea")}  # the exact name wins
