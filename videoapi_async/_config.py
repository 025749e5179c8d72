"""Settings: every default of the client in one place.

`Timeouts` bounds a single HTTP request, `RetryPolicy` decides how one request is
retried. Waiting for a render is a different thing with its own settings (see
`_polling`); retries never stand in for it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import attrs

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_TEAM_ID",
    "ENV_WORKSPACE_ID",
    "RetryPolicy",
    "Timeouts",
    "env_setting",
]

DEFAULT_BASE_URL = "https://api.makereals.com/api/v1"
ENV_API_KEY = "VIDEOAPI_API_KEY"
ENV_BASE_URL = "VIDEOAPI_BASE_URL"
ENV_WORKSPACE_ID = "VIDEOAPI_WORKSPACE_ID"
ENV_TEAM_ID = "VIDEOAPI_TEAM_ID"


def env_setting(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Read a setting from the environment; empty or blank values count as unset."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


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

    connect: float | None = 10.0
    read: float | None = 60.0

    def __attrs_post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            ):
                raise ValueError(
                    f"Timeouts.{name} must be a positive number of seconds, or None for no "
                    f"limit; got {value!r}"
                )


def _check_policy(policy: RetryPolicy) -> None:
    if (
        isinstance(policy.max_attempts, bool)
        or not isinstance(policy.max_attempts, int)
        or policy.max_attempts < 1
    ):
        raise ValueError(
            f"RetryPolicy.max_attempts must be an integer >= 1 (1 means no retries), "
            f"got {policy.max_attempts!r}"
        )
    for name in ("max_elapsed", "initial_backoff", "max_backoff", "max_retry_after"):
        value = getattr(policy, name)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value < 0
            or math.isnan(value)
        ):
            raise ValueError(f"RetryPolicy.{name} must be a number of seconds >= 0, got {value!r}")
    if not isinstance(policy.enabled, bool):
        raise ValueError(f"RetryPolicy.enabled must be True or False, got {policy.enabled!r}")


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

    max_attempts: int = 4
    max_elapsed: float = 30.0
    initial_backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        _check_policy(self)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """Return a policy that never retries: every request is sent exactly once."""
        return cls(max_attempts=1, enabled=False)

    @property
    def retries(self) -> bool:
        """Whether this policy ever sends a request more than once."""
        return self.enabled and self.max_attempts > 1
