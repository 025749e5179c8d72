"""Voice-preview tasks: their drawn plans, their status computed from time, their audio.

Like a render, a task's future (ids, duration, outcome) is drawn when it is created, from
the sandbox seed and the task's creation index only; its status at any moment is a pure
function of the time elapsed since then: ``in_progress`` until its duration has passed,
then ``ready`` or ``failed``.
"""

from __future__ import annotations

import random
import struct
import uuid
from typing import Any, Final

import attrs

from videoapi_async.contract import VOICE_PREVIEW_STATUSES
from videoapi_async.validators import check_seconds

from ._config import VoicePreviewProfile
from ._state import WORDS_PER_SECOND

__all__ = [
    "VOICE_STATUSES",
    "VoicePlan",
    "VoiceTask",
    "VoiceTaskStore",
    "plan_voice_preview",
    "wav_bytes",
]

VOICE_STATUSES: Final = VOICE_PREVIEW_STATUSES
"""The statuses of a voice-preview task (the OpenAPI document's ``StatusTypes``)."""

_SAMPLE_RATE: Final = 8000
_MAX_AUDIO_SECONDS: Final = 8.0


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@attrs.frozen
class VoicePlan:
    """The drawn future of one voice-preview task (``duration`` in sandbox-clock seconds)."""

    task_id: str
    req_id: str
    duration: float
    outcome: str


def plan_voice_preview(
    seed: int,
    index: int,
    profile: VoicePreviewProfile,
    time_scale: float,
    *,
    outcome: str | None = None,
    duration: float | None = None,
) -> VoicePlan:
    """Draw the plan of the ``index``-th voice preview created under ``seed``.

    ``outcome`` (``"ready"`` or ``"failed"``) and ``duration`` (nominal seconds) replace
    the drawn ones when given.
    """
    rng = random.Random(f"videoapi-sandbox:{seed}:voice-preview:{index}")
    task_id, req_id = _uuid4(rng), _uuid4(rng)
    nominal = rng.uniform(profile.min_duration, profile.max_duration)
    drawn = "failed" if rng.random() < profile.failure_rate else "ready"
    if outcome is None:
        outcome = drawn
    elif outcome not in ("ready", "failed"):
        raise ValueError(f"a voice preview ends 'ready' or 'failed', not {outcome!r}")
    if duration is not None:  # math.inf: a preview that never ends
        nominal = check_seconds(
            duration, "Sandbox.create_voice_preview's duration", zero=True, infinite=True
        )
    return VoicePlan(task_id, req_id, nominal / time_scale, outcome)


@attrs.define(eq=False)
class VoiceTask:
    """One voice-preview task as the sandbox keeps it (``created_at``: sandbox clock)."""

    plan: VoicePlan
    index: int
    api_key: str
    created_at: float
    transcript: str
    source_draft_id: str
    voice_id: str

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.plan.task_id

    @property
    def finished_at(self) -> float:
        """When the task reaches its final status (may lie in the future)."""
        return self.created_at + self.plan.duration

    def status(self, now: float) -> str:
        """Return the task's status at sandbox-clock time ``now``."""
        return self.plan.outcome if now >= self.finished_at else "in_progress"

    def created_view(self) -> dict[str, Any]:
        """Return the ``CreateVoicePreviewResponse`` of the task."""
        return {
            "id": self.task_id,
            "transcript": self.transcript,
            "voice_id": self.voice_id,
            "req_id": self.plan.req_id,
            "status": "in_progress",
        }

    def progress_view(
        self, now: float, audio_url: str, *, null_unset_fields: bool = False
    ) -> dict[str, Any]:
        """Return the ``TaskProgressResponse`` of the task at ``now``."""
        status = self.status(now)
        view: dict[str, Any] = {"id": self.task_id, "req_id": self.plan.req_id, "status": status}
        if status == "ready":
            view["url"] = audio_url
        elif null_unset_fields:
            view["url"] = None
        return view


class VoiceTaskStore:
    """Every voice-preview task of every account."""

    def __init__(self, seed: int, profile: VoicePreviewProfile) -> None:
        self.seed = seed
        self.profile = profile
        self.tasks: list[VoiceTask] = []
        self._by_id: dict[str, VoiceTask] = {}

    def voice_of(self, source_draft_id: str) -> str:
        """Return the voice id of a source draft: the same draft always has the same voice."""
        return _uuid4(random.Random(f"videoapi-sandbox:{self.seed}:voice:{source_draft_id}"))

    def create(
        self,
        api_key: str,
        transcript: str,
        source_draft_id: str,
        *,
        now: float,
        time_scale: float,
        outcome: str | None = None,
        duration: float | None = None,
    ) -> VoiceTask:
        """Store a new task of ``api_key``'s account and draw its plan."""
        index = len(self.tasks)
        plan = plan_voice_preview(
            self.seed, index, self.profile, time_scale, outcome=outcome, duration=duration
        )
        task = VoiceTask(
            plan=plan,
            index=index,
            api_key=api_key,
            created_at=now,
            transcript=transcript,
            source_draft_id=source_draft_id,
            voice_id=self.voice_of(source_draft_id),
        )
        self.tasks.append(task)
        self._by_id[plan.task_id] = task
        return task

    def get(self, api_key: str | None, task_id: str) -> VoiceTask | None:
        """Return the task ``task_id`` (of ``api_key``'s account unless ``None``)."""
        task = self._by_id.get(task_id)
        if task is None or (api_key is not None and task.api_key != api_key):
            return None
        return task


def wav_bytes(transcript: str) -> bytes:
    """Return a small WAV file (8 kHz, 8-bit mono silence) as long as ``transcript`` reads."""
    seconds = min(max(len(transcript.split()) / WORDS_PER_SECOND, 0.5), _MAX_AUDIO_SECONDS)
    samples = int(seconds * _SAMPLE_RATE)
    header = b"RIFF" + struct.pack("<I", 36 + samples) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, _SAMPLE_RATE, _SAMPLE_RATE, 1, 8)
    return header + fmt + b"data" + struct.pack("<I", samples) + b"\x80" * samples
