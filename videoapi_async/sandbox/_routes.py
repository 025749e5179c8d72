"""Route keys and request-target matching for the sandbox (pure, no I/O).

The sandbox does its own routing on the raw request target so that a percent-encoded
id (``a%2Fb``) is decoded exactly once, as one path segment, and can never change which
route is matched.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote

import attrs

__all__ = [
    "ALL_ROUTES",
    "API_PREFIX",
    "BEARER_ROUTES",
    "MEDIA_PREFIX",
    "ROUTE_ANALYTICS",
    "ROUTE_CREATE",
    "ROUTE_CREATE_EXAMPLE",
    "ROUTE_DELETE",
    "ROUTE_GET",
    "ROUTE_KEYS",
    "ROUTE_LIST",
    "ROUTE_METADATA",
    "ROUTE_SUBTITLES",
    "ROUTE_VOICE_PREVIEW_CREATE",
    "ROUTE_VOICE_PREVIEW_GET",
    "ROUTE_WEBHOOKS_LIST",
    "ROUTE_WEBHOOK_CREATE",
    "ROUTE_WEBHOOK_DELETE",
    "ROUTE_WEBHOOK_GET",
    "ROUTE_WEBHOOK_PAUSE",
    "ROUTE_WEBHOOK_SECRET",
    "ROUTE_WEBHOOK_TOGGLE",
    "ROUTE_WEBHOOK_UPDATE",
    "RouteMatch",
    "check_route_key",
    "match_route",
]

API_PREFIX: Final = "/api/v1"
"""Path prefix of the API; the sandbox's ``base_url`` ends with it."""

MEDIA_PREFIX: Final = "/media"
"""Path prefix of the files the sandbox serves: players, videos, subtitles, audio."""

ROUTE_LIST: Final = "GET /videos"
ROUTE_CREATE: Final = "POST /videos"
ROUTE_GET: Final = "GET /videos/{video_id}"
ROUTE_METADATA: Final = "GET /videos/{video_id}/metadata"
ROUTE_DELETE: Final = "DELETE /videos/{video_id}"
ROUTE_SUBTITLES: Final = "POST /videos/{video_id}/subtitles"
ROUTE_VOICE_PREVIEW_CREATE: Final = "POST /voice-preview"
ROUTE_VOICE_PREVIEW_GET: Final = "GET /voice-preview/{task_id}"
ROUTE_ANALYTICS: Final = "GET /analytics/summary"
ROUTE_WEBHOOKS_LIST: Final = "GET /webhooks"
ROUTE_WEBHOOK_CREATE: Final = "POST /webhooks"
ROUTE_WEBHOOK_GET: Final = "GET /webhooks/{webhook_id}"
ROUTE_WEBHOOK_UPDATE: Final = "PUT /webhooks/{webhook_id}"
ROUTE_WEBHOOK_DELETE: Final = "DELETE /webhooks/{webhook_id}"
ROUTE_WEBHOOK_SECRET: Final = "PUT /webhooks/{webhook_id}/secret"
ROUTE_WEBHOOK_PAUSE: Final = "PUT /webhooks/{webhook_id}/pause"
ROUTE_WEBHOOK_TOGGLE: Final = "PUT /webhooks/{webhook_id}/toggle-status"
ROUTE_CREATE_EXAMPLE: Final = "GET /examples/create-video"
ALL_ROUTES: Final = "*"

ROUTE_KEYS: Final = (
    ROUTE_LIST,
    ROUTE_CREATE,
    ROUTE_GET,
    ROUTE_METADATA,
    ROUTE_DELETE,
    ROUTE_SUBTITLES,
    ROUTE_VOICE_PREVIEW_CREATE,
    ROUTE_VOICE_PREVIEW_GET,
    ROUTE_ANALYTICS,
    ROUTE_WEBHOOKS_LIST,
    ROUTE_WEBHOOK_CREATE,
    ROUTE_WEBHOOK_GET,
    ROUTE_WEBHOOK_UPDATE,
    ROUTE_WEBHOOK_DELETE,
    ROUTE_WEBHOOK_SECRET,
    ROUTE_WEBHOOK_PAUSE,
    ROUTE_WEBHOOK_TOGGLE,
    ROUTE_CREATE_EXAMPLE,
)
"""Every API route the sandbox serves, in the form used for faults and statistics."""

BEARER_ROUTES: Final = frozenset(
    {
        ROUTE_WEBHOOKS_LIST,
        ROUTE_WEBHOOK_CREATE,
        ROUTE_WEBHOOK_GET,
        ROUTE_WEBHOOK_UPDATE,
        ROUTE_WEBHOOK_DELETE,
        ROUTE_WEBHOOK_SECRET,
        ROUTE_WEBHOOK_PAUSE,
        ROUTE_WEBHOOK_TOGGLE,
        ROUTE_CREATE_EXAMPLE,
    }
)
"""The routes authenticated by ``Authorization: Bearer`` instead of ``api-key``."""

# Path shapes under the API prefix ("{}" is one non-empty segment, always the second), each
# with its routes by method and which id that segment is.
_ID = "{}"
_SHAPES: Final[dict[tuple[str, ...], tuple[dict[str, str], str | None]]] = {
    ("videos",): ({"GET": ROUTE_LIST, "POST": ROUTE_CREATE}, None),
    ("videos", _ID): ({"GET": ROUTE_GET, "DELETE": ROUTE_DELETE}, "video"),
    ("videos", _ID, "metadata"): ({"GET": ROUTE_METADATA}, "video"),
    ("videos", _ID, "subtitles"): ({"POST": ROUTE_SUBTITLES}, "video"),
    ("voice-preview",): ({"POST": ROUTE_VOICE_PREVIEW_CREATE}, None),
    ("voice-preview", _ID): ({"GET": ROUTE_VOICE_PREVIEW_GET}, "task"),
    ("analytics", "summary"): ({"GET": ROUTE_ANALYTICS}, None),
    ("webhooks",): ({"GET": ROUTE_WEBHOOKS_LIST, "POST": ROUTE_WEBHOOK_CREATE}, None),
    ("webhooks", _ID): (
        {"GET": ROUTE_WEBHOOK_GET, "PUT": ROUTE_WEBHOOK_UPDATE, "DELETE": ROUTE_WEBHOOK_DELETE},
        "webhook",
    ),
    ("webhooks", _ID, "secret"): ({"PUT": ROUTE_WEBHOOK_SECRET}, "webhook"),
    ("webhooks", _ID, "pause"): ({"PUT": ROUTE_WEBHOOK_PAUSE}, "webhook"),
    ("webhooks", _ID, "toggle-status"): ({"PUT": ROUTE_WEBHOOK_TOGGLE}, "webhook"),
    ("examples", "create-video"): ({"GET": ROUTE_CREATE_EXAMPLE}, None),
}


@attrs.frozen
class RouteMatch:
    """What a request target refers to.

    Exactly one of these describes the outcome: ``route`` is set (an API route, with
    ``video_id`` or ``task_id`` for the item routes); ``media`` is set (``"player"``,
    ``"download"``, ``"subtitles"`` or ``"voice"``, with ``video_id`` or ``task_id``, and
    ``file`` for subtitles); ``redirect`` is set (a trailing slash to strip, as Starlette
    does); ``allowed`` is set (the path exists, the method does not: 405); or nothing is
    set (unknown path: 404).
    """

    route: str | None = None
    video_id: str | None = None
    media: str | None = None
    redirect: str | None = None
    allowed: tuple[str, ...] = ()
    task_id: str | None = None
    file: str | None = None
    webhook_id: str | None = None


_NOT_FOUND: Final = RouteMatch()


def check_route_key(route: str, *, allow_all: bool = True) -> str:
    """Return ``route`` if it is a known route key, else raise a ``ValueError`` naming them."""
    if route in ROUTE_KEYS or (allow_all and route == ALL_ROUTES):
        return route
    known = ", ".join(repr(key) for key in ROUTE_KEYS)
    extra = ' or "*" for every route' if allow_all else ""
    raise ValueError(f"unknown route key {route!r}: use one of {known}{extra}")


def _api_match(method: str, segments: list[str]) -> RouteMatch | None:
    """Return the match of the API path ``segments``, or ``None`` if no path has that shape."""
    entry = None
    if len(segments) > 1 and segments[1]:
        entry = _SHAPES.get((segments[0], _ID, *segments[2:]))
    if entry is None:
        # A path without an id, or with an empty one (which matches no id shape).
        entry = _SHAPES.get(tuple(segments))
        if entry is None:
            return None
    methods, id_kind = entry
    route = methods.get(method)
    if route is None:
        return RouteMatch(allowed=tuple(methods))
    if id_kind is None:
        return RouteMatch(route=route)
    if id_kind == "task":
        return RouteMatch(route=route, task_id=unquote(segments[1]))
    if id_kind == "webhook":
        return RouteMatch(route=route, webhook_id=unquote(segments[1]))
    return RouteMatch(route=route, video_id=unquote(segments[1]))


def _media_match(segments: list[str]) -> RouteMatch:
    if len(segments) == 2 and segments[0] == "player" and segments[1]:
        return RouteMatch(media="player", video_id=unquote(segments[1]))
    if len(segments) == 2 and segments[0] == "download" and segments[1].endswith(".mp4"):
        return RouteMatch(media="download", video_id=unquote(segments[1][: -len(".mp4")]))
    if len(segments) == 2 and segments[0] == "voice-preview" and segments[1].endswith(".wav"):
        return RouteMatch(media="voice", task_id=unquote(segments[1][: -len(".wav")]))
    if len(segments) == 3 and segments[0] == "subtitles" and segments[1] and segments[2]:
        return RouteMatch(
            media="subtitles", video_id=unquote(segments[1]), file=unquote(segments[2])
        )
    return _NOT_FOUND


def match_route(method: str, raw_target: str) -> RouteMatch:
    """Match a method and a raw request target (path plus optional query) to a route.

    Each path segment is percent-decoded on its own, so ``/api/v1/videos/a%2Fb`` is the
    item route for the video id ``a/b``. A path that matches only without its trailing
    slash is redirected there, whatever the method, as Starlette does.
    """
    path = raw_target.partition("?")[0].partition("#")[0]
    if path.startswith(API_PREFIX + "/"):
        segments = path[len(API_PREFIX) + 1 :].split("/")
        match = _api_match(method, segments)
        if match is not None:
            return match
        if len(segments) > 1 and segments[-1] == "" and _api_match(method, segments[:-1]):
            return RouteMatch(redirect=path[:-1])
        return _NOT_FOUND
    if path.startswith(MEDIA_PREFIX + "/") and method == "GET":
        return _media_match(path[len(MEDIA_PREFIX) + 1 :].split("/"))
    return _NOT_FOUND
