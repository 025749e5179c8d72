"""The `Coordination` protocol and its answers; see `videoapi_async.coordination`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

__all__ = [
    "Claim",
    "Coordination",
    "CoordinationListener",
    "CoordinationUnavailable",
    "SharedLimit",
]


class CoordinationUnavailable(Exception):
    """The coordination backend cannot be reached (or did not answer in time).

    A `Coordination` raises only this for backend trouble; the client then falls back to
    polling on its own until the backend answers again.
    """


@attrs.frozen
class Claim:
    """The answer to a lease claim on one video.

    Attributes:
        held: Whether this replica holds the lease now, and so polls the video itself.
        state: The latest state any replica published for the video (JSON text), or None.
        expires_in: When another replica holds the lease: the seconds until it lapses
            unless renewed. None when `held`.
    """

    held: bool
    state: str | None = None
    expires_in: float | None = None


@attrs.frozen
class SharedLimit:
    """A request rate all replicas draw from, in force since one of them was answered 429.

    The rate climbs linearly from `reduced` to `ceiling` over `recovery` seconds after
    the cut, and keeps climbing at that pace for as long again; then the limit lapses
    and nothing is shared until the next 429. (Were it to lapse at `ceiling`, every
    replica would stop pacing at the same moment, and their joint burst would meet the
    server's limit harder than any one replica alone.)

    Attributes:
        generation: Counts the cuts: a 429 to a request sent before the replica knew of
            this generation is the same congestion, not a new one.
        reduced: Requests per second, all replicas together, right after the cut.
        ceiling: The rate reached `recovery` seconds after the cut.
        elapsed: Seconds since the cut.
        recovery: Seconds the climb to `ceiling` takes.
        remaining: Seconds until the limit lapses.
        paused_for: Seconds every replica still waits (``Retry-After``) before sending.
    """

    generation: int
    reduced: float
    ceiling: float
    elapsed: float
    recovery: float
    remaining: float
    paused_for: float = 0.0


class CoordinationListener(Protocol):
    """What a `Coordination` calls back with news from the other replicas.

    The client implements it; a backend calls these from its own task and never with
    news that the same replica published.
    """

    def on_state(self, video_id: str, state: str) -> None:
        """Take a state (JSON text) that the replica polling `video_id` published."""

    def on_event(self, video_id: str, state: str | None) -> None:
        """Take webhook news about `video_id`, with the video's final state if it had one."""

    def on_limit(self, limit: SharedLimit) -> None:
        """Slow down: a replica was answered 429, and `limit` is now in force."""

    def on_replicas(self, count: int | None) -> None:
        """Take the number of replicas present, this one included (None: unknown).

        The replicas together poll with the concurrency of one client: each takes its
        share. None (the backend could not be reached) makes this replica act alone.
        """

    def wants(self, video_id: str) -> bool:
        """Say whether this replica still waits on `video_id` (its lease is kept while so)."""


class Coordination(Protocol):
    """A backend that lets replicas share leases, states and a rate limit after a 429.

    Every coroutine raises `CoordinationUnavailable` when the backend cannot be reached;
    the client then polls on its own. A backend serves one client: the client starts it
    with its listener on first use and closes it when the client closes.

    A backend that can count the replicas present tells the listener
    (`CoordinationListener.on_replicas`) when it starts and whenever the count changes,
    and takes a replica that stops for gone within `lease_time`; one that never does
    leaves each client its full concurrency.

    Attributes:
        lease_time: Seconds a lease lasts unless renewed. A backend renews the leases it
            holds (while `CoordinationListener.wants` them) well before they lapse, so a
            lease lapses only when its holder stops: a replica that died.
    """

    lease_time: float

    async def start(self, listener: CoordinationListener) -> None:
        """Connect, and start delivering the other replicas' news to `listener`.

        A shared limit already in force is handed to `listener.on_limit`, and the
        replicas present (this one included) to `listener.on_replicas`, before this
        returns, so that a replica starting late begins at the shared rate and share.
        """

    async def claim(self, video_ids: Sequence[str]) -> list[Claim]:
        """Take or renew the lease on each video, if free or ours; one `Claim` per id."""

    async def publish_states(self, states: Sequence[tuple[str, str]]) -> None:
        """Store each ``(video_id, state)`` for a while, and send it to the other replicas."""

    async def publish_event(self, video_id: str, state: str | None) -> None:
        """Relay webhook news about a video (storing its final state, when given)."""

    async def cut_rate(
        self,
        generation: int,
        rate: float | None,
        retry_after: float | None,
        *,
        backoff_factor: float,
        min_rate: float,
        burst: int,
        recovery: float,
    ) -> SharedLimit | None:
        """Cut the shared rate after a 429 and tell every replica (`on_limit`).

        `generation` is the last one this replica knew of: when another replica cut
        since, the rate is not cut again (only the pause is extended). `rate` is this
        replica's own request rate, used (times the replicas) when no limit is in force
        yet. Returns the limit now in force, or None when no rate could be told.
        """

    async def take_slot(self) -> float | None:
        """Take one request slot from the shared limit.

        Returns 0 when taken, the seconds to wait before asking again, or None when no
        shared limit is in force (each replica then paces itself).
        """

    async def aclose(self) -> None:
        """Give up the leases held, stop listening, and close connections opened."""
