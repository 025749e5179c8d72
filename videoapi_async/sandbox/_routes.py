"""Route keys and request-target matching for the sandbox (pure, no I/O).

The sandbox does its own routing on the raw request target so that a percent-encoded
video id (``a%2Fb``) is decoded exactly once, as one path segment, and can never change
which route is matched.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote

import attrs

__all__ = [
    "ALL_ROUTES",
    "API_PREFIX",
    "MEDIA_PREFIX",
    "ROUTE_CREATE",
    "ROUTE_DELETE",
    "ROUTE_GET",
    "ROUTE_KEYS",
    "ROUTE_LIST",
    "ROUTE_METADATA",
    "RouteMatch",
    "check_route_key",
    "match_route",
]

API_PREFIX: Final = "/api/v1"
"""Path prefix of the API; the sandbox's ``base_url`` ends with it."""

MEDIA_PREFIX: Final = "/media"
"""Path prefix of the player pages and download files of finished videos."""

ROUTE_LIST: Final = "GET /videos"
ROUTE_CREATE: Final = "POST /videos"
ROUTE_GET: Final = "GET /videos/{video_id}"
ROUTE_METADATA: Final = "GET /videos/{video_id}/metadata"
ROUTE_DELETE: Final = "DELETE /videos/{video_id}"
ALL_ROUTES: Final = "*"

ROUTE_KEYS: Final = (ROUTE_LIST, ROUTE_CREATE, ROUTE_GET, ROUTE_METADATA, ROUTE_DELETE)
"""Every API route the sandbox serves, in the form used for faults and statistics."""

_COLLECTION_METHODS: Final = {"GET": ROUTE_LIST, "POST": ROUTE_CREATE}
_ITEM_METHODS: Final = {"GET": ROUTE_GET, "DELETE": ROUTE_DELETE}
_METADATA_METHODS: Final = {"GET": ROUTE_METADATA}


@attrs.frozen
class RouteMatch:
    """What a request target refers to.

    Exactly one of these describes the outcome: ``route`` is set (an API route, with
    ``video_id`` for the item routes); ``media`` is set (``"player"`` or ``"download"``,
    with ``video_id``); ``redirect`` is set (a trailing slash to strip, as Starlette does);
    ``allowed`` is set (the path exists, the method does not: 405); or nothing is set
    (unknown path: 404).
    """

    route: str | None = None
    video_id: str | None = None
    media: str | None = None
    redirect: str | None = None
    allowed: tuple[str, ...] = ()


_NOT_FOUND: Final = RouteMatch()


def check_route_key(route: str, *, allow_all: bool = True) -> str:
    """Return ``route`` if it is a known route key, else raise a ``ValueError`` naming them."""
    if route in ROUTE_KEYS or (allow_all and route == ALL_ROUTES):
        return route
    known = ", ".join(repr(key) for key in ROUTE_KEYS)
    extra = ' or "*" for every route' if allow_all else ""
    raise ValueError(f"unknown route key {route!r}: use one of {known}{extra}")


def _by_method(method: str, table: dict[str, str], video_id: str | None) -> RouteMatch:
    route = table.get(method)
    if route is None:
        return RouteMatch(allowed=tuple(table))
    return RouteMatch(route=route, video_id=video_id)


def match_route(method: str, raw_target: str) -> RouteMatch:
    """Match a method and a raw request target (path plus optional query) to a route.

    Each path segment is percent-decoded on its own, so ``/api/v1/videos/a%2Fb`` is the
    item route for the video id ``a/b``.
    """
    path = raw_target.partition("?")[0].partition("#")[0]
    if path.startswith(API_PREFIX + "/"):
        segments = path[len(API_PREFIX) + 1 :].split("/")
        if segments[0] != "videos":
            return _NOT_FOUND
        count = len(segments)
        if count == 1:
            return _by_method(method, _COLLECTION_METHODS, None)
        if count == 2 and segments[1]:
            return _by_method(method, _ITEM_METHODS, unquote(segments[1]))
        if count == 2:
            # "/videos/": Starlette redirects to the path without the slash.
            return RouteMatch(redirect=path[:-1])
        if count == 3 and segments[1] and segments[2] == "metadata":
            return _by_method(method, _METADATA_METHODS, unquote(segments[1]))
        return _NOT_FOUND
    if path.startswith(MEDIA_PREFIX + "/") and method == "GET":
        segments = path[len(MEDIA_PREFIX) + 1 :].split("/")
        if len(segments) == 2 and segments[0] == "player" and segments[1]:
            return RouteMatch(media="player", video_id=unquote(segments[1]))
        if len(segments) == 2 and segments[0] == "download" and segments[1].endswith(".mp4"):
            return RouteMatch(media="download", video_id=unquote(segments[1][: -len(".mp4")]))
    return _NOT_FOUND
