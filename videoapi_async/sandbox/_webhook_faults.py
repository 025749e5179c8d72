"""Webhook signatures, the record of each delivery, and the faults deliveries can get."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from ._config import WEBHOOK_FAULT_KINDS, WebhookConfig, _optional_seconds
from ._faults import pick_kind

__all__ = [
    "WebhookDelivery",
    "WebhookFault",
    "WebhookFaultInjector",
    "webhook_key",
    "webhook_signature",
]

_SECRET_PREFIX: Final = "whsec_"


def webhook_key(secret: str | bytes) -> bytes:
    """Return the HMAC key of a signing secret, as the Standard Webhooks scheme reads it.

    ``whsec_<base64>``: the decoded base64; bytes: themselves; another string: its UTF-8.
    """
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(_SECRET_PREFIX):
        encoded = secret[len(_SECRET_PREFIX) :]
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    return secret.encode("utf-8")


def webhook_signature(secret: str | bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Return the Standard Webhooks ``webhook-signature`` value of one delivery attempt.

    That is ``v1,`` + the base64 HMAC-SHA256 of ``{webhook_id}.{timestamp}.{body}``, keyed
    with :func:`webhook_key` of ``secret``.
    """
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@attrs.frozen
class WebhookDelivery:
    """One delivery attempt (or a dropped delivery), as ``Sandbox.stats.webhooks`` lists it.

    ``sent_at`` is a sandbox-clock reading; ``timestamp`` is the ``webhook-timestamp``
    header sent (``None`` when nothing was sent). ``status`` is the receiver's HTTP status,
    or ``None`` with ``error`` saying what went wrong (``"dropped"`` for a ``drop`` fault).
    ``fault`` names the webhook fault applied to this attempt, if any; ``attempt`` counts
    from 1 (retries are 2, 3, ...).
    """

    delivery_id: str
    event: str
    video_id: str
    sent_at: float
    status: int | None
    error: str | None = None
    fault: str | None = None
    attempt: int = 1
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver answered with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300


def _check_kind(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in WEBHOOK_FAULT_KINDS:
        raise ValueError(
            f"unknown webhook fault kind {value!r}: use one of {', '.join(WEBHOOK_FAULT_KINDS)}"
        )


@attrs.frozen
class WebhookFault:
    """One webhook fault to apply; ``seconds`` overrides ``WebhookConfig.fault_delay``."""

    kind: str = attrs.field(validator=_check_kind)
    seconds: float | None = attrs.field(default=None, validator=_optional_seconds)


class WebhookFaultInjector:
    """Decides the fault of each webhook delivery; reachable as ``Sandbox.webhook_faults``.

    Scripted faults (:meth:`queue`) apply to the next deliveries in order and win over
    random ones, drawn with the probabilities of :meth:`set_rates` (initially the
    ``fault_rates`` of the :class:`WebhookConfig`) from an RNG seeded by the sandbox seed.
    A fault is chosen once per delivery, on its first attempt; retries get none.
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"videoapi-sandbox:{seed}:webhook-faults")
        self._queue: deque[WebhookFault] = deque()
        self._rates: Mapping[str, float] = MappingProxyType({})

    @property
    def rates(self) -> Mapping[str, float]:
        """The probability of each fault kind per delivery."""
        return self._rates

    def set_rates(self, rates: Mapping[str, float] | None = None) -> None:
        """Replace the random fault probabilities (``None`` or ``{}``: no random faults)."""
        # WebhookConfig validates kinds and probabilities the same way.
        checked = WebhookConfig("http://localhost", "x", fault_rates=rates or {})
        self._rates = checked.fault_rates

    def queue(self, *faults: str | WebhookFault) -> None:
        """Give the next deliveries these faults, in order (``"drop"``, ``"duplicate"`` ...)."""
        self._queue.extend(
            fault if isinstance(fault, WebhookFault) else WebhookFault(fault) for fault in faults
        )

    def pending(self) -> int:
        """Return how many scripted faults are still queued."""
        return len(self._queue)

    def clear(self) -> None:
        """Drop every queued fault and every random-fault probability."""
        self._queue.clear()
        self._rates = MappingProxyType({})

    def pick(self) -> WebhookFault | None:
        """Return the fault of the next delivery, or ``None`` (consumes a queued one)."""
        if self._queue:
            return self._queue.popleft()
        if not self._rates:
            return None
        kind = pick_kind(self._rates, WEBHOOK_FAULT_KINDS, self._rng.random())
        return WebhookFault(kind) if kind is not None else None
