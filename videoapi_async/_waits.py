"""What `VideoAPI.wait_for_render`, `render` and `wait_for_renders` return, and their results.

Each is both awaitable and an async iterator:

- ``await api.wait_for_render(id)`` gives the finished `Video`, or raises
  `RenderFailedError` / `RenderTimeoutError`;
- ``async for update in api.wait_for_render(id)`` yields a `RenderUpdate` each time the
  status or progress changes, never the same state twice, and ends after the terminal
  update (a deadline still raises `RenderTimeoutError`);
- ``await api.wait_for_renders(ids)`` gives one `RenderOutcome` per id, in input order,
  and never lets one failure abort the others;
- ``async for update in api.wait_for_renders(ids)`` yields a `BatchUpdate` per finished
  render, in completion order, with running counts.

Both are also coroutines, so ``asyncio.create_task(api.wait_for_render(id))`` (or of
``api.render(...)``, or of a batch) starts the wait in the background. Waiting is
polling, and polling is shared: however many of these wait on one video, it is polled
once per step (see `_poller`).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterable
from types import TracebackType
from typing import Any, TypeVar

import attrs

from ._cadence import PollPolicy
from ._errors import RenderFailedError, RenderTimeoutError, VideoAPIError
from ._models import Video, VideoStatus
from ._poller import Poller
from ._protocol import encode_id
from ._watch import Subscription
from .validators import check_seconds

__all__ = [
    "BatchUpdate",
    "BatchWait",
    "RenderOutcome",
    "RenderUpdate",
    "RenderWait",
    "check_timeout",
]

Clock = Callable[[], float]
Target = Callable[[], Awaitable[Video]]
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class RenderUpdate:
    """A change in a render's state, as seen by one waiter.

    Attributes:
        video_id: The video's id.
        status: Its status now.
        progress: Percent done (0 to 100), or None when the API does not know.
        elapsed: Seconds since this wait began.
        eta: Estimated seconds until the render finishes, once progress has been seen
            rising; None until then, and after it finishes.
        video: The full video as last polled.
    """

    video_id: str
    status: VideoStatus
    progress: int | None
    elapsed: float
    eta: float | None
    video: Video

    @property
    def is_terminal(self) -> bool:
        """Whether this is the last update: the render has ended."""
        return self.status.is_terminal


@attrs.frozen(kw_only=True)
class RenderOutcome:
    """How the wait for one render of a batch ended.

    Attributes:
        video_id: The video's id.
        video: The final video, or the last state seen (None if never seen).
        error: None when the render succeeded; otherwise why not:
            `RenderFailedError`, `RenderTimeoutError`, or the `VideoAPIError` that
            stopped the polling (for example `NotFoundError`).
    """

    video_id: str
    video: Video | None
    error: VideoAPIError | None = None

    @property
    def ok(self) -> bool:
        """Whether the render finished with a playable video."""
        return self.error is None

    @property
    def status(self) -> VideoStatus | None:
        """The render's last known status (None if it was never seen)."""
        return None if self.video is None else self.video.status

    @property
    def failed(self) -> bool:
        """Whether the render ended failed, cancelled or stopped."""
        return isinstance(self.error, RenderFailedError)

    @property
    def timed_out(self) -> bool:
        """Whether the wait's deadline came first (the render may still finish)."""
        return isinstance(self.error, RenderTimeoutError)


@attrs.frozen(kw_only=True)
class BatchUpdate:
    """One finished render of a batch, with the batch's running counts.

    Attributes:
        outcome: How this render ended.
        succeeded: Renders finished with a video so far.
        failed: Renders ended without one so far (failed, timed out, or errors).
        pending: Renders still being waited on.
        total: Distinct videos in the batch.
    """

    outcome: RenderOutcome
    succeeded: int
    failed: int
    pending: int
    total: int

    @property
    def done(self) -> int:
        """Renders finished so far, whatever the outcome."""
        return self.succeeded + self.failed


def check_timeout(timeout: float | None) -> float | None:
    return check_seconds(
        timeout, "a wait's timeout", infinite=True, none="waiting without a deadline"
    )


class _Wait(Coroutine[Any, Any, T]):
    """A wait that can be awaited (again and again) and run as a task.

    Each ``await`` runs `_result` afresh (they share the polling). As a coroutine, for
    ``asyncio.create_task``, ``send``, ``throw`` and ``close`` drive one run of
    `_result`, started on first use.
    """

    _run: Coroutine[Any, Any, T] | None = None

    async def _result(self) -> T:
        raise NotImplementedError

    def __await__(self) -> Generator[Any, None, T]:
        return self._result().__await__()

    def _started(self) -> Coroutine[Any, Any, T]:
        if self._run is None:
            self._run = self._result()
        return self._run

    def send(self, value: Any) -> Any:
        """Resume the run by sending `value` (what a task does); see `_Wait`."""
        return self._started().send(value)

    def throw(self, typ: Any, val: Any = None, tb: TracebackType | None = None, /) -> Any:
        """Raise an exception inside the run (what cancelling a task does)."""
        if val is None and tb is None:
            return self._started().throw(typ)
        return self._started().throw(typ, val, tb)  # pragma: no cover - old-style call

    def close(self) -> None:
        """Close the run, if one was started."""
        if self._run is not None:
            self._run.close()


class RenderWait(_Wait[Video]):
    """Awaitable and async-iterable wait for one render; see the module docstring."""

    def __init__(
        self,
        poller: Poller[Video],
        target: str | Video | Target,
        *,
        timeout: float | None,
        clock: Clock,
        poll: PollPolicy | None = None,
        on_created: Callable[[Video], object | Awaitable[object]] | None = None,
    ) -> None:
        self._poller = poller
        self._timeout = check_timeout(timeout)
        self._policy = poll
        self._clock = clock
        self._seed: Video | None = None
        self._video_id: str | None = None
        self._create: Target | None = None
        self._created: asyncio.Future[Video] | None = None
        self._on_created = on_created
        self._callback_error: Exception | None = None
        if isinstance(target, Video):
            self._seed, self._video_id = target, target.id
        elif isinstance(target, str):
            encode_id(target, "video_id")  # fail fast on ids that cannot be sent
            self._video_id = target
        elif callable(target):
            self._create = target
        else:
            raise TypeError(
                f"wait_for_render needs a video id (str) or a Video, got {type(target).__name__}"
            )

    def __repr__(self) -> str:
        what = self._video_id if self._video_id is not None else "(not created yet)"
        return f"<RenderWait video_id={what!r} timeout={self._timeout!r}>"

    @property
    def video_id(self) -> str | None:
        """The id waited on; for `VideoAPI.render`, None until the create has answered.

        It is set the moment the create answers, before any poll.
        """
        return self._video_id

    async def created_video_id(self) -> str:
        """Return the id waited on; for `VideoAPI.render`, once the create has answered.

        Starts the create if nothing has yet (it is still sent once), and returns once
        `VideoAPI.render`'s ``on_created`` has run (an async one to its end). The render
        is not waited for. Raises what the create raised, such as `CreateOutcomeUnknownError`
        (pass it to `VideoAPI.find_created_video`).
        """
        if self._video_id is None:
            await asyncio.shield(self._start_create())
        assert self._video_id is not None
        return self._video_id

    def _start_create(self) -> asyncio.Future[Video]:
        """Start the create once, however many times this object is awaited or iterated."""
        if self._created is None:
            self._created = asyncio.ensure_future(self._create_and_announce())
            # Retrieving the failure here also means no "exception was never retrieved".
            self._created.add_done_callback(lambda future: future.cancelled() or future.exception())
        return self._created

    async def _create_and_announce(self) -> Video:
        assert self._create is not None
        video = await self._create()
        # The video exists (and is billed) from here on: record its id before anything
        # else can fail, so that neither `video_id` nor `created_video_id` loses it.
        self._seed, self._video_id = video, video.id
        if self._on_created is not None:
            try:
                announced = self._on_created(video)
                if inspect.isawaitable(announced):
                    await announced  # an async callback finishes before any poll
            except Exception as exc:  # ends the wait, not the create
                self._callback_error = exc
        return video

    async def _subscribe(self) -> Subscription[Video]:
        if self._video_id is None:
            await asyncio.shield(self._start_create())
        if self._callback_error is not None:
            raise self._callback_error
        assert self._video_id is not None
        return self._poller.subscribe(
            self._video_id, timeout=self._timeout, seed=self._seed, policy=self._policy
        )

    async def _result(self) -> Video:
        sub = await self._subscribe()
        try:
            return await sub.outcome
        finally:
            self._poller.unsubscribe(sub)

    def __aiter__(self) -> AsyncIterator[RenderUpdate]:
        return _Updates(self)


class _Updates:
    """The iterator behind ``async for update in wait``; unsubscribes when dropped."""

    def __init__(self, wait: RenderWait) -> None:
        self._wait = wait
        self._sub: Subscription[Video] | None = None
        self._last: tuple[str, int | None] | None = None
        self._ended = False

    def __aiter__(self) -> _Updates:
        return self

    async def __anext__(self) -> RenderUpdate:
        if self._ended:
            raise StopAsyncIteration
        if self._sub is None:
            self._sub = await self._wait._subscribe()
        sub = self._sub
        while True:
            video = sub.latest
            if video is not None and (video.status.value, video.progress) != self._last:
                self._last = (video.status.value, video.progress)
                if video.is_terminal:
                    self._close()
                now = self._wait._clock()
                return RenderUpdate(
                    video_id=sub.video_id,
                    status=video.status,
                    progress=video.progress,
                    elapsed=now - sub.started,
                    eta=None if video.is_terminal else sub.eta(now),
                    video=video,
                )
            if sub.finished:
                self._close()
                error = sub.outcome.exception()
                if error is not None and not isinstance(error, RenderFailedError):
                    raise error
                raise StopAsyncIteration
            try:
                await sub.changed()
            except asyncio.CancelledError:
                # A cancelled waiter stops its share of the polling at once.
                self._close()
                raise

    def _close(self) -> None:
        self._ended = True
        if self._sub is not None:
            self._wait._poller.unsubscribe(self._sub)

    async def aclose(self) -> None:
        """Stop iterating and stop polling for this waiter."""
        self._close()

    def __del__(self) -> None:
        if not self._ended and self._sub is not None:
            self._close()


class BatchWait(_Wait[list[RenderOutcome]]):
    """Awaitable and async-iterable wait for many renders; see the module docstring."""

    def __init__(
        self,
        poller: Poller[Video],
        video_ids: Iterable[str | Video],
        *,
        timeout: float | None,
        poll: PollPolicy | None = None,
    ) -> None:
        self._poller = poller
        self._timeout = check_timeout(timeout)
        self._policy = poll
        if isinstance(video_ids, (str, Video)):
            raise TypeError(
                "wait_for_renders takes a list of video ids; for one, use wait_for_render"
            )
        self._order: list[str] = []
        self._seeds: dict[str, Video | None] = {}
        for item in video_ids:
            if isinstance(item, Video):
                self._order.append(item.id)
                self._seeds[item.id] = item
            elif isinstance(item, str):
                encode_id(item, "video_id")
                self._order.append(item)
                self._seeds.setdefault(item, None)
            else:
                raise TypeError(
                    f"wait_for_renders takes video ids (str) or Videos, got {type(item).__name__}"
                )

    def __repr__(self) -> str:
        return f"<BatchWait videos={len(self._seeds)} timeout={self._timeout!r}>"

    def __len__(self) -> int:
        return len(self._order)

    def _subscribe_all(self) -> dict[str, Subscription[Video]]:
        subs: dict[str, Subscription[Video]] = {}
        try:
            for video_id, seed in self._seeds.items():
                subs[video_id] = self._poller.subscribe(
                    video_id, timeout=self._timeout, seed=seed, policy=self._policy
                )
        except BaseException:
            for sub in subs.values():
                self._poller.unsubscribe(sub)
            raise
        return subs

    async def _result(self) -> list[RenderOutcome]:
        subs = self._subscribe_all()
        try:
            if subs:
                await asyncio.wait([sub.outcome for sub in subs.values()])
            outcomes = {video_id: _outcome(sub) for video_id, sub in subs.items()}
        finally:
            for sub in subs.values():
                self._poller.unsubscribe(sub)
        return [outcomes[video_id] for video_id in self._order]

    def __aiter__(self) -> AsyncIterator[BatchUpdate]:
        return self._updates()

    async def _updates(self) -> AsyncIterator[BatchUpdate]:
        subs = self._subscribe_all()
        finished: asyncio.Queue[Subscription[Video]] = asyncio.Queue()
        for sub in subs.values():
            sub.outcome.add_done_callback(functools.partial(_put, finished, sub))
        succeeded = failed = 0
        try:
            for _ in range(len(subs)):
                sub = await finished.get()
                outcome = _outcome(sub)
                self._poller.unsubscribe(sub)
                if outcome.ok:
                    succeeded += 1
                else:
                    failed += 1
                yield BatchUpdate(
                    outcome=outcome,
                    succeeded=succeeded,
                    failed=failed,
                    pending=len(subs) - succeeded - failed,
                    total=len(subs),
                )
        finally:
            for sub in subs.values():
                self._poller.unsubscribe(sub)


def _put(queue: asyncio.Queue[Subscription[Video]], sub: Subscription[Video], _: object) -> None:
    queue.put_nowait(sub)


def _outcome(sub: Subscription[Video]) -> RenderOutcome:
    future = sub.outcome
    if future.cancelled():
        return RenderOutcome(video_id=sub.video_id, video=sub.latest, error=None)
    error = future.exception()
    if error is None:
        return RenderOutcome(video_id=sub.video_id, video=future.result())
    if not isinstance(error, VideoAPIError):
        raise error
    return RenderOutcome(
        video_id=sub.video_id, video=getattr(error, "video", None) or sub.latest, error=error
    )
