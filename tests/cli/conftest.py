"""Fixtures for the command's tests: commands and servers share one simulated-time loop.

Every test here has a `CommandLoop`: a `SimulatedTimeLoop` in the test's own thread. The
servers a test needs (a `Sandbox`, a small app that serves files) are started on it and
outlive each command (so a test can check that a re-run creates nothing twice), and
`invoke` runs each command's coroutine on the same loop, through the ``runner=`` seam
of ``cli.main``. Command, client and server read the one clock, which jumps ahead
whenever every task waits: polls, renders, backoffs and rate limits take no real time.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import shutil
import tempfile
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from click.testing import CliRunner, Result

from videoapi_async.cli._root import cli
from videoapi_async.sandbox import RenderProfile, Sandbox, SimulatedTimeLoop

_T = TypeVar("_T")

CANARY_KEY = "sk-cli-canary-4d1f9b-never-print-me"
FAST = RenderProfile(min_duration=2.0, max_duration=8.0, time_scale=40.0)

_IN_COMMAND: contextvars.ContextVar[bool] = contextvars.ContextVar("in_command", default=False)


class CommandLoop:
    """A `SimulatedTimeLoop` that servers live on and that each command runs on in turn.

    The loop runs only while something is run on it (a command, or `call`); between
    two commands its clock stands still and the servers' tasks wait.
    """

    def __init__(self) -> None:
        self.loop = SimulatedTimeLoop()
        self._command_tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.loop.set_task_factory(self._new_task)

    def _new_task(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any],
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        if _IN_COMMAND.get():  # created by a command (its context), not by a server
            self._command_tasks.add(task)
        return task

    def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the loop (servers' tasks run meanwhile) and return its result."""
        return self.loop.run_until_complete(coro)

    def run(self, function: Callable[[], _T]) -> _T:
        """Call ``function`` from inside the running loop (for what needs a running loop)."""

        async def inside() -> _T:
            return function()

        return self.call(inside())

    def run_command(self, main: Coroutine[Any, Any, _T]) -> _T:
        """Run a command's coroutine as `asyncio.run` would, but on this loop.

        Like `asyncio.run`, tasks the command leaves behind are cancelled when it ends;
        the servers' tasks go on.
        """

        async def command() -> _T:
            _IN_COMMAND.set(True)  # seen by every task the command creates
            return await main

        task = self.loop.create_task(command())
        try:
            return self.loop.run_until_complete(task)
        finally:
            # The command's own task is still running only if KeyboardInterrupt stopped it.
            left = [task, *(other for other in self._command_tasks if not other.done())]
            for pending in left:
                pending.cancel()
            self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))

    def close(self) -> None:
        """Cancel every task left, then close the loop."""
        try:
            tasks = asyncio.all_tasks(self.loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()


_current: CommandLoop | None = None


@pytest.fixture(autouse=True)
def command_loop() -> Iterator[CommandLoop]:
    """Yield this test's loop, the one `invoke` runs commands on; close it afterwards."""
    global _current
    _current = CommandLoop()
    try:
        yield _current
    finally:
        _current.close()
        _current = None


def invoke(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """Run ``videoapi ARGS`` on this test's loop and return the result (stdout, stderr apart)."""
    assert _current is not None, "invoke runs only inside a test of tests/cli"
    return CliRunner().invoke(
        cli,
        list(args),
        env=env,
        input=input,
        catch_exceptions=False,
        runner=_current.run_command,
    )


class LoopSandbox:
    """A `Sandbox` on the test's loop, on its clock, shared by several commands of a test."""

    def __init__(self, loop: CommandLoop, **options: Any) -> None:
        self.loop = loop

        async def start() -> Sandbox:
            sandbox = Sandbox(clock=asyncio.get_running_loop().time, **options)
            await sandbox.start()
            return sandbox

        self.sandbox: Sandbox = loop.call(start())

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
        return self.loop.run(function)

    def create(self, body: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
        """Create a video server-side and return its JSON."""
        body = body or {"name": "made for a test", "source_draft_id": "draft-t"}
        return self.run(lambda: self.sandbox.create_video(body, **options))

    def close(self) -> None:
        self.loop.call(self.sandbox.close())


_RAM_DISK = Path("/dev/shm")


@pytest.fixture
def tmp_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Yield a new empty directory, on a RAM disk where there is one (Linux).

    A batch journal syncs each write to disk, as it must; on a RAM disk a sync costs
    nothing, so these tests do not wait on a disk that other work keeps busy.
    """
    if not (_RAM_DISK.is_dir() and os.access(_RAM_DISK, os.W_OK)):
        yield tmp_path_factory.mktemp("cli")
        return
    path = Path(tempfile.mkdtemp(prefix="videoapi-tests-", dir=_RAM_DISK))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every VIDEOAPI_* variable, so tests do not depend on the caller's shell."""
    for name in list(os.environ):
        if name.startswith("VIDEOAPI_"):
            monkeypatch.delenv(name)


@pytest.fixture
def cli_sandbox(clean_env: None, command_loop: CommandLoop) -> Iterator[LoopSandbox]:
    """Yield a fast sandbox (renders of 0.05-0.2 s, simulated) on the test's loop."""
    running = LoopSandbox(command_loop, seed=11, render=FAST)
    try:
        yield running
    finally:
        running.close()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoopServer:
    """A small aiohttp app on the test's loop; it records every request's headers."""

    def __init__(self, loop: CommandLoop, routes: dict[str, Handler]) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.loop = loop
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

        self._app_runner, self.port = loop.call(start())

    def _recording(self, handler: Handler) -> Handler:
        async def record(request: web.Request) -> web.StreamResponse:
            self.seen.append((request.path, dict(request.headers)))
            return await handler(request)

        return record

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.loop.call(self._app_runner.cleanup())
