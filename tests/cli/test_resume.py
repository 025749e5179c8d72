"""The batch engine on its own: lost answers and cancellation, checked against the sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from videoapi_async import PollPolicy, VideoAPI
from videoapi_async.cli._batch import BatchObserver
from videoapi_async.cli._batch_cmd import run_batch_file
from videoapi_async.cli._journal import Journal, RowRecord
from videoapi_async.sandbox import Fault, Sandbox

from .conftest import FAST

QUICK = PollPolicy(first_poll=0.05, min_interval=0.02, max_interval=0.2, list_polling="never")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=5, render=FAST) as running:
        yield running


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[VideoAPI]:
    async with VideoAPI(sandbox.api_key, base_url=sandbox.base_url, poll=QUICK) as client:
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
