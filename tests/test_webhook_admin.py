"""Webhook management and the create example: bearer-token calls on the client's request path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from videoapi_async import (
    APIConnectionError,
    AuthenticationError,
    CreateExample,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    NotFoundError,
    ResponseDecodeError,
    ServerError,
    VideoAPI,
    VideoAPIError,
    Webhook,
    Webhooks,
    WebhookStatus,
)

from .conftest import BASE_URL, VIDEO

KEY = "api-key-canary-7d1e"
TOKEN = "bearer-canary-93af"
HOOK = {
    "id": "wh-1",
    "name": "renders",
    "description": "ends waits",
    "url": "https://example.com/hooks/video",
    "status": "active",
    "events": ["video.ready", "video.failed"],
    "created_at": "2026-11-29T20:00:00",
    "updated_at": "2026-11-29T20:00:00",
    "signing_secret": "whsec_c2VjcmV0LXNlY3JldA==",
}


async def no_sleep(seconds: float) -> None:
    """Skip retry back-offs."""


class Recorder:
    """A MockTransport handler that records requests and answers from a script."""

    def __init__(self, *answers: HTTPResponse | Callable[[HTTPRequest], HTTPResponse]) -> None:
        self.requests: list[HTTPRequest] = []
        self.answers = list(answers)

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer


def client(recorder: Recorder, **kwargs: Any) -> VideoAPI:
    options: dict[str, Any] = {"bearer_token": TOKEN, "sleep": no_sleep, **kwargs}
    return VideoAPI(KEY, base_url=BASE_URL, transport=MockTransport(recorder), **options)


def ok(data: Any, status: int = 200) -> HTTPResponse:
    return HTTPResponse.from_json(data, status=status)


class TestCredentials:
    async def test_bearer_calls_never_send_the_api_key_and_api_key_calls_never_the_token(
        self,
    ) -> None:
        """Webhook calls carry only the bearer token; video calls carry only the API key."""
        example = {"curl": "curl ...", "json_request": {"type": "create"}}
        answers = {"/webhooks": [HOOK], "/videos": [VIDEO], "/examples/create-video": example}
        recorder = Recorder(lambda r: ok(answers.get(r.path, VIDEO)))
        async with client(recorder) as api:
            await api.webhooks.list()
            await api.get_video("vid-1")
            await api.get_create_example("draft-1")
            await api.list_videos()
        bearer = [r for r in recorder.requests if not r.path.startswith("/videos")]
        keyed = [r for r in recorder.requests if r.path.startswith("/videos")]
        assert len(bearer) == 2
        assert len(keyed) == 2
        for request in bearer:
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            assert "api-key" not in request.headers
            assert KEY not in str(dict(request.headers))
        for request in keyed:
            assert request.headers["api-key"] == KEY
            assert "Authorization" not in request.headers
            assert TOKEN not in str(dict(request.headers))

    async def test_token_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """VIDEOAPI_BEARER_TOKEN is used when bearer_token= is not given."""
        monkeypatch.setenv("VIDEOAPI_BEARER_TOKEN", "from-env")
        recorder = Recorder(ok([]))
        async with VideoAPI(KEY, base_url=BASE_URL, transport=MockTransport(recorder)) as api:
            assert await api.webhooks.list() == []
        assert recorder.requests[0].headers["Authorization"] == "Bearer from-env"

    async def test_no_token_is_refused_before_sending(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without a bearer token the calls raise a VideoAPIError naming the fix, unsent."""
        monkeypatch.delenv("VIDEOAPI_BEARER_TOKEN", raising=False)
        recorder = Recorder(ok([]))
        async with VideoAPI(KEY, base_url=BASE_URL, transport=MockTransport(recorder)) as api:
            with pytest.raises(VideoAPIError, match="VIDEOAPI_BEARER_TOKEN"):
                await api.webhooks.list()
            with pytest.raises(VideoAPIError, match="bearer_token="):
                await api.get_create_example("draft-1")
        assert recorder.requests == []

    @pytest.mark.parametrize("token", ["", " x", "a\nb"])
    def test_unusable_token_is_refused_without_showing_it(self, token: str) -> None:
        """A blank token or one with line breaks is refused, and the message hides it."""
        with pytest.raises(VideoAPIError, match="bearer_token") as caught:
            VideoAPI(KEY, base_url=BASE_URL, bearer_token=token)
        assert token.strip() == "" or token not in str(caught.value)

    async def test_token_is_never_shown(self) -> None:
        """A server echoing the token, a 401 and the reprs never show it."""
        echo = {"detail": f"bad token {TOKEN}"}
        recorder = Recorder(HTTPResponse.from_json(echo, status=401))
        api = client(recorder)
        async with api:
            with pytest.raises(AuthenticationError) as caught:
                await api.webhooks.list()
        error = caught.value
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error.detail)
        assert "bearer token" in str(error)
        assert "VIDEOAPI_API_KEY" not in str(error)
        assert TOKEN not in repr(api)
        assert TOKEN not in repr(api.webhooks)


class TestWebhookCalls:
    async def test_each_operation_sends_its_method_path_and_body(self) -> None:
        """list, get, create, update, delete, rotate, pause and toggle hit the documented paths."""
        recorder = Recorder(
            lambda r: (
                HTTPResponse(204)
                if r.method == "DELETE"
                else ok([HOOK] if r.path == "/webhooks" and r.method == "GET" else HOOK)
            )
        )
        async with client(recorder) as api:
            hooks = await api.webhooks.list()
            await api.webhooks.get("wh-1")
            created = await api.webhooks.create(
                name="renders", url="https://example.com/hooks/video", events=["video.ready"]
            )
            await api.webhooks.update(
                "wh-1", name="renamed", url="https://example.com/h", description="d"
            )
            await api.webhooks.rotate_secret("wh-1")
            await api.webhooks.toggle_pause("wh-1")
            await api.webhooks.toggle_active("wh-1")
            assert await api.webhooks.delete("wh-1") is None
        calls = [(r.method, r.path, r.json()) for r in recorder.requests]
        assert calls == [
            ("GET", "/webhooks", None),
            ("GET", "/webhooks/wh-1", None),
            (
                "POST",
                "/webhooks",
                {
                    "name": "renders",
                    "url": "https://example.com/hooks/video",
                    "events": ["video.ready"],
                },
            ),
            (
                "PUT",
                "/webhooks/wh-1",
                {"name": "renamed", "url": "https://example.com/h", "description": "d"},
            ),
            ("PUT", "/webhooks/wh-1/secret", None),
            ("PUT", "/webhooks/wh-1/pause", None),
            ("PUT", "/webhooks/wh-1/toggle-status", None),
            ("DELETE", "/webhooks/wh-1", None),
        ]
        assert hooks == [created]
        assert created.status is WebhookStatus.ACTIVE
        assert created.events == ("video.ready", "video.failed")
        assert created.signing_secret == HOOK["signing_secret"]

    def test_signing_secret_is_not_in_the_repr(self) -> None:
        """A Webhook's repr leaves out its signing secret."""
        hook = Webhook(id="w", name="n", url="https://h", signing_secret="whsec_AAAA")
        assert "whsec_AAAA" not in repr(hook)

    async def test_responses_are_read_tolerantly(self) -> None:
        """Unknown statuses are kept, null or absent optionals accepted, extra fields ignored."""
        minimal = {"id": "w", "name": "n", "url": "https://h", "status": "archived"}
        recorder = Recorder(ok({**minimal, "events": None, "new_field": 1}))
        async with client(recorder) as api:
            hook = await api.webhooks.get("w")
        assert hook.status is not None
        assert hook.status.value == "archived"
        assert hook.events == ()
        assert hook.signing_secret is None

    async def test_unreadable_answers_raise_response_decode_error(self) -> None:
        """A webhook without required fields, or a list with a non-object, is reported."""
        async with client(Recorder(ok({"id": "w"}))) as api:
            with pytest.raises(ResponseDecodeError, match="Webhook"):
                await api.webhooks.get("w")
        async with client(Recorder(ok([{"id": "w", "name": "n", "url": "u"}, 3]))) as api:
            with pytest.raises(ResponseDecodeError, match="Webhook"):
                await api.webhooks.list()

    async def test_ids_stay_one_path_segment(self) -> None:
        """A webhook id such as '../x' or 'a/b' is percent-encoded as one segment."""
        recorder = Recorder(ok(HOOK))
        async with client(recorder) as api:
            await api.webhooks.get("a/b")
            await api.webhooks.toggle_pause("../x")
        assert [r.path for r in recorder.requests] == [
            "/webhooks/a%2Fb",
            "/webhooks/..%2Fx/pause",
        ]

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"name": "", "url": "https://h"}, "name"),
            ({"name": "n", "url": "ftp://h"}, "http"),
            ({"name": "n", "url": "https://h/a b"}, "percent-encoded"),
            ({"name": "n", "url": "https://h/é"}, "percent-encoded"),
            ({"name": "n", "url": "https:///nohost"}, "http"),
            ({"name": "n", "url": "https://h", "events": ["video.done"]}, "events"),
            ({"name": "n", "url": "https://h", "events": []}, "events"),
        ],
    )
    async def test_bad_fields_are_refused_before_sending(
        self, kwargs: dict[str, Any], needle: str
    ) -> None:
        """Empty names, non-http URLs and unknown or no events raise ValueError, unsent."""
        recorder = Recorder(ok(HOOK))
        async with client(recorder) as api:
            with pytest.raises(ValueError, match=needle):
                await api.webhooks.create(**kwargs)
        assert recorder.requests == []

    async def test_missing_webhook(self) -> None:
        """A 404 says no such webhook; delete(missing_ok=True) treats it as deleted."""
        recorder = Recorder(HTTPResponse.from_json({"detail": "Not found"}, status=404))
        async with client(recorder) as api:
            with pytest.raises(NotFoundError, match="no such webhook"):
                await api.webhooks.get("gone")
            await api.webhooks.delete("gone", missing_ok=True)


class TestRetries:
    async def test_reads_and_updates_are_retried(self) -> None:
        """A 503 to a list, an update or a secret rotation is retried like any read."""
        recorder = Recorder(
            HTTPResponse(503), ok([]), HTTPResponse(503), ok(HOOK), HTTPResponse(503), ok(HOOK)
        )
        async with client(recorder) as api:
            await api.webhooks.list()
            await api.webhooks.update("w", name="n", url="https://h")
            await api.webhooks.rotate_secret("w")
        assert len(recorder.requests) == 6

    @pytest.mark.parametrize(
        "call",
        [
            lambda hooks: hooks.create(name="n", url="https://h"),
            lambda hooks: hooks.toggle_pause("w"),
            lambda hooks: hooks.toggle_active("w"),
        ],
        ids=["create", "toggle_pause", "toggle_active"],
    )
    async def test_acting_twice_is_never_risked(
        self, call: Callable[[Webhooks], Awaitable[Webhook]]
    ) -> None:
        """Creates and toggles are not re-sent after a 503: repeating them would act twice."""
        recorder = Recorder(HTTPResponse(503), ok(HOOK))
        async with client(recorder) as api:
            with pytest.raises(ServerError):
                await call(api.webhooks)
        assert len(recorder.requests) == 1

    async def test_unsent_create_is_retried(self) -> None:
        """A create whose connection failed before sending is sent again."""
        calls = 0

        def handler(request: HTTPRequest) -> HTTPResponse:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise APIConnectionError(
                    "refused", method="POST", path=request.path, request_sent=False
                )
            return ok(HOOK, status=201)

        async with VideoAPI(
            KEY,
            base_url=BASE_URL,
            bearer_token=TOKEN,
            transport=MockTransport(handler),
            sleep=no_sleep,
        ) as api:
            assert (await api.webhooks.create(name="n", url="https://h")).id == "wh-1"
        assert calls == 2


class TestCreateExample:
    async def test_query_headers_and_model(self) -> None:
        """draft_id and example_type go in the query, workspace/team headers too."""
        example = {"curl": f"curl -H 'api-key: {KEY}' ...", "json_request": {"type": "create"}}
        recorder = Recorder(ok(example))
        async with client(recorder, workspace_id="ws", team_id="tm") as api:
            got = await api.get_create_example("draft 1", "override")
        assert isinstance(got, CreateExample)
        assert got.json_request == {"type": "create"}
        (request,) = recorder.requests
        assert request.url == (
            f"{BASE_URL}/examples/create-video?draft_id=draft+1&example_type=override"
        )
        assert (request.headers["workspace-id"], request.headers["team-id"]) == ("ws", "tm")
        assert KEY not in got.curl  # the echoed key is redacted
        assert "curl" not in repr(got)

    @pytest.mark.parametrize(
        ("args", "needle"), [(("",), "draft_id"), (("d", "workflow"), "example_type")]
    )
    async def test_bad_arguments_are_refused_before_sending(
        self, args: tuple[str, ...], needle: str
    ) -> None:
        """An empty draft id or an unknown example type raises ValueError, unsent."""
        recorder = Recorder(ok({}))
        async with client(recorder) as api:
            with pytest.raises(ValueError, match=needle):
                await api.get_create_example(*args)
        assert recorder.requests == []


def test_webhook_status_members_are_the_documented_states() -> None:
    """WebhookStatus has exactly the document's states, and keeps unknown ones as unknown."""
    from videoapi_async.contract import WEBHOOK_STATUSES

    assert tuple(status.value for status in WebhookStatus) == WEBHOOK_STATUSES
    assert all(status.is_known for status in WebhookStatus)
    assert not WebhookStatus("archived").is_known


def test_contract_constants_match_the_openapi_document() -> None:
    """The webhook events, states and example types are the document's."""
    import json
    from pathlib import Path

    from videoapi_async import contract

    document = json.loads((Path(__file__).parent / "hourone-openapi.json").read_text())
    schemas = document["components"]["schemas"]
    assert tuple(schemas["EventName"]["enum"]) == contract.WEBHOOK_EVENTS
    assert tuple(schemas["WebhookStatusOptions"]["enum"]) == contract.WEBHOOK_STATUSES
    operation = document["paths"]["/examples/create-video"]["get"]
    [example_type] = [p for p in operation["parameters"] if p["name"] == "example_type"]
    assert example_type["schema"]["default"] == contract.CREATE_EXAMPLE_TYPES[0]


async def test_draft_ids_are_sent_as_given() -> None:
    """Any non-empty draft id, blank-looking or not, is sent as it is, percent-encoded."""
    recorder = Recorder(ok({"curl": "c", "json_request": {}}))
    async with client(recorder) as api:
        await api.get_create_example("\xa0")
        await api.get_create_example("a/b&c=d")
    queries = [request.url.split("?", 1)[1] for request in recorder.requests]
    assert queries == [
        "draft_id=%C2%A0&example_type=create",
        "draft_id=a/b%26c%3Dd&example_type=create",
    ]
