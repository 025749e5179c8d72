"""The demo leaves no task behind, whether it finishes, fails or is interrupted."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from videoapi_async import RenderUpdate, VideoAPI
from videoapi_async.cli._demo import run_demo
from videoapi_async.cli._progress import RenderBoard

pytestmark = pytest.mark.simulated_time  # the demo reads the loop's clock: no real waits


class BoardError(Exception):
    pass


class FakeBoard:
    """Records what the demo shows; can fail on its first update, like a broken terminal."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.added: list[str] = []
        self.added_one = asyncio.Event()

    def add(self, key: str, label: str) -> None:
        self.added.append(key)
        self.added_one.set()

    def update(self, key: str, update: RenderUpdate) -> None:
        if self.fail:
            self.fail = False  # once: the other renders go on until the demo stops them
            raise BoardError(key)

    def finish(self, key: str, *, ok: bool, state: str) -> None:
        pass


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Collect what the loop reports (such as a task's exception never retrieved)."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        yield errors
    finally:
        loop.set_exception_handler(None)


@pytest.fixture
def running_at_close(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.Task[Any]]:
    """List the demo's follower tasks still running when its client begins to close."""
    running: list[asyncio.Task[Any]] = []
    close = VideoAPI.aclose

    async def aclose(self: VideoAPI) -> None:
        running.extend(
            task
            for task in asyncio.all_tasks()
            if not task.done() and "run_demo.<locals>.follow" in task.get_coro().__qualname__
        )
        await close(self)

    monkeypatch.setattr(VideoAPI, "aclose", aclose)
    return running


def others() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_a_finished_demo_leaves_no_task(running_at_close: list[asyncio.Task[Any]]) -> None:
    """After a demo that ran to the end, no task it started is still running."""
    board = FakeBoard()
    report = await run_demo(
        count=4, failure_rate=0.5, seed=3, speed=200, board=cast(RenderBoard, board)
    )
    assert report["summary"]["videos"] == 4
    assert running_at_close == []  # none outlives the client it polls with
    assert others() == set()


async def test_a_failing_demo_ends_every_follower(
    loop_errors: list[dict[str, Any]], running_at_close: list[asyncio.Task[Any]]
) -> None:
    """When following one render fails, every other follower has ended on return."""
    board = FakeBoard(fail=True)
    with pytest.raises(BoardError):
        await run_demo(count=6, failure_rate=0, seed=3, speed=1, board=cast(RenderBoard, board))
    assert len(board.added) == 6
    assert running_at_close == []  # none outlives the client it polls with
    assert others() == set()
    gc.collect()  # a task dropped with its exception unread reports it here
    assert loop_errors == []


async def test_an_interrupted_demo_ends_every_follower(
    loop_errors: list[dict[str, Any]], running_at_close: list[asyncio.Task[Any]]
) -> None:
    """Cancelling the demo (what Ctrl-C does) ends every task it started before it returns."""
    board = FakeBoard()
    run = asyncio.create_task(
        run_demo(count=6, failure_rate=0, seed=3, speed=1, board=cast(RenderBoard, board))
    )
    await board.added_one.wait()  # a follower is running
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert running_at_close == []  # none outlives the client it polls with
    assert others() == set()
    gc.collect()
    assert loop_errors == []
