"""What every command shares: exit codes, errors, settings, the client, asyncio and output."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, TypeVar

import attrs
import click
from rich.console import Console
from rich.text import Text

from videoapi_async import (
    APIConnectionError,
    APIStatusError,
    CreateOutcomeUnknownError,
    NotFoundError,
    PollPolicy,
    RateLimit,
    RenderFailedError,
    RenderTimeoutError,
    VideoAPIError,
)

if TYPE_CHECKING:
    from videoapi_async import VideoAPI

__all__ = [
    "BATCH_POLL",
    "SANDBOX_POLL",
    "CliError",
    "CoroutineRunner",
    "ExitCode",
    "Interrupted",
    "Settings",
    "call",
    "client_error",
    "emit_json",
    "error_exit_code",
    "human_console",
    "open_client",
    "progress_console",
    "run_async",
    "running_with",
    "safe_text",
]

_T = TypeVar("_T")


class ExitCode(enum.IntEnum):
    """The exit statuses of ``videoapi``; scripts can rely on them."""

    OK = 0
    """Everything asked for was done."""
    RENDER_FAILED = 1
    """The command worked but renders did not: a render failed, or a batch has rows
    without a finished video (failed, refused, unreadable, or not yet known)."""
    USAGE = 2
    """Bad options or arguments, an unreadable input file, no API key, a journal that
    belongs to another input."""
    API_ERROR = 3
    """The API refused a request or could not be reached (HTTP 4xx/5xx, network), or a
    download failed."""
    TIMEOUT = 4
    """``--timeout`` passed before the render finished (the render itself goes on)."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C (a batch's journal is intact: run the command again)."""


class CliError(click.ClickException):
    """An error that ends the command with one line on stderr and an `ExitCode`."""

    def __init__(self, message: str, exit_code: int = ExitCode.API_ERROR) -> None:
        super().__init__(message)
        # click declares exit_code on the class; each error carries its own here.
        setattr(self, "exit_code", int(exit_code))  # noqa: B010

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``Error: <message>`` as one line on stderr."""
        text = safe_text(" ".join(self.format_message().split()))
        click.echo(f"Error: {text}", file=file if file is not None else sys.stderr)


class Interrupted(CliError):
    """The user pressed Ctrl-C."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message, ExitCode.INTERRUPTED)


def error_exit_code(exc: VideoAPIError) -> ExitCode:
    """Return the exit status an error of the client means."""
    if isinstance(exc, RenderFailedError):
        return ExitCode.RENDER_FAILED
    if isinstance(exc, RenderTimeoutError):
        return ExitCode.TIMEOUT
    return ExitCode.API_ERROR


_COLLECTION: Final = "/videos"


def client_error(exc: VideoAPIError) -> CliError:
    """Turn an error of the client into a `CliError` with the right exit status."""
    message = str(exc)
    if isinstance(exc, CreateOutcomeUnknownError):
        message = f"{message} (run 'videoapi list' to look for it)"
    elif isinstance(exc, NotFoundError) and exc.path == _COLLECTION:
        # Listing or creating videos always exists on the API: a 404 there is the URL.
        message = (
            f"{exc.method or 'the request to'} {exc.path} answered HTTP 404: the base URL looks "
            "wrong (it should end in /api/v1, as in https://api.example.com/api/v1); check "
            "--base-url or $VIDEOAPI_BASE_URL"
        )
    elif isinstance(exc, (APIStatusError, APIConnectionError)) and not message:
        message = type(exc).__name__
    return CliError(message, error_exit_code(exc))


def call(settings: Settings, request: Callable[[VideoAPI], Awaitable[_T]]) -> _T:
    """Run ``request(api)`` on a client opened for ``settings``; return what it returns.

    Its errors become one line and an exit status. A ``ValueError`` or ``TypeError`` here
    is the client refusing an argument before sending it (an empty or overlong id,
    ``..``): bad usage, exit status 2.
    """

    async def work() -> _T:
        async with open_client(settings) as api:
            return await request(api)

    try:
        return run_async(work)
    except VideoAPIError as exc:
        raise client_error(exc) from None
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None


BATCH_POLL: Final = PollPolicy()
"""Polling for ``batch``: the client's defaults (list polling when it pays)."""

SANDBOX_POLL: Final = PollPolicy(first_poll=0.25, min_interval=0.1, max_interval=1.0)
"""Polling for the in-process sandbox, whose renders take seconds, not minutes."""


@attrs.frozen(kw_only=True)
class Settings:
    """Where and how to reach the API, from the command line and the environment.

    ``None`` means "not given on the command line": `VideoAPI` then reads its
    environment variable (``VIDEOAPI_API_KEY``, ``VIDEOAPI_BASE_URL``,
    ``VIDEOAPI_WORKSPACE_ID``, ``VIDEOAPI_TEAM_ID``), so both agree on every default.
    """

    api_key: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    workspace_id: str | None = None
    team_id: str | None = None
    sandbox: bool = False
    max_rps: float | None = None

    def merged(self, other: Settings) -> Settings:
        """Return these settings with every value ``other`` gives taking precedence."""
        return Settings(
            api_key=other.api_key if other.api_key is not None else self.api_key,
            base_url=other.base_url if other.base_url is not None else self.base_url,
            workspace_id=other.workspace_id
            if other.workspace_id is not None
            else self.workspace_id,
            team_id=other.team_id if other.team_id is not None else self.team_id,
            sandbox=self.sandbox or other.sandbox,
            max_rps=other.max_rps if other.max_rps is not None else self.max_rps,
        )

    def check(self) -> None:
        """Fail with a usage error when ``--api-key`` is given empty.

        A key missing altogether is reported by `VideoAPI` itself (see `open_client`),
        which knows where it looks for one.
        """
        if not self.sandbox and self.api_key is not None and not self.api_key.strip():
            raise CliError("--api-key is empty", ExitCode.USAGE)


@contextlib.asynccontextmanager
async def open_client(
    settings: Settings, *, poll: PollPolicy | None = None
) -> AsyncIterator[VideoAPI]:
    """Open a `VideoAPI` for ``settings``; with ``sandbox``, against a fresh local sandbox.

    The in-process sandbox holds three finished videos, renders in one to four seconds,
    and stops with the command. ``max_rps`` caps the requests started per second.
    """
    from videoapi_async import VideoAPI  # here, not at the top: --help needs no aiohttp

    settings.check()
    rate_limit = RateLimit(requests_per_second=settings.max_rps)
    # The loop's clock is time.monotonic, unless a test runs the command in simulated time.
    clock = asyncio.get_running_loop().time
    if settings.sandbox:
        from videoapi_async.sandbox import RenderProfile, Sandbox

        profile = RenderProfile(min_duration=2.0, max_duration=8.0, time_scale=2.0)
        async with Sandbox(render=profile, clock=clock) as sandbox:
            sandbox.seed_videos(3)
            async with VideoAPI(
                sandbox.api_key,
                base_url=sandbox.base_url,
                bearer_token=sandbox.bearer_token,
                poll=SANDBOX_POLL,
                rate_limit=rate_limit,
                clock=clock,
            ) as api:
                yield api
        return
    try:
        api = VideoAPI(
            settings.api_key,
            base_url=settings.base_url,
            workspace_id=settings.workspace_id,
            team_id=settings.team_id,
            poll=poll,
            rate_limit=rate_limit,
            clock=clock,
        )
    except (VideoAPIError, ValueError, TypeError) as exc:
        hint = " (or try the command with --sandbox)" if settings.api_key is None else ""
        raise CliError(f"{exc}{hint}", ExitCode.USAGE) from None
    async with api:
        yield api


class CoroutineRunner(Protocol):
    """Runs a coroutine to its end and returns its result, as `asyncio.run` does."""

    def __call__(self, main: Coroutine[Any, Any, _T], /) -> _T:
        """Run ``main`` to its end and return its result (or raise its exception)."""
        ...


_RUNNER: ContextVar[CoroutineRunner] = ContextVar("videoapi_cli_runner", default=asyncio.run)


@contextlib.contextmanager
def running_with(runner: CoroutineRunner | None) -> Iterator[None]:
    """Make `run_async` run its coroutines with ``runner`` inside the block (None: as is)."""
    if runner is None:
        yield
        return
    token = _RUNNER.set(runner)
    try:
        yield
    finally:
        _RUNNER.reset(token)


def run_async(work: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``work()`` in a new event loop; Ctrl-C cancels it cleanly and raises `Interrupted`.

    The first Ctrl-C cancels the work, so its ``finally`` blocks run (journals are closed,
    connections released); `Interrupted` is raised once it has unwound. The loop is
    `asyncio.run`'s, unless the command was started with another runner (see
    `running_with`).
    """
    interrupted = False

    async def guarded() -> _T:
        nonlocal interrupted
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            if task is not None:
                task.cancel()

        installed = False
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
        try:
            return await work()
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)

    try:
        return _RUNNER.get()(guarded())
    except KeyboardInterrupt:
        raise Interrupted() from None
    except asyncio.CancelledError:
        if interrupted:
            raise Interrupted() from None
        raise


_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Return ``text`` with terminal control characters shown as escapes (like ``ESC``).

    Strings from the server (names, ids, error details) are printed with this, so none
    can clear the screen, set the window title, plant a hyperlink or reorder a line.
    """
    return _CONTROL.sub(_escape, text)


class _TextConsole(Console):
    """A console that prints strings as text: no markup, no emoji codes, no control codes."""

    def render_str(self, text: str, **options: Any) -> Text:
        """Render ``text`` literally, with control characters escaped."""
        return super().render_str(safe_text(text), **options)


def human_console() -> Console:
    """Return a console for human output on stdout (plain text when not a terminal)."""
    return _TextConsole(highlight=False, markup=False, emoji=False, soft_wrap=True)


def progress_console() -> Console:
    """Return the console live progress is drawn on: stderr, so stdout stays clean."""
    return _TextConsole(stderr=True, highlight=False, markup=False, emoji=False)


_C1: Final = re.compile("[\x7f-\x9f]")


def emit_json(document: Any) -> None:
    """Write one JSON document (or one JSON Lines record) to stdout, and flush.

    JSON already escapes the C0 controls; DEL and the C1 controls (which some terminals
    obey) are escaped too, so the output is safe to print as it is.
    """
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    click.echo(_C1.sub(lambda found: f"\\u{ord(found.group()):04x}", text))
    sys.stdout.flush()
