"""Receiving webhooks: Standard Webhooks verification, replays, the handler, ending waits."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aioresponses import CallbackResult
from standardwebhooks.webhooks import Webhook

from videoapi_async import VideoAPI
from videoapi_async.webhooks import (
    WebhookEvent,
    WebhookPayloadError,
    WebhookReplayError,
    WebhookSignatureError,
    WebhookVerifier,
    parse_event,
    sign,
    verify_signature,
    webhook_handler,
)

from .conftest import BASE_URL, VIDEO, MockAPI
from .fakes import FakeRender, FakeTime

VIDEO_URL = f"{BASE_URL}/videos/vid-1"
READY = {**VIDEO, "status": "ready", "progress": 100, "video_player_url": "https://p/v"}
KEY = b"the webhook's signing key"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_800_000_000


@pytest.fixture
async def api(fake_time_api: VideoAPI) -> VideoAPI:
    return fake_time_api


def delivery(
    event: str = "video.ready", video: dict[str, Any] | None = None, **extra: Any
) -> bytes:
    body = {"id": "msg_1", "event": event, "created_at": NOW + 0.5, "data": video or READY}
    return json.dumps({**body, **extra}).encode()


def signed(
    body: bytes,
    *,
    webhook_id: str = "msg_1",
    timestamp: int = NOW,
    secret: str = SECRET,
) -> dict[str, str]:
    """Headers of a delivery signed by the scheme's reference code (`standardwebhooks`)."""
    when = dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(secret).sign(webhook_id, when, body.decode()),
    }


def verifier(**kwargs: Any) -> WebhookVerifier:
    return WebhookVerifier(SECRET, clock=lambda: NOW + 10.0, **kwargs)


class TestSigning:
    def test_sign_matches_the_reference_signer(self) -> None:
        """sign() makes exactly the signature the standardwebhooks package makes."""
        body = delivery()
        ours = sign(body, SECRET, webhook_id="msg_1", timestamp=NOW)
        assert ours == signed(body)["webhook-signature"]
        assert ours.startswith("v1,")

    def test_raw_secrets_are_their_utf8_bytes(self) -> None:
        """A secret without the whsec_ prefix is the key itself, as bytes are."""
        body = delivery()
        as_text = sign(body, "plain secret", webhook_id="m", timestamp=NOW)
        assert as_text == sign(body, b"plain secret", webhook_id="m", timestamp=NOW)
        # The same key written the Standard Webhooks way signs the same.
        prefixed = "whsec_" + base64.b64encode(b"plain secret").decode()
        assert as_text == sign(body, prefixed, webhook_id="m", timestamp=NOW)

    @pytest.mark.parametrize(
        ("secret", "needle"), [("", "empty"), ("whsec_", "empty"), ("whsec_not base64!", "base64")]
    )
    def test_unusable_secrets_are_refused_without_quoting_them(
        self, secret: str, needle: str
    ) -> None:
        """Empty or undecodable secrets raise a ValueError that does not show the secret."""
        with pytest.raises(ValueError, match=needle) as caught:
            WebhookVerifier(secret)
        assert "not base64!" not in str(caught.value)

    def test_several_signatures_in_one_header(self) -> None:
        """Any one matching v1 entry among several (other versions skipped) is enough."""
        body = delivery()
        good = signed(body)["webhook-signature"]
        value = f"v1a,abcd v1,AAAA v1,!!notbase64 {good}"
        verify_signature(body, value, SECRET, webhook_id="msg_1", timestamp=str(NOW))

    def test_rotation_accepts_old_and_new_secrets(self) -> None:
        """A verifier given two secrets accepts deliveries signed with either."""
        old = "whsec_" + base64.b64encode(b"old key").decode()
        both = WebhookVerifier([SECRET, old], clock=lambda: NOW)
        for secret in (SECRET, old):
            body = delivery(id=secret)
            assert both.verify(signed(body, webhook_id=secret, secret=secret), body)


class TestVerification:
    def test_good_delivery(self) -> None:
        """A delivery signed by the reference signer parses into an event with its video."""
        body = delivery()
        event = verifier().verify(signed(body), body)
        assert (event.event, event.outcome, event.video_id) == ("video.ready", "ready", "vid-1")
        assert event.video is not None
        assert event.video.is_ready
        assert event.delivery_id == "msg_1"

    def test_delivery_id_comes_from_the_signed_header(self) -> None:
        """The event's delivery id is the signed webhook-id, not the body's unsigned id."""
        body = delivery(id="something else")
        assert verifier().verify(signed(body, webhook_id="msg_9"), body).delivery_id == "msg_9"

    @pytest.mark.parametrize(
        "signature",
        [None, "", "v1,", "sha256=00", "v2," + base64.b64encode(b"x" * 32).decode()],
    )
    def test_missing_or_malformed_signatures(self, signature: str | None) -> None:
        """Missing, empty or unusable signature headers are refused."""
        body = delivery()
        headers = signed(body)
        del headers["webhook-signature"]
        if signature is not None:
            headers["webhook-signature"] = signature
        with pytest.raises(WebhookSignatureError):
            verifier().verify(headers, body)

    def test_body_only_signature_is_refused(self) -> None:
        """The old body-only HMAC (id and timestamp unsigned) is no longer accepted."""
        import hashlib
        import hmac

        body = delivery()
        headers = signed(body)
        headers["webhook-signature"] = "sha256=" + hmac.new(KEY, body, hashlib.sha256).hexdigest()
        with pytest.raises(WebhookSignatureError):
            verifier().verify(headers, body)

    def test_wrong_secret_or_tampered_body(self) -> None:
        """Another secret's signature, or a body changed after signing, is refused."""
        body = delivery()
        other = "whsec_" + base64.b64encode(b"another key").decode()
        with pytest.raises(WebhookSignatureError, match="signing secret"):
            verifier().verify(signed(body, secret=other), body)
        with pytest.raises(WebhookSignatureError, match="raw body"):
            verifier().verify(signed(body), body.replace(b"ready", b"faile"))

    @pytest.mark.parametrize("webhook_id", ["msg_2", None])
    def test_captured_delivery_under_new_or_missing_id(self, webhook_id: str | None) -> None:
        """A captured delivery replayed with another webhook-id, or none, is refused."""
        body = delivery()
        receiver = verifier()
        captured = signed(body)
        receiver.verify(captured, body)
        replay = dict(captured)
        if webhook_id is None:
            del replay["webhook-id"]
        else:
            replay["webhook-id"] = webhook_id
        with pytest.raises(WebhookSignatureError):
            receiver.verify(replay, body)

    def test_hour_old_delivery_with_a_rewritten_timestamp(self) -> None:
        """An hour-old capture is refused as it is, and with its timestamp made fresh."""
        body = delivery()
        old = signed(body, timestamp=NOW - 3600)
        receiver = WebhookVerifier(SECRET, clock=lambda: NOW)
        with pytest.raises(WebhookReplayError, match="3600 s ago"):
            receiver.verify(old, body)
        with pytest.raises(WebhookSignatureError):
            receiver.verify({**old, "webhook-timestamp": str(NOW)}, body)

    @pytest.mark.parametrize(
        ("timestamp", "error", "needle"),
        [
            (None, WebhookSignatureError, "missing"),
            ("", WebhookSignatureError, "not Unix seconds"),
            ("NaN", WebhookSignatureError, "not Unix seconds"),
            ("inf", WebhookSignatureError, "not Unix seconds"),
            ("yesterday", WebhookSignatureError, "not Unix seconds"),
            (str(NOW - 301), WebhookReplayError, "ago"),
            (str(NOW + 301), WebhookReplayError, "in the future"),
        ],
    )
    def test_timestamps_outside_the_tolerance_or_unreadable(
        self, timestamp: str | None, error: type[Exception], needle: str
    ) -> None:
        """Missing, NaN, unreadable, too old and too new timestamps are all refused."""
        body = delivery()
        headers = signed(body)
        del headers["webhook-timestamp"]
        if timestamp is not None:
            headers["webhook-timestamp"] = timestamp
            when = dt.datetime.fromtimestamp(NOW, tz=dt.timezone.utc)
            headers["webhook-signature"] = Webhook(SECRET).sign("msg_1", when, body.decode())
        with pytest.raises(error, match=needle):
            WebhookVerifier(SECRET, clock=lambda: NOW).verify(headers, body)

    def test_tolerance_is_configurable(self) -> None:
        """A delivery 20 s old passes a 30 s tolerance and fails a 10 s one."""
        body = delivery()
        headers = signed(body, timestamp=NOW - 20)
        WebhookVerifier(SECRET, tolerance=30, clock=lambda: NOW).verify(headers, body)
        with pytest.raises(WebhookReplayError):
            WebhookVerifier(SECRET, tolerance=10, clock=lambda: NOW).verify(headers, body)

    @pytest.mark.parametrize("tolerance", [0, -1, float("nan"), float("inf"), True])
    def test_bad_tolerance(self, tolerance: float) -> None:
        """A tolerance that is not a positive finite number of seconds is refused."""
        with pytest.raises(ValueError, match="tolerance"):
            WebhookVerifier(SECRET, tolerance=tolerance)

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[1, 2]",
            json.dumps({"data": READY}).encode(),
            json.dumps({"event": "video.ready"}).encode(),
        ],
    )
    def test_bad_payloads(self, body: bytes) -> None:
        """Signed bodies that are not events about a video are refused."""
        with pytest.raises(WebhookPayloadError):
            verifier().verify(signed(body), body)

    def test_event_spelling_and_headers_are_configurable(self) -> None:
        """Other event names map to ready and failed; the signature header can be renamed."""
        body = delivery(event="VIDEO_FAILED", video={**VIDEO, "status": "failed"})
        headers = signed(body)
        headers["x-sig"] = headers.pop("webhook-signature")
        event = verifier(failed_events=("VIDEO_FAILED",), signature_header="x-sig").verify(
            headers, body
        )
        assert event.outcome == "failed"

    def test_event_without_full_video(self) -> None:
        """An event carrying only an id still names the video, without a Video."""
        event = parse_event(json.dumps({"event": "video.ready", "video_id": "v9"}).encode())
        assert event.video_id == "v9"
        assert event.video is None

    def test_repr_hides_the_secret(self) -> None:
        """Neither form of the secret appears in the verifier's repr."""
        shown = repr(verifier())
        assert SECRET not in shown
        assert "signing key" not in shown


class TestProcessedOnce:
    def test_processed_delivery_is_refused_again(self) -> None:
        """A delivery handled successfully is refused when it comes again."""
        body = delivery()
        receiver = verifier()
        with receiver.receive(signed(body), body) as event:
            assert event.delivery_id == "msg_1"
        with pytest.raises(WebhookReplayError, match="already processed"):
            receiver.verify(signed(body), body)

    def test_redelivery_after_a_failed_handler_is_processed(self) -> None:
        """If the handler raised, the same delivery sent again is processed, then recorded."""
        body = delivery()
        receiver = verifier()
        with pytest.raises(RuntimeError), receiver.receive(signed(body), body):
            raise RuntimeError("database down")
        with receiver.receive(signed(body, timestamp=NOW + 5), body) as event:
            assert event.delivery_id == "msg_1"
        with pytest.raises(WebhookReplayError):
            receiver.verify(signed(body), body)

    def test_duplicate_while_in_progress_is_refused(self) -> None:
        """A copy arriving while the first is being handled is refused, not handled twice."""
        body = delivery()
        receiver = verifier()
        with (
            receiver.receive(signed(body), body),
            pytest.raises(WebhookReplayError, match="being processed"),
            receiver.receive(signed(body), body),
        ):
            pass  # pragma: no cover - never entered

    def test_verify_alone_records_nothing(self) -> None:
        """verify() checks without recording, so it can be called again."""
        body = delivery()
        receiver = verifier()
        receiver.verify(signed(body), body)
        receiver.verify(signed(body), body)

    def test_ids_are_forgotten_once_too_old_to_replay(self) -> None:
        """Memory holds only ids whose deliveries could still be accepted."""
        now = [float(NOW)]
        receiver = WebhookVerifier(SECRET, tolerance=60, clock=lambda: now[0])
        for n in range(50):
            now[0] = NOW + n * 10
            body = delivery(id=f"m{n}")
            with receiver.receive(signed(body, webhook_id=f"m{n}", timestamp=int(now[0])), body):
                pass
        assert len(receiver._processed) <= 8

    def test_remember_caps_the_ids_kept(self) -> None:
        """However many arrive within the tolerance, at most `remember` ids are kept."""
        receiver = WebhookVerifier(SECRET, remember=3, clock=lambda: NOW)
        for n in range(10):
            body = delivery(id=f"m{n}")
            with receiver.receive(signed(body, webhook_id=f"m{n}"), body):
                pass
        assert list(receiver._processed) == ["m7", "m8", "m9"]


class TestWebhookDrivenWaits:
    async def test_event_ends_the_wait_and_polling_slows(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """A delivery ends a long wait at once; later waits only poll as a safety net."""
        render = FakeRender(time, duration=3000)
        mock_api.get(VIDEO_URL, callback=render, repeat=True)
        waiter = asyncio.ensure_future(api.wait_for_render("vid-1"))
        await time.until(lambda: render.polls >= 2)
        event = parse_event(delivery())
        assert api.handle_webhook_event(event)
        assert (await waiter).is_ready
        polls_before = render.polls

        other = FakeRender(time, video_id="vid-2", duration=300)
        mock_api.get(f"{BASE_URL}/videos/vid-2", callback=other, repeat=True)
        started = time.now
        await api.wait_for_render("vid-2")
        # Without webhooks a 300 s render costs several polls; with them, 1 per safety interval.
        assert other.polls <= 2 + (time.now - started) / api.poll_policy.webhook_safety_interval
        assert render.polls == polls_before

    async def test_event_without_video_polls_at_once(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """An event without the video triggers one immediate poll that ends the wait."""
        answers = iter([VIDEO, READY])
        mock_api.get(
            VIDEO_URL, callback=lambda url, **kw: CallbackResult(payload=next(answers)), repeat=True
        )
        waiter = asyncio.ensure_future(api.wait_for_render("vid-1"))
        await asyncio.sleep(0)
        await time.until(lambda: api.stats["polls"] >= 1)
        started = time.now
        api.handle_webhook_event(
            parse_event(json.dumps({"event": "video.ready", "video_id": "vid-1"}).encode())
        )
        assert (await waiter).is_ready
        assert time.now - started < 1

    def test_unwatched_video(self, api: VideoAPI) -> None:
        """An event about a video nobody waits on is accepted and reported as unmatched."""
        assert not api.handle_webhook_event(parse_event(delivery()))


class TestWebhookHandler:
    async def test_handler_end_to_end(
        self, api: VideoAPI, mock_api: MockAPI, time: FakeTime
    ) -> None:
        """The aiohttp handler answers 204, 409, 401 and 400 and feeds the client."""
        seen: list[WebhookEvent] = []
        receiver = WebhookVerifier(SECRET, clock=lambda: NOW)
        app = web.Application()
        app.router.add_post("/hook", webhook_handler(receiver, api=api, on_event=seen.append))
        mock_api.get(VIDEO_URL, payload=VIDEO, repeat=True)
        waiter = asyncio.ensure_future(api.wait_for_render("vid-1"))
        body = delivery()
        other = "whsec_" + base64.b64encode(b"x").decode()
        mock_api._passthrough.append("http://127.0.0.1")  # the handler is a real server
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            ok = await client.post("/hook", data=body, headers=signed(body))
            again = await client.post("/hook", data=body, headers=signed(body))
            forged = await client.post("/hook", data=body, headers=signed(body, secret=other))
            junk = await client.post("/hook", data=b"{}", headers=signed(b"{}", webhook_id="j"))
            statuses = [ok.status, again.status, forged.status, junk.status]
        assert statuses == [204, 409, 401, 400]
        assert [e.delivery_id for e in seen] == ["msg_1"]
        assert (await waiter).is_ready

    async def test_failed_handler_answers_500_and_the_redelivery_is_processed(self) -> None:
        """When on_event raises, the sender gets a 500 and its retry is handled."""
        calls: list[str | None] = []

        async def flaky(event: WebhookEvent) -> None:
            calls.append(event.delivery_id)
            if len(calls) == 1:
                raise RuntimeError("the database is down")

        app = web.Application()
        app.router.add_post(
            "/hook", webhook_handler(WebhookVerifier(SECRET, clock=lambda: NOW), on_event=flaky)
        )
        body = delivery()
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            first = await client.post("/hook", data=body, headers=signed(body))
            retry = await client.post("/hook", data=body, headers=signed(body, timestamp=NOW + 1))
            third = await client.post("/hook", data=body, headers=signed(body, timestamp=NOW + 2))
            statuses = [first.status, retry.status, third.status]
        assert statuses == [500, 204, 409]
        assert calls == ["msg_1", "msg_1"]

    def test_webhooks_module_does_not_import_the_client(self) -> None:
        """webhooks.py needs no client at import time: the _client <-> webhooks cycle is gone."""
        import ast
        import pathlib

        import videoapi_async.webhooks as module

        tree = ast.parse(pathlib.Path(module.__file__).read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        assert not any(name.endswith("_client") for name in imported)
