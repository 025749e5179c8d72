"""What the sandbox saw and did, for tests and benchmarks to assert on."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable

import attrs

from ._store import VideoRecord
from ._webhook_faults import WebhookDelivery

__all__ = ["RenderTiming", "SandboxStats", "canonical_json"]


def canonical_json(value: object) -> str:
    """Return one canonical JSON text per JSON value (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@attrs.frozen
class RenderTiming:
    """When a render finished, and when a client first saw that it had.

    Times are sandbox-clock readings. ``finished_at`` may be in the future for a render
    still running; ``first_seen_at`` is ``None`` until a ``GET /videos/{id}`` or
    ``GET /videos`` response showing the final status was sent in full.
    """

    video_id: str
    created_at: float
    finished_at: float | None
    first_seen_at: float | None
    final_status: str | None

    @property
    def detection_delay(self) -> float | None:
        """Seconds between the end of the render and a client seeing it, if both happened."""
        if self.finished_at is None or self.first_seen_at is None:
            return None
        return self.first_seen_at - self.finished_at


class SandboxStats:
    """Counters of requests, responses, creates and faults; reachable as ``Sandbox.stats``.

    Attributes (all reset by :meth:`reset`):

    * ``requests``: requests per route key (``"other"`` for paths outside the API);
    * ``responses``: responses sent per status code; ``route_responses``: per route key
      then status code;
    * ``video_requests``: requests per video id (the ``{video_id}`` routes);
    * ``creates_by_body``: videos created per canonical JSON of the create body;
    * ``created_ids``: ids of the videos created over HTTP, in order;
    * ``faults``: faults injected per kind (``"rate_limited"`` for the rate limiter);
    * ``created_voice_previews``: ids of the voice-preview tasks created over HTTP, in order;
    * ``webhooks``: every webhook delivery attempt, in order (:class:`WebhookDelivery`).
    """

    def __init__(self, records: Callable[[], Iterable[VideoRecord]]) -> None:
        self._records = records
        self.requests: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.route_responses: dict[str, Counter[int]] = {}
        self.video_requests: Counter[str] = Counter()
        self.creates_by_body: Counter[str] = Counter()
        self.created_ids: list[str] = []
        self.faults: Counter[str] = Counter()
        self.created_voice_previews: list[str] = []
        self.webhooks: list[WebhookDelivery] = []

    def reset(self) -> None:
        """Zero every counter, forget created ids and deliveries (the videos stay)."""
        self.requests.clear()
        self.responses.clear()
        self.route_responses.clear()
        self.video_requests.clear()
        self.creates_by_body.clear()
        self.created_ids.clear()
        self.faults.clear()
        self.created_voice_previews.clear()
        self.webhooks.clear()

    def record_response(self, route: str, status: int) -> None:
        """Count a response sent with ``status`` for ``route``."""
        self.responses[status] += 1
        counter = self.route_responses.get(route)
        if counter is None:
            counter = self.route_responses[route] = Counter()
        counter[status] += 1

    def record_create(self, video_id: str, body: object) -> None:
        """Count a video created over HTTP from ``body``."""
        self.created_ids.append(video_id)
        self.creates_by_body[canonical_json(body)] += 1

    @property
    def total_requests(self) -> int:
        """Total requests received (every route)."""
        return sum(self.requests.values())

    def duplicate_creates(self) -> dict[str, int]:
        """Return the create bodies (canonical JSON) that created more than one video."""
        return {body: count for body, count in self.creates_by_body.items() if count > 1}

    def renders(self) -> list[RenderTiming]:
        """Return the timing of every render the sandbox holds (deleted ones too)."""
        timings = []
        for record in self._records():
            finished = record.finished_at
            final = record.pinned[0] if record.pinned is not None else record.plan.outcome
            timings.append(
                RenderTiming(
                    video_id=record.video_id,
                    created_at=record.created_at,
                    finished_at=finished,
                    first_seen_at=record.first_seen_finished_at,
                    final_status=final if finished is not None else None,
                )
            )
        return timings
