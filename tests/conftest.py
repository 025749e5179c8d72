"""Shared fixtures: a mocked API (aioresponses), a canary key, and an instant sleep."""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

import aiohttp
import pytest
from aioresponses import aioresponses

from videoapi_async import PollPolicy, RateLimit, RetryPolicy, VideoAPI

if TYPE_CHECKING:
    from .fakes import FakeTime

BASE_URL = "http://api.test/api/v1"
CANARY_KEY = "sk-canary-7f3a9c2e-do-not-leak"

VIDEO: dict[str, Any] = {
    "id": "vid-1",
    "name": "Q3 update",
    "status": "processing",
    "progress": 40,
    "req_id": "req-1",
    "draft_id": "draft-1",
    "source_draft_id": "src-1",
    "video_player_url": "",
}


class _CompatResponse(aiohttp.ClientResponse):
    """A ClientResponse that aioresponses 0.7.x can build on aiohttp >= 3.14.

    aiohttp 3.14 added a required ``stream_writer`` argument that aioresponses does not
    pass yet (pnuckowski/aioresponses#289); a stand-in with ``output_size`` is all that
    aiohttp reads from it for an already-sent request. Drop this once aioresponses
    passes it.
    """

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", types.SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters


class MockAPI(aioresponses):
    """aioresponses, plus a way to read the calls made to one method and URL."""

    def calls(self, method: str, url: str) -> list[Any]:
        """Return the recorded calls to one method and URL."""
        from yarl import URL

        return list(self.requests.get((method, URL(url, encoded=True)), []))


@pytest.fixture
def mock_api() -> Iterator[MockAPI]:
    """Intercept every aiohttp request; unmatched requests fail loudly."""
    # aioresponses builds every response, callbacks' included, from this module global.
    compat = patch("aioresponses.core.ClientResponse", _CompatResponse)
    mocked = MockAPI()
    with mocked, compat if _NEEDS_STREAM_WRITER else nullcontext():
        yield mocked


class Sleeps:
    """The `sleep` given to clients under test: it records each delay and takes no real time.

    In a SimulatedTimeLoop (async tests taking this fixture run in one) it is
    `fakes.FakeTime`'s sleep on the loop's clock, which `clock` reads.
    """

    def __init__(self) -> None:
        from .fakes import FakeTime

        self._time = FakeTime()
        self.delays = self._time.sleeps

    async def __call__(self, delay: float) -> None:
        await self._time.sleep(delay)

    @property
    def now(self) -> float:
        """The fake time: 1000 plus every second slept so far."""
        return self._time.now

    def clock(self) -> float:
        """Return the fake time."""
        return self._time.now


@pytest.fixture
def sleeps() -> Sleeps:
    """Return an instant, recording sleep."""
    return Sleeps()


@pytest.fixture
async def api(sleeps: Sleeps) -> AsyncIterator[VideoAPI]:
    """Return a client for the mocked API, with the canary key and instant retries."""
    async with VideoAPI(
        CANARY_KEY,
        base_url=BASE_URL,
        sleep=sleeps,
        clock=sleeps.clock,
        retry=RetryPolicy(max_attempts=4, max_elapsed=3600),
    ) as client:
        yield client


@pytest.fixture
def time() -> FakeTime:
    """Return the simulated clock of the test's loop, and a sleep on it that records."""
    from .fakes import FakeTime

    return FakeTime()


@pytest.fixture
async def fake_time_api(time: FakeTime) -> AsyncIterator[VideoAPI]:
    """Return a client in fake time, with no request budget and no jitter or list polls."""
    async with VideoAPI(
        "k",
        base_url=BASE_URL,
        clock=time.clock,
        sleep=time.sleep,
        rate_limit=RateLimit(requests_per_second=None),
        poll=PollPolicy(list_polling="never", jitter=0),
    ) as client:
        yield client


def pytest_configure(config: pytest.Config) -> None:
    """Rewrite the asserts of test modules and conftest.py files only.

    pytest also rewrites every module of each installed distribution that registers a
    plugin (hypothesis, and this package), asserts that no test reads; with no bytecode
    cache (``PYTHONDONTWRITEBYTECODE``, or a fresh clone) that costs seconds a run. The
    attributes are pytest's own: should they change, rewriting stays as it was.
    """
    hook = getattr(config.pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    if isinstance(marked, set):
        marked.clear()
        getattr(hook, "_marked_for_rewrite_cache", {}).clear()


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Run tests marked ``simulated_time``, or taking ``time`` or ``sleeps``, in simulated time."""
    fixtures = getattr(item, "fixturenames", ())
    fake_time = "time" in fixtures or "sleeps" in fixtures
    if item.get_closest_marker("simulated_time") is not None or fake_time:
        from videoapi_async.sandbox import SimulatedTimeLoop

        return {"simulated_time": SimulatedTimeLoop}
    return {"asyncio": asyncio.new_event_loop}
