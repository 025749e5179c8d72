"""The contract tier for the bearer-token calls: webhook management and the create example."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest

from videoapi_async import (
    AuthenticationError,
    CreateExample,
    RateLimit,
    RetryPolicy,
    Timeouts,
    VideoAPI,
    Webhook,
    WebhookStatus,
)

from .conftest import API_KEY, Exchange, Recorder
from .test_prism import Gen, drive

CALLS = 30  # per operation
TOKEN = "contract-bearer-token"


async def open_bearer_client(
    prism_url: str, recorder: Recorder, *, bearer_token: str | None = TOKEN
) -> tuple[VideoAPI, aiohttp.ClientSession]:
    """Open a client on Prism with both credentials, reporting to `recorder`."""
    session = aiohttp.ClientSession(trace_configs=[recorder.trace_config()])
    api = VideoAPI(
        API_KEY,
        base_url=prism_url,
        bearer_token=bearer_token,
        session=session,
        retry=RetryPolicy.disabled(),
        rate_limit=RateLimit(requests_per_second=None),
        timeouts=Timeouts(connect=5, read=15),
    )
    return api, session


@pytest.fixture
async def bearer(prism_url: str, run_seed: str) -> AsyncIterator[tuple[VideoAPI, Recorder]]:
    recorder = Recorder(f"{run_seed}-bearer")
    api, session = await open_bearer_client(prism_url, recorder)
    try:
        async with api:
            yield api, recorder
    finally:
        await session.close()


def assert_bearer_accepted(
    recorder: Recorder, *, count: int, method: str, status: int, seed: str
) -> list[Exchange]:
    """Check each call went once, with the bearer token and without the key, unobjected."""
    exchanges = recorder.exchanges
    assert len(exchanges) == count, f"{len(exchanges)} requests for {count} calls"
    for exchange in exchanges:
        where = f"{exchange.method} {exchange.raw_path} (VIDEOAPI_PRISM_SEED={seed})"
        assert exchange.violations == [], f"Prism found violations in {where}"
        assert exchange.status == status, f"{where} answered {exchange.status}"
        assert exchange.method == method
        assert exchange.request_headers.get("Authorization") == f"Bearer {TOKEN}"
        assert "api-key" not in exchange.request_headers
    return exchanges


def check_webhook(hook: Any) -> None:
    assert isinstance(hook, Webhook), hook
    assert isinstance(hook.id, str)  # the document sets no minimum length
    # Prism generates only documented states.
    assert hook.status is None or (isinstance(hook.status, WebhookStatus) and hook.status.is_known)
    assert set(hook.events) <= {"video.ready", "video.failed"}


async def test_list_webhooks(bearer: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Every array of webhooks Prism generates parses, under the bearer token only."""
    api, recorder = bearer
    results = await drive(CALLS, lambda _: api.webhooks.list(), run_seed, "webhooks.list")
    for hook in (hook for listed in results for hook in listed):
        check_webhook(hook)
    assert_bearer_accepted(recorder, count=CALLS, method="GET", status=200, seed=run_seed)


async def test_create_webhooks(bearer: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Create bodies with varied names, URLs, events and descriptions satisfy the document."""
    api, recorder = bearer
    gen = Gen(f"{run_seed}-webhook-create")
    choices = [["video.ready"], ["video.failed"], ["video.ready", "video.failed"]]
    jobs = [
        {
            "name": "hook " + gen.ident(),
            "url": gen.url(),
            "events": gen.rng.choice(choices),
            "description": gen.rng.choice([None, "ends waits"]),
        }
        for _ in range(CALLS)
    ]
    made = await drive(CALLS, lambda n: api.webhooks.create(**jobs[n]), run_seed, "create")
    for hook in made:
        check_webhook(hook)
    assert_bearer_accepted(recorder, count=CALLS, method="POST", status=201, seed=run_seed)


OPERATIONS: dict[str, tuple[str, str, Callable[[VideoAPI, str], Awaitable[Any]]]] = {
    "get": ("GET", "", lambda api, i: api.webhooks.get(i)),
    "update": (
        "PUT",
        "",
        lambda api, i: api.webhooks.update(i, name="renamed", url="https://example.com/h"),
    ),
    "rotate_secret": ("PUT", "/secret", lambda api, i: api.webhooks.rotate_secret(i)),
    "toggle_pause": ("PUT", "/pause", lambda api, i: api.webhooks.toggle_pause(i)),
    "toggle_active": ("PUT", "/toggle-status", lambda api, i: api.webhooks.toggle_active(i)),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_operations_on_one_webhook(
    bearer: tuple[VideoAPI, Recorder], run_seed: str, operation: str
) -> None:
    """Varied ids reach each /webhooks/{webhook_id} operation as one segment; answers parse."""
    api, recorder = bearer
    method, suffix, call = OPERATIONS[operation]
    gen = Gen(f"{run_seed}-webhook-{operation}")
    ids = [gen.video_id() for _ in range(CALLS)]
    results = await drive(CALLS, lambda n: call(api, ids[n]), run_seed, operation)
    for hook in results:
        check_webhook(hook)
    exchanges = assert_bearer_accepted(
        recorder, count=CALLS, method=method, status=200, seed=run_seed
    )
    assert all(exchange.raw_path.endswith(suffix) for exchange in exchanges)
    segments = [e.raw_path.removesuffix(suffix).split("/")[2] for e in exchanges]
    assert sorted(unquote(segment) for segment in segments) == sorted(ids)


async def test_delete_webhooks(bearer: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """DELETE /webhooks/{webhook_id} is routed for varied ids and its 204 is accepted."""
    api, recorder = bearer
    gen = Gen(f"{run_seed}-webhook-delete")
    ids = [gen.video_id() for _ in range(CALLS)]
    await drive(CALLS, lambda n: api.webhooks.delete(ids[n]), run_seed, "webhooks.delete")
    exchanges = assert_bearer_accepted(
        recorder, count=CALLS, method="DELETE", status=204, seed=run_seed
    )
    assert sorted(unquote(e.raw_path.split("/")[2]) for e in exchanges) == sorted(ids)


async def test_create_example(bearer: tuple[VideoAPI, Recorder], run_seed: str) -> None:
    """Every example type and varied draft ids satisfy the document; answers parse."""
    api, recorder = bearer
    gen = Gen(f"{run_seed}-example")
    types = ["create", "override", "create_video_from_workflow"]
    jobs = [(gen.video_id(), types[n % 3]) for n in range(CALLS)]
    examples = await drive(
        CALLS, lambda n: api.get_create_example(*jobs[n]), run_seed, "get_create_example"
    )
    assert all(isinstance(example, CreateExample) for example in examples)
    assert_bearer_accepted(recorder, count=CALLS, method="GET", status=200, seed=run_seed)


class TokenlessRecorder(Recorder):
    """A recorder that strips the Authorization header, as a client without a token."""

    async def _on_start(self, session: aiohttp.ClientSession, context: Any, params: Any) -> None:
        await super()._on_start(session, context, params)
        params.headers.popall("Authorization", None)


async def test_bearer_calls_without_the_token_are_refused(prism_url: str, run_seed: str) -> None:
    """Prism enforces the bearer scheme (401, AuthenticationError); video calls use the key."""
    recorder = TokenlessRecorder(f"{run_seed}-nobearer")
    api, session = await open_bearer_client(prism_url, recorder)
    try:
        async with api:
            with pytest.raises(AuthenticationError, match="bearer token") as info:
                await api.webhooks.list()
            assert info.value.status_code == 401
            await api.list_videos()
    finally:
        await session.close()
    first, second = recorder.exchanges
    assert "Authorization" not in first.request_headers
    assert "api-key" not in first.request_headers
    assert second.request_headers.get("api-key") == API_KEY
    assert "Authorization" not in second.request_headers
