"""Webhook deliveries over real sockets, to a small aiohttp receiver that checks signatures."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from videoapi_async.sandbox import ManualClock, RenderProfile, Sandbox, WebhookConfig
from videoapi_async.sandbox._webhook_faults import WebhookFault, webhook_signature

from .conftest import FLAT_BODY, TEN_SECONDS, ApiCaller

pytestmark = pytest.mark.e2e

SECRET = "whsec_" + base64.b64encode(b"sandbox webhook test key").decode()


@attrs.define
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint: records every request, checks it with the reference verifier.

    The check is the `standardwebhooks` package's (the scheme's reference code), so the
    sandbox's signing is tested against an implementation other than its own.
    """

    def __init__(self, secret: str = SECRET, header: str = "webhook-signature") -> None:
        self.secret = secret
        self.header = header
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.pause = 0.0
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()  # ends every pause
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        signed = {**headers, "webhook-signature": headers.get(self.header, "")}
        try:
            Webhook(self.secret).verify(body, signed, json_parse=False)
            signature_ok = True
        except WebhookVerificationError:
            signature_ok = False
        self.received.append(Received(headers, body, signature_ok))
        self.arrived.set()
        if self.pause:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.pause)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/video", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hooks/video"

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        self.release.set()
        if runner is not None:
            await runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until ``count`` requests have arrived (real time)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"only {len(self.received)} of {count} deliveries arrived"
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return self.received


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def hooked(
    start_sandbox: Callable[..., Awaitable[Sandbox]], clock: ManualClock, receiver: Receiver
) -> Sandbox:
    """Return a sandbox on the manual clock, renders of 10 s, delivering to ``receiver``."""
    config = WebhookConfig(receiver.url, SECRET)
    return await start_sandbox(seed=7, clock=clock, render=TEN_SECONDS, webhooks=config)


@pytest.fixture
def hooked_caller(session: aiohttp.ClientSession, hooked: Sandbox) -> ApiCaller:
    return ApiCaller(session, hooked)


def test_signature_is_the_standard_webhooks_hmac_of_id_timestamp_and_body() -> None:
    """v1, + base64 HMAC-SHA256 of "id.timestamp.body", as the reference signer makes it."""
    body = '{"a":"é"}'.encode()
    when = dt.datetime.fromtimestamp(1_800_000_000, tz=dt.timezone.utc)
    reference = Webhook(SECRET).sign("msg_1", when, body.decode())
    assert webhook_signature(SECRET, "msg_1", 1_800_000_000, body) == reference
    raw = hmac.new("clé".encode(), b"msg_1.1800000000." + body, hashlib.sha256).digest()
    assert webhook_signature("clé", "msg_1", 1_800_000_000, body) == (
        "v1," + base64.b64encode(raw).decode()
    )


async def test_render_end_is_delivered_signed_in_the_wire_format(
    hooked: Sandbox, hooked_caller: ApiCaller, receiver: Receiver, clock: ManualClock
) -> None:
    """At the end of a render: one POST, exact headers, compact body, the Video of GET."""
    video = await hooked_caller.create()
    assert hooked.pending_webhooks == 1
    assert hooked.next_webhook_due() == clock.now + 10
    clock.advance(9.9)
    assert await hooked.deliver_due_webhooks() == []
    clock.advance(0.1)
    before = time.time()
    made = await hooked.deliver_due_webhooks()
    after = time.time()
    assert len(made) == 1
    assert made[0].ok
    assert (made[0].status, made[0].event, made[0].video_id) == (200, "video.ready", video["id"])
    assert hooked.stats.webhooks == made
    [got] = receiver.received
    assert got.signature_ok
    headers = got.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-id"] == made[0].delivery_id
    assert uuid.UUID(headers["webhook-id"]).version == 4
    assert headers["webhook-signature"] == webhook_signature(
        SECRET, headers["webhook-id"], int(headers["webhook-timestamp"]), got.body
    )
    timestamp = int(headers["webhook-timestamp"])
    assert timestamp == made[0].timestamp
    assert int(before) <= timestamp <= after
    payload = got.json()
    assert list(payload) == ["id", "event", "created_at", "data"]
    assert payload["id"] == headers["webhook-id"]
    assert payload["event"] == "video.ready"
    assert isinstance(payload["created_at"], float)
    assert int(payload["created_at"]) == timestamp
    reply = await hooked_caller.call("GET", f"/videos/{video['id']}")
    assert payload["data"] == reply.json()
    assert payload["data"]["status"] == "ready"
    # Compact UTF-8 JSON, exactly as the API encodes it.
    assert got.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    assert hooked.pending_webhooks == 0


async def test_failed_cancelled_and_stopped_renders_send_video_failed(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """Every failure status is announced as video.failed; ready and published as ready."""
    outcomes = ["failed", "cancelled", "stopped", "published", "ready"]
    ids = [hooked.create_video(FLAT_BODY, outcome=outcome)["id"] for outcome in outcomes]
    clock.advance(10)
    made = await hooked.deliver_due_webhooks()
    assert [delivery.video_id for delivery in made] == ids
    events = {got.json()["data"]["id"]: got.json()["event"] for got in receiver.received}
    assert [events[video_id] for video_id in ids] == [
        "video.failed",
        "video.failed",
        "video.failed",
        "video.ready",
        "video.ready",
    ]
    assert all(got.signature_ok for got in receiver.received)


async def test_event_names_and_events_filter_and_signature_header_are_configurable(
    start_sandbox: Callable[..., Awaitable[Sandbox]], clock: ManualClock
) -> None:
    """Spelling of events, the events sent and the signature header follow the config."""
    server = Receiver(header="x-signature")
    await server.start()
    try:
        config = WebhookConfig(
            server.url,
            SECRET,
            event_names={"ready": "render.done", "failed": "render.broken"},
            events=("render.broken",),
            signature_header="x-signature",
        )
        sb = await start_sandbox(seed=1, clock=clock, render=TEN_SECONDS, webhooks=config)
        sb.create_video(FLAT_BODY, outcome="ready")
        failed = sb.create_video(FLAT_BODY, outcome="failed")
        clock.advance(10)
        made = await sb.deliver_due_webhooks()
        assert [(d.video_id, d.event) for d in made] == [(failed["id"], "render.broken")]
        [got] = server.received
        assert got.signature_ok
        assert "webhook-signature" not in got.headers
        assert got.json()["event"] == "render.broken"
    finally:
        await server.close()


async def test_videos_made_before_webhooks_or_deleted_or_seeded_get_none(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    clock: ManualClock,
    receiver: Receiver,
) -> None:
    """Only videos created while webhooks are on count; a deleted one is skipped."""
    sb = await start_sandbox(seed=2, clock=clock, render=TEN_SECONDS)
    sb.create_video(FLAT_BODY)
    sb.set_webhooks(WebhookConfig(receiver.url, SECRET))
    deleted = sb.create_video(FLAT_BODY)
    kept = sb.create_video(FLAT_BODY)
    sb.seed_videos(3)
    assert sb.pending_webhooks == 2
    caller_session = aiohttp.ClientSession()
    try:
        reply = await ApiCaller(caller_session, sb).call("DELETE", f"/videos/{deleted['id']}")
        assert reply.status == 204
    finally:
        await caller_session.close()
    clock.advance(10)
    made = await sb.deliver_due_webhooks()
    assert [delivery.video_id for delivery in made] == [kept["id"]]
    assert sb.config.webhooks == WebhookConfig(receiver.url, SECRET)


async def test_pinned_status_moves_the_delivery(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """set_status to a final status announces it then; the planned end is then void."""
    video = hooked.create_video(FLAT_BODY, outcome="ready")
    clock.advance(3)
    hooked.set_status(video["id"], "failed")
    made = await hooked.deliver_due_webhooks()
    assert [(d.video_id, d.event) for d in made] == [(video["id"], "video.failed")]
    clock.advance(10)
    assert await hooked.deliver_due_webhooks() == []
    hooked.set_status(video["id"], "failed", progress=40)  # same status: no new event
    assert await hooked.deliver_due_webhooks() == []
    hooked.set_status(video["id"], "processing")
    hooked.set_status(video["id"], "ready")
    made = await hooked.deliver_due_webhooks()
    assert [d.event for d in made] == ["video.ready"]
    assert [got.json()["data"]["status"] for got in receiver.received] == ["failed", "ready"]


async def test_delay_postpones_delivery_on_the_sandbox_clock(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """WebhookConfig.delay is counted from the end of the render."""
    hooked.set_webhooks(WebhookConfig(receiver.url, SECRET, delay=5.0))
    hooked.create_video(FLAT_BODY)
    clock.advance(14)
    assert await hooked.deliver_due_webhooks() == []
    clock.advance(1)
    assert len(await hooked.deliver_due_webhooks()) == 1


async def test_switching_webhooks_off_drops_what_is_scheduled(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """With set_webhooks(None), due deliveries are dropped silently."""
    hooked.create_video(FLAT_BODY)
    hooked.set_webhooks(None)
    clock.advance(10)
    assert await hooked.deliver_due_webhooks() == []
    assert receiver.received == []
    assert hooked.config.webhooks is None
    with pytest.raises(RuntimeError, match="webhooks are off"):
        await hooked.send_webhook(hooked.videos()[0]["id"])


# -- faults ----------------------------------------------------------------------------


async def test_scripted_faults_drop_duplicate_bad_signature_delay(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """Each queued fault hits the next delivery, in order; then deliveries are clean."""
    hooked.webhook_faults.queue("drop", "duplicate", "bad_signature", WebhookFault("delay", 30))
    assert hooked.webhook_faults.pending() == 4
    ids = [hooked.create_video(FLAT_BODY, outcome="ready")["id"] for _ in range(5)]
    clock.advance(10)
    made = await hooked.deliver_due_webhooks()
    assert [(d.video_id, d.fault) for d in made] == [
        (ids[0], "drop"),
        (ids[1], None),
        (ids[1], "duplicate"),
        (ids[2], "bad_signature"),
        (ids[4], None),
    ]
    assert made[0].status is None
    assert made[0].error == "dropped"
    assert made[0].timestamp is None
    assert made[1].delivery_id == made[2].delivery_id
    got = receiver.received
    assert [item.json()["data"]["id"] for item in got] == [ids[1], ids[1], ids[2], ids[4]]
    assert got[0].body == got[1].body
    assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
    assert got[0].headers["webhook-timestamp"] == got[1].headers["webhook-timestamp"]
    assert [item.signature_ok for item in got] == [True, True, False, True]
    assert got[2].headers["webhook-signature"].startswith("v1,")
    # The delayed one comes 30 s later, signed properly, after the later video's.
    assert hooked.next_webhook_due() == clock.now + 30
    clock.advance(30)
    late = await hooked.deliver_due_webhooks()
    assert [(d.video_id, d.fault, d.ok) for d in late] == [(ids[3], "delay", True)]
    assert receiver.received[-1].signature_ok
    assert receiver.received[-1].json()["data"]["id"] == ids[3]


async def test_random_faults_are_seeded_and_roughly_at_their_rates(
    start_sandbox: Callable[..., Awaitable[Sandbox]], receiver: Receiver
) -> None:
    """The same seed gives the same faults, delivery by delivery."""

    async def run() -> list[str | None]:
        clock = ManualClock()
        config = WebhookConfig(
            receiver.url, SECRET, fault_rates={"drop": 0.2, "bad_signature": 0.2}
        )
        sb = await start_sandbox(seed=11, clock=clock, render=TEN_SECONDS, webhooks=config)
        for _ in range(60):
            sb.create_video(FLAT_BODY, outcome="ready")
        clock.advance(10)
        made = await sb.deliver_due_webhooks()
        assert sb.config.webhooks is not None
        assert dict(sb.config.webhooks.fault_rates) == {"drop": 0.2, "bad_signature": 0.2}
        return [delivery.fault for delivery in made]

    first = await run()
    assert first == await run()
    assert 5 <= first.count("drop") <= 20
    assert 5 <= first.count("bad_signature") <= 20


async def test_set_rates_and_clear(hooked: Sandbox, clock: ManualClock) -> None:
    """Rates can be changed while running; bad kinds and totals are refused."""
    hooked.webhook_faults.set_rates({"drop": 1.0})
    hooked.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    assert [d.fault for d in await hooked.deliver_due_webhooks()] == ["drop"]
    hooked.webhook_faults.queue("duplicate")
    hooked.webhook_faults.clear()
    assert hooked.webhook_faults.pending() == 0
    assert dict(hooked.webhook_faults.rates) == {}
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        hooked.webhook_faults.set_rates({"explode": 0.1})
    with pytest.raises(ValueError, match=r"add up to 1\.5"):
        hooked.webhook_faults.set_rates({"drop": 0.9, "delay": 0.6})
    with pytest.raises(ValueError, match="unknown webhook fault kind"):
        hooked.webhook_faults.queue("http_500")


# -- receivers that fail ----------------------------------------------------------------


async def test_failures_are_recorded_and_not_retried_by_default(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """A 500 answer is recorded with its status; no retry is scheduled."""
    receiver.statuses = [500]
    hooked.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    [delivery] = await hooked.deliver_due_webhooks()
    assert (delivery.status, delivery.ok, delivery.attempt) == (500, False, 1)
    assert hooked.pending_webhooks == 0


async def test_retries_resend_the_same_delivery(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """With retries, a failed delivery is sent again retry_delay later: same id and body."""
    hooked.set_webhooks(WebhookConfig(receiver.url, SECRET, retries=2, retry_delay=4.0))
    receiver.statuses = [503, 500, 500]
    hooked.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    attempts = list(await hooked.deliver_due_webhooks())
    for _ in range(2):
        clock.advance(4)
        attempts += await hooked.deliver_due_webhooks()
    clock.advance(100)
    assert await hooked.deliver_due_webhooks() == []
    assert [(d.attempt, d.status) for d in attempts] == [(1, 503), (2, 500), (3, 500)]
    assert len({d.delivery_id for d in attempts}) == 1
    assert len({got.body for got in receiver.received}) == 1
    assert all(got.signature_ok for got in receiver.received)


async def test_unreachable_and_slow_receivers_are_errors(
    start_sandbox: Callable[..., Awaitable[Sandbox]], clock: ManualClock, receiver: Receiver
) -> None:
    """Connection refused and a receiver slower than the timeout end as recorded errors."""
    probe = Receiver()
    await probe.start()
    dead_url = probe.url
    await probe.close()
    sb = await start_sandbox(
        seed=3, clock=clock, render=TEN_SECONDS, webhooks=WebhookConfig(dead_url, SECRET)
    )
    sb.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    [refused] = await sb.deliver_due_webhooks()
    assert refused.status is None
    assert refused.error is not None
    assert "ClientConnectorError" in refused.error

    sb.set_webhooks(WebhookConfig(receiver.url, SECRET, timeout=0.1))
    receiver.pause = 1.0
    sb.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    [slow] = await sb.deliver_due_webhooks()
    assert (slow.status, slow.error) == (None, "timed out after 0.1 s")


# -- send_webhook ------------------------------------------------------------------------


async def test_send_webhook_sends_now(
    hooked: Sandbox, receiver: Receiver, clock: ManualClock
) -> None:
    """send_webhook signs and sends a delivery for a video as it is, faults included."""
    video = hooked.create_video(FLAT_BODY, status="ready")
    [made] = await hooked.send_webhook(video["id"])
    assert made.ok
    assert receiver.received[-1].json()["event"] == "video.ready"
    running = hooked.create_video(FLAT_BODY)
    with pytest.raises(ValueError, match="has not finished rendering"):
        await hooked.send_webhook(running["id"])
    [custom] = await hooked.send_webhook(running["id"], "video.failed")
    assert custom.event == "video.failed"
    assert receiver.received[-1].json()["data"]["status"] == "not_started"
    hooked.webhook_faults.queue("bad_signature")
    [bad] = await hooked.send_webhook(video["id"])
    assert bad.fault == "bad_signature"
    assert not receiver.received[-1].signature_ok
    hooked.webhook_faults.queue("drop")
    [clean] = await hooked.send_webhook(video["id"], faults=False)
    assert clean.fault is None
    assert hooked.webhook_faults.pending() == 1
    with pytest.raises(KeyError):
        await hooked.send_webhook("no-such-video")
    assert len({d.delivery_id for d in hooked.stats.webhooks}) == len(hooked.stats.webhooks)


# -- the background task (real time) ------------------------------------------------------


async def test_background_task_delivers_in_real_time_and_wakes_for_new_videos(
    start_sandbox: Callable[..., Awaitable[Sandbox]],
    session: aiohttp.ClientSession,
    receiver: Receiver,
) -> None:
    """On the real clock the task sleeps until the next end; a sooner new video wakes it."""
    profile = RenderProfile(min_duration=0.1, max_duration=0.1)
    sb = await start_sandbox(seed=4, render=profile, webhooks=WebhookConfig(receiver.url, SECRET))
    caller = ApiCaller(session, sb)
    slow = sb.create_video(FLAT_BODY, duration=0.6)
    await asyncio.sleep(0.05)  # the task is asleep until the slow video ends
    fast = await caller.create()
    got = await receiver.wait_for(2)
    assert [item.json()["data"]["id"] for item in got] == [fast["id"], slow["id"]]
    assert all(item.signature_ok for item in got)
    assert [d.video_id for d in sb.stats.webhooks] == [fast["id"], slow["id"]]
    assert sb.pending_webhooks == 0


async def test_background_task_picks_up_a_new_config(
    start_sandbox: Callable[..., Awaitable[Sandbox]], receiver: Receiver
) -> None:
    """Webhooks switched on while running: the next render is delivered."""
    sb = await start_sandbox(seed=5, render=RenderProfile(min_duration=0.05, max_duration=0.05))
    sb.set_webhooks(WebhookConfig(receiver.url, SECRET))
    video = sb.create_video(FLAT_BODY)
    [got] = await receiver.wait_for(1)
    assert got.json()["data"]["id"] == video["id"]


async def test_close_stops_the_task_and_the_session(receiver: Receiver, clock: ManualClock) -> None:
    """After close: no task left, the session closed (no warning), nothing more sent."""
    config = WebhookConfig(receiver.url, SECRET)
    sb = Sandbox(seed=6, clock=clock, render=TEN_SECONDS, webhooks=config)
    before = asyncio.all_tasks()
    await sb.start()
    sb.create_video(FLAT_BODY, outcome="ready")
    clock.advance(10)
    assert len(await sb.deliver_due_webhooks()) == 1
    sb.create_video(FLAT_BODY)  # still scheduled at close
    receiver.pause = 5.0
    sb.create_video(FLAT_BODY, outcome="ready", duration=0)  # being sent at close
    await receiver.wait_for(2)
    await sb.close()
    await sb.close()
    await receiver.close()  # ends the request it was holding
    assert asyncio.all_tasks() == before
    assert len(sb.stats.webhooks) == 1  # the attempt cut short by close is not recorded
    assert await sb.deliver_due_webhooks() == []
    with pytest.raises(RuntimeError, match="closed"):
        await sb.send_webhook(sb.videos()[0]["id"])
    sb.create_video(FLAT_BODY)
    assert sb.pending_webhooks == 1  # the one scheduled before close; nothing new


async def test_a_sandbox_never_started_closes_cleanly(receiver: Receiver) -> None:
    sb = Sandbox(webhooks=WebhookConfig(receiver.url, SECRET))
    await sb.close()


# -- configuration -----------------------------------------------------------------------


def test_webhook_config_defaults_and_secret_not_in_repr() -> None:
    config = WebhookConfig("https://example.test/hook", "s3cret")
    assert config.events == ("video.ready", "video.failed")
    assert dict(config.event_names) == {"ready": "video.ready", "failed": "video.failed"}
    assert config.signature_header == "webhook-signature"
    assert (config.delay, config.retries, config.timeout) == (0.0, 0, 5.0)
    assert "s3cret" not in repr(config)
    assert WebhookConfig("http://h/x", "s", events="video.failed").events == ("video.failed",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://host/x"}, "must be an http:// or https:// URL"),
        ({"url": "http:///x"}, "must be an http:// or https:// URL"),
        ({"url": "http://host:99999/"}, "must be an http:// or https:// URL"),
        ({"secret": ""}, "secret must be a non-empty string"),
        ({"secret": "whsec_not base64"}, "the rest must be the key in base64"),
        ({"secret": "whsec_"}, "the rest must be the key in base64"),
        ({"events": ("video.done",)}, "not an event of event_names"),
        ({"event_names": {"ready": "a"}}, "must map exactly 'ready' and 'failed'"),
        ({"signature_header": "bad header"}, "must be an HTTP header name"),
        ({"timeout": 0}, "timeout must be a positive, finite number of seconds"),
        ({"timeout": float("inf")}, "timeout must be a positive, finite number of seconds"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"delay": -1}, "delay must be a finite number of seconds >= 0"),
        ({"fault_rates": {"drop": 2}}, "must be a probability"),
        ({"fault_rates": {"nope": 0.1}}, "unknown fault kind 'nope'"),
    ],
)
def test_webhook_config_rejects_bad_values(kwargs: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"url": "http://127.0.0.1/hook", "secret": "s", **kwargs}
    with pytest.raises(ValueError, match=message):
        WebhookConfig(**values)
