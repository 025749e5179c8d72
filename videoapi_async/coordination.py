"""Coordinate many replicas of a service, each holding its own `VideoAPI`.

Attach a coordination backend to a client in one line::

    from videoapi_async.coordination import RedisCoordination

    async with VideoAPI(coordination=RedisCoordination("redis://cache:6379/0")) as api:
        video = await api.wait_for_render(video_id)

Every replica attached to the same backend (and namespace) then shares three things:

* **webhook relay**: a verified event handed to any replica's
  `VideoAPI.handle_webhook_event` ends the waits on that video in every replica, and a
  wait that starts later still sees the final state, kept for a while in the backend;
* **polling**: each watched video is polled by one replica at a time, the holder of a
  lease on it, which publishes every new state to the others; when the holder dies its
  lease lapses and another replica takes the video over. The replicas present divide
  one client's poll concurrency (`PollPolicy.max_concurrent_polls`) among them, so
  together they have about the polls in flight of one client (the one holding the list
  poll, which polls for the others, keeps all of it);
* **back-off**: a 429 answer seen by one replica cuts a request rate that every replica
  then draws from (through the backend) until it has climbed back; a replica started
  meanwhile begins at that rate. Without a 429 nothing is shared and no request waits
  for the backend.

If the backend cannot be reached, waits poll the API on their own (and say so in a log
record of the ``videoapi_async`` logger); they never fail because of it.

This module imports no backend: `RedisCoordination` (the ``redis`` extra,
``pip install 'videoapi-async[redis]'``) is loaded only when first named. Any other
backend can implement the `Coordination` protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._coordination import (
    Claim,
    Coordination,
    CoordinationListener,
    CoordinationUnavailable,
    SharedLimit,
)

if TYPE_CHECKING:
    from ._redis_coordination import RedisCoordination

__all__ = [
    "Claim",
    "Coordination",
    "CoordinationListener",
    "CoordinationUnavailable",
    "RedisCoordination",
    "SharedLimit",
]


def __getattr__(name: str) -> Any:
    # Load the Redis backend (and redis-py) only when somebody names it.
    if name == "RedisCoordination":
        from ._redis_coordination import RedisCoordination

        return RedisCoordination
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
