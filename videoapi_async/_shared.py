"""Connect one client's render poller and request budget to a `Coordination` backend.

`SharedPolls` is the only thing the poller and the request path talk to when a client
has ``coordination=``: it turns videos into the JSON text the backend stores and back,
sends what this replica learns (states it polled, webhook news, 429s) in batches from
one writer task, and hands the other replicas' news to the poller and the budget, and
the count of replicas present to the poller, which polls with its share. After
a 429 it is also the budget's `SharedRate`: it asks the backend to cut the rate every
replica draws from, and takes each request's slot from it while that limit is in force.

It also owns the fallback. When the backend raises `CoordinationUnavailable`, every
claim answers "poll it yourself" (without asking the backend again for `_PROBE`
seconds), publishing stops, the budget paces requests with its local AIMD alone, the
poller takes back its whole concurrency, and one warning says so; one more record says
when the backend answers again. A wait never fails because the backend did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Final, Generic, Protocol, TypeVar

import attrs

from ._budget import RateLimit
from ._converters import converter
from ._coordination import Coordination, CoordinationUnavailable, SharedLimit
from ._errors import ResponseDecodeError
from ._models import Video
from ._protocol import parse_video

__all__ = ["LIST_POLL", "Lease", "PollShare", "SharedPolls"]

logger: Final = logging.getLogger("videoapi_async")

J = TypeVar("J")

_PROBE: Final = 1.0  # seconds between attempts to reach a backend that failed
_FLUSH: Final = 1.0  # seconds allowed, on close, to send what is still pending
LIST_POLL: Final = "*list-poll*"
"""The lease id of the list poll: one replica at a time reads the list for all of them."""


@attrs.frozen
class Lease(Generic[J]):
    """The poller's view of a claim: poll the job yourself, or leave it to another replica.

    Attributes:
        held: Poll it (this replica holds the lease, or the backend is unreachable).
        state: The latest state shared by any replica, if one is known.
        retry_in: When not held: seconds until the holder's lease could lapse.
    """

    held: bool
    state: J | None = None
    retry_in: float | None = None


class PollShare(Protocol[J]):
    """What a poller calls when its client is coordinated with other replicas."""

    @property
    def lease_time(self) -> float:
        """Seconds a replica's lease lasts unless renewed."""

    async def claim(self, job_ids: Sequence[str]) -> list[Lease[J]]:
        """Before polling: whether to poll each job here, and its latest shared state."""

    async def claim_list(self, job_ids: Sequence[str]) -> bool:
        """Before a list call: whether this replica lists for all (then it claims the jobs).

        A replica that does not list claims none of the jobs: it leaves them to the one
        that does, which reads them all, by list or one by one.
        """

    def publish(self, job: J, *, always: bool = False) -> None:
        """After polling: share the state read (sent later, from a task of its own).

        `always` shares it even when it has not changed: the replicas that leave a job
        to the list poll hear that it was read.
        """


def encode_video(video: Video) -> str:
    """Return a video as the JSON text shared between replicas."""
    return json.dumps(converter.unstructure(video), separators=(",", ":"))


def decode_video(state: str) -> Video | None:
    """Read a shared state back; None (logged) when it is not a video."""
    try:
        return parse_video(json.loads(state), method="SHARED", path="state")
    except (ValueError, ResponseDecodeError) as exc:
        logger.debug("ignored a shared state that is not a video: %s", exc)
        return None


class SharedPolls:
    """One client's link to a `Coordination` backend, with the fallback when it is down.

    Args:
        coordination: The backend.
        feed: Hands a job's news to the render poller: ``feed(video_id, video, webhook)``.
        watching: Says whether the render poller still watches a video.
        divide: Gives the render poller its share of the polling among the replicas
            present: ``divide(replicas)``.
        backoff: Slows the request budget as if this replica had been answered 429.
        follow: Makes the budget draw from the shared limit: ``follow(remaining,
            paused_for)``, seconds.
        limit: The budget's `RateLimit`, whose factors a shared cut uses.
        clock: The client's monotonic clock.
    """

    def __init__(
        self,
        coordination: Coordination,
        *,
        feed: Callable[[str, Video | None, bool], object],
        watching: Callable[[str], bool],
        divide: Callable[[int], None],
        backoff: Callable[[float | None], None],
        follow: Callable[[float, float], None],
        limit: RateLimit,
        clock: Callable[[], float],
    ) -> None:
        self.coordination = coordination
        self._feed = feed
        self._watching = watching
        self._divide = divide
        self._backoff = backoff
        self._follow = follow
        self._limit = limit
        self._clock = clock
        self._started: asyncio.Future[None] | None = None
        self._down_until: float | None = None  # set while the backend is unreachable
        self._published: dict[str, tuple[str, int | None]] = {}
        self._states: dict[str, str] = {}
        self._events: list[tuple[str, str | None]] = []
        self._rate_limited: list[tuple[float | None, float | None]] = []
        self._generation = 0  # the last shared cut this replica knows of
        self._listed_at: float | None = None  # when this replica last held the list lease
        self._replicas = 1  # the replicas present, as last counted
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def lease_time(self) -> float:
        """Seconds a replica's lease lasts unless renewed (the backend's)."""
        return self.coordination.lease_time

    @property
    def available(self) -> bool:
        """Whether the backend answered the last time it was asked."""
        return self._down_until is None

    # --- the backend's state --------------------------------------------------------------

    def _failed(self, exc: BaseException) -> None:
        if self._down_until is None:
            logger.warning(
                "coordination unavailable (%s): waits poll the API on their own, and this "
                "client paces its requests alone and polls with its whole concurrency, until "
                "it answers again",
                exc,
            )
        self._down_until = self._clock() + _PROBE
        self._divide(1)

    def _answered(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            logger.warning("coordination answers again: polling is shared between replicas")

    def _skip(self) -> bool:
        return self._down_until is not None and self._clock() < self._down_until

    def _begin(self) -> asyncio.Future[None]:
        if self._started is None:
            self._started = asyncio.ensure_future(self._do_start())
        return self._started

    async def start(self) -> None:
        """Start the backend and the writer (once; later calls wait for the first)."""
        await asyncio.shield(self._begin())

    async def _do_start(self) -> None:
        self._wake = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(
            self._write(), name="videoapi_async-coordination-writer"
        )
        try:
            await self.coordination.start(self)
        except CoordinationUnavailable as exc:
            self._failed(exc)
        self._wake.set()  # send what came before the start

    # --- what the poller calls ------------------------------------------------------------

    async def claim(self, video_ids: Sequence[str]) -> list[Lease[Video]]:
        """Claim the polling of each video: one `Lease` per id, in order.

        The replica that lists for all polls every video it waits on, whoever holds the
        video's lease (a replica that polled it alone while the list was late): the
        others leave their videos to it, and it must be able to read them one by one
        when that is cheaper than a list call. Each of its claims renews the list lease.
        """
        if not self._listing():
            return await self._claim(video_ids)
        leases = await self._claim([*video_ids, LIST_POLL])
        if not leases.pop().held:
            self._listed_at = None  # another replica lists now
            self._share()
            return leases
        self._listed_at = self._clock()
        return [lease if lease.held else Lease(True, lease.state) for lease in leases]

    async def _claim(self, video_ids: Sequence[str]) -> list[Lease[Video]]:
        await self.start()
        if self._skip() or self._closed:
            return [Lease(True) for _ in video_ids]
        try:
            claims = await self.coordination.claim(video_ids)
        except Exception as exc:  # whatever went wrong, the waits poll on their own
            self._failed(exc)
            return [Lease(True) for _ in video_ids]
        self._answered()
        return [
            Lease(
                claim.held,
                decode_video(claim.state) if claim.state is not None else None,
                claim.expires_in,
            )
            for claim in claims
        ]

    async def claim_list(self, video_ids: Sequence[str]) -> bool:
        """Claim the list poll; True: list for everybody (the videos are claimed too).

        The list lease is claimed alone first: a replica that does not get it takes no
        video lease, so the leases of the videos it leaves to the list are never split
        between replicas, and the one that lists holds them (a replica that polls one
        alone, not having heard of it in time, finds it held and takes its state).
        """
        (lease,) = await self._claim([LIST_POLL])
        if not lease.held:
            self._listed_at = None
            self._share()
            return False
        self._listed_at = self._clock()
        self._share()
        await self._claim(video_ids)
        return True

    def _share(self) -> None:
        """Poll with the whole concurrency while listing for all, else with a share.

        The holder of the list poll makes nearly every poll of the renders it lists for
        the others, and its cost model must time polls as one client sends them: with a
        quarter of the concurrency, less crowded polls look cheaper, and it polls one by
        one renders that one client would list.
        """
        self._divide(1 if self._listing() else self._replicas)

    def _listing(self) -> bool:
        """Whether this replica holds the list lease and still lists or polls for all."""
        return (
            not self._closed
            and self._listed_at is not None
            and self._clock() - self._listed_at < 2 * self.lease_time
        )

    def publish(self, video: Video, *, always: bool = False) -> None:
        """Share a state this replica read, if it differs from the last one shared."""
        seen = (video.status.value, video.progress)
        # The replica listing for all shares every read: the others wait to hear of it.
        always = always or self._listing()
        if self._published.get(video.id) == seen and not always:
            return
        if video.is_terminal:
            self._published.pop(video.id, None)
        else:
            self._published[video.id] = seen
        self._states[video.id] = encode_video(video)
        self._kick()

    def relay_event(self, video_id: str, video: Video | None) -> None:
        """Share webhook news received by this replica."""
        self._events.append((video_id, None if video is None else encode_video(video)))
        self._kick()

    def rate_limited(self, retry_after: float | None, rate: float | None) -> None:
        """Share a fresh 429 this replica received, with its own request rate."""
        self._rate_limited.append((retry_after, rate))
        self._kick()

    async def take(self) -> float | None:
        """Take a request slot from the shared limit; None to pace locally instead."""
        if self._skip() or self._closed:
            return None
        try:
            wait = await self.coordination.take_slot()
        except Exception as exc:  # whatever went wrong, the budget paces on its own
            self._failed(exc)
            return None
        self._answered()
        return wait

    def _apply(self, limit: SharedLimit) -> None:
        if limit.generation < self._generation:
            return  # older news than the cut already followed
        self._generation = limit.generation
        self._follow(limit.remaining, limit.paused_for)

    def _kick(self) -> None:
        if self._closed:
            return  # what comes after closing is not sent
        if self._wake is None:
            self._begin()  # nothing polled yet (a webhook or a 429 came first)
        else:
            self._wake.set()

    async def _write(self) -> None:
        # Ends on `_closed` rather than on cancellation, which asyncio.wait_for (in the
        # backend's calls) can swallow on Python < 3.12.
        assert self._wake is not None
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not (self._states or self._events or self._rate_limited):
            return
        states, self._states = list(self._states.items()), {}
        events, self._events = self._events, []
        backoffs, self._rate_limited = self._rate_limited, []
        for video_id in [v for v in self._published if not self._watching(v)]:
            del self._published[video_id]
        if self._skip():
            return  # the others poll on their own meanwhile
        try:
            for video_id, state in events:
                await self.coordination.publish_event(video_id, state)
            if states:
                await self.coordination.publish_states(states)
            if backoffs:
                await self._cut(backoffs)
        except CoordinationUnavailable as exc:
            self._failed(exc)
        else:
            self._answered()

    async def _cut(self, backoffs: list[tuple[float | None, float | None]]) -> None:
        pauses = [pause for pause, _ in backoffs if pause is not None]
        rates = [rate for _, rate in backoffs if rate is not None]
        limit = self._limit
        shared = await self.coordination.cut_rate(
            self._generation,
            max(rates) if rates else None,
            max(pauses) if pauses else None,
            backoff_factor=limit.backoff_factor,
            min_rate=limit.min_requests_per_second,
            burst=limit.burst,
            recovery=limit.recovery,
        )
        if shared is not None:
            self._apply(shared)

    # --- what the backend calls (CoordinationListener) ---------------------------------

    def on_state(self, video_id: str, state: str) -> None:
        """Take a state another replica polled."""
        video = decode_video(state)
        if video is not None and video.id == video_id:
            self._feed(video_id, video, False)

    def on_event(self, video_id: str, state: str | None) -> None:
        """Take webhook news another replica received."""
        video = None if state is None else decode_video(state)
        self._feed(video_id, video if video is not None and video.id == video_id else None, True)

    def on_limit(self, limit: SharedLimit) -> None:
        """Draw from a limit a replica set after a 429 (slowing down locally too)."""
        if limit.generation > self._generation:
            self._backoff(limit.paused_for or None)
        self._apply(limit)

    def on_replicas(self, count: int | None) -> None:
        """Poll with this replica's share among `count` replicas (None: Redis is away)."""
        if count is None:
            self._failed(CoordinationUnavailable("the replicas present could not be counted"))
        else:
            self._replicas = max(count, 1)
            self._share()

    def wants(self, video_id: str) -> bool:
        """Whether this client still waits on the video (or, for `LIST_POLL`, lists)."""
        if video_id == LIST_POLL:
            # Kept while its holder lists or polls for all; released when it stops.
            if not self._listing():
                self._share()
                return False
            return True
        return not self._closed and self._watching(video_id)

    # --- lifetime -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Send what is pending (briefly), then close the backend."""
        if self._closed:
            return
        self._closed = True
        writer = self._writer
        if writer is not None and self._wake is not None:
            self._wake.set()  # one last flush of what is pending, then it ends
            await asyncio.wait({writer}, timeout=_FLUSH)
            if not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
        if self._started is not None:
            await self.coordination.aclose()
