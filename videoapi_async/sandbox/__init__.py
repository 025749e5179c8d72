"""A local stand-in for the Hour One Video API, for tests, demos and benchmarks.

The sandbox is an independent aiohttp server (it shares only the vendor's enums and
limits, `videoapi_async.contract`, with the client) that answers the API under
``/api/v1`` the way the real service does: same JSON shapes, FastAPI-style errors
(422 with ``detail`` items, 404 ``Video not found``, 403 ``Not authenticated`` without
an ``api-key``, 401 ``Invalid API key`` with a wrong one, 405 with ``Allow``, 307 to
strip a trailing slash), and renders that move ``not_started`` -> ``started`` ->
``processing`` -> a final status as time passes. Routes::

    GET    /videos                        200 [Video]
    POST   /videos                        201 Video (three tagged forms + the flat one)
    GET    /videos/{video_id}             200 Video
    DELETE /videos/{video_id}             204
    GET    /videos/{video_id}/metadata    200 VideoMetadata (scene timings)
    POST   /videos/{video_id}/subtitles   201 {language_code, format, url}
    POST   /voice-preview                 201 {id, transcript, voice_id, req_id, status}
    GET    /voice-preview/{task_id}       200 {id, req_id, status, url?}
    GET    /analytics/summary             200 [{day?, week?, month?, year,
                                                videos_created, total_duration}]

and under ``Authorization: Bearer <Sandbox.bearer_token>`` instead of the ``api-key``::

    GET    /webhooks                      200 [Webhook]
    POST   /webhooks                      201 Webhook (with its ``whsec_`` signing secret)
    GET    /webhooks/{webhook_id}         200 Webhook
    PUT    /webhooks/{webhook_id}         200 Webhook
    DELETE /webhooks/{webhook_id}         204
    PUT    /webhooks/{webhook_id}/secret, /pause, /toggle-status    200 Webhook
    GET    /examples/create-video         200 {curl, json_request}

Subtitles: body ``{language_code, format: "vtt"|"srt" = "vtt"}`` (the document's enums;
422 otherwise, checked before the video is looked up); 404 for an unknown video; a video
not ``ready``/``published`` answers ``409 {"detail": "Video <id> is not ready: subtitles
need a finished render (status <status>)"}`` (the vendor documents no such case: 409 is
this sandbox's choice). ``url`` serves a WebVTT or SubRip file whose cues follow the
video's scene timings. Voice previews: body ``{transcript, source_draft_id}`` (both
required strings); a task is ``in_progress`` for a seeded duration
(:class:`VoicePreviewProfile`, divided by the render ``time_scale``), then ``ready`` with
the ``url`` of a small WAV file, or ``failed``; 404 ``Voice preview not found``. Usage
summary: ``breakdown=daily|weekly|monthly`` (default monthly), ``from_date`` and
``to_date`` (``YYYY-MM-DD``, inclusive; 422 if malformed or from after to; no other
window limit), ``correlation_id``; one row per period with videos (every video created
in the account, deleted ones too, dated in UTC on the sandbox's wall clock, with its
planned length rounded to seconds).

Each render's future is drawn from the seed and the video's creation index, and its
status is computed from the clock on every read, so 10,000 renders in flight cost nothing
between reads. On request it misbehaves, at random or exactly when told to::

    from videoapi_async import VideoAPI
    from videoapi_async.sandbox import RenderProfile, Sandbox

    profile = RenderProfile(min_duration=1, max_duration=5, failure_rate=0.1, time_scale=10)
    async with Sandbox(seed=7, render=profile) as sb:
        sb.faults.queue("GET /videos/{video_id}", "http_502", "http_503")
        async with VideoAPI(api_key=sb.api_key, base_url=sb.base_url) as client:
            ...  # the next two GETs of a video fail with an HTML 502, then a 503
        assert not sb.stats.duplicate_creates()  # no create body made two videos

Time: pass ``clock=ManualClock()`` and call ``clock.advance(seconds)`` to move renders,
voice previews and webhooks on without sleeping; ``wall_start=`` fixes the Unix time the
clock's first reading stands for (``sb.wall_time()``). Or run client and sandbox in
simulated time, over real sockets: ``run_in_simulated_time(main())`` runs ``main`` in a
:class:`SimulatedTimeLoop`, whose clock jumps to the next timer whenever every task
waits; inside it, pass ``clock=asyncio.get_running_loop().time`` to ``Sandbox`` and
``VideoAPI``. Data: ``sb.create_video(body, outcome=..., status=...)``,
``sb.seed_videos(10_000)``, ``sb.set_status(id, "failed")``,
``sb.video(id)``, ``sb.create_voice_preview(...)``, ``sb.voice_preview(id)``,
``sb.new_api_key()`` (a second account). Faults: ``sb.faults.queue(route, *kinds)``
(scripted, in order), ``sb.faults.set_route(route, RouteFaults(rates=..., latency=...))``
(random, seeded), ``sb.faults.clear()``, ``sb.set_rate_limit(ServerRateLimit(rate, burst))``.
Introspection: ``sb.stats`` (:class:`SandboxStats`: requests, responses, video_requests,
creates_by_body, created_ids, faults, created_voice_previews, webhooks, ``renders()``
with detection delays), ``sb.reset_stats()``.

Webhooks: with ``Sandbox(webhooks=WebhookConfig(url, secret))`` (or ``sb.set_webhooks``,
or ``--webhook-url``/``--webhook-secret``), every video created from then on is announced
when its render ends (``delay`` seconds later, by default at once): one background task
sleeps until the next end is due. On a ``ManualClock``, move the clock, then ``await
sb.deliver_due_webhooks()``. ``await sb.send_webhook(video_id)`` sends one now. Each
delivery is ``POST url`` with::

    Content-Type: application/json
    webhook-id: <delivery id, a uuid4>
    webhook-timestamp: <int Unix seconds when this attempt was sent>
    webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">

    {"id":"<delivery id>","event":"video.ready","created_at":<Unix seconds, float>,
     "data":<the Video JSON, as GET /videos/{id} returns it then>}

(compact UTF-8 JSON, keys in that order), signed the Standard Webhooks way: the key is the
base64 part of a ``whsec_<base64>`` secret, or any other secret's UTF-8 bytes. ``event``
is ``video.ready`` for ``ready`` and ``published``, ``video.failed`` for ``failed``,
``cancelled`` and ``stopped``; the spellings (``event_names``), the events sent, the
signature header's name, the timeout and retries (none by default; a retry resends the
same id and body) are settings of :class:`WebhookConfig`. Every attempt lands in
``sb.stats.webhooks`` (:class:`WebhookDelivery`: delivery id, event, video id,
``sent_at``, HTTP status or error, fault, attempt). Faults of deliveries, scripted with
``sb.webhook_faults.queue("duplicate")`` or random with
``sb.webhook_faults.set_rates({"drop": 0.1})`` (or ``WebhookConfig.fault_rates``)::

    drop            not sent (recorded with error "dropped")
    duplicate       sent twice: the same request again, a replay
    bad_signature   signed with another secret
    delay           sent WebhookConfig.fault_delay sandbox seconds late, after later ones

Standalone: ``python -m videoapi_async.sandbox --port 8080 --time-scale 10`` prints the base
URL and the API key and serves until Ctrl-C (``--help`` lists every option). In pytest, the
``videoapi_sandbox`` and ``videoapi_client`` fixtures come with the package (see
``pytest_plugin``).

Fault kinds, and what an aiohttp client sees (a route key is a route as listed above,
such as ``"GET /videos/{video_id}"``, or ``"*"`` for all; :data:`ROUTE_KEYS` lists them)::

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

The per-key rate limiter (:class:`ServerRateLimit`; not the client's ``RateLimit``, which
paces requests) covers every route, answers 429 with ``Retry-After`` in whole seconds and
counts as ``stats.faults["rate_limited"]``.

Speed: one sandbox process (one core) served about 14,000 ``GET /videos/{video_id}`` per
second, 18,000 per second of its own CPU time, to a load generator in a second process
(aiohttp, 32 keep-alive connections); ``GET /videos`` of an account of 1,000 finished
videos ran at about 3,300 per second. Measured with ``tests/sandbox/bench_sandbox_gets.py``
on x86_64, AMD EPYC (2 CPUs), Python 3.11.7, aiohttp 3.14.5.
"""

import importlib
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import Sandbox
    from ._clock import ManualClock, SimulatedTimeLoop, run_in_simulated_time
    from ._config import (
        FAULT_KINDS,
        WEBHOOK_EVENTS,
        WEBHOOK_FAULT_KINDS,
        FaultConfig,
        RenderProfile,
        RouteFaults,
        SandboxConfig,
        ServerRateLimit,
        VoicePreviewProfile,
        WebhookConfig,
    )
    from ._options import config_from_options
    from ._routes import ROUTE_KEYS
    from ._stats import RenderTiming, SandboxStats
    from ._webhook_faults import WebhookDelivery

__all__ = [
    "FAULT_KINDS",
    "ROUTE_KEYS",
    "WEBHOOK_EVENTS",
    "WEBHOOK_FAULT_KINDS",
    "FaultConfig",
    "ManualClock",
    "RenderProfile",
    "RenderTiming",
    "RouteFaults",
    "Sandbox",
    "SandboxConfig",
    "SandboxStats",
    "ServerRateLimit",
    "SimulatedTimeLoop",
    "VoicePreviewProfile",
    "WebhookConfig",
    "WebhookDelivery",
    "config_from_options",
    "run_in_simulated_time",
]

_WHERE: dict[str, str] = {
    "FAULT_KINDS": "_config",
    "FaultConfig": "_config",
    "ManualClock": "_clock",
    "ROUTE_KEYS": "_routes",
    "RenderProfile": "_config",
    "RenderTiming": "_stats",
    "RouteFaults": "_config",
    "Sandbox": "_app",
    "SandboxConfig": "_config",
    "SandboxStats": "_stats",
    "ServerRateLimit": "_config",
    "SimulatedTimeLoop": "_clock",
    "VoicePreviewProfile": "_config",
    "WEBHOOK_EVENTS": "_config",
    "WEBHOOK_FAULT_KINDS": "_config",
    "WebhookConfig": "_config",
    "WebhookDelivery": "_webhook_faults",
    "config_from_options": "_options",
    "run_in_simulated_time": "_clock",
}
"""Which module defines each public name (imported on first use, so that importing
the pytest plugin loads no server code)."""

# Names this package exported before it was cut to what a user configures: still
# importable for a while, with a DeprecationWarning naming the replacement.
_MOVED: dict[str, tuple[str, str]] = {
    "RateLimit": ("_config", "ServerRateLimit"),
    "ALL_ROUTES": ("_routes", "ALL_ROUTES"),
    "BodyError": ("_validation", "BodyError"),
    "CreateRequest": ("_validation", "CreateRequest"),
    "DEFAULT_RANDOM_FAULT_KINDS": ("_config", "DEFAULT_RANDOM_FAULT_KINDS"),
    "FAILURE_STATUSES": ("_state", "FAILURE_STATUSES"),
    "Fault": ("_faults", "Fault"),
    "FaultInjector": ("_faults", "FaultInjector"),
    "ROUTE_ANALYTICS": ("_routes", "ROUTE_ANALYTICS"),
    "ROUTE_CREATE": ("_routes", "ROUTE_CREATE"),
    "ROUTE_DELETE": ("_routes", "ROUTE_DELETE"),
    "ROUTE_GET": ("_routes", "ROUTE_GET"),
    "ROUTE_LIST": ("_routes", "ROUTE_LIST"),
    "ROUTE_METADATA": ("_routes", "ROUTE_METADATA"),
    "ROUTE_SUBTITLES": ("_routes", "ROUTE_SUBTITLES"),
    "ROUTE_VOICE_PREVIEW_CREATE": ("_routes", "ROUTE_VOICE_PREVIEW_CREATE"),
    "ROUTE_VOICE_PREVIEW_GET": ("_routes", "ROUTE_VOICE_PREVIEW_GET"),
    "RateLimiter": ("_faults", "RateLimiter"),
    "RenderPlan": ("_state", "RenderPlan"),
    "STATUSES": ("_state", "STATUSES"),
    "SUBTITLE_FORMATS": ("_subtitles", "SUBTITLE_FORMATS"),
    "SUBTITLE_LANGUAGES": ("_subtitles", "SUBTITLE_LANGUAGES"),
    "SUCCESS_STATUSES": ("_state", "SUCCESS_STATUSES"),
    "TERMINAL_STATUSES": ("_state", "TERMINAL_STATUSES"),
    "TokenBucket": ("_faults", "TokenBucket"),
    "USAGE_BREAKDOWNS": ("_requests", "USAGE_BREAKDOWNS"),
    "VOICE_STATUSES": ("_voice", "VOICE_STATUSES"),
    "VideoRecord": ("_store", "VideoRecord"),
    "WebhookFault": ("_webhook_faults", "WebhookFault"),
    "WebhookFaultInjector": ("_webhook_faults", "WebhookFaultInjector"),
    "build_arg_parser": ("_cli", "build_arg_parser"),
    "canonical_json": ("_stats", "canonical_json"),
    "choose_fault": ("_faults", "choose_fault"),
    "config_from_args": ("_cli", "config_from_args"),
    "decode_json_body": ("_validation", "decode_json_body"),
    "main": ("_cli", "main"),
    "plan_render": ("_state", "plan_render"),
    "render_state": ("_state", "render_state"),
    "serve": ("_cli", "serve"),
    "validate_create_body": ("_validation", "validate_create_body"),
    "webhook_signature": ("_webhook_faults", "webhook_signature"),
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use; resolve a former name with a DeprecationWarning."""
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MOVED[name]
    hint = (
        f"use videoapi_async.sandbox.{attribute}"
        if attribute != name
        else "it is internal and may change without notice"
    )
    warnings.warn(
        f"videoapi_async.sandbox.{name} is deprecated: {hint}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
