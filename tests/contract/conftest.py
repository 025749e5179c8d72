"""The contract tier: a real `VideoAPI`, over real sockets, against Prism.

Prism is a mock server generated from the vendor's OpenAPI document
(tests/hourone-openapi.json); it validates every request against the document and
answers with data generated from the response schemas. Start it with
``source .ci/prism.sh start`` (which exports ``VIDEOAPI_PRISM_URL``). Without that
variable the tier is skipped, unless ``VIDEOAPI_REQUIRE_PRISM=1`` (set by CI), in which
case it fails so it can never skip silently.

Every request carries its own seed (``Prefer: seed=<run seed>-<n>``), so Prism's
answers vary from call to call yet a run can be replayed: failures name the run seed,
and ``VIDEOAPI_PRISM_SEED=<seed>`` repeats it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from multidict import CIMultiDictProxy

from videoapi_async import RateLimit, RetryPolicy, Timeouts, VideoAPI

ENV_URL = "VIDEOAPI_PRISM_URL"
ENV_REQUIRE = "VIDEOAPI_REQUIRE_PRISM"
ENV_SEED = "VIDEOAPI_PRISM_SEED"
API_KEY = "contract-key"


@attrs.frozen
class Exchange:
    """One request the client sent and what Prism answered."""

    method: str
    raw_path: str
    request_headers: dict[str, str]
    status: int
    response_headers: CIMultiDictProxy[str]

    @property
    def violations(self) -> list[dict[str, Any]]:
        """Prism's ``sl-violations`` for this exchange (empty when the header is absent)."""
        raw = self.response_headers.get("sl-violations")
        if raw is None:
            return []
        try:
            found = json.loads(raw)
        except ValueError:  # Prism truncates very long lists ("Too many violations! ...")
            return [{"code": "unreadable", "message": raw[:500]}]
        return found if isinstance(found, list) else [found]


class Recorder:
    """Sees every exchange of the client's session.

    It gives each request its own Prism seed and records what came back, so a test can
    check Prism's verdict on requests the client built itself.
    """

    def __init__(self, run_seed: str, *, send_key: bool = True) -> None:
        self.run_seed = run_seed
        self.send_key = send_key
        self.exchanges: list[Exchange] = []
        self._numbers = itertools.count()

    def trace_config(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_start.append(self._on_start)
        config.on_request_end.append(self._on_end)
        return config

    async def _on_start(
        self, _: aiohttp.ClientSession, __: Any, params: aiohttp.TraceRequestStartParams
    ) -> None:
        # These are the headers the request is about to be sent with.
        params.headers["Prefer"] = f"seed={self.run_seed}-{next(self._numbers)}"
        if not self.send_key:
            params.headers.popall("api-key", None)

    async def _on_end(
        self, _: aiohttp.ClientSession, __: Any, params: aiohttp.TraceRequestEndParams
    ) -> None:
        self.exchanges.append(
            Exchange(
                method=params.method,
                raw_path=params.url.raw_path,
                request_headers=dict(params.headers),
                status=params.response.status,
                response_headers=params.response.headers,
            )
        )


@pytest.fixture(scope="session")
def prism_url() -> str:
    """Return the running Prism's URL, or skip (fail, when CI requires this tier)."""
    url = os.environ.get(ENV_URL, "").strip()
    if not url:
        how = f"start Prism with `source .ci/prism.sh start`, which sets {ENV_URL}"
        if os.environ.get(ENV_REQUIRE, "").strip() == "1":
            pytest.fail(f"{ENV_REQUIRE}=1 but {ENV_URL} is not set: {how}")
        pytest.skip(f"the contract tests need Prism and {ENV_URL} is not set: {how}")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def run_seed() -> str:
    """Return this run's seed: from VIDEOAPI_PRISM_SEED, else a fresh one."""
    return os.environ.get(ENV_SEED, "").strip() or str(random.SystemRandom().randrange(10**9))


async def open_client(prism_url: str, recorder: Recorder) -> tuple[VideoAPI, aiohttp.ClientSession]:
    """Open a client on Prism whose session reports to `recorder`.

    Prism serves the document's paths at its root: it ignores the document's relative
    server URL ("/api/v1"), so the base URL is Prism's own.
    """
    session = aiohttp.ClientSession(trace_configs=[recorder.trace_config()])
    api = VideoAPI(
        API_KEY,
        base_url=prism_url,
        session=session,
        retry=RetryPolicy.disabled(),  # one request per call: every answer is seen
        rate_limit=RateLimit(requests_per_second=None),  # Prism has no rate limit
        timeouts=Timeouts(connect=5, read=15),
    )
    return api, session


@pytest.fixture
async def prism(prism_url: str, run_seed: str) -> AsyncIterator[tuple[VideoAPI, Recorder]]:
    """Return a client on Prism (with the key) and the recorder of its exchanges."""
    recorder = Recorder(run_seed)
    api, session = await open_client(prism_url, recorder)
    try:
        async with api:
            yield api, recorder
    finally:
        await session.close()
