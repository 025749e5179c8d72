"""Choosing which fault a request (or a webhook delivery) gets, and the per-key rate limiter.

Two ways to ask for faults, both changeable while the sandbox runs:

* scripted: ``injector.queue("GET /videos/{video_id}", "http_502", "http_503")`` gives the
  next two matching requests these faults, in order, then normal behaviour again;
* random: per-route probabilities (:class:`RouteFaults`) drawn from a RNG seeded by the
  sandbox seed and the route, so the sequence of faults on a route is reproducible.

A scripted fault wins over a random one. Route-specific queues are served before the
``"*"`` queue.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

from ._config import FAULT_KINDS, FaultConfig, RouteFaults, ServerRateLimit, _optional_seconds
from ._routes import ALL_ROUTES, ROUTE_KEYS, check_route_key

__all__ = [
    "AFTER_HANDLING_KINDS",
    "Fault",
    "FaultInjector",
    "RateLimiter",
    "TokenBucket",
    "choose_fault",
    "gateway_page",
    "pick_kind",
]

AFTER_HANDLING_KINDS: Final = frozenset(
    {"drop_response", "truncated_json", "malformed_json", "slow_body"}
)
"""Kinds applied after the request is handled (a create is stored); the rest act before."""

_REASONS: Final = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
}


def gateway_page(status: int) -> bytes:
    """Return the HTML error page an nginx gateway sends for ``status``."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _check_kind(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {value!r}: use one of {', '.join(FAULT_KINDS)}")


@attrs.frozen
class Fault:
    """One fault to inject, with optional parameters overriding the :class:`FaultConfig`.

    ``retry_after`` (seconds) and ``retry_after_date`` shape an ``http_429``; ``seconds`` is
    the pause of a ``delay`` or between the pieces of a ``slow_body``.
    """

    kind: str = attrs.field(validator=_check_kind)
    retry_after: float | None = attrs.field(default=None, validator=_optional_seconds)
    retry_after_date: bool | None = None
    seconds: float | None = attrs.field(default=None, validator=_optional_seconds)


def choose_fault(rates: RouteFaults, draw: float) -> str | None:
    """Return the fault kind that the uniform ``draw`` in ``[0, 1)`` selects, if any."""
    return pick_kind(rates.rates, FAULT_KINDS, draw)


def pick_kind(rates: Mapping[str, float], kinds: Sequence[str], draw: float) -> str | None:
    """Return the one of ``kinds`` that ``draw`` in ``[0, 1)`` selects under ``rates``, if any."""
    cumulative = 0.0
    for kind in kinds:
        rate = rates.get(kind, 0.0)
        if rate <= 0:
            continue
        cumulative += rate
        if draw < cumulative:
            return kind
    return None


class FaultInjector:
    """Decides the fault of each request; reachable as ``Sandbox.faults``."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._config = config
        self._rngs = {
            route: random.Random(f"videoapi-sandbox:{seed}:faults:{route}") for route in ROUTE_KEYS
        }
        self._latency_rng = random.Random(f"videoapi-sandbox:{seed}:latency")
        self._queues: dict[str, deque[Fault]] = {}

    @property
    def config(self) -> FaultConfig:
        """The random-fault settings and fault parameters in force."""
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace every random-fault setting and fault parameter (queued faults stay)."""
        if not isinstance(config, FaultConfig):
            raise TypeError(f"expected a FaultConfig, got {type(config).__name__}")
        self._config = config

    def set_route(self, route: str, faults: RouteFaults | None) -> None:
        """Set (or with ``None`` remove) the random faults of one route key or ``"*"``."""
        routes = dict(self._config.routes)
        if faults is None:
            routes.pop(check_route_key(route), None)
        else:
            routes[check_route_key(route)] = faults
        self._config = attrs.evolve(self._config, routes=routes)

    def queue(self, route: str, *faults: str | Fault) -> None:
        """Give the next requests to ``route`` (or any route, ``"*"``) these faults in order."""
        check_route_key(route)
        items = [fault if isinstance(fault, Fault) else Fault(fault) for fault in faults]
        self._queues.setdefault(route, deque()).extend(items)

    def pending(self, route: str | None = None) -> int:
        """Return how many scripted faults are still queued (for one route key, or all)."""
        if route is None:
            return sum(len(queue) for queue in self._queues.values())
        return len(self._queues.get(check_route_key(route), ()))

    def clear(self) -> None:
        """Drop every queued fault and every random-fault rate; keep the fault parameters."""
        self._queues.clear()
        self._config = attrs.evolve(self._config, routes={})

    def _route_faults(self, route: str) -> RouteFaults | None:
        routes = self._config.routes
        return routes.get(route) or routes.get(ALL_ROUTES)

    def latency(self, route: str) -> float:
        """Return the seconds to add to a request to ``route``."""
        faults = self._route_faults(route)
        if faults is None:
            return 0.0
        jitter = faults.latency_jitter
        return faults.latency + (self._latency_rng.uniform(0, jitter) if jitter else 0.0)

    def pick(self, route: str) -> Fault | None:
        """Return the fault of the next request to ``route``, or ``None`` (consumes it)."""
        if self._queues:
            for key in (route, ALL_ROUTES):
                queue = self._queues.get(key)
                if queue:
                    fault = queue.popleft()
                    if not queue:
                        del self._queues[key]
                    return fault
        faults = self._route_faults(route)
        if faults is None or not faults.rates:
            return None
        kind = choose_fault(faults, self._rngs[route].random())
        return Fault(kind) if kind is not None else None


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst``. Starts full."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token at time ``now``; return 0.0, or the seconds until one is back."""
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One :class:`TokenBucket` per API key (requests without a key share one)."""

    def __init__(self, limit: ServerRateLimit | None, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def configure(self, limit: ServerRateLimit | None) -> None:
        """Change the limit (``None`` switches it off); buckets start full again."""
        self.limit = limit
        self._buckets.clear()

    def check(self, api_key: str) -> int | None:
        """Take a token for ``api_key``; return ``None`` or the ``Retry-After`` in seconds."""
        limit = self.limit
        if limit is None:
            return None
        now = self._clock()
        bucket = self._buckets.get(api_key)
        if bucket is None:
            bucket = self._buckets[api_key] = TokenBucket(limit.rate, limit.burst, now)
        wait = bucket.take(now)
        if wait <= 0:
            return None
        return max(1, math.ceil(wait))
