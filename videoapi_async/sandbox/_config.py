"""Frozen settings of the sandbox: renders, voice previews, faults, rate limits, webhooks.

Every default lives here. Bad values fail when the object is built, with a message that
says which field was wrong and how to fix it.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from videoapi_async.contract import WEBHOOK_EVENTS
from videoapi_async.validators import seconds_validator

from ._routes import ALL_ROUTES, check_route_key

__all__ = [
    "DEFAULT_RANDOM_FAULT_KINDS",
    "FAULT_KINDS",
    "WEBHOOK_EVENTS",
    "WEBHOOK_FAULT_KINDS",
    "FaultConfig",
    "RenderProfile",
    "RouteFaults",
    "SandboxConfig",
    "ServerRateLimit",
    "VoicePreviewProfile",
    "WebhookConfig",
]

FAULT_KINDS: Final = (
    "delay",
    "http_429",
    "http_500",
    "http_502",
    "http_503",
    "reset",
    "drop_response",
    "truncated_json",
    "malformed_json",
    "slow_body",
)
"""Names of the faults the sandbox can inject (see the package docstring for each)."""

DEFAULT_RANDOM_FAULT_KINDS: Final = ("http_429", "http_500", "http_502", "http_503", "reset")
"""Kinds spread by :meth:`FaultConfig.spread` when none are named: faults a client retries."""


WEBHOOK_FAULT_KINDS: Final = ("drop", "duplicate", "bad_signature", "delay")
"""Faults of webhook deliveries: not sent, sent twice, signed with another secret, sent late."""

_HEADER_NAME_RE: Final = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _check_fraction(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{owner}.{name} must be a probability between 0 and 1, got {value!r}")


def _check_fault_rates(
    owner: str, name: str, rates: Mapping[str, float], kinds: Sequence[str], target: str
) -> None:
    for kind, rate in rates.items():
        if kind not in kinds:
            raise ValueError(
                f"{owner}.{name} has an unknown fault kind {kind!r}: use one of {', '.join(kinds)}"
            )
        _check_fraction(owner, f"{name}[{kind!r}]", rate)
    total = sum(rates.values())
    if total > 1 + 1e-9:
        raise ValueError(
            f"{owner}.{name} add up to {total:g}, but at most one fault hits {target}, so "
            "they must add up to at most 1: lower them"
        )


def _fraction(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    _check_fraction(type(instance).__name__, attribute.name, value)


_seconds = seconds_validator(zero=True)
_positive_seconds = seconds_validator()
_optional_seconds = seconds_validator(zero=True, none="the configured value")


def _max_duration(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    """Check a ``max_duration`` as `_seconds` does, and that it is not below ``min_duration``."""
    _seconds(instance, attribute, value)
    if instance.min_duration > value:
        raise ValueError(
            f"{type(instance).__name__}.min_duration ({instance.min_duration}) is greater "
            f"than max_duration ({value}): swap them or raise max_duration"
        )


@attrs.frozen
class RenderProfile:
    """How the sandbox's renders behave.

    Each render takes a duration drawn uniformly from ``min_duration..max_duration``
    nominal seconds, divided by ``time_scale`` (``time_scale=20`` makes a 10 s render take
    0.5 s). It ends ``failed``, ``cancelled``, ``stopped`` or ``published`` with the given
    probabilities and ``ready`` otherwise. ``unknown_progress_rate`` is the fraction of
    reads of an unfinished render that report ``progress: -1`` (the API's undocumented
    "unknown").
    """

    min_duration: float = attrs.field(default=2.0, validator=_seconds)
    max_duration: float = attrs.field(default=8.0, validator=_max_duration)
    time_scale: float = 1.0
    failure_rate: float = attrs.field(default=0.0, validator=_fraction)
    cancel_rate: float = attrs.field(default=0.0, validator=_fraction)
    stop_rate: float = attrs.field(default=0.0, validator=_fraction)
    publish_rate: float = attrs.field(default=0.0, validator=_fraction)
    unknown_progress_rate: float = attrs.field(default=0.0, validator=_fraction)

    def __attrs_post_init__(self) -> None:
        scale = self.time_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(
                f"RenderProfile.time_scale must be a number > 0 (2 = twice as fast), got {scale!r}"
            )
        total = self.failure_rate + self.cancel_rate + self.stop_rate + self.publish_rate
        if total > 1 + 1e-9:
            raise ValueError(
                "RenderProfile: failure_rate + cancel_rate + stop_rate + publish_rate is "
                f"{total:g}, but it must be at most 1 (the remainder of renders end 'ready'): "
                "lower one of them"
            )

    def outcome_weights(self) -> tuple[tuple[str, float], ...]:
        """Return each final status with its probability, in a fixed order."""
        rest = 1.0 - self.failure_rate - self.cancel_rate - self.stop_rate - self.publish_rate
        return (
            ("failed", self.failure_rate),
            ("cancelled", self.cancel_rate),
            ("stopped", self.stop_rate),
            ("published", self.publish_rate),
            ("ready", max(rest, 0.0)),
        )


def _freeze_rates(value: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(value))


@attrs.frozen
class RouteFaults:
    """Random misbehaviour of one route (or of every route, under the key ``"*"``).

    ``rates`` maps a fault kind (one of :data:`FAULT_KINDS`) to the probability that a
    request gets it; the probabilities must add up to at most 1. ``latency`` seconds, plus
    up to ``latency_jitter`` more, are added to every request of the route.
    """

    rates: Mapping[str, float] = attrs.field(factory=dict, converter=_freeze_rates)
    latency: float = attrs.field(default=0.0, validator=_seconds)
    latency_jitter: float = attrs.field(default=0.0, validator=_seconds)

    def __attrs_post_init__(self) -> None:
        _check_fault_rates("RouteFaults", "rates", self.rates, FAULT_KINDS, "a request")


def _freeze_routes(value: Mapping[str, RouteFaults]) -> Mapping[str, RouteFaults]:
    routes = {}
    for key, faults in value.items():
        check_route_key(key)
        if not isinstance(faults, RouteFaults):
            raise TypeError(
                f"FaultConfig.routes[{key!r}] must be a RouteFaults, got {type(faults).__name__}"
            )
        routes[key] = faults
    return MappingProxyType(routes)


def _positive_int(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{type(instance).__name__}.{attribute.name} must be an integer >= 1, got {value!r}"
        )


@attrs.frozen
class FaultConfig:
    """Which faults the sandbox injects at random, and the parameters of every fault kind.

    ``routes`` maps a route key (``"GET /videos/{video_id}"`` ...) or ``"*"`` to its
    :class:`RouteFaults`; a route's own entry replaces the ``"*"`` entry. The other fields
    tune the fault kinds, scripted ones included: ``retry_after`` is the ``Retry-After`` of
    an ``http_429`` (seconds; ``None`` sends no header), sent as an HTTP date when
    ``retry_after_date`` is true; ``delay`` is the pause of a ``delay`` fault;
    ``slow_body_chunks`` pieces of a ``slow_body`` are sent ``slow_body_pause`` seconds apart.
    """

    routes: Mapping[str, RouteFaults] = attrs.field(factory=dict, converter=_freeze_routes)
    retry_after: float | None = attrs.field(
        default=1.0, validator=seconds_validator(zero=True, none="no Retry-After header")
    )
    retry_after_date: bool = False
    delay: float = attrs.field(default=1.0, validator=_seconds)
    slow_body_pause: float = attrs.field(default=0.5, validator=_seconds)
    slow_body_chunks: int = attrs.field(default=4, validator=_positive_int)

    @classmethod
    def spread(
        cls,
        rate: float,
        kinds: Iterable[str] = DEFAULT_RANDOM_FAULT_KINDS,
        *,
        route: str = ALL_ROUTES,
        latency: float = 0.0,
    ) -> FaultConfig:
        """Build a config where ``rate`` of the requests to ``route`` fail, over ``kinds``."""
        _check_fraction("FaultConfig.spread", "rate", rate)
        names = tuple(kinds)
        if not names and rate > 0:
            raise ValueError("FaultConfig.spread needs at least one fault kind when rate > 0")
        rates = {kind: rate / len(names) for kind in names} if rate > 0 else {}
        return cls(routes={route: RouteFaults(rates=rates, latency=latency)})


@attrs.frozen
class ServerRateLimit:
    """A token bucket per API key: ``rate`` requests per second, bursts up to ``burst``.

    A request that finds the bucket empty is answered ``429`` with a ``Retry-After`` (whole
    seconds until a token is back), as an API gateway would. ``burst`` defaults to
    ``rate`` rounded up.
    """

    rate: float
    burst: int = attrs.field(validator=_positive_int)

    @burst.default
    def _default_burst(self) -> int:
        return max(1, math.ceil(self.rate)) if self.rate > 0 else 1

    def __attrs_post_init__(self) -> None:
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ValueError(
                f"ServerRateLimit.rate must be a number of requests per second > 0, got {rate!r}"
            )


@attrs.frozen
class VoicePreviewProfile:
    """How the sandbox's voice previews (``POST /voice-preview`` tasks) behave.

    Each task takes a duration drawn uniformly from ``min_duration..max_duration`` nominal
    seconds, divided by the render profile's ``time_scale``, then ends ``ready`` (with the
    ``url`` of a small WAV file) or, with probability ``failure_rate``, ``failed``.
    """

    min_duration: float = attrs.field(default=1.0, validator=_seconds)
    max_duration: float = attrs.field(default=4.0, validator=_max_duration)
    failure_rate: float = attrs.field(default=0.0, validator=_fraction)


def _freeze_names(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _to_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_url(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        good = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
        if parts is not None:
            parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        good = False
    if not good:
        raise ValueError(
            f"WebhookConfig.url must be an http:// or https:// URL with a host, got {value!r}"
        )


def _check_secret(instance: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError("WebhookConfig.secret must be a non-empty string")
    if value.startswith("whsec_"):
        encoded = value[len("whsec_") :]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:  # binascii.Error is a ValueError
            key = b""
        if not key:
            raise ValueError(
                "WebhookConfig.secret starts with 'whsec_', so the rest must be the key in "
                "base64 (or drop the prefix to use the string itself as the key)"
            )


def _check_retries(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"WebhookConfig.retries must be an integer >= 0, got {value!r}")


def _default_events(instance: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(instance.event_names.values()))


@attrs.frozen
class WebhookConfig:
    """Where and how the sandbox delivers webhooks when renders reach a final status.

    Each delivery is a ``POST`` of ``{"id", "event", "created_at", "data"}`` to ``url``,
    signed with ``secret`` in the ``signature_header`` (see the package docstring for the
    wire format). ``event_names`` spells the event of a render that ends ``ready`` or
    ``published`` (key ``"ready"``) and of one that ends ``failed``, ``cancelled`` or
    ``stopped`` (key ``"failed"``); only the ``events`` listed (default: both) are sent.

    Times: a delivery is due ``delay`` sandbox-clock seconds after its render ends; a
    failed one (an error or a status other than 2xx) is tried again ``retries`` times,
    ``retry_delay`` sandbox-clock seconds apart; each attempt gives up after ``timeout``
    real seconds. ``fault_rates`` maps webhook fault kinds (:data:`WEBHOOK_FAULT_KINDS`)
    to the probability that a delivery gets them; a ``delay`` fault holds a delivery back
    ``fault_delay`` sandbox-clock seconds.
    """

    url: str = attrs.field(validator=_check_url)
    secret: str = attrs.field(validator=_check_secret, repr=False)
    event_names: Mapping[str, str] = attrs.field(
        factory=lambda: {"ready": WEBHOOK_EVENTS[0], "failed": WEBHOOK_EVENTS[1]},
        converter=_freeze_names,
    )
    events: tuple[str, ...] = attrs.field(
        default=attrs.Factory(_default_events, takes_self=True), converter=_to_tuple
    )
    signature_header: str = "webhook-signature"
    delay: float = attrs.field(default=0.0, validator=_seconds)
    timeout: float = attrs.field(default=5.0, validator=_positive_seconds)
    retries: int = attrs.field(default=0, validator=_check_retries)
    retry_delay: float = attrs.field(default=1.0, validator=_seconds)
    fault_rates: Mapping[str, float] = attrs.field(factory=dict, converter=_freeze_rates)
    fault_delay: float = attrs.field(default=1.0, validator=_seconds)

    def __attrs_post_init__(self) -> None:
        names = self.event_names
        if set(names) != {"ready", "failed"} or not all(
            isinstance(name, str) and name for name in names.values()
        ):
            raise ValueError(
                "WebhookConfig.event_names must map exactly 'ready' and 'failed' to "
                f"non-empty event names, got {dict(names)!r}"
            )
        for event in self.events:
            if event not in names.values():
                raise ValueError(
                    f"WebhookConfig.events names {event!r}, which is not an event of "
                    f"event_names: use some of {', '.join(names.values())}"
                )
        header = self.signature_header
        if not isinstance(header, str) or _HEADER_NAME_RE.match(header) is None:
            raise ValueError(
                f"WebhookConfig.signature_header must be an HTTP header name, got {header!r}"
            )
        _check_fault_rates(
            "WebhookConfig", "fault_rates", self.fault_rates, WEBHOOK_FAULT_KINDS, "a delivery"
        )


def _check_port(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError(f"SandboxConfig.port must be 0..65535 (0 = any free port), got {value!r}")


@attrs.frozen
class SandboxConfig:
    """Everything a :class:`~videoapi_async.sandbox.Sandbox` needs to know.

    ``api_key`` is generated per sandbox when ``None``; so is ``seed`` (read it back from
    ``Sandbox.seed`` to replay a run). With ``null_unset_fields`` the server sends
    ``null`` for every optional field of a video it has no value for, as a pydantic v1
    server without ``exclude_none`` does; by default such fields are left out.
    ``preload_videos`` finished (``ready``) videos are put in the first account at start.
    ``voice_preview`` tunes the voice-preview tasks; ``webhooks`` (``None``: off) makes the
    sandbox deliver signed webhooks when renders end.
    """

    host: str = "127.0.0.1"
    port: int = attrs.field(default=0, validator=_check_port)
    api_key: str | None = None
    seed: int | None = None
    render: RenderProfile = attrs.field(factory=RenderProfile)
    faults: FaultConfig = attrs.field(factory=FaultConfig)
    rate_limit: ServerRateLimit | None = None
    null_unset_fields: bool = False
    preload_videos: int = 0
    voice_preview: VoicePreviewProfile = attrs.field(factory=VoicePreviewProfile)
    webhooks: WebhookConfig | None = None

    def __attrs_post_init__(self) -> None:
        preload = self.preload_videos
        if isinstance(preload, bool) or not isinstance(preload, int) or preload < 0:
            raise ValueError(
                f"SandboxConfig.preload_videos must be an integer >= 0, got {preload!r}"
            )
        if self.api_key is not None and (not isinstance(self.api_key, str) or not self.api_key):
            raise ValueError("SandboxConfig.api_key must be a non-empty string or None")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"SandboxConfig.seed must be an integer or None, got {self.seed!r}")
