"""Receive the Video API's webhooks: verify, parse, and end waits at once.

The vendor sends ``video.ready`` and ``video.failed`` events to a URL you configure in
its web app, signed with the webhook's signing secret. Its pages do not pin down the
header names or the event spelling, so both are settings here; the defaults match the
sandbox (`videoapi_async.sandbox`), which sends::

    POST <your url>
    webhook-id: <delivery id>
    webhook-timestamp: <unix seconds>
    webhook-signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>

    {"id": "<delivery id>", "event": "video.ready", "created_at": 1764240000.5,
     "data": {<the Video, as GET /videos/{id} returns it>}}

Signatures are accepted as ``sha256=<hex>``, bare hex, or ``v1,<base64>`` (several may
be given, separated by spaces). A delivery whose signature does not match, that was
seen before, that is older than the allowed skew, or whose body is not an event is
refused with a `WebhookError` subclass saying which.

Use it framework-neutrally::

    verifier = WebhookVerifier(secret)
    event = verifier.verify(headers, raw_body)  # raises on a bad delivery
    api.handle_webhook_event(event)             # waits on that video end now

or mount the ready-made aiohttp handler::

    app.router.add_post("/hooks/video", webhook_handler(WebhookVerifier(secret), api=api))

Once a client has been fed an event, its waits poll only every
`PollPolicy.webhook_safety_interval` seconds, as a safety net for lost deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

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

if TYPE_CHECKING:
    from ._client import VideoAPI

__all__ = [
    "WebhookError",
    "WebhookEvent",
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


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        key = secret
    elif isinstance(secret, str):
        key = secret.encode()
    else:
        raise TypeError(f"the signing secret must be str or bytes, got {type(secret).__name__}")
    if not key:
        raise ValueError("the signing secret is empty; copy it from the webhook's settings")
    return key


def sign(body: bytes, secret: str | bytes) -> str:
    """Return the signature header value for `body`: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str | None, secret: str | bytes) -> None:
    """Check that `signature` is the HMAC-SHA256 of the raw `body` under `secret`.

    Raises:
        WebhookSignatureError: The signature is missing, malformed or does not match.
    """
    if not signature or not signature.strip():
        raise WebhookSignatureError("the delivery has no signature; refusing it")
    digest = hmac.new(_key(secret), body, hashlib.sha256).digest()
    for candidate in signature.split():
        given = _decode_signature(candidate.strip().rstrip(","))
        if given is not None and hmac.compare_digest(given, digest):
            return
    raise WebhookSignatureError(
        "the delivery's signature does not match the body: check the signing secret, "
        "and pass the raw body exactly as received (not re-encoded JSON)"
    )


def _decode_signature(value: str) -> bytes | None:
    if value.startswith("v1,"):
        try:
            return base64.b64decode(value[3:], validate=True)
        except (binascii.Error, ValueError):
            return None
    value = value.removeprefix("sha256=")
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


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


class WebhookVerifier:
    """Verifies deliveries: signature, freshness, no replays; then parses them.

    Args:
        secret: The webhook's signing secret.
        signature_header: The header carrying the signature.
        id_header: The header carrying the delivery id (the body's ``id`` is used too).
        timestamp_header: The header carrying the delivery time in unix seconds (the
            body's ``created_at`` is used too).
        ready_events: Event names meaning a render is ready.
        failed_events: Event names meaning a render failed.
        tolerance: The most seconds a delivery's time may differ from ours.
        remember: How many delivery ids are remembered to catch replays.
        clock: Wall-clock time in unix seconds; injectable for tests.
    """

    def __init__(
        self,
        secret: str | bytes,
        *,
        signature_header: str = "webhook-signature",
        id_header: str = "webhook-id",
        timestamp_header: str = "webhook-timestamp",
        ready_events: Collection[str] = DEFAULT_READY_EVENTS,
        failed_events: Collection[str] = DEFAULT_FAILED_EVENTS,
        tolerance: float = 300.0,
        remember: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _key(secret)
        self._signature_header = signature_header
        self._id_header = id_header
        self._timestamp_header = timestamp_header
        self._ready = frozenset(ready_events)
        self._failed = frozenset(failed_events)
        if not tolerance > 0:
            raise ValueError(f"tolerance must be a positive number of seconds, got {tolerance!r}")
        self._tolerance = tolerance
        self._remember = remember
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()

    def __repr__(self) -> str:
        return f"<WebhookVerifier signature_header={self._signature_header!r}>"

    def verify(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check one delivery and return its event.

        Args:
            headers: The request headers (a case-insensitive mapping, as frameworks give).
            body: The raw request body, exactly as received.

        Raises:
            WebhookSignatureError: Bad or missing signature.
            WebhookReplayError: Seen before, or too old (or too far in the future).
            WebhookPayloadError: Not an event about a video.
        """
        verify_signature(body, headers.get(self._signature_header), self._key)
        event = parse_event(body, ready_events=self._ready, failed_events=self._failed)
        sent_at = event.created_at
        stamp = headers.get(self._timestamp_header)
        if sent_at is None and stamp is not None:
            try:
                sent_at = float(stamp)
            except ValueError:
                raise WebhookPayloadError(
                    f"bad {self._timestamp_header} header: {stamp!r}"
                ) from None
        if sent_at is not None and abs(self._clock() - sent_at) > self._tolerance:
            raise WebhookReplayError(
                f"the delivery was made {self._clock() - sent_at:.0f} s ago, more than the "
                f"{self._tolerance:g} s allowed; refusing a possible replay (check the clocks)"
            )
        delivery = event.delivery_id or headers.get(self._id_header)
        if delivery is not None:
            if delivery in self._seen:
                raise WebhookReplayError(f"delivery {delivery!r} was already received")
            self._seen[delivery] = None
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return event


OnEvent = Callable[[WebhookEvent], "Awaitable[None] | None"]


def webhook_handler(
    verifier: WebhookVerifier, *, api: VideoAPI | None = None, on_event: OnEvent | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Build an aiohttp.web handler that verifies deliveries and acts on them.

    A good delivery is fed to `api` (ending matching waits) and passed to `on_event`,
    then answered 204. A bad one is answered 401 (signature), 409 (replay) or 400
    (payload) with a JSON ``detail``, and nothing is done with it.
    """

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = verifier.verify(request.headers, body)
        except WebhookError as exc:
            status = {WebhookSignatureError: 401, WebhookReplayError: 409}.get(type(exc), 400)
            logger.warning("refused a webhook delivery: %s", exc)
            return web.json_response({"detail": str(exc)}, status=status)
        if api is not None:
            api.handle_webhook_event(event)
        if on_event is not None:
            result = on_event(event)
            if inspect.isawaitable(result):
                await result
        return web.Response(status=204)

    return handle
