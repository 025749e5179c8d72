"""The result of reading the video list: the videos, and the items that could not be read."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ._errors import ResponseDecodeError
from ._models import Video

__all__ = ["SkippedVideo", "VideoList"]


@attrs.frozen(kw_only=True)
class SkippedVideo:
    """An item of the video list that could not be read as a `Video`, and why.

    Attributes:
        index: The item's position in the server's answer, from 0.
        id: The item's ``id`` when it is a string, otherwise None.
        error: What was wrong with it; its message names the field.

    """

    index: int
    id: str | None
    error: ResponseDecodeError


class VideoList(list[Video]):
    """The videos of a list answer, and the items that could not be read.

    A plain `list` of `Video` in every other respect. One malformed item (a scene without
    a ``name``, an ``id`` that is not a string) does not hide the others: it is left out
    of the list and described in `skipped`.
    """

    __slots__ = ("skipped",)

    def __init__(self, videos: Iterable[Video] = (), skipped: Iterable[SkippedVideo] = ()) -> None:
        super().__init__(videos)
        self.skipped: tuple[SkippedVideo, ...] = tuple(skipped)
        """The items left out, in the order of the answer."""

    def __repr__(self) -> str:
        return f"VideoList({list.__repr__(self)}, skipped={self.skipped!r})"
