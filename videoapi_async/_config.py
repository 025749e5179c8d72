"""The request settings and their defaults: `Timeouts`, `RetryPolicy`, the environment.

Each is a frozen attrs class whose fields validate themselves. Waiting for a render has
its own settings (`PollPolicy`, in `_cadence`); retries never stand in for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from .validators import seconds_validator

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_BEARER_TOKEN",
    "ENV_TEAM_ID",
    "ENV_WORKSPACE_ID",
    "RetryPolicy",
    "Timeouts",
    "env_setting",
]

DEFAULT_BASE_URL = "https://api.makereals.com/api/v1"
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
"""The longest response body read, in bytes, after decompression: 64 MiB, room for a
list of some 10,000 videos with their scenes."""
ENV_API_KEY = "VIDEOAPI_API_KEY"
ENV_BASE_URL = "VIDEOAPI_BASE_URL"
ENV_WORKSPACE_ID = "VIDEOAPI_WORKSPACE_ID"
ENV_TEAM_ID = "VIDEOAPI_TEAM_ID"
ENV_BEARER_TOKEN = "VIDEOAPI_BEARER_TOKEN"


def env_setting(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Read a setting from the environment; empty or blank values count as unset."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


# Timeouts and retry waits take math.inf ("no limit"); None turns a timeout off too.
_timeout = seconds_validator(infinite=True, none="no limit")
_wait = seconds_validator(zero=True, infinite=True)


def _attempts(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"RetryPolicy.{attribute.name} must be an integer >= 1 (1 means no retries), "
            f"got {value!r}"
        )


def _flag(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"RetryPolicy.{attribute.name} must be True or False, got {value!r}")


@attrs.frozen(kw_only=True)
class Timeouts:
    """How long one HTTP request may take, in seconds (None: no limit).

    Attributes:
        connect: Establishing a new connection (DNS, TCP, TLS). Time spent queued for a
            free connection from the pool is not counted, so a busy bulk job does not
            time out requests that never started.
        read: The longest pause while waiting for the response's headers or for the
            next piece of its body. A server that stalls mid-body fails within this.

    """

    connect: float | None = attrs.field(default=10.0, validator=_timeout)
    read: float | None = attrs.field(default=60.0, validator=_timeout)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How one HTTP request is retried when it fails in a way that may pass.

    Reads (``GET``) are retried on connection errors, timeouts, 408, 429 and 5xx
    answers. A create is retried only when the server certainly did not act on it:
    a 429 answer, or a connection that failed before the request was sent. The API has
    no idempotency key, so anything else could start a second, billed render.

    Attributes:
        max_attempts: Attempts in all, the first included (1 turns retries off).
        max_elapsed: Give up rather than start a wait that would end more than this
            many seconds after the first attempt began.
        initial_backoff: The first backoff; each later one doubles, plus jitter.
        max_backoff: The longest backoff between attempts, before jitter.
        max_retry_after: The longest ``Retry-After`` honoured. A server asking for a
            longer wait gets its error raised at once instead, with ``retry_after`` set.
        enabled: False turns retries off altogether (handy in tests).

    """

    max_attempts: int = attrs.field(default=4, validator=_attempts)
    max_elapsed: float = attrs.field(default=30.0, validator=_wait)
    initial_backoff: float = attrs.field(default=0.25, validator=_wait)
    max_backoff: float = attrs.field(default=8.0, validator=_wait)
    max_retry_after: float = attrs.field(default=60.0, validator=_wait)
    enabled: bool = attrs.field(default=True, validator=_flag)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """Return a policy that never retries: every request is sent exactly once."""
        return cls(max_attempts=1, enabled=False)

    @property
    def retries(self) -> bool:
        """Whether this policy ever sends a request more than once."""
        return self.enabled and self.max_attempts > 1
