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


class CoordinationListener(Protocol):
    """What a `Coordination` calls back with news from the other replicas.

    The client implements it; a backend calls these from its own task and never with
    news that the same replica published.
    """

    def on_state(self, video_id: str, state: str) -> None:
        """Take a state (JSON text) that the replica polling `video_id` published."""

    def on_event(self, video_id: str, state: str | None) -> None:
        """Take webhook news about `video_id`, with the video's final state if it had one."""

    def on_backoff(self, retry_after: float | None) -> None:
        """Slow down: another replica was answered 429 (``Retry-After`` in seconds)."""

    def wants(self, video_id: str) -> bool:
        """Say whether this replica still waits on `video_id` (its lease is kept while so)."""


class Coordination(Protocol):
    """A backend that lets replicas share leases, states and back-off signals.

    Every coroutine raises `CoordinationUnavailable` when the backend cannot be reached;
    the client then polls on its own. A backend serves one client: the client starts it
    with its listener on first use and closes it when the client closes.

    Attributes:
        lease_time: Seconds a lease lasts unless renewed. A backend renews the leases it
            holds (while `CoordinationListener.wants` them) well before they lapse, so a
            lease lapses only when its holder stops: a replica that died.
    """

    lease_time: float

    async def start(self, listener: CoordinationListener) -> None:
        """Connect, and start delivering the other replicas' news to `listener`."""

    async def claim(self, video_ids: Sequence[str]) -> list[Claim]:
        """Take or renew the lease on each video, if free or ours; one `Claim` per id."""

    async def publish_states(self, states: Sequence[tuple[str, str]]) -> None:
        """Store each ``(video_id, state)`` for a while, and send it to the other replicas."""

    async def publish_event(self, video_id: str, state: str | None) -> None:
        """Relay webhook news about a video (storing its final state, when given)."""

    async def publish_backoff(self, retry_after: float | None) -> None:
        """Tell the other replicas that this one was answered 429."""

    async def aclose(self) -> None:
        """Give up the leases held, stop listening, and close connections opened."""
