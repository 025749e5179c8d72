"""The markers a create carries, and finding the video a lost create made by them. No I/O.

`new_correlation_id` mints a create's marker. `VideoAPI.find_created_video` looks for one
create in the account's list of videos; `match_lost_creates` is the same rule for many (a
bulk job that lost several answers), public so that such a job needs no more.

A create whose answer was lost (a reset, a timeout, a kill) may or may not have made a
video. Each request carries a *marker* the server keeps:

* ``correlation_id``: the tagged create forms document it and every video returns it
  verbatim, so it is matched exactly. The flat form's page does not list it: it is sent
  there too, but relied on only once the server has echoed it back;
* ``name``: otherwise the name is the marker. Some servers shorten names, so a video
  whose name is a prefix of the marker (at least `MIN_NAME_PREFIX` characters) matches
  too, unless that shorter name is itself another request's marker. A named match also
  needs every field the video echoes (``source_draft_id``, ``recipe_id``, ``palette_id``,
  ``character_id``, ``voice_id``) to agree with the request.

Exact matches are taken before shortened ones, and a video is given to one request only.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar

import attrs

from ._models import Video

__all__ = [
    "ECHOED_FIELDS",
    "LOST_CREATE_GRACE",
    "MIN_NAME_PREFIX",
    "CreateMarker",
    "lost_create_markers",
    "match_lost_creates",
    "new_correlation_id",
    "unproven_absence",
]

LOST_CREATE_GRACE: Final = 5.0
"""Seconds a server is given to store a create whose answer was lost, before looking."""

MIN_NAME_PREFIX: Final = 16
"""The shortest shortened name taken as a match of a longer marker."""

ECHOED_FIELDS: Final = ("source_draft_id", "recipe_id", "palette_id", "character_id", "voice_id")
"""Fields of the flat form that a video reports back, so a named match can be checked."""

_K = TypeVar("_K")


def new_correlation_id() -> str:
    """Return a fresh correlation id for a create the caller gave none (47 characters)."""
    return f"videoapi-async-{uuid.uuid4().hex}"


@attrs.frozen(kw_only=True)
class CreateMarker:
    """How one create request is recognised among the account's videos.

    Attributes:
        field: ``"correlation_id"`` (tagged forms; the flat form once its server is
            known to keep it) or ``"name"``.
        value: What the request sent in that field.
        body: The create body sent, as JSON (its echoed fields check a named match).
    """

    field: Literal["correlation_id", "name"]
    value: str
    body: Mapping[str, Any] = attrs.field(factory=dict)

    def matches(self, video: Video, *, names: Collection[str] = ()) -> bool:
        """Return whether ``video`` could be the one a create with this marker made.

        Args:
            video: A video of the account.
            names: Every name marker in use: a video named exactly so belongs to that
                request, never a shortened match of this one.
        """
        return _exact(self, video) or _shortened(self, video, names)


def _echoes_agree(marker: CreateMarker, video: Video) -> bool:
    return all(
        getattr(video, name) is None or getattr(video, name) == marker.body.get(name)
        for name in ECHOED_FIELDS
    )


def _exact(marker: CreateMarker, video: Video) -> bool:
    if marker.field == "correlation_id":
        return video.correlation_id == marker.value
    return video.name == marker.value and _echoes_agree(marker, video)


def _shortened(marker: CreateMarker, video: Video, names: Collection[str]) -> bool:
    name = video.name
    return (
        marker.field == "name"
        and name is not None
        and len(name) >= MIN_NAME_PREFIX
        and len(name) < len(marker.value)
        and marker.value.startswith(name)
        and name not in names
        and _echoes_agree(marker, video)
    )


def match_lost_creates(
    lost: Sequence[tuple[_K, CreateMarker]],
    videos: Iterable[Video],
    *,
    exclude: Collection[str] = (),
    names: Collection[str] = (),
) -> dict[_K, Video]:
    """Return the video each lost request made, for those found among ``videos``.

    Exact matches are taken before shortened names, and a video goes to one request only;
    a request absent from the result made no video (if the server had time to store it).

    Args:
        lost: The requests whose answers were lost, each with a key of the caller's.
        videos: The account's videos, as listed after the server had time to store them.
        exclude: Ids never to match: videos already owned, or there before the requests.
        names: Every name marker in use, lost or not: a video named exactly so is that
            request's, never a shortened match of another.
    """
    candidates = [video for video in videos if video.id not in exclude]
    taken: set[str] = set()
    found: dict[_K, Video] = {}
    for exact in (True, False):
        for key, marker in lost:
            if key in found:
                continue
            for video in candidates:
                if video.id in taken:
                    continue
                if _exact(marker, video) if exact else _shortened(marker, video, names):
                    found[key] = video
                    taken.add(video.id)
                    break
    return found


def _markers_of(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    correlation_id, name = body.get("correlation_id"), body.get("name")
    return (
        correlation_id if isinstance(correlation_id, str) else None,
        name if isinstance(name, str) else None,
    )


def lost_create_markers(body: Mapping[str, Any], *, flat_echoes: bool | None) -> list[CreateMarker]:
    """Return the markers a lost create is looked for by, in that order.

    Args:
        body: The create body sent.
        flat_echoes: Whether the server keeps the flat form's ``correlation_id`` (None
            while not known); the tagged forms always keep it.

    Raises:
        ValueError: Nothing recognises the create: it has no name, and no
            ``correlation_id`` the server keeps.
    """
    correlation_id, name = _markers_of(body)
    echoes = True if "type" in body else flat_echoes
    if not name and not (correlation_id and echoes is not False):
        raise ValueError(
            "this create cannot be recognised among the account's videos: it has no "
            "name, and "
            + (
                "no correlation_id"
                if not correlation_id
                else "this server does not keep the flat form's correlation_id"
            )
            + "; give creates a name (or use a tagged form) to make them findable"
        )
    markers = []
    if correlation_id:
        markers.append(CreateMarker(field="correlation_id", value=correlation_id, body=body))
    if name and echoes is not True:
        markers.append(CreateMarker(field="name", value=name, body=body))
    return markers


def unproven_absence(body: Mapping[str, Any], *, flat_echoes: bool | None) -> ValueError | None:
    """Return the error for a create not found when that does not prove it made no video.

    A flat create without a name is looked for by its ``correlation_id`` alone; until the
    server is seen to keep it, not finding it proves nothing.
    """
    correlation_id, name = _markers_of(body)
    if name or "type" in body or flat_echoes is not None:
        return None
    return ValueError(
        f"no video has correlation_id {correlation_id!r}, but this client has not "
        "yet seen the server keep the flat form's correlation_id, so the create "
        "may still have made a video; give creates a name to make them findable"
    )
