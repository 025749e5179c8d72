"""Fixtures for the command's tests: a runner, a clean environment, and servers in a thread.

The command runs its own event loop (``asyncio.run``), so a server that must outlive
one command (to check that a re-run creates nothing twice) runs in a thread of its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from videoapi_async.cli._app import cli
from videoapi_async.sandbox import RenderProfile, Sandbox

_T = TypeVar("_T")

CANARY_KEY = "sk-cli-canary-4d1f9b-never-print-me"
FAST = RenderProfile(min_duration=2.0, max_duration=8.0, time_scale=40.0)


class LoopThread:
    """An event loop running in a daemon thread; `call` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float = 20.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, function: Callable[[], _T]) -> _T:
        async def inside() -> _T:
            return function()

        return self.call(inside())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class ThreadSandbox:
    """A `Sandbox` served from its own thread, shared by several commands of one test."""

    def __init__(self, **options: Any) -> None:
        self.runner = LoopThread()
        self.options = options

        async def start() -> Sandbox:
            sandbox = Sandbox(**options)
            await sandbox.start()
            return sandbox

        self.sandbox: Sandbox = self.runner.call(start())

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url

    @property
    def api_key(self) -> str:
        return self.sandbox.api_key

    def env(self) -> dict[str, str]:
        """Return the environment that points the command at this sandbox."""
        return {"VIDEOAPI_BASE_URL": self.base_url, "VIDEOAPI_API_KEY": self.api_key}

    def run(self, function: Callable[[], _T]) -> _T:
        """Run ``function`` on the sandbox's loop (for anything that changes its state)."""
        return self.runner.run(function)

    def create(self, body: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        """Create a video server-side and return its JSON."""
        body = body or {"name": "made for a test", "source_draft_id": "draft-t"}
        return self.run(lambda: self.sandbox.create_video(body, **options))

    def close(self) -> None:
        self.runner.call(self.sandbox.close())
        self.runner.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every VIDEOAPI_* variable, so tests do not depend on the caller's shell."""
    for name in list(os.environ):
        if name.startswith("VIDEOAPI_"):
            monkeypatch.delenv(name)


@pytest.fixture
def thread_sandbox(clean_env: None) -> Iterator[ThreadSandbox]:
    """Yield a fast sandbox (renders of 0.05-0.2 s) in its own thread."""
    sandbox = ThreadSandbox(seed=11, render=FAST)
    try:
        yield sandbox
    finally:
        sandbox.close()


def invoke(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """Run ``videoapi ARGS`` in this process and return the result (stdout and stderr apart)."""
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ThreadServer:
    """A small aiohttp app served from its own thread; it records every request's headers."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.runner = LoopThread()
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_get(path, self._recording(handler))

        async def start() -> tuple[web.AppRunner, int]:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            return runner, port

        self._app_runner, self.port = self.runner.call(start())

    def _recording(self, handler: Handler) -> Handler:
        async def record(request: web.Request) -> web.StreamResponse:
            self.seen.append((request.path, dict(request.headers)))
            return await handler(request)

        return record

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.runner.call(self._app_runner.cleanup())
        self.runner.close()
