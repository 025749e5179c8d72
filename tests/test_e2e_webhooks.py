"""From registration to verified delivery: a webhook made with the client ends its waits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from videoapi_async import PollPolicy, VideoAPI
from videoapi_async.sandbox import RenderProfile, Sandbox
from videoapi_async.webhooks import WebhookEvent, WebhookVerifier, webhook_handler

pytestmark = [pytest.mark.e2e, pytest.mark.simulated_time]


def _now() -> float:
    """Read the running loop's clock, simulated here: the one clock of client and sandbox."""
    return asyncio.get_running_loop().time()


async def test_register_receive_verify_and_end_waits() -> None:
    """Register through api.webhooks, verify with its secret: waits end without polling."""
    profile = RenderProfile(min_duration=20, max_duration=20, time_scale=20)
    seen: list[WebhookEvent] = []
    handlers: list[Callable[[web.Request], Awaitable[web.StreamResponse]]] = []

    async def hooks(request: web.Request) -> web.StreamResponse:
        return await handlers[0](request)  # the handler needs the webhook's secret first

    app = web.Application()
    app.router.add_post("/hooks/video", hooks)
    server = TestServer(app, host="127.0.0.1")
    async with Sandbox(seed=21, render=profile, clock=_now) as sb:
        async with VideoAPI(
            sb.api_key,
            base_url=sb.base_url,
            bearer_token=sb.bearer_token,
            poll=PollPolicy(webhooks=True, webhook_safety_interval=30),
            clock=_now,
        ) as api:
            await server.start_server()
            try:
                hook = await api.webhooks.create(
                    name="renders", url=str(server.make_url("/hooks/video"))
                )
                assert hook.signing_secret is not None
                verifier = WebhookVerifier(hook.signing_secret)
                handlers.append(webhook_handler(verifier, api=api, on_event=seen.append))
                created = [
                    await api.create_video(source_draft_id="d", name=f"w{i}") for i in range(3)
                ]
                outcomes = await api.wait_for_renders(created, timeout=20)
            finally:
                await server.close()
        assert all(outcome.ok for outcome in outcomes)
        assert sum(sb.stats.video_requests.get(video.id, 0) for video in created) == 0
        assert sorted(event.video_id for event in seen) == sorted(v.id for v in created)
        assert all(delivery.ok for delivery in sb.stats.webhooks)
