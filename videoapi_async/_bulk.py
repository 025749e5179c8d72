"""Bulk jobs: many coroutines run together, and many creates with one result per request.

`run_together` is the one way the library and the ``videoapi batch`` command run many
tasks at once: all of them finish, or none outlives the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import attrs

from ._errors import CreateOutcomeUnknownError, VideoAPIError
from ._models import CreateVideoRequest, Video

__all__ = ["CreateResult", "create_many", "run_together"]

_T = TypeVar("_T")


async def run_together(awaitables: Iterable[Awaitable[_T]]) -> list[_T]:
    """Run awaitables as concurrent tasks and return their results, in order.

    Like `asyncio.gather`, except that no task outlives the call: when one raises, or
    the caller is cancelled, the others are cancelled and awaited before the exception
    propagates (what `asyncio.TaskGroup` does from Python 3.11). Catch inside each
    awaitable the errors that should not stop the others.

    Raises:
        BaseException: The first exception a task raised, or `asyncio.CancelledError`
            when the caller was cancelled.
    """
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@attrs.frozen(kw_only=True)
class CreateResult:
    """What happened to one request of `VideoAPI.create_videos`.

    Attributes:
        index: The request's position in the input.
        request: The request itself.
        video: The created video, or None when the create failed.
        error: None on success; otherwise the error. A `CreateOutcomeUnknownError`
            means the video may exist anyway: find it before creating it again.
    """

    index: int
    request: CreateVideoRequest
    video: Video | None = None
    error: VideoAPIError | None = None

    @property
    def ok(self) -> bool:
        """Whether the video was created."""
        return self.video is not None

    @property
    def outcome_unknown(self) -> bool:
        """Whether the create was sent but its answer lost (the video may exist)."""
        return isinstance(self.error, CreateOutcomeUnknownError)


async def create_many(
    create: Callable[[CreateVideoRequest], Awaitable[Video]],
    requests: Sequence[CreateVideoRequest],
    *,
    concurrency: int,
    on_result: Callable[[CreateResult], None] | None = None,
) -> list[CreateResult]:
    """Run `create` for every request, at most `concurrency` at a time, in input order."""
    results: list[CreateResult | None] = [None] * len(requests)
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int, request: CreateVideoRequest) -> None:
        async with slots:
            try:
                result = CreateResult(index=index, request=request, video=await create(request))
            except VideoAPIError as exc:
                result = CreateResult(index=index, request=request, error=exc)
        results[index] = result
        if on_result is not None:
            on_result(result)

    await run_together(one(i, r) for i, r in enumerate(requests))
    return [r for r in results if r is not None]
