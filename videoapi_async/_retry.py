"""Retrying one HTTP call: which failures may pass, and how long to wait between tries.

`is_transient` is the one rule for "this failure may pass if asked again", shared by
retries and status polls; `is_retryable` adds what a call of a given kind may risk
(a create is sent again only when the server certainly did not act). `backoff` is the
one exponential backoff formula of the package. `retry_call` runs one call under a
`RetryPolicy`: jittered exponential waits, ``Retry-After`` when the server gives one,
bounded by attempts and by total time. ``CancelledError`` is never retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from ._config import RetryPolicy
from ._errors import (
    APIConnectionError,
    APIStatusError,
    RateLimitError,
    ResponseDecodeError,
    VideoAPIError,
)

__all__ = ["Sleep", "backoff", "is_retryable", "is_transient", "retry_call"]

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# 501 Not Implemented and 505 HTTP Version Not Supported describe the request, not the
# server's state: asking again gets the same answer.
_PERMANENT_5XX: Final = frozenset({501, 505})
# 408 Request Timeout, 425 Too Early, 429 Too Many Requests: the server did not act and
# says a later try may succeed.
_TRANSIENT_4XX: Final = frozenset({408, 425, 429})


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is a failure that may pass if the same request is sent again later.

    Transient: connection errors and timeouts (the network or the server's edge
    hiccuped); 408, 425 and 429 (the server did not act and says to come back); 5xx
    except 501 and 505, which describe the request rather than the server's state; and
    bodies that are not JSON at all (a proxy's error page, a truncated body), which a
    healthy server does not send twice. JSON of the wrong shape is not transient: it
    will not change. Whether a transient failure may be *retried* depends on the call
    as well (see `is_retryable`); polls of a render treat every transient failure alike.
    """
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIStatusError):
        status = exc.status_code
        if 500 <= status < 600:
            return status not in _PERMANENT_5XX
        return status in _TRANSIENT_4XX
    if isinstance(exc, ResponseDecodeError):
        return exc.malformed_json
    return False


def is_retryable(exc: BaseException, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """Whether another attempt may be made after `exc`, for a call of this kind."""
    if isinstance(exc, RateLimitError):
        # Honour Retry-After only up to the policy's cap; past it, surface the error.
        return exc.retry_after is None or exc.retry_after <= policy.max_retry_after
    if not idempotent:
        # No idempotency key: only a request the server never received is safe to resend.
        return isinstance(exc, APIConnectionError) and not exc.request_sent
    return is_transient(exc)


def backoff(attempt: int, *, first: float, maximum: float, factor: float = 2.0) -> float:
    """Return the wait before try number `attempt` (1-based), without jitter.

    ``first * factor ** (attempt - 1)``, capped at `maximum`: the package's one
    exponential backoff, for retries and for polls alike.
    """
    try:
        delay = first * factor ** (attempt - 1)
    except OverflowError:
        return maximum
    return min(delay, maximum)


async def retry_call(
    attempt: Callable[[], Awaitable[_T]],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    sleep: Sleep,
    clock: Clock = time.monotonic,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> _T:
    """Run `attempt` until it succeeds, fails for good, or the policy's budget is spent.

    The wait after a failure is the server's ``Retry-After`` when it gave one, else
    `backoff` plus up to `RetryPolicy.initial_backoff` of random jitter. No wait is
    started that would end more than `RetryPolicy.max_elapsed` seconds after the first
    attempt began: the last failure is raised instead.
    """
    started = clock()
    tries = 1
    while True:
        try:
            return await attempt()
        except VideoAPIError as exc:
            if (
                not policy.retries
                or tries >= policy.max_attempts
                or not is_retryable(exc, idempotent=idempotent, policy=policy)
            ):
                raise
            if isinstance(exc, RateLimitError) and exc.retry_after is not None:
                wait = exc.retry_after
            else:
                wait = backoff(
                    tries, first=policy.initial_backoff, maximum=policy.max_backoff
                ) + random.uniform(0, policy.initial_backoff)
            if clock() - started + wait > policy.max_elapsed:
                raise
            if on_retry is not None:
                on_retry(exc, wait)
        await sleep(wait)
        tries += 1
