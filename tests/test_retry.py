"""The one rule for transient failures, the one backoff formula, and the retry loop."""

from __future__ import annotations

import asyncio

import pytest

from videoapi_async import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServerError,
)
from videoapi_async._protocol import status_error
from videoapi_async._retry import backoff, is_retryable, is_transient, retry_call

from .conftest import Sleeps


def status(code: int) -> BaseException:
    return status_error(code, {}, b"", method="GET", path="/videos/v")


class TestIsTransient:
    @pytest.mark.parametrize("code", [408, 425, 429, 500, 502, 503, 504, 507, 599])
    def test_statuses_that_may_pass(self, code: int) -> None:
        """408, 425, 429 and every 5xx but 501 and 505 may pass if asked again."""
        assert is_transient(status(code))

    @pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422, 501, 505])
    def test_statuses_that_will_not_pass(self, code: int) -> None:
        """Client errors, 501 and 505 describe the request: asking again changes nothing."""
        assert not is_transient(status(code))

    def test_connection_errors_and_garbled_bodies(self) -> None:
        """Connection errors, timeouts and non-JSON bodies are transient; wrong shapes not."""
        assert is_transient(APIConnectionError("c", method="GET", path="/", request_sent=True))
        assert is_transient(APITimeoutError("t", method="GET", path="/", request_sent=True))
        garbled = ResponseDecodeError(
            "x", status_code=200, method="GET", path="/", body_excerpt="", malformed_json=True
        )
        shaped = ResponseDecodeError("x", status_code=200, method="GET", path="/", body_excerpt="")
        assert is_transient(garbled)
        assert not is_transient(shaped)

    def test_foreign_exceptions(self) -> None:
        """Cancellation and programming errors are never transient."""
        for exc in (asyncio.CancelledError(), KeyError("x"), RuntimeError()):
            assert not is_transient(exc)

    @pytest.mark.parametrize("code", [408, 425, 500, 501, 503, 505])
    def test_reads_retry_exactly_what_is_transient(self, code: int) -> None:
        """Retries of reads follow is_transient, so polls and retries cannot disagree."""
        policy = RetryPolicy()
        exc = status(code)
        assert is_retryable(exc, idempotent=True, policy=policy) == is_transient(exc)


class TestBackoff:
    def test_doubles_then_caps(self) -> None:
        """Each try waits twice the one before, up to the maximum."""
        waits = [backoff(n, first=0.25, maximum=8.0) for n in range(1, 9)]
        assert waits == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]

    def test_other_factor_and_huge_attempts(self) -> None:
        """Any growth factor works, and a huge attempt number stays at the maximum."""
        assert backoff(3, first=2.0, maximum=100.0, factor=1.5) == pytest.approx(4.5)
        assert backoff(100_000, first=1.0, maximum=30.0) == 30.0


class TestRetryCall:
    async def test_waits_grow_with_jitter(self, sleeps: Sleeps) -> None:
        """Transient failures are retried with the backoff plus up to one initial wait."""
        calls = 0

        async def attempt() -> str:
            nonlocal calls
            calls += 1
            if calls < 4:
                raise status(503)
            return "ok"

        policy = RetryPolicy(max_attempts=4, initial_backoff=0.25)
        result = await retry_call(
            attempt, idempotent=True, policy=policy, sleep=sleeps, clock=sleeps.clock
        )
        assert result == "ok"
        for n, wait in enumerate(sleeps.delays, start=1):
            assert 0.25 * 2 ** (n - 1) <= wait <= 0.25 * 2 ** (n - 1) + 0.25

    async def test_retry_after_replaces_the_backoff(self, sleeps: Sleeps) -> None:
        """A 429's Retry-After is the wait, and the total time bound still applies."""

        async def attempt() -> str:
            raise status_error(429, {"Retry-After": "12"}, b"", method="GET", path="/")

        policy = RetryPolicy(max_attempts=10, max_elapsed=30)
        with pytest.raises(RateLimitError):
            await retry_call(
                attempt, idempotent=True, policy=policy, sleep=sleeps, clock=sleeps.clock
            )
        assert sleeps.delays == [12.0, 12.0]

    async def test_permanent_failure_is_raised_at_once(self, sleeps: Sleeps) -> None:
        """A failure that will not pass is raised without any wait."""

        async def attempt() -> str:
            raise status(501)

        with pytest.raises(ServerError):
            await retry_call(attempt, idempotent=True, policy=RetryPolicy(), sleep=sleeps)
        assert sleeps.delays == []
