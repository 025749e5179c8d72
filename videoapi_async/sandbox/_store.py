"""The sandbox's videos: records per account, and their JSON views as the API shows them."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import quote

import attrs

from videoapi_async.contract import SCENE_TYPES

from ._config import RenderProfile
from ._routes import MEDIA_PREFIX
from ._state import TERMINAL_STATUSES, RenderPlan, check_status, plan_render, render_state
from ._validation import VIDEO_FIELDS_AFTER_URLS, VIDEO_FIELDS_BEFORE_URLS, CreateRequest

__all__ = ["VideoRecord", "VideoStore", "VideoViews", "dump_json"]

_SCENE_OPTIONAL: Final = {
    SCENE_TYPES[0]: ("media", "texts", "transcript", "voice_recording_url"),
    SCENE_TYPES[1]: ("media_elements", "texts_elements", "transcript", "voice_recording_url"),
}
_MEDIA_OPTIONAL: Final = ("id", "url", "media_id")


def dump_json(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, as FastAPI's ``JSONResponse`` does."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@attrs.define(eq=False)
class VideoRecord:
    """One video as the sandbox keeps it. Read it; change it only through the Sandbox.

    ``created_at``, ``pinned_at`` and ``first_seen_finished_at`` are sandbox-clock times.
    ``body`` is the decoded create body as the client sent it (``None`` for videos made
    server-side); ``form`` is its create form, or ``"server"``. ``subtitles`` holds the
    ``(language_code, format)`` of every subtitle file made for it.
    """

    plan: RenderPlan
    index: int
    api_key: str
    created_at: float
    fields: dict[str, Any]
    form: str
    body: object = None
    workspace_id: str | None = None
    team_id: str | None = None
    pinned: tuple[str, int] | None = None
    pinned_at: float | None = None
    deleted: bool = False
    first_seen_finished_at: float | None = None
    cached_json: bytes | None = attrs.field(default=None, repr=False)
    subtitles: set[tuple[str, str]] = attrs.field(factory=set, repr=False)

    @property
    def video_id(self) -> str:
        """The video's id."""
        return self.plan.video_id

    @property
    def finished_at(self) -> float | None:
        """When the render reached its final status (may lie in the future), else ``None``."""
        if self.pinned is not None:
            return self.pinned_at if self.pinned[0] in TERMINAL_STATUSES else None
        return self.created_at + self.plan.duration

    def state(self, now: float) -> tuple[str, int]:
        """Return ``(status, progress)`` at sandbox-clock time ``now``."""
        if self.pinned is not None:
            return self.pinned
        return render_state(self.plan, now - self.created_at)


class VideoStore:
    """Every video of every account, with the plan drawn for each at creation."""

    def __init__(self, seed: int, profile: RenderProfile, clock: Callable[[], float]) -> None:
        self.seed = seed
        self.profile = profile
        self.clock = clock
        self.records: list[VideoRecord] = []
        self.listener: Callable[[VideoRecord], None] | None = None
        """Called with each video created or pinned (the webhook scheduler)."""
        self._live: dict[str, VideoRecord] = {}
        self._accounts: dict[str, dict[str, VideoRecord]] = {}

    def add_account(self, api_key: str) -> None:
        """Open an empty account for ``api_key`` (no-op if it exists)."""
        self._accounts.setdefault(api_key, {})

    def has_account(self, api_key: str) -> bool:
        """Return whether ``api_key`` is a valid key."""
        return api_key in self._accounts

    def create(
        self,
        api_key: str,
        request: CreateRequest | None,
        *,
        body: object = None,
        workspace_id: str | None = None,
        team_id: str | None = None,
        outcome: str | None = None,
        duration: float | None = None,
    ) -> VideoRecord:
        """Store a new video of ``api_key``'s account and draw its render plan."""
        account = self._accounts[api_key]
        fields = request.fields if request is not None else {}
        index = len(self.records)
        plan = plan_render(
            self.seed,
            index,
            self.profile,
            fields.get("scenes", ()),
            outcome=outcome,
            duration=duration,
        )
        if plan.video_id in self._live:  # only possible with two sandboxes' records mixed
            raise RuntimeError(f"duplicate video id {plan.video_id}")
        record = VideoRecord(
            plan=plan,
            index=index,
            api_key=api_key,
            created_at=self.clock(),
            fields=fields,
            form=request.form if request is not None else "server",
            body=body,
            workspace_id=workspace_id,
            team_id=team_id,
        )
        self.records.append(record)
        self._live[plan.video_id] = record
        account[plan.video_id] = record
        if self.listener is not None:
            self.listener(record)
        return record

    def get(self, api_key: str | None, video_id: str) -> VideoRecord | None:
        """Return the live video ``video_id`` (of ``api_key``'s account unless ``None``)."""
        record = self._live.get(video_id)
        if record is None or (api_key is not None and record.api_key != api_key):
            return None
        return record

    def delete(self, api_key: str, video_id: str) -> bool:
        """Delete a video of ``api_key``'s account; return whether it existed."""
        record = self.get(api_key, video_id)
        if record is None:
            return False
        record.deleted = True
        del self._live[video_id]
        del self._accounts[api_key][video_id]
        return True

    def videos(self, api_key: str) -> Iterable[VideoRecord]:
        """Return the live videos of an account, oldest first."""
        return self._accounts.get(api_key, {}).values()

    def pin(self, video_id: str, status: str, progress: int | None) -> VideoRecord:
        """Fix a video's status (and progress) from now on, whatever its plan said."""
        record = self._live.get(video_id)
        if record is None:
            raise KeyError(f"no video with id {video_id!r} in the sandbox")
        check_status(status)
        if progress is None:
            progress = 100 if status in ("ready", "published") else record.state(self.clock())[1]
        if not -1 <= progress <= 100:
            raise ValueError(f"progress must be -1..100, got {progress!r}")
        record.pinned = (status, progress)
        record.pinned_at = self.clock()
        record.cached_json = None
        if self.listener is not None:
            self.listener(record)
        return record


class VideoViews:
    """Builds the JSON the API returns for videos and their metadata."""

    def __init__(
        self,
        origin: str,
        *,
        null_unset_fields: bool = False,
        unknown_progress_rate: float = 0.0,
        rng: random.Random | None = None,
        cache: bool = True,
    ) -> None:
        self.origin = origin
        self.null_unset_fields = null_unset_fields
        self.unknown_progress_rate = unknown_progress_rate
        self._rng = rng if rng is not None else random.Random(0)
        self._cache = cache

    def player_url(self, video_id: str) -> str:
        """Return the URL of the (sandbox-served) player page of a video."""
        return f"{self.origin}{MEDIA_PREFIX}/player/{quote(video_id, safe='')}"

    def download_url(self, video_id: str) -> str:
        """Return the URL of the (sandbox-served) video file of a video."""
        return f"{self.origin}{MEDIA_PREFIX}/download/{quote(video_id, safe='')}.mp4"

    def video(self, record: VideoRecord, now: float, *, reading: bool = False) -> dict[str, Any]:
        """Return the Video object of ``record`` at ``now``.

        With ``reading``, an unfinished render reports ``progress: -1`` on the configured
        fraction of reads, as the real API sometimes does.
        """
        status, progress = record.state(now)
        if (
            reading
            and self.unknown_progress_rate
            and status not in TERMINAL_STATUSES
            and self._rng.random() < self.unknown_progress_rate
        ):
            progress = -1
        fields = record.fields
        nulls = self.null_unset_fields
        plan = record.plan
        view: dict[str, Any] = {"id": plan.video_id}
        if "name" in fields or nulls:
            view["name"] = fields.get("name")
        view["status"] = status
        view["progress"] = progress
        view["req_id"] = plan.req_id
        view["draft_id"] = plan.draft_id
        for key in VIDEO_FIELDS_BEFORE_URLS[1:]:
            if key in fields:
                view[key] = self._scenes(fields[key]) if key == "scenes" and nulls else fields[key]
            elif nulls:
                view[key] = None
        finished = status in ("ready", "published")
        view["video_player_url"] = self.player_url(plan.video_id) if finished else ""
        if finished:
            view["download_url"] = self.download_url(plan.video_id)
        elif nulls:
            view["download_url"] = None
        for key in VIDEO_FIELDS_AFTER_URLS:
            if key in fields:
                value = fields[key]
                if key == "global_media_elements" and nulls:
                    value = [self._with_nulls(item, _MEDIA_OPTIONAL) for item in value]
                view[key] = value
            elif nulls:
                view[key] = None
        return view

    def _with_nulls(self, item: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
        filled = dict(item)
        for key in keys:
            filled.setdefault(key, None)
        return filled

    def _scenes(self, scenes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        filled = []
        for scene in scenes:
            item = self._with_nulls(scene, _SCENE_OPTIONAL.get(scene.get("type", ""), ()))
            if isinstance(item.get("media_elements"), list):
                item["media_elements"] = [
                    self._with_nulls(media, _MEDIA_OPTIONAL) for media in item["media_elements"]
                ]
            if isinstance(item.get("texts_elements"), list):
                item["texts_elements"] = [
                    self._with_nulls(text, ("id",)) for text in item["texts_elements"]
                ]
            filled.append(item)
        return filled

    def video_json(self, record: VideoRecord, now: float) -> tuple[bytes, bool]:
        """Return the JSON of a read of ``record`` and whether it showed a final status.

        The JSON of a finished video never changes, so it is encoded once.
        """
        cached = record.cached_json
        if cached is not None:
            return cached, True
        view = self.video(record, now, reading=True)
        encoded = dump_json(view)
        terminal = view["status"] in TERMINAL_STATUSES
        if terminal and self._cache:
            record.cached_json = encoded
        return encoded, terminal

    def metadata(self, record: VideoRecord) -> dict[str, Any]:
        """Return the VideoMetadata object of ``record``: its scenes' timings."""
        scenes = []
        start = 0.0
        for index, length in enumerate(record.plan.scene_lengths):
            scenes.append({"scene_index": index, "start_time": round(start, 2), "duration": length})
            start += length
        return {"duration": round(start, 2), "scenes_metadata": scenes}
