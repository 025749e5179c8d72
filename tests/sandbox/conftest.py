"""Fixtures for the sandbox tests: a manual clock, sandboxes that close, a plain HTTP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import attrs
import pytest
from yarl import URL

from videoapi_async.sandbox import ManualClock, RenderProfile, Sandbox

# Renders of exactly 10 s, so a ManualClock moves them through known stages.
TEN_SECONDS = RenderProfile(min_duration=10.0, max_duration=10.0)

FLAT_BODY: dict[str, Any] = {"name": "Q3 update", "source_draft_id": "draft-src-1"}
OVERRIDE_BODY: dict[str, Any] = {
    "type": "override",
    "name": "Override",
    "source_draft_id": "draft-src-2",
    "palette_id": "pal-1",
    "character_id": "char-1",
    "voice_id": "voice-1",
    "scenes": [
        {"name": "Intro", "media": ["https://cdn.test/a.png"], "texts": ["Hello"]},
        {"name": "Outro", "transcript": "Thanks for watching and see you next time"},
    ],
    "logo_url": "https://cdn.test/logo.png",
    "metadata": {"team": "sales", "priority": 2, "urgent": True},
    "correlation_id": "corr-override",
}
CREATE_BODY: dict[str, Any] = {
    "type": "create",
    "name": "Dynamic",
    "template_id": "tpl-1",
    "character_id": "char-2",
    "voice_id": "voice-2",
    "palette": [{"color": "#FF8800"}, {"color": "00112233"}],
    "global_media_elements": [{"id": "logo", "url": "https://cdn.test/logo.png"}],
    "scenes": [
        {
            "name": "One",
            "layout_id": "layout-1",
            "media_elements": [{"id": "bg", "url": "https://cdn.test/bg.mp4", "media_id": "m1"}],
            "texts_elements": [{"id": "title", "text": "Welcome"}],
            "transcript": "one two three four five six seven eight nine ten",
        },
        {"name": "Two", "type": "create_scene", "layout_id": "layout-2"},
    ],
    "metadata": {"campaign": "spring"},
    "correlation_id": "corr-create",
}
WORKFLOW_BODY: dict[str, Any] = {
    "type": "workflow",
    "workflow_id": "wf-1",
    "variables": [{"name": "first_name", "variable_id": "v1", "value": "Ada"}],
    "metadata": {"row": 17},
    "correlation_id": "corr-workflow",
}


@attrs.frozen
class Reply:
    """A response read in full."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body)


class ApiCaller:
    """A plain aiohttp client for one sandbox, with its key by default."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.session = session
        self.sandbox = sandbox

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        key: str | None = "default",
        headers: Mapping[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Reply:
        """Send a request to ``base_url + path`` (path already encoded) and read it all."""
        all_headers = dict(headers or {})
        if key == "default":
            all_headers["api-key"] = self.sandbox.api_key
        elif key is not None:
            all_headers["api-key"] = key
        if body is not None:
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        url = yarl_url(self.sandbox.base_url + path)
        kwargs: dict[str, Any] = {"data": data, "headers": all_headers}
        if timeout is not None:
            kwargs["timeout"] = timeout
        async with self.session.request(method, url, **kwargs) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def create(self, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Create a video (the flat form by default) and return it; fail unless 201."""
        reply = await self.call("POST", "/videos", body=body or FLAT_BODY, **kwargs)
        assert reply.status == 201, reply.body
        video: dict[str, Any] = reply.json()
        return video


def yarl_url(url: str) -> URL:
    """Return ``url`` as an already-encoded yarl URL (so %2F stays as sent)."""
    return URL(url, encoded=True)


@pytest.fixture
def clock() -> ManualClock:
    """Return a clock that moves only when a test says so."""
    return ManualClock(1000.0)


@pytest.fixture
async def start_sandbox() -> AsyncIterator[Callable[..., Awaitable[Sandbox]]]:
    """Return a function that starts a Sandbox(**kwargs); every one is closed afterwards."""
    started: list[Sandbox] = []

    async def start(**kwargs: Any) -> Sandbox:
        sandbox = Sandbox(**kwargs)
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        await sandbox.close()


@pytest.fixture
async def sandbox(start_sandbox: Callable[..., Awaitable[Sandbox]], clock: ManualClock) -> Sandbox:
    """Return a started sandbox on the manual clock, seed 7, renders of 10 s."""
    return await start_sandbox(seed=7, clock=clock, render=TEN_SECONDS)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain aiohttp session (keep-alive), closed afterwards."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def caller(session: aiohttp.ClientSession, sandbox: Sandbox) -> ApiCaller:
    """Return a plain client of ``sandbox``."""
    return ApiCaller(session, sandbox)
