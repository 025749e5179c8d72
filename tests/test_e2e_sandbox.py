"""The client against the sandbox over real sockets: every fault kind, waits and batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from videoapi_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    CreateOutcomeUnknownError,
    NewVideoRequest,
    NotFoundError,
    PollPolicy,
    RateLimit,
    RenderFailedError,
    RequestValidationError,
    RetryPolicy,
    ServerError,
    SourceDraftVideoRequest,
    Timeouts,
    VideoAPI,
    VideoStatus,
)
from videoapi_async._converters import unstructure_request
from videoapi_async.sandbox import RenderProfile, Sandbox, ServerRateLimit, run_in_simulated_time
from videoapi_async.sandbox._faults import Fault

pytestmark = [pytest.mark.e2e, pytest.mark.simulated_time]


def _now() -> float:
    """Read the running loop's clock, simulated here: the one clock of client and sandbox."""
    return asyncio.get_running_loop().time()


GET_VIDEO = "GET /videos/{video_id}"
CREATE = "POST /videos"
FAST_RETRY = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(
        seed=11, render=RenderProfile(min_duration=20, max_duration=40, time_scale=40), clock=_now
    ) as sb:
        yield sb


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[VideoAPI]:
    async with VideoAPI(
        sandbox.api_key,
        base_url=sandbox.base_url,
        retry=FAST_RETRY,
        poll=PollPolicy(first_poll=0.1, min_interval=0.02, max_interval=0.5),
        clock=_now,
    ) as client:
        yield client


def make_body(name: str) -> dict[str, Any]:
    return {"source_draft_id": "draft-1", "name": name}


class TestEndpoints:
    async def test_round_trip(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """Create, get, metadata and list agree with each other and with the sandbox."""
        created = await api.create_video(source_draft_id="d", name="round trip")
        assert created.status is VideoStatus.NOT_STARTED
        fetched = await api.get_video(created.id)
        assert fetched.id == created.id
        assert fetched.name == "round trip"
        meta = await api.get_video_metadata(created.id)
        assert meta.duration > 0
        assert [v.id for v in await api.list_videos()] == [created.id]
        assert sandbox.stats.requests[CREATE] == 1

    async def test_wrong_key(self, sandbox: Sandbox) -> None:
        """A wrong key is an AuthenticationError (401) and is not retried."""
        async with VideoAPI("wrong", base_url=sandbox.base_url, clock=_now) as api:
            with pytest.raises(AuthenticationError) as info:
                await api.list_videos()
        assert info.value.status_code == 401
        assert sandbox.stats.total_requests == 1

    async def test_unknown_video(self, api: VideoAPI) -> None:
        """An unknown id is a NotFoundError with the server's detail."""
        with pytest.raises(NotFoundError, match="Video not found"):
            await api.get_video("a/b")

    async def test_errors_carry_the_sandbox_request_id(
        self, sandbox: Sandbox, api: VideoAPI
    ) -> None:
        """Errors raised against the sandbox carry its request id, each its own, in the message."""
        with pytest.raises(NotFoundError) as missing:
            await api.get_video("no-such-video")
        sandbox.faults.queue(GET_VIDEO, *["http_502"] * FAST_RETRY.max_attempts)  # every try
        with pytest.raises(ServerError) as gateway:
            await api.get_video("no-such-video")
        ids = [missing.value.request_id, gateway.value.request_id]
        for error, request_id in zip((missing.value, gateway.value), ids, strict=True):
            assert request_id is not None
            assert error.headers["X-Request-Id"] == request_id
            assert str(error).endswith(f"[request id {request_id}]")
        assert ids[0] != ids[1]

    async def test_server_side_validation(self, api: VideoAPI) -> None:
        """A body the server refuses surfaces as RequestValidationError naming the field."""
        request = NewVideoRequest(template_id="t", character_id="c", voice_id="v", scenes=[])
        body = unstructure_request(request)  # skips the local checks to reach the server
        with pytest.raises(RequestValidationError) as info:
            await api._requester.send("POST", "/videos", body=body, idempotent=False)
        assert any("scenes" in e.field for e in info.value.errors)


class TestFaults:
    @pytest.mark.parametrize(
        "kind", ["http_500", "http_502", "http_503", "reset", "truncated_json", "malformed_json"]
    )
    async def test_reads_survive_each_fault(
        self, sandbox: Sandbox, api: VideoAPI, kind: str
    ) -> None:
        """A GET retries through each transient fault and returns the video."""
        video = sandbox.create_video(make_body("v"))
        sandbox.faults.queue(GET_VIDEO, kind, kind)
        assert (await api.get_video(video["id"])).id == video["id"]
        assert sandbox.stats.requests[GET_VIDEO] == 3
        assert sandbox.stats.faults[kind] == 2

    async def test_429_is_waited_out(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """A 429 is retried after its Retry-After, and the budget slows down."""
        video = sandbox.create_video(make_body("v"))
        sandbox.faults.queue(GET_VIDEO, Fault("http_429", retry_after=0.2))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await api.get_video(video["id"])
        assert loop.time() - started >= 0.2
        assert api.stats["rate_limited"] == 1

    async def test_slow_body_hits_the_read_timeout(self, sandbox: Sandbox) -> None:
        """A body trickled slower than the read timeout raises APITimeoutError in time."""
        video = sandbox.create_video(make_body("v"))
        sandbox.faults.queue(GET_VIDEO, Fault("slow_body", seconds=1.0))
        async with VideoAPI(
            sandbox.api_key,
            base_url=sandbox.base_url,
            timeouts=Timeouts(read=0.2),
            retry=RetryPolicy.disabled(),
            clock=_now,
        ) as api:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(APITimeoutError):
                await api.get_video(video["id"])
            assert loop.time() - started < 0.9

    async def test_delay_is_just_slow(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """An added delay only slows the answer."""
        video = sandbox.create_video(make_body("v"))
        sandbox.faults.queue(GET_VIDEO, Fault("delay", seconds=0.1))
        assert (await api.get_video(video["id"])).id == video["id"]
        assert sandbox.stats.requests[GET_VIDEO] == 1

    @pytest.mark.parametrize("kind", ["drop_response", "truncated_json", "malformed_json"])
    async def test_lost_create_answer_is_reported_not_resent(
        self, sandbox: Sandbox, api: VideoAPI, kind: str
    ) -> None:
        """A create stored but answered badly raises CreateOutcomeUnknownError, once."""
        sandbox.faults.queue(CREATE, kind)
        with pytest.raises(CreateOutcomeUnknownError) as info:
            await api.create_video(source_draft_id="d", name=f"lost-{kind}")
        assert sandbox.stats.requests[CREATE] == 1
        assert not sandbox.stats.duplicate_creates()
        assert info.value.body["name"] == f"lost-{kind}"
        found = [v for v in await api.list_videos() if v.name == f"lost-{kind}"]
        assert len(found) == 1

    @pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "reset"])
    async def test_failed_create_is_not_resent(
        self, sandbox: Sandbox, api: VideoAPI, kind: str
    ) -> None:
        """A create that met a 5xx or a reset is not re-sent: the client cannot know."""
        sandbox.faults.queue(CREATE, kind)
        with pytest.raises(CreateOutcomeUnknownError):
            await api.create_video(source_draft_id="d", name="maybe")
        assert sandbox.stats.requests[CREATE] == 1

    async def test_create_after_429_is_resent_once(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """A create refused with 429 is sent again and makes exactly one video."""
        sandbox.faults.queue(CREATE, Fault("http_429", retry_after=0.05))
        video = await api.create_video(source_draft_id="d", name="after 429")
        assert sandbox.stats.requests[CREATE] == 2
        assert sandbox.stats.created_ids == [video.id]
        assert not sandbox.stats.duplicate_creates()

    async def test_refused_connection(self, sandbox: Sandbox) -> None:
        """A closed port fails fast with APIConnectionError, request not sent."""
        base = sandbox.base_url
        await sandbox.close()
        async with VideoAPI("k", base_url=base, retry=RetryPolicy.disabled(), clock=_now) as api:
            with pytest.raises(APIConnectionError) as info:
                await api.list_videos()
        assert not info.value.request_sent


class TestWaiting:
    async def test_progress_stream(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """A live render streams rising progress without repeats and ends ready."""
        video = sandbox.create_video(make_body("stream"), outcome="ready", duration=20)
        updates = [u async for u in api.wait_for_render(video["id"])]
        states = [(u.status.value, u.progress) for u in updates]
        assert len(states) == len(set(states))
        assert updates[-1].status.is_success
        known = [u.progress for u in updates if u.progress is not None]
        assert known == sorted(known)

    @pytest.mark.parametrize("outcome", ["failed", "cancelled", "stopped"])
    async def test_failure_statuses(self, sandbox: Sandbox, api: VideoAPI, outcome: str) -> None:
        """Each failure status raises RenderFailedError with the final video."""
        video = sandbox.create_video(make_body(outcome), outcome=outcome, duration=10)
        with pytest.raises(RenderFailedError) as info:
            await api.wait_for_render(video["id"])
        assert info.value.video.status.value == outcome

    async def test_two_hundred_waiters_share_polls(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """200 concurrent waits on one video poll it about as often as one wait does."""
        solo = sandbox.create_video(make_body("solo"), outcome="ready", duration=20)
        await api.wait_for_render(solo["id"])
        shared = sandbox.create_video(make_body("shared"), outcome="ready", duration=20)
        results = await asyncio.gather(*(api.wait_for_render(shared["id"]) for _ in range(200)))
        assert all(r.is_ready for r in results)
        one = sandbox.stats.video_requests[solo["id"]]
        assert sandbox.stats.video_requests[shared["id"]] <= one + 2

    async def test_cancel_stops_polling(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """Cancelling the only waiter stops the polling of that video."""
        video = sandbox.create_video(make_body("cancel"), outcome="ready", duration=400)
        task = asyncio.ensure_future(api.wait_for_render(video["id"]))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        count = sandbox.stats.video_requests[video["id"]]
        await asyncio.sleep(0.6)
        assert sandbox.stats.video_requests[video["id"]] == count

    async def test_batch_with_failures_in_order(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """A mixed batch returns every outcome in input order."""
        plan = ["ready", "failed", "published", "cancelled", "ready", "stopped"]
        ids = [
            sandbox.create_video(make_body(f"b{i}"), outcome=o, duration=5 + 3 * i)["id"]
            for i, o in enumerate(plan)
        ]
        outcomes = await api.wait_for_renders(ids)
        assert [o.video_id for o in outcomes] == ids
        assert [o.video.status.value for o in outcomes if o.video] == plan
        assert [o.ok for o in outcomes] == [s in ("ready", "published") for s in plan]

    def test_batch_under_rate_limit_pressure_finishes(self) -> None:
        """A bulk create-and-wait under a tight server rate limit finishes, every render once."""
        run_in_simulated_time(self._batch_under_rate_limit_pressure())

    async def _batch_under_rate_limit_pressure(self) -> None:
        clock = asyncio.get_running_loop().time
        profile = RenderProfile(min_duration=10, max_duration=30, time_scale=40, failure_rate=0.2)
        async with Sandbox(
            seed=3, render=profile, rate_limit=ServerRateLimit(rate=30, burst=5), clock=clock
        ) as sb:
            async with VideoAPI(
                sb.api_key,
                base_url=sb.base_url,
                clock=clock,
                retry=RetryPolicy(initial_backoff=0.05, max_elapsed=60),
                rate_limit=RateLimit(requests_per_second=45, burst=10, recovery=20),
                poll=PollPolicy(first_poll=0.1, min_interval=0.05, list_polling="never"),
            ) as api:
                requests = [
                    SourceDraftVideoRequest(source_draft_id="d", name=f"p{i}") for i in range(40)
                ]
                created = await api.create_videos(requests, concurrency=8)
                assert all(r.ok for r in created)
                outcomes = await api.wait_for_renders([r.video for r in created if r.video])
                assert len(outcomes) == 40
                assert all(o.error is None or o.failed for o in outcomes)
                assert api.stats["rate_limited"] > 0
            assert sb.stats.faults["rate_limited"] > 0
            assert len(sb.stats.created_ids) == 40
            assert not sb.stats.duplicate_creates()


class TestAroundARender:
    async def test_delete_subtitles_voice_usage(self, sandbox: Sandbox, api: VideoAPI) -> None:
        """Each call around a render works against the sandbox over real sockets."""
        from videoapi_async import VideoNotReadyError

        video = sandbox.create_video(make_body("subs"), outcome="ready", duration=5)
        with pytest.raises(VideoNotReadyError):
            await api.create_subtitles(video["id"], "en")
        assert sandbox.stats.requests.get("POST /videos/{video_id}/subtitles", 0) == 0
        ready = await api.wait_for_render(video["id"])
        subtitles = await api.create_subtitles(ready, "de", format="srt")
        assert subtitles.url.endswith(".srt")
        preview = await api.create_voice_preview("Hello there", "draft-1")
        preview = await api.wait_for_voice_preview(preview, timeout=30)
        assert preview.is_ready
        assert preview.url
        periods = await api.get_usage_summary("daily")
        assert sum(p.videos_created for p in periods) == 1
        await api.delete_video(ready.id)
        with pytest.raises(NotFoundError):
            await api.get_video(ready.id)
        await api.delete_video(ready.id, missing_ok=True)


class Receiver:
    """A webhook endpoint on 127.0.0.1 whose client is plugged in once known."""

    def __init__(self, secret: str) -> None:
        from aiohttp import web
        from aiohttp.test_utils import TestServer

        from videoapi_async.webhooks import WebhookVerifier, webhook_handler

        self.verifier = WebhookVerifier(secret)
        self.api: VideoAPI | None = None
        self.statuses: list[int] = []

        async def hook(request: web.Request) -> web.StreamResponse:
            handler = webhook_handler(self.verifier, api=self.api)
            response = await handler(request)
            self.statuses.append(response.status)
            return response

        app = web.Application()
        app.router.add_post("/hook", hook)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver("whsec-e2e")
    await hook.server.start_server()
    try:
        yield hook
    finally:
        await hook.server.close()


class TestWebhooks:
    async def test_deliveries_end_waits_without_polling(self, receiver: Receiver) -> None:
        """The sandbox delivers, the handler verifies, waits end; no status poll needed."""
        from videoapi_async.sandbox import WebhookConfig

        profile = RenderProfile(min_duration=20, max_duration=20, time_scale=20)
        hooks = WebhookConfig(receiver.url, "whsec-e2e")
        async with Sandbox(seed=2, render=profile, webhooks=hooks, clock=_now) as sb:
            async with VideoAPI(
                sb.api_key,
                base_url=sb.base_url,
                poll=PollPolicy(webhooks=True, webhook_safety_interval=30),
                clock=_now,
            ) as api:
                receiver.api = api
                created = [
                    await api.create_video(source_draft_id="d", name=f"w{i}") for i in range(5)
                ]
                outcomes = await api.wait_for_renders(created, timeout=20)
                assert all(o.ok for o in outcomes)
                assert sum(sb.stats.video_requests.get(v.id, 0) for v in created) == 0
            assert receiver.statuses == [204] * 5

    async def test_lost_delivery_is_caught_by_the_safety_poll(self, receiver: Receiver) -> None:
        """A dropped delivery still ends its wait, through the slow safety poll."""
        from videoapi_async.sandbox import WebhookConfig

        profile = RenderProfile(min_duration=10, max_duration=10, time_scale=20)
        hooks = WebhookConfig(receiver.url, "whsec-e2e")
        async with Sandbox(seed=4, render=profile, webhooks=hooks, clock=_now) as sb:
            sb.webhook_faults.queue("drop")
            async with VideoAPI(
                sb.api_key,
                base_url=sb.base_url,
                poll=PollPolicy(webhooks=True, webhook_safety_interval=1.0),
                clock=_now,
            ) as api:
                receiver.api = api
                video = await api.create_video(source_draft_id="d", name="lost")
                assert (await api.wait_for_render(video, timeout=10)).is_ready
                assert 1 <= sb.stats.video_requests[video.id] <= 3
            assert receiver.statuses == []

    async def test_forged_and_replayed_deliveries_are_refused(self, receiver: Receiver) -> None:
        """Bad signatures and duplicates from the sandbox are refused by the handler."""
        from videoapi_async.sandbox import WebhookConfig

        profile = RenderProfile(min_duration=10, max_duration=10, time_scale=20)
        hooks = WebhookConfig(receiver.url, "whsec-e2e")
        async with Sandbox(seed=5, render=profile, webhooks=hooks, clock=_now) as sb:
            sb.webhook_faults.queue("bad_signature", "duplicate")
            async with VideoAPI(sb.api_key, base_url=sb.base_url, clock=_now) as api:
                receiver.api = api
                first = await api.create_video(source_draft_id="d", name="forged")
                second = await api.create_video(source_draft_id="d", name="replayed")
                await api.wait_for_renders([first, second], timeout=10)
                for _ in range(50):
                    if len(receiver.statuses) >= 3:
                        break
                    await asyncio.sleep(0.05)
            assert sorted(receiver.statuses) == [204, 401, 409]
