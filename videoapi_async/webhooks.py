"""Receive the Video API's webhooks: verify, parse, and end waits at once.

The vendor sends ``video.ready`` and ``video.failed`` events to the URL of a webhook
(registered with `VideoAPI.webhooks` or in its web app), signed the Standard Webhooks way
(standardwebhooks.com) with the webhook's signing secret::

    POST <your url>
    webhook-id: <delivery id; the same on every retry of one delivery>
    webhook-timestamp: <Unix seconds when this attempt was sent>
    webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">

    {"id": "<delivery id>", "event": "video.ready", "created_at": 1764240000.5,
     "data": {<the Video, as GET /videos/{id} returns it>}}

The signature header may hold several space-separated signatures (any one must match).
Secrets written ``whsec_<base64>`` are base64-decoded; any other string is used as it is
(as its UTF-8 bytes). A delivery is refused with a `WebhookError` subclass saying why when
its signature does not match, its timestamp is missing or further than ``tolerance``
seconds from now, it was already processed, or its body is not an event.

Use it framework-neutrally::

    verifier = WebhookVerifier(secret)
    with verifier.receive(headers, raw_body) as event:  # raises on a bad delivery
        api.handle_webhook_event(event)                # waits on that video end now

(a delivery counts as processed only when the ``with`` block ends without an exception,
so a redelivery after a failure is processed again), or mount the ready-made aiohttp
handler::

    app.router.add_post("/hooks/video", webhook_handler(WebhookVerifier(secret), api=api))

Once a client has been fed an event, its waits poll only every
`PollPolicy.webhook_safety_interval` seconds, as a safety net for lost deliveries.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping
from typing import Any, Final, Literal, Protocol

import attrs
from aiohttp import web

from ._errors import (
    ResponseDecodeError,
    WebhookError,
    WebhookPayloadError,
    WebhookReplayError,
    WebhookSignatureError,
)
from ._models import Video
from ._protocol import parse_video
from ._signing import sign, signing_key, verify_signature
from .validators import check_seconds

__all__ = [
    "WebhookError",
    "WebhookEvent",
    "WebhookEventSink",
    "WebhookPayloadError",
    "WebhookReplayError",
    "WebhookSignatureError",
    "WebhookVerifier",
    "parse_event",
    "sign",
    "verify_signature",
    "webhook_handler",
]

logger: Final = logging.getLogger("videoapi_async")

DEFAULT_READY_EVENTS: Final = ("video.ready",)
DEFAULT_FAILED_EVENTS: Final = ("video.failed",)
DEFAULT_TOLERANCE: Final = 300.0
"""Seconds a delivery's timestamp may be from our clock by default (`WebhookVerifier`)."""


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One verified webhook delivery.

    Attributes:
        delivery_id: The delivery's id (the same for a retried delivery).
        event: The event's name as sent, e.g. ``"video.ready"``.
        outcome: ``"ready"`` or ``"failed"`` for the events configured as such, else None.
        video_id: The video the event is about.
        video: The video as the delivery described it, when it carried a full one.
        created_at: When the event was made (unix seconds), when the delivery said.
        payload: The whole decoded body.
    """

    delivery_id: str | None
    event: str
    outcome: Literal["ready", "failed"] | None
    video_id: str
    video: Video | None
    created_at: float | None
    payload: Mapping[str, Any] = attrs.field(hash=False, repr=False)


def parse_event(
    body: bytes,
    *,
    ready_events: Collection[str] = DEFAULT_READY_EVENTS,
    failed_events: Collection[str] = DEFAULT_FAILED_EVENTS,
) -> WebhookEvent:
    """Parse a delivery's body (already verified) into a `WebhookEvent`.

    The event name is read from ``event`` (or ``type``), the video from ``data`` (or
    ``video``), its id from the video's ``id`` (or ``video_id``).

    Raises:
        WebhookPayloadError: The body is not JSON, or not an event about a video.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookPayloadError(f"the delivery's body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadError("the delivery's body is not a JSON object")
    event = payload.get("event", payload.get("type"))
    if not isinstance(event, str) or not event:
        raise WebhookPayloadError("the delivery names no event (no 'event' or 'type' member)")
    data = payload.get("data", payload.get("video"))
    data = data if isinstance(data, dict) else {}
    video_id = data.get("id", data.get("video_id", payload.get("video_id")))
    if not isinstance(video_id, str) or not video_id:
        raise WebhookPayloadError(f"the {event!r} delivery does not say which video it is about")
    video = None
    if data:
        try:
            video = parse_video(data, method="WEBHOOK", path=event)
        except ResponseDecodeError as exc:
            logger.debug("webhook %s carries no readable video (%s); polling instead", event, exc)
    outcome: Literal["ready", "failed"] | None = None
    if event in ready_events:
        outcome = "ready"
    elif event in failed_events:
        outcome = "failed"
    created = payload.get("created_at")
    delivery = payload.get("id")
    return WebhookEvent(
        delivery_id=delivery if isinstance(delivery, str) else None,
        event=event,
        outcome=outcome,
        video_id=video_id,
        video=video,
        created_at=float(created)
        if isinstance(created, (int, float)) and not isinstance(created, bool)
        else None,
        payload=payload,
    )


class WebhookEventSink(Protocol):
    """Anything that acts on verified events, such as a `VideoAPI` client."""

    def handle_webhook_event(self, event: WebhookEvent) -> bool:
        """Act on one verified event; return whether anybody was waiting on its video."""


class WebhookVerifier:
    """Verifies deliveries (signature, timestamp, not processed before), then parses them.

    Args:
        secret: The webhook's signing secret (``whsec_<base64>``, or a raw string or
            bytes), or several of them while a secret is being rotated.
        signature_header: The header carrying the signatures.
        id_header: The header carrying the delivery id (signed).
        timestamp_header: The header carrying the attempt's Unix time (signed).
        ready_events: Event names meaning a render is ready.
        failed_events: Event names meaning a render failed.
        tolerance: The most seconds a delivery's timestamp may be from our clock, either
            way. Older deliveries are refused, so a captured one cannot be replayed later.
        remember: The most processed delivery ids kept to catch redeliveries; an id is
            forgotten anyway once its timestamp is too old to be accepted again.
        clock: Wall-clock time in Unix seconds; injectable for tests.
    """

    def __init__(
        self,
        secret: str | bytes | Iterable[str | bytes],
        *,
        signature_header: str = "webhook-signature",
        id_header: str = "webhook-id",
        timestamp_header: str = "webhook-timestamp",
        ready_events: Collection[str] = DEFAULT_READY_EVENTS,
        failed_events: Collection[str] = DEFAULT_FAILED_EVENTS,
        tolerance: float = DEFAULT_TOLERANCE,
        remember: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
        if not secrets:
            raise ValueError("no signing secret given; copy it from the webhook's settings")
        self._keys = [signing_key(one) for one in secrets]
        self._signature_header = signature_header
        self._id_header = id_header
        self._timestamp_header = timestamp_header
        self._ready = frozenset(ready_events)
        self._failed = frozenset(failed_events)
        if isinstance(remember, bool) or not isinstance(remember, int) or remember < 1:
            raise ValueError(f"remember must be an integer >= 1, got {remember!r}")
        self._tolerance = check_seconds(
            tolerance, "WebhookVerifier's tolerance", default=DEFAULT_TOLERANCE
        )
        self._remember = remember
        self._clock = clock
        self._processed: OrderedDict[str, float] = OrderedDict()  # id -> its timestamp
        self._in_progress: set[str] = set()

    def __repr__(self) -> str:
        return f"<WebhookVerifier tolerance={self._tolerance:g}s>"

    def verify(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check one delivery and return its event, without recording it as processed.

        Prefer `receive`, which also records the delivery once it has been handled, so
        a redelivery of it is refused.

        Args:
            headers: The request headers (a case-insensitive mapping, as frameworks give).
            body: The raw request body, exactly as received.

        Raises:
            WebhookSignatureError: A missing id or timestamp, or a bad or missing signature.
            WebhookReplayError: Already processed, or a timestamp outside the tolerance.
            WebhookPayloadError: Not an event about a video.
        """
        delivery = headers.get(self._id_header)
        if not delivery:
            raise WebhookSignatureError(
                f"the delivery has no {self._id_header} header; it is part of what is "
                "signed, so the delivery cannot be verified"
            )
        stamp = headers.get(self._timestamp_header)
        sent_at = _unix_seconds(stamp)
        if stamp is None or sent_at is None:
            raise WebhookSignatureError(
                f"the delivery's {self._timestamp_header} header is "
                f"{'missing' if stamp is None else 'not Unix seconds'}; it is part of what "
                "is signed, so the delivery cannot be verified"
            )
        age = self._clock() - sent_at
        if abs(age) > self._tolerance:
            when = f"{age:.0f} s ago" if age > 0 else f"{-age:.0f} s in the future"
            raise WebhookReplayError(
                f"the delivery is stamped {when}, beyond the {self._tolerance:g} s allowed; "
                "refusing a possible replay (check both clocks)"
            )
        verify_signature(
            body,
            headers.get(self._signature_header),
            self._keys,
            webhook_id=delivery,
            timestamp=stamp,
        )
        if delivery in self._processed:
            raise WebhookReplayError(f"delivery {delivery!r} was already processed")
        event = parse_event(body, ready_events=self._ready, failed_events=self._failed)
        return attrs.evolve(event, delivery_id=delivery)

    @contextlib.contextmanager
    def receive(self, headers: Mapping[str, str], body: bytes) -> Iterator[WebhookEvent]:
        """Verify a delivery and record it as processed once the block succeeds.

        ``with verifier.receive(headers, body) as event: ...`` raises as `verify` does.
        While the block runs, the same delivery arriving again is refused; if the block
        raises, the delivery is not recorded, so the sender's redelivery is processed.

        Raises:
            WebhookReplayError: The same delivery is being processed right now.
        """
        event = self.verify(headers, body)
        delivery = event.delivery_id
        assert delivery is not None  # verify() takes it from the signed header
        if delivery in self._in_progress:
            raise WebhookReplayError(f"delivery {delivery!r} is being processed right now")
        self._in_progress.add(delivery)
        try:
            yield event
        finally:
            self._in_progress.discard(delivery)
        stamp = _unix_seconds(headers.get(self._timestamp_header))
        self._remember_processed(delivery, stamp if stamp is not None else self._clock())

    def _remember_processed(self, delivery: str, sent_at: float) -> None:
        processed = self._processed
        processed[delivery] = sent_at
        oldest_acceptable = self._clock() - self._tolerance
        while processed and (
            len(processed) > self._remember or next(iter(processed.values())) < oldest_acceptable
        ):
            processed.popitem(last=False)


def _unix_seconds(value: str | None) -> float | None:
    """Read a timestamp header: a finite number of Unix seconds, else None."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) else None


OnEvent = Callable[[WebhookEvent], "Awaitable[None] | None"]


def webhook_handler(
    verifier: WebhookVerifier,
    *,
    api: WebhookEventSink | None = None,
    on_event: OnEvent | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Build an aiohttp.web handler that verifies deliveries and acts on them.

    A good delivery is fed to `api` (a `VideoAPI`: matching waits end) and passed to
    `on_event`, then answered 204. A bad one is answered 401 (signature), 409 (replay) or
    400 (payload) with a JSON ``detail``, and nothing is done with it. If `on_event`
    raises, the answer is 500 and the delivery is not recorded, so its redelivery is
    processed.
    """

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            with verifier.receive(request.headers, body) as event:
                if api is not None:
                    api.handle_webhook_event(event)
                if on_event is not None:
                    result = on_event(event)
                    if inspect.isawaitable(result):
                        await result
        except WebhookError as exc:
            status = {WebhookSignatureError: 401, WebhookReplayError: 409}.get(type(exc), 400)
            logger.warning("refused a webhook delivery: %s", exc)
            return web.json_response({"detail": str(exc)}, status=status)
        return web.Response(status=204)

    return handle
