"""A local stand-in for the Hour One Video API, for tests, demos and benchmarks.

The sandbox is an independent aiohttp server (it shares no code with the client) that
answers ``GET/POST /videos``, ``GET/DELETE /videos/{video_id}`` and
``GET /videos/{video_id}/metadata`` under ``/api/v1`` the way the real service does:
same JSON shapes, FastAPI-style errors (422 with ``detail`` items, 404 ``Video not found``,
403 ``Not authenticated`` without an ``api-key``, 401 ``Invalid API key`` with a wrong one),
and renders that move ``not_started`` -> ``started`` -> ``processing`` -> a final status as
time passes. Each render's future is drawn from the seed and the video's creation index,
and its status is computed from the clock on every read, so 10,000 renders in flight cost
nothing between reads. On request it misbehaves, at random or exactly when told to::

    from videoapi_async import VideoAPI
    from videoapi_async.sandbox import RenderProfile, Sandbox

    profile = RenderProfile(min_duration=1, max_duration=5, failure_rate=0.1, time_scale=10)
    async with Sandbox(seed=7, render=profile) as sb:
        sb.faults.queue("GET /videos/{video_id}", "http_502", "http_503")
        async with VideoAPI(api_key=sb.api_key, base_url=sb.base_url) as client:
            ...  # the next two GETs of a video fail with an HTML 502, then a 503
        assert not sb.stats.duplicate_creates()  # no create body made two videos

Time: pass ``clock=ManualClock()`` and call ``clock.advance(seconds)`` to move renders on
without sleeping. Data: ``sb.create_video(body, outcome=..., status=...)``,
``sb.seed_videos(10_000)``, ``sb.set_status(id, "failed")``, ``sb.video(id)``,
``sb.new_api_key()`` (a second account). Faults: ``sb.faults.queue(route, *kinds)``
(scripted, in order), ``sb.faults.set_route(route, RouteFaults(rates=..., latency=...))``
(random, seeded), ``sb.faults.clear()``, ``sb.set_rate_limit(RateLimit(rate, burst))``.
Introspection: ``sb.stats`` (:class:`SandboxStats`: requests, responses, video_requests,
creates_by_body, created_ids, faults, ``renders()`` with detection delays),
``sb.reset_stats()``.

Standalone: ``python -m videoapi_async.sandbox --port 8080 --time-scale 10`` prints the base
URL and the API key and serves until Ctrl-C (``--help`` lists every option). In pytest, the
``videoapi_sandbox`` and ``videoapi_client`` fixtures come with the package (see
``pytest_plugin``).

Fault kinds, and what an aiohttp client sees (route keys: ``"GET /videos"``,
``"POST /videos"``, ``"GET /videos/{video_id}"``, ``"GET /videos/{video_id}/metadata"``,
``"DELETE /videos/{video_id}"``, or ``"*"`` for all)::

    delay           pause (FaultConfig.delay), then a normal answer
    http_429        429 JSON with Retry-After (seconds, or an HTTP date)
    http_500/2/3    HTML page as an nginx gateway sends it (text/html)
    reset           TCP reset before handling: ClientOSError (ECONNRESET), or
                    ServerDisconnectedError
    drop_response   handled (a create is stored), then closed without an answer:
                    ServerDisconnectedError
    truncated_json  Content-Length of the whole body, half of it, then close:
                    ClientPayloadError on read
    malformed_json  complete response, invalid JSON: json.JSONDecodeError from .json()
    slow_body       headers at once, body in pieces FaultConfig.slow_body_pause apart:
                    SocketTimeoutError (an asyncio.TimeoutError) under a shorter sock_read

The per-key rate limiter (:class:`RateLimit`) answers 429 with ``Retry-After`` in whole
seconds and counts as ``stats.faults["rate_limited"]``.

Speed: one sandbox process (one core) served about 14,000 ``GET /videos/{video_id}`` per
second, 18,000 per second of its own CPU time, to a load generator in a second process
(aiohttp, 32 keep-alive connections); ``GET /videos`` of an account of 1,000 finished
videos ran at about 3,300 per second. Measured with ``tests/sandbox/bench_sandbox_gets.py``
on x86_64, AMD EPYC (2 CPUs), Python 3.11.7, aiohttp 3.14.5.
"""

from ._app import Sandbox
from ._cli import build_arg_parser, config_from_args, main, serve
from ._clock import ManualClock
from ._config import (
    DEFAULT_RANDOM_FAULT_KINDS,
    FAULT_KINDS,
    FaultConfig,
    RateLimit,
    RenderProfile,
    RouteFaults,
    SandboxConfig,
    config_from_options,
)
from ._faults import Fault, FaultInjector, RateLimiter, TokenBucket, choose_fault
from ._routes import (
    ALL_ROUTES,
    ROUTE_CREATE,
    ROUTE_DELETE,
    ROUTE_GET,
    ROUTE_KEYS,
    ROUTE_LIST,
    ROUTE_METADATA,
)
from ._state import (
    FAILURE_STATUSES,
    STATUSES,
    SUCCESS_STATUSES,
    TERMINAL_STATUSES,
    RenderPlan,
    plan_render,
    render_state,
)
from ._stats import RenderTiming, SandboxStats, canonical_json
from ._store import VideoRecord
from ._validation import BodyError, CreateRequest, decode_json_body, validate_create_body

__all__ = [
    "ALL_ROUTES",
    "DEFAULT_RANDOM_FAULT_KINDS",
    "FAILURE_STATUSES",
    "FAULT_KINDS",
    "ROUTE_CREATE",
    "ROUTE_DELETE",
    "ROUTE_GET",
    "ROUTE_KEYS",
    "ROUTE_LIST",
    "ROUTE_METADATA",
    "STATUSES",
    "SUCCESS_STATUSES",
    "TERMINAL_STATUSES",
    "BodyError",
    "CreateRequest",
    "Fault",
    "FaultConfig",
    "FaultInjector",
    "ManualClock",
    "RateLimit",
    "RateLimiter",
    "RenderPlan",
    "RenderProfile",
    "RenderTiming",
    "RouteFaults",
    "Sandbox",
    "SandboxConfig",
    "SandboxStats",
    "TokenBucket",
    "VideoRecord",
    "build_arg_parser",
    "canonical_json",
    "choose_fault",
    "config_from_args",
    "config_from_options",
    "decode_json_body",
    "main",
    "plan_render",
    "render_state",
    "serve",
    "validate_create_body",
]
