"""The batch engine on its own: lost answers and cancellation, checked against the sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from videoapi_async import (
    CreateMarker,
    PollPolicy,
    Video,
    VideoAPI,
    VideoStatus,
    match_lost_creates,
)
from videoapi_async.cli._batch import BatchObserver
from videoapi_async.cli._batch_cmd import run_batch_file
from videoapi_async.cli._journal import Journal, RowRecord
from videoapi_async.sandbox import Sandbox
from videoapi_async.sandbox._faults import Fault

from .conftest import FAST

pytestmark = pytest.mark.simulated_time

QUICK = PollPolicy(first_poll=0.05, min_interval=0.02, max_interval=0.2, list_polling="never")


def _clock() -> Callable[[], float]:
    return asyncio.get_running_loop().time


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=5, render=FAST, clock=_clock()) as running:
        yield running


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[VideoAPI]:
    async with VideoAPI(
        sandbox.api_key, base_url=sandbox.base_url, poll=QUICK, clock=_clock()
    ) as client:
        yield client


def _data(bodies: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(body) + "\n" for body in bodies).encode()


async def _run(
    api: VideoAPI,
    path: Path,
    data: bytes,
    *,
    concurrency: int = 4,
    observer: BatchObserver | None = None,
) -> list[RowRecord]:
    journal = Journal.open(path)
    try:
        await run_batch_file(
            api,
            journal,
            data,
            input_name="jobs.jsonl",
            fmt="jsonl",
            concurrency=concurrency,
            observer=observer,
            lost_grace=0,
        )
        return journal.rows()
    finally:
        journal.close()


def _assert_created_once(sandbox: Sandbox, count: int) -> None:
    assert sandbox.stats.duplicate_creates() == {}
    assert len(sandbox.stats.created_ids) == count


async def test_a_lost_answer_is_found_again_in_the_same_run(
    sandbox: Sandbox, api: VideoAPI, tmp_path: Path
) -> None:
    """A create stored by the server but never answered is adopted, not sent again."""
    sandbox.faults.queue("POST /videos", "drop_response")
    data = _data([{"source_draft_id": f"d{n}"} for n in range(3)])
    rows = await _run(api, tmp_path / "j.sqlite", data, concurrency=1)
    assert [row.state for row in rows] == ["done"] * 3
    assert [row.sends for row in rows] == [1, 1, 1]
    assert rows[0].video_id == sandbox.stats.created_ids[0]
    _assert_created_once(sandbox, 3)


async def test_a_create_cancelled_in_flight_is_adopted_by_the_next_run(
    sandbox: Sandbox, api: VideoAPI, tmp_path: Path
) -> None:
    """Cancelled between send and answer, the row stays 'sent'; the re-run finds its video."""
    # Row 2's create is stored at once, but its answer trickles in: cancelled meanwhile.
    sandbox.faults.queue("POST /videos", Fault("delay", seconds=0), Fault("slow_body", seconds=0.2))
    data = _data(
        [
            {"type": "workflow", "workflow_id": "w", "variables": [{"name": "a", "value": "1"}]},
            {"type": "workflow", "workflow_id": "w", "variables": [{"name": "a", "value": "2"}]},
            {"type": "workflow", "workflow_id": "w", "variables": [{"name": "a", "value": "3"}]},
        ]
    )
    run = asyncio.current_task()
    assert run is not None

    class StopAtRowTwo(BatchObserver):
        def sending(self, row: RowRecord) -> None:
            if row.row == 2:
                asyncio.get_running_loop().call_later(0.1, worker.cancel)

    journal_path = tmp_path / "j.sqlite"
    worker = asyncio.ensure_future(
        _run(api, journal_path, data, concurrency=1, observer=StopAtRowTwo())
    )
    with pytest.raises(asyncio.CancelledError):
        await worker
    check = Journal.open(journal_path)
    try:
        assert [row.state for row in check.rows()][:2] == ["created", "sent"]
    finally:
        check.close()
    assert len(sandbox.stats.created_ids) == 2

    rows = await _run(api, journal_path, data, concurrency=1)
    assert [row.state for row in rows] == ["done"] * 3
    assert rows[1].video_id == sandbox.stats.created_ids[1]
    assert rows[1].sends == 1
    _assert_created_once(sandbox, 3)


async def test_a_named_row_is_not_confused_with_an_older_video_of_the_same_name(
    sandbox: Sandbox, api: VideoAPI, tmp_path: Path
) -> None:
    """A video that existed before the batch never stands in for a row's lost create."""
    older = sandbox.create_video({"name": "Promo", "source_draft_id": "d1"}, status="ready")
    sandbox.faults.queue("POST /videos", "drop_response")
    rows = await _run(
        api, tmp_path / "j.sqlite", _data([{"name": "Promo", "source_draft_id": "d1"}])
    )
    assert rows[0].video_id == sandbox.stats.created_ids[0]
    assert rows[0].video_id != older["id"]
    assert rows[0].state == "done"
    _assert_created_once(sandbox, 1)


async def test_a_create_lost_every_time_is_left_for_a_rerun(
    sandbox: Sandbox, api: VideoAPI, tmp_path: Path
) -> None:
    """Each lost send is looked for before the next; after three the row waits for a re-run."""
    sandbox.faults.queue("POST /videos", "reset", "reset", "reset")  # never reaches the store
    journal_path = tmp_path / "j.sqlite"
    data = _data([{"recipe_id": "r"}])
    (row,) = await _run(api, journal_path, data)
    assert (row.state, row.video_id, row.sends) == ("sent", None, 3)
    assert "run again" in (row.error or "")
    assert sandbox.stats.requests["GET /videos"] == 1 + 3  # the first look, then one per loss
    (row,) = await _run(api, journal_path, data)
    assert (row.state, row.sends) == ("done", 4)
    _assert_created_once(sandbox, 1)


class StoringServer:
    """A server that keeps storing a create whose client went away, and can shorten names.

    Each create is stored after ``store_delay``; names are cut to ``name_limit``; the next
    ``drop_next`` answers are closed without being sent.
    """

    def __init__(self, *, store_delay: float = 0.0, name_limit: int | None = None) -> None:
        self.store_delay = store_delay
        self.name_limit = name_limit
        self.drop_next = 0
        self.posts = 0
        self.videos: list[dict[str, object]] = []
        self._stores: set[asyncio.Task[dict[str, object]]] = set()
        app = web.Application()
        app.router.add_post("/api/v1/videos", self._create)
        app.router.add_get("/api/v1/videos", self._list)
        app.router.add_get("/api/v1/videos/{id}", self._get)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/api/v1"))

    async def _store(self, body: dict[str, object]) -> dict[str, object]:
        await asyncio.sleep(self.store_delay)
        name = body.get("name")
        if isinstance(name, str) and self.name_limit is not None:
            name = name[: self.name_limit]
        number = len(self.videos) + 1
        video: dict[str, object] = {
            **{key: body.get(key) for key in ("source_draft_id", "recipe_id", "correlation_id")},
            "id": f"vid-{number}",
            "name": name,
            "status": "ready",
            "progress": 100,
            "req_id": f"req-{number}",
            "draft_id": "draft",
            "video_player_url": f"https://player.test/{number}",
        }
        self.videos.append(video)
        return video

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.posts += 1
        task = asyncio.ensure_future(self._store(await request.json()))
        self._stores.add(task)  # stored even when the client goes away meanwhile
        video = await asyncio.shield(task)
        if self.drop_next > 0:
            self.drop_next -= 1
            assert request.transport is not None
            request.transport.abort()
        return web.json_response(video, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response(self.videos)

    async def _get(self, request: web.Request) -> web.Response:
        found = [video for video in self.videos if video["id"] == request.match_info["id"]]
        return web.json_response(found[0]) if found else web.json_response({}, status=404)

    async def settle(self) -> None:
        """Wait for every create the server accepted to be stored."""
        await asyncio.gather(*self._stores)


@pytest.fixture
async def storing() -> AsyncIterator[StoringServer]:
    server = StoringServer()
    await server.server.start_server()
    try:
        yield server
    finally:
        await server.server.close()


async def test_a_resume_gives_a_slow_server_time_to_store_an_interrupted_create(
    storing: StoringServer, tmp_path: Path
) -> None:
    """Stopped while the server takes 1 s to store a create, a quick re-run waits, then adopts."""
    storing.store_delay = 1.0
    data = _data([{"source_draft_id": "d1"}, {"source_draft_id": "d2"}])
    journal_path = tmp_path / "j.sqlite"
    async with VideoAPI("k", base_url=storing.base_url, poll=QUICK, clock=_clock()) as client:

        class StopWhenSent(BatchObserver):
            def sending(self, row: RowRecord) -> None:
                asyncio.get_running_loop().call_later(0.1, worker.cancel)

        worker = asyncio.ensure_future(
            _run(client, journal_path, data, concurrency=1, observer=StopWhenSent())
        )
        with pytest.raises(asyncio.CancelledError):
            await worker
        assert storing.videos == []  # the server is still storing it

        journal = Journal.open(journal_path)
        try:
            storing.store_delay = 0.0
            # The journal dates each send by the wall clock, which goes on while simulated
            # time stands still: a grace well past the 1 s store leaves room for that.
            await run_batch_file(
                client, journal, data, input_name="jobs.jsonl", fmt="jsonl", lost_grace=5.0
            )
            rows = journal.rows()
        finally:
            journal.close()
    await storing.settle()
    assert storing.posts == 2
    assert [(row.state, row.video_id, row.sends) for row in rows] == [
        ("done", "vid-1", 1),
        ("done", "vid-2", 1),
    ]


async def test_lost_creates_are_found_on_a_server_that_shortens_names(
    storing: StoringServer, tmp_path: Path
) -> None:
    """Names cut to 40 characters still identify the lost creates: 4 rows, 4 creates."""
    storing.name_limit = 40
    storing.drop_next = 4  # every answer is lost; every create is stored
    long = "Quarterly results for the regional sales team, edition"
    data = _data(
        [
            {"name": f"{long} {n}", "source_draft_id": f"d{n}"}
            if n % 2
            else {"source_draft_id": f"d{n}"}
            for n in range(1, 5)
        ]
    )
    async with VideoAPI("k", base_url=storing.base_url, poll=QUICK, clock=_clock()) as client:
        rows = await _run(client, tmp_path / "j.sqlite", data, concurrency=1)
    assert storing.posts == 4
    assert [row.state for row in rows] == ["done"] * 4
    by_id = {video["id"]: video for video in storing.videos}
    assert [by_id[row.video_id]["source_draft_id"] for row in rows] == ["d1", "d2", "d3", "d4"]


def test_a_shortened_name_that_is_another_rows_marker_is_not_taken() -> None:
    """Row 1's exact name never stands in for row 10's lost create, though it is a prefix."""
    body = {"source_draft_id": "d"}
    one = CreateMarker(field="name", value="batch-0123456789ab-row-1", body=body)
    ten = CreateMarker(field="name", value="batch-0123456789ab-row-10", body=body)
    video = Video(
        id="v1",
        status=VideoStatus.READY,
        req_id="r",
        draft_id="d",
        name=one.value,
        source_draft_id="d",
    )
    names = {one.value, ten.value}
    assert match_lost_creates([(10, ten)], [video], names=names) == {}
    assert match_lost_creates([(1, one), (10, ten)], [video], names=names) == {1: video}
    cut = Video(
        id="v2",
        status=VideoStatus.READY,
        req_id="r",
        draft_id="d",
        name=ten.value[:20],
        source_draft_id="d",
    )
    assert match_lost_creates([(10, ten)], [cut], names=names) == {10: cut}
