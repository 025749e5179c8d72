"""Flat sandbox options (as a command line or a pytest marker gives them) to a config."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ._config import (
    DEFAULT_RANDOM_FAULT_KINDS,
    FAULT_KINDS,
    FaultConfig,
    SandboxConfig,
    ServerRateLimit,
    WebhookConfig,
)

__all__ = ["OPTION_NAMES", "config_from_options"]

_RENDER_OPTIONS: Final = {
    "time_scale",
    "min_duration",
    "max_duration",
    "failure_rate",
    "cancel_rate",
    "stop_rate",
    "publish_rate",
    "unknown_progress_rate",
}
_TOP_OPTIONS: Final = {"host", "port", "api_key", "seed", "null_unset_fields", "preload_videos"}
_FAULT_OPTIONS: Final = {
    "fault_rate",
    "fault_kinds",
    "latency",
    "retry_after",
    "delay",
    "slow_body_pause",
}
_LIMIT_OPTIONS: Final = {"rate_limit", "burst"}
_VOICE_OPTIONS: Final = {
    "voice_min_duration": "min_duration",
    "voice_max_duration": "max_duration",
    "voice_failure_rate": "failure_rate",
}
_WEBHOOK_OPTIONS: Final = {"webhook_url", "webhook_secret", "webhook_delay"}
OPTION_NAMES: Final = frozenset(
    _RENDER_OPTIONS
    | _TOP_OPTIONS
    | _FAULT_OPTIONS
    | _LIMIT_OPTIONS
    | set(_VOICE_OPTIONS)
    | _WEBHOOK_OPTIONS
)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"sandbox option {name} must be a number, got {value!r}")
    return float(value)


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"sandbox option {name} must be an integer, got {value!r}")
    return value


def _kinds(value: object) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, Iterable):
        raise ValueError(f"sandbox option fault_kinds must be a list of names, got {value!r}")
    kinds = tuple(str(name).strip() for name in names if str(name).strip())
    for kind in kinds:
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"sandbox option fault_kinds names an unknown kind {kind!r}: "
                f"use some of {', '.join(FAULT_KINDS)}"
            )
    return kinds


def config_from_options(
    options: Mapping[str, object], base: SandboxConfig | None = None
) -> SandboxConfig:
    """Build a :class:`SandboxConfig` from flat options, as given on a command line.

    Options whose value is ``None`` are ignored; the others replace fields of ``base``
    (the defaults when ``None``). Names: ``host``, ``port``, ``api_key``, ``seed``,
    ``null_unset_fields``, ``preload_videos``; the :class:`RenderProfile` fields;
    ``fault_rate`` with ``fault_kinds`` (see :meth:`FaultConfig.spread`), ``latency``,
    ``retry_after``, ``delay``, ``slow_body_pause``; ``rate_limit`` (requests per second)
    with ``burst``; ``voice_min_duration``, ``voice_max_duration``, ``voice_failure_rate``
    (the :class:`VoicePreviewProfile`); ``webhook_url`` with ``webhook_secret`` (a random
    ``whsec_`` one when not given; read it back from ``config.webhooks.secret``) and
    ``webhook_delay``.
    """
    given = {name: value for name, value in options.items() if value is not None}
    unknown = sorted(set(given) - OPTION_NAMES)
    if unknown:
        raise ValueError(
            f"unknown sandbox option(s) {', '.join(unknown)}: "
            f"use some of {', '.join(sorted(OPTION_NAMES))}"
        )
    config = base if base is not None else SandboxConfig()

    render_changes = {name: _number(name, given[name]) for name in _RENDER_OPTIONS & set(given)}
    render = attrs.evolve(config.render, **render_changes) if render_changes else config.render

    faults = config.faults
    if "fault_rate" in given or "latency" in given:
        kinds = _kinds(given["fault_kinds"]) if "fault_kinds" in given else None
        spread = FaultConfig.spread(
            _number("fault_rate", given.get("fault_rate", 0.0)),
            kinds if kinds is not None else DEFAULT_RANDOM_FAULT_KINDS,
            latency=_number("latency", given.get("latency", 0.0)),
        )
        faults = attrs.evolve(faults, routes={**faults.routes, **spread.routes})
    elif "fault_kinds" in given:
        raise ValueError("sandbox option fault_kinds needs fault_rate as well")
    fault_changes: dict[str, Any] = {
        name: _number(name, given[name])
        for name in ("retry_after", "delay", "slow_body_pause")
        if name in given
    }
    if fault_changes:
        faults = attrs.evolve(faults, **fault_changes)

    rate_limit = config.rate_limit
    if "rate_limit" in given:
        rps = _number("rate_limit", given["rate_limit"])
        if "burst" in given:
            rate_limit = ServerRateLimit(rps, _integer("burst", given["burst"]))
        else:
            rate_limit = ServerRateLimit(rps)
    elif "burst" in given:
        raise ValueError("sandbox option burst needs rate_limit as well")

    voice_changes = {
        field: _number(name, given[name]) for name, field in _VOICE_OPTIONS.items() if name in given
    }
    voice = (
        attrs.evolve(config.voice_preview, **voice_changes)
        if voice_changes
        else config.voice_preview
    )
    webhooks = _webhooks(given, config.webhooks)

    top: dict[str, Any] = {}
    for name in ("host", "api_key"):
        if name in given:
            top[name] = str(given[name])
    for name in ("port", "seed", "preload_videos"):
        if name in given:
            top[name] = _integer(name, given[name])
    if "null_unset_fields" in given:
        top["null_unset_fields"] = bool(given["null_unset_fields"])
    return attrs.evolve(
        config,
        render=render,
        faults=faults,
        rate_limit=rate_limit,
        voice_preview=voice,
        webhooks=webhooks,
        **top,
    )


def _webhooks(given: Mapping[str, object], current: WebhookConfig | None) -> WebhookConfig | None:
    if "webhook_url" in given:
        secret = given.get("webhook_secret")
        if secret is None:
            secret = (
                current.secret
                if current is not None
                else "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            )
        base = current if current is not None else WebhookConfig("http://localhost", "x")
        current = attrs.evolve(base, url=str(given["webhook_url"]), secret=str(secret))
    elif current is not None and "webhook_secret" in given:
        current = attrs.evolve(current, secret=str(given["webhook_secret"]))
    elif "webhook_secret" in given or "webhook_delay" in given:
        raise ValueError("sandbox options webhook_secret and webhook_delay need webhook_url")
    if "webhook_delay" in given:
        assert current is not None
        current = attrs.evolve(current, delay=_number("webhook_delay", given["webhook_delay"]))
    return current
