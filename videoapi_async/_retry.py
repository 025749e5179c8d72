"""Retrying one HTTP call, with tenacity.

What may be retried is decided here, once: reads on connection errors, timeouts,
malformed bodies, 408, 429 and 5xx; creates only when the server certainly did not act
(429, or a connection that failed before the request was sent). Waits are jittered and
exponential, bounded by attempts and by total time, and ``Retry-After`` replaces the
computed wait when the server gives one. ``CancelledError`` is never retried.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import tenacity
from tenacity.wait import wait_base

from ._config import RetryPolicy
from ._errors import (
    APIConnectionError,
    APIStatusError,
    RateLimitError,
    ResponseDecodeError,
    VideoAPIError,
)

__all__ = ["Sleep", "is_retryable", "retry_call"]

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

_RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable(exc: BaseException, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """Whether another attempt may be made after `exc`, for a call of this kind."""
    if isinstance(exc, RateLimitError):
        # Honour Retry-After only up to the policy's cap; past it, surface the error.
        return exc.retry_after is None or exc.retry_after <= policy.max_retry_after
    if not idempotent:
        return isinstance(exc, APIConnectionError) and not exc.request_sent
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIStatusError):
        return exc.status_code in _RETRY_STATUSES or (
            500 <= exc.status_code < 600 and (exc.status_code not in (501, 505))
        )
    if isinstance(exc, ResponseDecodeError):
        return exc.malformed_json
    return False


class _wait_retry_after_or(wait_base):
    """Use the server's ``Retry-After`` when it gave one, else the fallback strategy."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return exc.retry_after
        return self.fallback(retry_state)


class _stop_before_deadline(tenacity.stop.stop_base):
    """Stop when the next wait would end past the total time budget (by our clock)."""

    def __init__(self, budget: float, clock: Clock, started: float) -> None:
        self.budget = budget
        self.clock = clock
        self.started = started

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        return self.clock() - self.started + upcoming > self.budget


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

    The first attempt runs without tenacity's bookkeeping; only a retryable failure
    enters the retry loop, so the common, successful call stays cheap.
    """
    started = clock()
    try:
        return await attempt()
    except VideoAPIError as exc:
        if not policy.retries or not is_retryable(exc, idempotent=idempotent, policy=policy):
            raise
        first_failure = exc

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.outcome.failed:
            error = state.outcome.exception()
            if error is not None:
                on_retry(error, state.upcoming_sleep)

    retrying = tenacity.AsyncRetrying(
        sleep=sleep,
        stop=tenacity.stop_after_attempt(policy.max_attempts)
        | _stop_before_deadline(policy.max_elapsed, clock, started),
        wait=_wait_retry_after_or(
            tenacity.wait_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)
            + tenacity.wait_random(0, policy.initial_backoff)
        ),
        retry=tenacity.retry_if_exception(
            lambda e: is_retryable(e, idempotent=idempotent, policy=policy)
        ),
        before_sleep=before_sleep,
        reraise=True,
    )

    pending: list[BaseException] = [first_failure]

    async def again() -> _T:
        # The first failure was already seen; replay it so the first wait is computed
        # from it (Retry-After included), then make real attempts.
        if pending:
            raise pending.pop()
        return await attempt()

    return await retrying(again)
