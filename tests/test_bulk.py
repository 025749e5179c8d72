"""`run_together`: every task finishes, or none outlives the call."""

from __future__ import annotations

import asyncio

import pytest

from videoapi_async import run_together


async def test_results_come_back_in_order() -> None:
    """The results are in the order of the awaitables, whatever order they finish in."""

    async def after(turns: int, value: str) -> str:
        for _ in range(turns):
            await asyncio.sleep(0)
        return value

    assert await run_together([after(3, "a"), after(0, "b"), after(1, "c")]) == ["a", "b", "c"]
    assert await run_together([]) == []


async def test_a_failure_cancels_and_awaits_the_others() -> None:
    """When one task raises, the others are cancelled and have ended before it propagates."""
    ended: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(name)

    async def fail() -> None:
        await asyncio.sleep(0)
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await run_together([forever("a"), fail(), forever("b")])
    assert sorted(ended) == ["a", "b"]


async def test_cancelling_the_caller_cancels_every_task() -> None:
    """A caller cancelled while waiting leaves no task running behind it."""
    started = asyncio.Semaphore(0)
    ended: list[int] = []

    async def forever(index: int) -> None:
        started.release()
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(index)

    outer = asyncio.ensure_future(run_together(forever(i) for i in range(3)))
    for _ in range(3):
        await started.acquire()
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert sorted(ended) == [0, 1, 2]
