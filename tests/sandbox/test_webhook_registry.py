"""Webhooks registered through the API: the sandbox's bearer routes and their deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from standardwebhooks.webhooks import Webhook as ReferenceWebhook

from videoapi_async import (
    AuthenticationError,
    NotFoundError,
    VideoAPI,
    WebhookStatus,
)
from videoapi_async.sandbox import ManualClock, Sandbox, WebhookConfig
from videoapi_async.sandbox._validation import validate_create_body

from .conftest import FLAT_BODY, TEN_SECONDS
from .test_webhooks import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver(secret="whsec_AAAA")  # replaced by each webhook's own secret
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def sb(start_sandbox: Callable[..., Awaitable[Sandbox]], clock: ManualClock) -> Sandbox:
    return await start_sandbox(seed=11, clock=clock, render=TEN_SECONDS)


@pytest.fixture
async def api(sb: Sandbox) -> AsyncIterator[VideoAPI]:
    async with VideoAPI(sb.api_key, base_url=sb.base_url, bearer_token=sb.bearer_token) as client:
        yield client


async def test_registered_webhook_gets_deliveries_signed_with_its_own_secret(
    sb: Sandbox, api: VideoAPI, receiver: Receiver, clock: ManualClock
) -> None:
    """A webhook made through the API receives the render's end, signed with its secret."""
    hook = await api.webhooks.create(name="renders", url=receiver.url)
    assert hook.status is WebhookStatus.ACTIVE
    assert hook.events == ("video.ready", "video.failed")
    assert hook.signing_secret is not None
    assert hook.signing_secret.startswith("whsec_")
    receiver.secret = hook.signing_secret
    video = sb.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    [made] = await sb.deliver_due_webhooks()
    assert (made.video_id, made.event, made.ok) == (video["id"], "video.ready", True)
    [got] = receiver.received
    assert got.signature_ok  # checked by the standardwebhooks package
    assert got.json()["data"]["id"] == video["id"]


async def test_events_pause_toggle_rotate_and_delete_decide_deliveries(
    sb: Sandbox, api: VideoAPI, receiver: Receiver, clock: ManualClock
) -> None:
    """Only subscribed events go out; paused, inactive or deleted webhooks get none."""
    hook = await api.webhooks.create(name="fails", url=receiver.url, events=["video.failed"])
    assert hook.signing_secret is not None
    receiver.secret = hook.signing_secret
    sb.create_video(FLAT_BODY, outcome="ready")
    failed = sb.create_video(FLAT_BODY, outcome="failed")
    clock.advance(10)
    assert [d.video_id for d in await sb.deliver_due_webhooks()] == [failed["id"]]

    paused = await api.webhooks.toggle_pause(hook.id)
    assert paused.status is WebhookStatus.PAUSED
    sb.create_video(FLAT_BODY, outcome="failed")
    clock.advance(10)
    assert await sb.deliver_due_webhooks() == []
    resumed = await api.webhooks.toggle_pause(hook.id)
    assert resumed.status is WebhookStatus.ACTIVE

    assert (await api.webhooks.toggle_active(hook.id)).status is WebhookStatus.INACTIVE
    sb.create_video(FLAT_BODY, outcome="failed")
    clock.advance(10)
    assert await sb.deliver_due_webhooks() == []
    assert (await api.webhooks.toggle_active(hook.id)).status is WebhookStatus.ACTIVE

    rotated = await api.webhooks.rotate_secret(hook.id)
    assert rotated.signing_secret not in (None, hook.signing_secret)
    assert rotated.signing_secret is not None
    latest = sb.create_video(FLAT_BODY, outcome="failed")
    clock.advance(10)
    assert [d.video_id for d in await sb.deliver_due_webhooks()] == [latest["id"]]
    assert not receiver.received[-1].signature_ok  # signed with the new secret, not the old
    ReferenceWebhook(rotated.signing_secret).verify(
        receiver.received[-1].body, receiver.received[-1].headers, json_parse=False
    )

    await api.webhooks.delete(hook.id)
    sb.create_video(FLAT_BODY, outcome="failed")
    clock.advance(10)
    assert await sb.deliver_due_webhooks() == []
    assert await api.webhooks.list() == []


async def test_crud_round_trip(sb: Sandbox, api: VideoAPI) -> None:
    """Create, list, get, update and delete behave as the OpenAPI document says."""
    first = await api.webhooks.create(
        name="a", url="https://example.com/a", description="first", events=["video.ready"]
    )
    second = await api.webhooks.create(name="b", url="https://example.com/b")
    assert [hook.id for hook in await api.webhooks.list()] == [first.id, second.id]
    updated = await api.webhooks.update(first.id, name="a2", url="https://example.com/a2")
    assert (updated.name, updated.url, updated.events) == (
        "a2",
        "https://example.com/a2",
        ("video.ready",),
    )
    assert updated.description == "first"
    assert updated.signing_secret == first.signing_secret
    assert await api.webhooks.get(first.id) == updated
    await api.webhooks.delete(first.id)
    with pytest.raises(NotFoundError, match="no such webhook"):
        await api.webhooks.get(first.id)
    await api.webhooks.delete(first.id, missing_ok=True)
    with pytest.raises(NotFoundError):
        await api.webhooks.toggle_pause("a/../b")


async def test_server_side_validation(sb: Sandbox) -> None:
    """Bodies the client would refuse get FastAPI-style 422s from the sandbox too."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            sb.base_url + "/webhooks",
            json={"name": "x", "url": "ftp://h", "events": ["video.done"]},
            headers={"Authorization": f"Bearer {sb.bearer_token}"},
        ) as response,
    ):
        assert response.status == 422
        locations = [item["loc"] for item in (await response.json())["detail"]]
    assert locations == [["body", "url"], ["body", "events"]]


async def test_credentials_are_not_interchangeable(sb: Sandbox) -> None:
    """The webhook routes refuse the API key; the video routes refuse the bearer token."""
    async with VideoAPI(sb.api_key, base_url=sb.base_url, bearer_token="wrong") as wrong:
        with pytest.raises(AuthenticationError, match="bearer token"):
            await wrong.webhooks.list()
    async with aiohttp.ClientSession() as session:
        async with session.get(
            sb.base_url + "/webhooks", headers={"api-key": sb.api_key}
        ) as response:
            assert response.status == 403
        async with session.get(
            sb.base_url + "/videos", headers={"Authorization": f"Bearer {sb.bearer_token}"}
        ) as response:
            assert response.status == 403


@pytest.mark.parametrize("example_type", ["create", "override", "create_video_from_workflow"])
async def test_create_example_is_a_valid_create_body(
    sb: Sandbox, api: VideoAPI, example_type: str
) -> None:
    """The example for each type is a create body the sandbox accepts, with its curl."""
    example = await api.get_create_example("draft-9", example_type)
    validate_create_body(dict(example.json_request))
    assert example.curl.startswith("curl ")
    assert sb.api_key not in example.curl


async def test_bad_example_type_from_a_raw_call(sb: Sandbox) -> None:
    """The sandbox refuses a missing draft id and an unknown example type."""
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {sb.bearer_token}"}
        url = sb.base_url + "/examples/create-video"
        async with session.get(url, headers=headers) as response:
            assert response.status == 422
        async with session.get(
            url, params={"draft_id": "d", "example_type": "nope"}, headers=headers
        ) as response:
            assert response.status == 400


async def test_sandbox_config_and_registered_webhooks_both_get_deliveries(
    start_sandbox: Callable[..., Awaitable[Sandbox]], clock: ManualClock, receiver: Receiver
) -> None:
    """With a WebhookConfig and a registered webhook, each gets its own signed delivery."""
    config = WebhookConfig(receiver.url, "whsec_AAAA")
    sb = await start_sandbox(seed=12, clock=clock, render=TEN_SECONDS, webhooks=config)
    async with VideoAPI(sb.api_key, base_url=sb.base_url, bearer_token=sb.bearer_token) as api:
        await api.webhooks.create(name="second", url=receiver.url + "?copy=1")
    sb.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    made = await sb.deliver_due_webhooks()
    assert len(made) == 2
    assert len({d.delivery_id for d in made}) == 2
    assert [got.signature_ok for got in receiver.received] == [True, False]  # two secrets
