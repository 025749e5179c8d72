"""The routes beyond the video CRUD (subtitles, voice previews, usage) and body reading.

`MoreRoutes` answers those routes and serves their subtitle and audio files; it is mixed
into the request handler, which has already routed, rate-limited and authenticated the
request. `parse_body` reads and parses the body of every route that takes one.

Undocumented by the vendor, and chosen here: asking for the subtitles of a video whose
render has not finished (or failed) answers ``409`` with
``{"detail": "Video <id> is not ready: subtitles need a finished render (status <status>)"}``;
an unknown voice-preview task answers ``404 {"detail": "Voice preview not found"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar
from urllib.parse import quote

from aiohttp import web

from ._analytics import usage_summary
from ._requests import parse_subtitles_body, parse_usage_query, parse_voice_preview_body
from ._routes import MEDIA_PREFIX, RouteMatch
from ._state import SUCCESS_STATUSES
from ._stats import SandboxStats
from ._store import VideoRecord, VideoStore, VideoViews, dump_json
from ._subtitles import SUBTITLE_CONTENT_TYPES, render_subtitles, subtitle_cues
from ._validation import BodyError
from ._voice import VoiceTaskStore, wav_bytes

__all__ = ["JSON", "MoreRoutes", "Result", "body_error", "parse_body", "read_body"]

JSON: Final = "application/json"
_VIDEO_NOT_FOUND: Final = dump_json({"detail": "Video not found"})
_TASK_NOT_FOUND: Final = dump_json({"detail": "Voice preview not found"})

Result = tuple[int, bytes | None, str, list[VideoRecord]]
"""(status, body, content type, records whose final status the body shows)."""


_Parsed = TypeVar("_Parsed")


def body_error(exc: BodyError) -> Result:
    """Return the answer to a request whose body (or query) the sandbox refuses."""
    return exc.status, dump_json({"detail": exc.detail}), JSON, []


async def read_body(request: web.BaseRequest) -> bytes:
    """Return the request body; raise `BodyError` if it cannot be read (413 over the limit)."""
    try:
        return await request.read()
    except web.HTTPException as exc:
        raise BodyError(exc.status, exc.reason) from None


async def parse_body(
    request: web.BaseRequest, parse: Callable[[bytes, str | None], _Parsed]
) -> _Parsed:
    """Read the request body and return ``parse(body, content_type)``; raise `BodyError`."""
    return parse(await read_body(request), request.headers.get("Content-Type"))


class MoreRoutes:
    """Handlers of the subtitles, voice-preview and analytics routes, and their files."""

    store: VideoStore
    voices: VoiceTaskStore
    views: VideoViews
    stats: SandboxStats
    clock: Callable[[], float]
    origin: str
    wall_epoch: float

    # -- subtitles -----------------------------------------------------------------------

    def subtitles_url(self, video_id: str, language_code: str, file_format: str) -> str:
        """Return the URL the sandbox serves a subtitle file at."""
        return (
            f"{self.origin}{MEDIA_PREFIX}/subtitles/{quote(video_id, safe='')}/"
            f"{language_code}.{file_format}"
        )

    async def _subtitles(self, request: web.BaseRequest, api_key: str, video_id: str) -> Result:
        try:
            wanted = await parse_body(request, parse_subtitles_body)
        except BodyError as exc:
            return body_error(exc)
        record = self.store.get(api_key, video_id)
        if record is None:
            return 404, _VIDEO_NOT_FOUND, JSON, []
        status = record.state(self.clock())[0]
        if status not in SUCCESS_STATUSES:
            detail = (
                f"Video {video_id} is not ready: subtitles need a finished render (status {status})"
            )
            return 409, dump_json({"detail": detail}), JSON, []
        record.subtitles.add((wanted.language_code, wanted.format))
        body = {
            "language_code": wanted.language_code,
            "format": wanted.format,
            "url": self.subtitles_url(video_id, wanted.language_code, wanted.format),
        }
        return 201, dump_json(body), JSON, []

    # -- voice previews ------------------------------------------------------------------

    def voice_url(self, task_id: str) -> str:
        """Return the URL the sandbox serves a voice preview's audio at."""
        return f"{self.origin}{MEDIA_PREFIX}/voice-preview/{quote(task_id, safe='')}.wav"

    async def _voice_create(self, request: web.BaseRequest, api_key: str) -> Result:
        try:
            wanted = await parse_body(request, parse_voice_preview_body)
        except BodyError as exc:
            return body_error(exc)
        task = self.voices.create(
            api_key,
            wanted.transcript,
            wanted.source_draft_id,
            now=self.clock(),
            time_scale=self.store.profile.time_scale,
        )
        self.stats.created_voice_previews.append(task.task_id)
        return 201, dump_json(task.created_view()), JSON, []

    def _voice_get(self, api_key: str, task_id: str) -> Result:
        task = self.voices.get(api_key, task_id)
        if task is None:
            return 404, _TASK_NOT_FOUND, JSON, []
        view = task.progress_view(
            self.clock(),
            self.voice_url(task_id),
            null_unset_fields=self.views.null_unset_fields,
        )
        return 200, dump_json(view), JSON, []

    # -- analytics -----------------------------------------------------------------------

    def _analytics(self, request: web.BaseRequest, api_key: str) -> Result:
        try:
            query = parse_usage_query(request.raw_path.partition("?")[2].partition("#")[0])
        except BodyError as exc:
            return body_error(exc)
        records = (record for record in self.store.records if record.api_key == api_key)
        return 200, dump_json(usage_summary(records, query, self.wall_epoch)), JSON, []

    # -- files ---------------------------------------------------------------------------

    def _more_media(self, match: RouteMatch) -> web.Response | None:
        """Return a subtitle or audio file the sandbox serves, or ``None`` (404)."""
        if match.media == "voice" and match.task_id is not None:
            task = self.voices.get(None, match.task_id)
            if task is None or task.status(self.clock()) != "ready":
                return None
            return web.Response(body=wav_bytes(task.transcript), content_type="audio/wav")
        if match.media != "subtitles" or match.video_id is None or match.file is None:
            return None
        language_code, _, file_format = match.file.rpartition(".")
        record = self.store.get(None, match.video_id)
        if record is None or (language_code, file_format) not in record.subtitles:
            return None
        cues = subtitle_cues(record.fields, record.plan.scene_lengths, language_code)
        return web.Response(
            body=render_subtitles(cues, file_format).encode(),
            headers={"Content-Type": SUBTITLE_CONTENT_TYPES[file_format]},
        )
