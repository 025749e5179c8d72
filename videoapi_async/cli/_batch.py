"""The bulk job behind ``videoapi batch``: every row created once, every render seen to its end.

How a row is found again (its *marker*), so a create whose answer was lost is never sent
blindly a second time:

* tagged forms (``override``, ``create``, ``workflow``) carry a ``correlation_id``: the
  row's own, or ``batch-<input hash>-row-<n>`` when it has none;
* the flat form's page lists no ``correlation_id``, so the ``name`` is used: the row's
  own, or ``batch-<input hash>-row-<n>`` when it has none.

The library's `match_lost_creates` says how a marker matches a video (names the server
shortened included). Videos already in the account when the journal was made, and videos
other rows own, never match. A run first looks for the videos of rows left ``sent`` by an
earlier run, once the server has had ``lost_grace`` seconds since their last send to store
them (one ``GET /videos``), and adopts them; only rows not found are created again. A
create whose answer is lost during a run is looked for the same way after the same grace,
and sent again only if its video is not there.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

import attrs

from videoapi_async import (
    LOST_CREATE_GRACE,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    CreateMarker,
    CreateOutcomeUnknownError,
    CreateVideoRequest,
    RenderTimeoutError,
    RenderUpdate,
    ResponseDecodeError,
    Video,
    VideoAPIError,
    VideoStatus,
    match_lost_creates,
    run_together,
)

if TYPE_CHECKING:
    from videoapi_async import VideoAPI

from ._download import Downloader, DownloadError, download_name
from ._input import InputRow, request_from_json
from ._journal import Journal, RowPlan, RowRecord

__all__ = [
    "LOST_GRACE",
    "BatchObserver",
    "BatchRunner",
    "marker_of",
    "plan_rows",
    "preexisting_ids",
    "row_json",
]

MAX_SENDS_PER_RUN: Final = 3
"""Creates sent for one row in one run, lost answers included, before leaving it to a re-run."""

LOST_GRACE: Final = LOST_CREATE_GRACE
"""Seconds a server is given to store a create whose answer was lost, before looking."""
_SUCCESS: Final = frozenset({VideoStatus.READY.value, VideoStatus.PUBLISHED.value})


def derived_marker(tag: str, row: int) -> str:
    """Return the name or correlation id given to a row that has none of its own."""
    return f"batch-{tag}-row-{row}"


def plan_rows(rows: Iterable[InputRow], tag: str) -> list[RowPlan]:
    """Give each input row its marker (see the module docstring) and its final body."""
    plans = []
    for item in rows:
        body, request = item.body, item.request
        if body is None:
            plans.append(RowPlan(row=item.row, line=item.line, body=None, error=item.error))
            continue
        field = "correlation_id" if "type" in body else "name"
        own = body.get(field)
        if isinstance(own, str) and own:
            marker, user = own, True
        else:
            marker, user = derived_marker(tag, item.row), False
            body = {**body, field: marker}
            if request is not None:
                request = attrs.evolve(cast(Any, request), **{field: marker})
        plans.append(
            RowPlan(
                row=item.row,
                line=item.line,
                body=body,
                marker_field=field,
                marker=marker,
                user_marker=user,
                request=request,
            )
        )
    return plans


def marker_of(row: RowPlan | RowRecord) -> CreateMarker | None:
    """Return how a row's video is recognised, or None for a row that is never sent."""
    if row.marker is None or row.body is None:
        return None
    if row.marker_field == "correlation_id":
        return CreateMarker(field="correlation_id", value=row.marker, body=row.body)
    return CreateMarker(field="name", value=row.marker, body=row.body)


def name_markers(rows: Iterable[RowPlan | RowRecord]) -> set[str]:
    """Return the name markers of ``rows``."""
    return {row.marker for row in rows if row.marker_field == "name" and row.marker is not None}


def preexisting_ids(plans: Sequence[RowPlan], videos: Iterable[Video]) -> list[str]:
    """Return the ids of existing videos that some row's lost create could be taken for."""
    markers = [marker for marker in map(marker_of, plans) if marker is not None]
    names = name_markers(plans)
    return [video.id for video in videos if any(m.matches(video, names=names) for m in markers)]


def row_json(row: RowRecord) -> dict[str, Any]:
    """Return a row in the batch row shape (the results file's columns, in order).

    ``status`` is the video's status when the row has a video; otherwise ``invalid`` (the
    input row is malformed), ``rejected`` (the API refused the create), ``unknown`` (the
    create was sent, its answer lost, and its video not found yet) or ``pending`` (not
    sent yet). ``ok`` is true when the video is ready (and downloaded, if asked).
    """
    if row.state == "invalid":
        status: str | None = "invalid"
    elif row.state == "rejected":
        status = "rejected"
    elif row.state == "sent":
        status = "unknown"
    elif row.state == "pending":
        status = "pending"
    else:
        status = row.status
    return {
        "row": row.row,
        "line": row.line,
        "video_id": row.video_id,
        "status": status,
        "ok": row.state == "done" and row.status in _SUCCESS and row.error is None,
        "video_player_url": row.video_player_url,
        "download_url": row.download_url,
        "file": row.file,
        "error": row.error,
    }


class BatchObserver:
    """What a batch reports as it goes; the default does nothing. Subclass to display it."""

    def started(self, rows: Sequence[RowRecord]) -> None:
        """Report the start of a run, with the rows as the journal holds them."""

    def sending(self, row: RowRecord) -> None:
        """Report that a row's create is about to be sent."""

    def created(self, row: int, video: Video, *, adopted: bool) -> None:
        """Report a row's video (``adopted``: found again after a lost answer)."""

    def update(self, row: int, update: RenderUpdate) -> None:
        """Report that a row's render moved on."""

    def note(self, row: int, text: str) -> None:
        """Report something worth a word about a row (lost answer, download)."""

    def finished(self, row: RowRecord) -> None:
        """Report a row with nothing left to do in this run (whatever its outcome)."""


@attrs.define
class RunCounts:
    """What one run did."""

    creates_sent: int = 0
    adopted: int = 0
    skipped: int = 0
    waited: int = 0
    downloaded: int = 0


class BatchRunner:
    """Runs the rows of a journal to their end. Every step is committed to the journal first.

    Args:
        api: The open client.
        journal: The batch's journal, already initialised.
        concurrency: The most creates in flight at once.
        timeout: The most seconds to wait for each render (None: until it ends).
        downloader: Where to download finished videos, or None.
        observer: Told about every step (for display).
        lost_grace: Seconds the server is given to store a create whose answer was lost
            (in this run or a stopped earlier one) before its video is looked for.
        requests: The rows' requests already checked in this run, by row; any other
            row's is built from its journal body.
    """

    def __init__(
        self,
        api: VideoAPI,
        journal: Journal,
        *,
        concurrency: int = 4,
        timeout: float | None = None,
        downloader: Downloader | None = None,
        observer: BatchObserver | None = None,
        lost_grace: float = LOST_GRACE,
        requests: Mapping[int, CreateVideoRequest] | None = None,
    ) -> None:
        self.api = api
        self.journal = journal
        self.timeout = timeout
        self.downloader = downloader
        self.observer = observer if observer is not None else BatchObserver()
        self.lost_grace = lost_grace
        self.counts = RunCounts()
        self._create_slots = asyncio.Semaphore(concurrency)
        self._download_slots = asyncio.Semaphore(4)
        self._lookup_lock = asyncio.Lock()
        self._listed_at = -math.inf
        self._listed: list[Video] = []
        self._names = name_markers(journal.rows())
        self._requests = dict(requests or {})

    def _wants_download(self, row: RowRecord) -> bool:
        return self.downloader is not None and row.status in _SUCCESS and row.file is None

    async def run(self) -> None:
        """Run every row that has work left; return when none has.

        Raises:
            AuthenticationError: The API refused the key (nothing else would work).
            VideoAPIError: The videos of rows left ``sent`` could not be looked for.
        """
        rows = self.journal.rows()
        self.observer.started(rows)
        for row in rows:
            if row.state == "invalid" or (row.state == "done" and not self._wants_download(row)):
                self.counts.skipped += row.state == "done"
                self.observer.finished(row)
        lost = [row for row in rows if row.state == "sent"]
        if lost:
            await self._adopt_lost(lost)
        work = [
            self.journal.row(row.row)
            for row in rows
            if row.state not in ("invalid", "done") or self._wants_download(row)
        ]
        await run_together(self._process(row) for row in work)

    async def _adopt_lost(self, lost: Sequence[RowRecord]) -> None:
        """Look for the videos of rows whose create answer an earlier run never got.

        The earlier run may have stopped a moment after sending: the server is given the
        same grace as after a lost answer in a run, counted from each row's last send.
        """
        settle = max(row.updated_at for row in lost) + self.lost_grace - time.time()
        if settle > 0:
            for row in lost:
                self.observer.note(row.row, "looking for it")
            await asyncio.sleep(settle)
        videos = await self.api.list_videos()
        self._listed, self._listed_at = videos, time.monotonic()
        found = match_lost_creates(
            [(row.row, marker) for row in lost if (marker := marker_of(row)) is not None],
            videos,
            exclude=self.journal.owned_ids() | self.journal.preexisting(),
            names=self._names,
        )
        for row in lost:
            video = found.get(row.row)
            if video is None:
                self.journal.mark_pending(row.row)
                continue
            self.journal.mark_created(row.row, video)
            self.counts.adopted += 1
            self.observer.created(row.row, video, adopted=True)

    async def _find_lost(self, row: RowRecord, lost_at: float) -> Video | None:
        """After a lost answer, look for the row's video; adopt it if found."""
        marker = marker_of(row)
        if marker is None:
            return None
        await asyncio.sleep(self.lost_grace)
        async with self._lookup_lock:
            if self._listed_at < lost_at + self.lost_grace:
                self._listed = await self.api.list_videos()
                self._listed_at = time.monotonic()
            exclude = self.journal.owned_ids() | self.journal.preexisting()
            found = match_lost_creates(
                [(row.row, marker)], self._listed, exclude=exclude, names=self._names
            )
            video = found.get(row.row)
            if video is not None:
                self.journal.mark_created(row.row, video)
                self.counts.adopted += 1
        return video

    async def _process(self, row: RowRecord) -> None:
        video: Video | str | None = row.video_id
        if row.state in ("pending", "rejected"):
            video = await self._create(row)
        elif row.state == "created":
            self.counts.waited += 1
        if video is not None and row.state != "done":
            await self._wait(row.row, video)
        current = self.journal.row(row.row)
        if self._wants_download(current):
            await self._download(current)
        self.observer.finished(self.journal.row(row.row))

    async def _create(self, row: RowRecord) -> Video | None:
        assert row.body is not None
        request = self._requests.pop(row.row, None) or request_from_json(row.body)
        lost_at = 0.0
        for _ in range(MAX_SENDS_PER_RUN):
            async with self._create_slots:
                self.journal.mark_sent(row.row)
                self.counts.creates_sent += 1
                self.observer.sending(row)
                try:
                    video = await self.api.create_video(request)
                except CreateOutcomeUnknownError as exc:
                    lost_at = time.monotonic()
                    self.journal.note_error(row.row, f"create answer lost: {exc.cause}")
                except AuthenticationError:
                    self.journal.mark_pending(row.row)  # refused: certainly not created
                    raise
                except (APIStatusError, APIConnectionError, ResponseDecodeError) as exc:
                    self.journal.mark_rejected(row.row, str(exc))
                    return None
                else:
                    self.journal.mark_created(row.row, video)
                    self.observer.created(row.row, video, adopted=False)
                    return video
            self.observer.note(row.row, "answer lost: looking for it")
            try:
                found = await self._find_lost(row, lost_at)
            except VideoAPIError as exc:
                self.journal.note_error(
                    row.row, f"create answer lost, and looking for its video failed: {exc}"
                )
                return None
            if found is not None:
                self.observer.created(row.row, found, adopted=True)
                return found
        self.journal.note_error(
            row.row,
            f"create answer lost {MAX_SENDS_PER_RUN} times and the video not found; run "
            "again to look for it once more",
        )
        return None

    async def _wait(self, row: int, video: Video | str) -> None:
        last: Video | None = video if isinstance(video, Video) else None
        try:
            async for update in self.api.wait_for_render(video, timeout=self.timeout):
                if last is None or update.status != last.status:
                    self.journal.mark_status(row, update.video)
                last = update.video
                self.observer.update(row, update)
        except AuthenticationError:
            raise
        except RenderTimeoutError as exc:
            status = exc.video.status.value if exc.video is not None else "unknown"
            self.journal.note_error(
                row, f"still {status} after {exc.timeout:g} s; run again to keep waiting"
            )
            return
        except VideoAPIError as exc:
            self.journal.note_error(row, f"waiting failed: {exc}")
            return
        except (ValueError, TypeError) as exc:  # an id from the server the client refuses
            self.journal.note_error(
                row, f"the server gave this row a video id the client cannot use: {exc}"
            )
            return
        if last is not None and last.is_terminal:
            self.journal.mark_done(row, last)
            if last.is_failed:
                self.journal.note_error(row, f"the render ended {last.status.value}")

    async def _download(self, row: RowRecord) -> None:
        assert self.downloader is not None
        assert row.video_id is not None
        async with self._download_slots:
            self.observer.note(row.row, "downloading")
            try:
                # Ask again: download links are often signed and expire.
                video = await self.api.get_video(row.video_id)
            except (VideoAPIError, ValueError, TypeError) as exc:
                self.journal.note_error(row.row, f"download skipped: {exc}")
                return
            if not video.download_url:
                self.journal.note_error(row.row, "the video has no download_url yet")
                return
            try:
                result = await self.downloader.download(
                    video.download_url, download_name(video.id, video.download_url)
                )
            except DownloadError as exc:
                self.journal.note_error(row.row, f"download failed: {exc}")
                return
            self.journal.mark_file(row.row, str(result.path))
            self.counts.downloaded += not result.kept
