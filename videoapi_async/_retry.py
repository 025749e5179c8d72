"""Retrying one HTTP call: which failures may pass, and how long to wait between tries.

`is_transient` is the one rule for "this failure may pass if asked again", shared by
retries and status polls; `is_retryable` adds what a call of a given kind may risk
(a create is sent again only when the server certainly did not act). `backoff` is the
package's one exponential backoff formula (tenacity's). `retry_call` runs one call under
a `RetryPolicy` with tenacity: jittered exponential waits, ``Retry-After`` when the
server gives one, bounded by attempts and by total time. ``CancelledError`` is never
retried.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import tenacity

from ._config import RetryPolicy
from ._errors import (
    APIConnectionError,
    APIStatusError,
    RateLimitError,
    ResponseDecodeError,
    VideoAPIError,
)

__all__ = ["Sleep", "backoff", "is_retryable", "is_transient", "retry_after", "retry_call"]

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

    ``first * factor ** (attempt - 1)``, capped at `maximum`: tenacity's exponential
    wait, the package's one backoff formula, for retries and for polls alike.
    """
    state = tenacity.RetryCallState(_exponential_owner(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return _exponential(first, factor, maximum)(state)


@functools.lru_cache(maxsize=32)
def _exponential(first: float, factor: float, maximum: float) -> tenacity.wait_exponential:
    # One strategy object per policy: polls without news call this on every poll.
    return tenacity.wait_exponential(multiplier=first, exp_base=factor, max=maximum)


@functools.cache
def _exponential_owner() -> tenacity.AsyncRetrying:
    # RetryCallState wants the retrying object it belongs to; its waits never read it.
    return tenacity.AsyncRetrying()


class _wait_retry_after_or(tenacity.wait.wait_base):
    """Wait for the server's ``Retry-After`` when it gave one, else for `fallback`."""

    def __init__(self, fallback: tenacity.wait.wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return exc.retry_after
        return self.fallback(retry_state)


class _stop_before_deadline(tenacity.stop.stop_base):
    """Stop rather than start a wait that would end past the time budget, by our clock.

    tenacity's own ``stop_before_delay`` reads ``time.monotonic``; the client's clock is
    injectable so that tests run in fake time.
    """

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

    The wait after a failure is the server's ``Retry-After`` when it gave one, else
    `backoff` plus up to `RetryPolicy.initial_backoff` of random jitter. No wait is
    started that would end more than `RetryPolicy.max_elapsed` seconds after the first
    attempt began: the last failure is raised instead. The first attempt runs without
    tenacity's bookkeeping; only a retryable failure enters tenacity's loop (see
    `retry_after`), so the common, successful call stays cheap.
    """
    started = clock()
    try:
        return await attempt()
    except VideoAPIError as exc:
        if not policy.retries or not is_retryable(exc, idempotent=idempotent, policy=policy):
            raise
        failure = exc
    return await retry_after(
        failure,
        attempt,
        idempotent=idempotent,
        policy=policy,
        sleep=sleep,
        clock=clock,
        started=started,
        on_retry=on_retry,
    )


async def retry_after(
    failure: BaseException,
    attempt: Callable[[], Awaitable[_T]],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    sleep: Sleep,
    clock: Clock,
    started: float,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> _T:
    """Go on from a first attempt, begun at `started`, that failed with `failure`.

    `failure` counts as attempt 1 and decides the first wait (its ``Retry-After``
    included); from there it is `retry_call`'s loop. The caller checks that `failure`
    may be retried at all.
    """
    first_failure: BaseException | None = failure

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.outcome.failed:
            error = state.outcome.exception()
            if error is not None:
                on_retry(error, state.upcoming_sleep)

    async def again() -> _T:
        # Replay the first failure so tenacity computes the first wait from it
        # (Retry-After included) and counts it as attempt 1; then really try again.
        nonlocal first_failure
        if first_failure is not None:
            replay, first_failure = first_failure, None
            raise replay
        return await attempt()

    retrying = tenacity.AsyncRetrying(
        sleep=sleep,
        stop=tenacity.stop_after_attempt(policy.max_attempts)
        | _stop_before_deadline(policy.max_elapsed, clock, started),
        wait=_wait_retry_after_or(
            tenacity.wait_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff)
            + tenacity.wait_random(0, policy.initial_backoff)
        ),
        retry=tenacity.retry_if_exception(
            lambda e: (
                isinstance(e, VideoAPIError)
                and is_retryable(e, idempotent=idempotent, policy=policy)
            )
        ),
        before_sleep=before_sleep,
        reraise=True,
    )
    return await retrying(again)
