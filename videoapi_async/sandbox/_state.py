"""Render plans and the status of a render computed from time (pure, no I/O).

A video's whole future is drawn when it is created, from the sandbox seed and the video's
creation index only (never from request timing): how long the render takes, how it ends,
where its progress stalls when it fails, how long each scene of the finished video is.
Its status at any moment is then a pure function of the time elapsed since creation, so
thousands of renders in flight cost no timers and no tasks.

Timeline of a render of duration ``D`` (after ``time_scale``)::

    0 ........ 0.1 D ......... 0.2 D ............................ D
    not_started    started (1-11 %)   processing (12-99 %)      final status

A render that ends ``failed``, ``cancelled`` or ``stopped`` keeps rising until its stall
point (30-90 % of the way), then stays ``processing`` at that progress until ``D``, and keeps
that progress in its final status. ``ready`` and ``published`` end at 100.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any, Final

import attrs

from videoapi_async.contract import (
    FAILURE_STATUSES,
    IN_PROGRESS_STATUSES,
    SUCCESS_STATUSES,
    TERMINAL_STATUSES,
    VIDEO_STATUSES,
)
from videoapi_async.validators import check_seconds

from ._config import RenderProfile

__all__ = [
    "FAILURE_STATUSES",
    "IN_PROGRESS_STATUSES",
    "STATUSES",
    "SUCCESS_STATUSES",
    "TERMINAL_STATUSES",
    "WORDS_PER_SECOND",
    "RenderPlan",
    "check_status",
    "plan_render",
    "render_state",
    "scene_lengths",
]

STATUSES: Final = VIDEO_STATUSES

_QUEUED_UNTIL: Final = 0.1
_STARTED_UNTIL: Final = 0.2
WORDS_PER_SECOND: Final = 2.5
"""How fast the sandbox's narrator speaks: it sets scene lengths and voice-preview audio."""


def check_status(status: str) -> str:
    """Return ``status`` if the API knows it, else raise a ``ValueError`` listing them."""
    if status not in STATUSES:
        raise ValueError(f"unknown video status {status!r}: use one of {', '.join(STATUSES)}")
    return status


@attrs.frozen
class RenderPlan:
    """The drawn future of one render.

    ``duration`` is in sandbox-clock seconds (``time_scale`` already applied);
    ``stall_fraction`` is the point of the timeline where progress stops rising (1.0 for a
    render that succeeds); ``scene_lengths`` are the lengths, in seconds, of the scenes of
    the finished video (what ``GET /videos/{id}/metadata`` reports).
    """

    video_id: str
    req_id: str
    draft_id: str
    duration: float
    outcome: str
    stall_fraction: float
    scene_lengths: tuple[float, ...]


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def scene_lengths(rng: random.Random, scenes: Sequence[dict[str, Any]]) -> tuple[float, ...]:
    """Return the length of each scene: from its transcript's word count, else drawn.

    A video with no scenes in its request has one scene.
    """
    lengths = []
    for scene in scenes or ({},):
        transcript = scene.get("transcript")
        words = len(transcript.split()) if isinstance(transcript, str) else 0
        if words:
            lengths.append(round(max(2.0, words / WORDS_PER_SECOND), 2))
        else:
            lengths.append(round(rng.uniform(3.0, 12.0), 2))
    return tuple(lengths)


def plan_render(
    seed: int,
    index: int,
    profile: RenderProfile,
    scenes: Sequence[dict[str, Any]] = (),
    *,
    outcome: str | None = None,
    duration: float | None = None,
) -> RenderPlan:
    """Draw the plan of the ``index``-th video created under ``seed``.

    The same seed, index and profile always give the same ids, duration and outcome.
    ``outcome`` and ``duration`` (nominal seconds) replace the drawn ones when given.
    """
    rng = random.Random(f"videoapi-sandbox:{seed}:{index}")
    video_id, req_id, draft_id = _uuid4(rng), _uuid4(rng), _uuid4(rng)
    nominal = rng.uniform(profile.min_duration, profile.max_duration)
    draw = rng.random()
    stall = rng.uniform(0.3, 0.9)
    lengths = scene_lengths(rng, scenes)
    if outcome is None:
        outcome = "ready"
        cumulative = 0.0
        for status, weight in profile.outcome_weights():
            cumulative += weight
            if weight > 0 and draw < cumulative:
                outcome = status
                break
    elif outcome not in TERMINAL_STATUSES:
        raise ValueError(
            f"a render ends in a final status, not {outcome!r}: "
            f"use one of {', '.join(sorted(TERMINAL_STATUSES))}"
        )
    if duration is not None:  # math.inf: a render that never ends
        nominal = check_seconds(
            duration, "Sandbox.create_video's duration", zero=True, infinite=True
        )
    return RenderPlan(
        video_id=video_id,
        req_id=req_id,
        draft_id=draft_id,
        duration=nominal / profile.time_scale,
        outcome=outcome,
        stall_fraction=1.0 if outcome in SUCCESS_STATUSES else stall,
        scene_lengths=lengths,
    )


def _progress_at(fraction: float) -> int:
    if fraction < _QUEUED_UNTIL:
        return 0
    return min(99, 1 + int(99 * (fraction - _QUEUED_UNTIL) / (1 - _QUEUED_UNTIL)))


def render_state(plan: RenderPlan, elapsed: float) -> tuple[str, int]:
    """Return ``(status, progress)`` of a render ``elapsed`` seconds after its creation."""
    if elapsed >= plan.duration:
        if plan.outcome in SUCCESS_STATUSES:
            return plan.outcome, 100
        return plan.outcome, _progress_at(plan.stall_fraction)
    fraction = max(elapsed, 0.0) / plan.duration
    if fraction < _QUEUED_UNTIL:
        return "not_started", 0
    progress = _progress_at(min(fraction, plan.stall_fraction))
    if fraction < _STARTED_UNTIL:
        return "started", progress
    return "processing", progress
