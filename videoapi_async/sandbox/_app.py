"""The Sandbox: its lifetime on aiohttp's low-level web server, settings and data access."""

from __future__ import annotations

import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final

import attrs
from aiohttp import web

from ._config import FaultConfig, RateLimit, RenderProfile, SandboxConfig
from ._faults import FaultInjector, RateLimiter
from ._handler import ApiHandler
from ._routes import API_PREFIX
from ._state import TERMINAL_STATUSES, check_status
from ._stats import SandboxStats
from ._store import VideoRecord, VideoStore, VideoViews
from ._validation import BodyError, validate_create_body

__all__ = ["Sandbox"]

_SHUTDOWN_TIMEOUT: Final = 1.0


class Sandbox:
    """A local Video API server that behaves like the real one, in this process.

    Use it as ``async with Sandbox(...) as sb:`` (or ``await sb.start()`` / ``await
    sb.close()``), then point a client at ``sb.base_url`` with ``sb.api_key``. Keyword
    arguments replace the matching fields of ``config``. ``clock`` (monotonic seconds) drives
    render progress and the rate limiter: pass a
    :class:`~videoapi_async.sandbox.ManualClock` to move time forward without sleeping.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        api_key: str | None = None,
        seed: int | None = None,
        render: RenderProfile | None = None,
        faults: FaultConfig | None = None,
        rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("host", host),
                ("port", port),
                ("api_key", api_key),
                ("seed", seed),
                ("render", render),
                ("faults", faults),
                ("rate_limit", rate_limit),
            )
            if value is not None
        }
        config = attrs.evolve(config if config is not None else SandboxConfig(), **changes)
        self._config = config
        self.seed: int = config.seed if config.seed is not None else secrets.randbits(32)
        """The seed of every random choice; pass it back as ``seed=`` to replay a run."""
        self.api_key: str = config.api_key or f"sbx-{secrets.token_hex(16)}"
        """The API key of the sandbox's first account."""
        self.clock = clock
        self._store = VideoStore(self.seed, config.render, clock)
        self._store.add_account(self.api_key)
        self.faults = FaultInjector(config.faults, self.seed)
        """Scripted and random faults; see :class:`FaultInjector`."""
        self._limiter = RateLimiter(config.rate_limit, clock)
        self.stats = SandboxStats(lambda: self._store.records)
        """Request, response, create and fault counters; see :class:`SandboxStats`."""
        self._handler = ApiHandler(
            store=self._store,
            views=self._make_views(f"http://{config.host}:{config.port}", cache=False),
            faults=self.faults,
            limiter=self._limiter,
            stats=self.stats,
            clock=clock,
        )
        self._runner: web.ServerRunner | None = None
        self._port: int | None = None
        self._started = False

    # -- lifetime -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start serving on ``config.host`` and ``config.port`` (0: a free port)."""
        if self._started:
            raise RuntimeError("this Sandbox was already started; create a new one")
        self._started = True
        config = self._config
        server = web.Server(self._handler, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        sock: socket.socket | None = None
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                config.host, config.port, type=socket.SOCK_STREAM
            )[0]
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            if sock is not None:
                sock.close()
            raise
        self._runner = runner
        self._port = sock.getsockname()[1]
        self._handler.origin = self.origin
        self._handler.views = self._make_views(self.origin, cache=True)
        if config.preload_videos:
            self.seed_videos(config.preload_videos)

    async def close(self) -> None:
        """Stop serving, ending requests still in progress (idempotent)."""
        self._handler.closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- addresses and settings -----------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port served on (known once started)."""
        if self._port is None:
            raise RuntimeError("the Sandbox is not started: use 'async with Sandbox() as sb'")
        return self._port

    @property
    def origin(self) -> str:
        """``http://host:port`` of the server, without the API prefix."""
        host = self._config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give a client, e.g. ``http://127.0.0.1:54321/api/v1``."""
        return self.origin + API_PREFIX

    @property
    def config(self) -> SandboxConfig:
        """The settings in force (including changes made while running)."""
        return attrs.evolve(
            self._config,
            api_key=self.api_key,
            seed=self.seed,
            render=self._store.profile,
            faults=self.faults.config,
            rate_limit=self._limiter.limit,
            port=self._port if self._port is not None else self._config.port,
        )

    def set_render_profile(self, profile: RenderProfile) -> None:
        """Use ``profile`` for videos created from now on (existing plans stay)."""
        self._store.profile = profile
        self._handler.views.unknown_progress_rate = profile.unknown_progress_rate

    def set_rate_limit(self, limit: RateLimit | None) -> None:
        """Change the per-key rate limit; ``None`` switches it off."""
        self._limiter.configure(limit)

    def reset_stats(self) -> None:
        """Zero every counter of :attr:`stats` (videos and their timings stay)."""
        self.stats.reset()

    def _make_views(self, origin: str, *, cache: bool) -> VideoViews:
        return VideoViews(
            origin,
            null_unset_fields=self._config.null_unset_fields,
            unknown_progress_rate=self._store.profile.unknown_progress_rate,
            rng=random.Random(f"videoapi-sandbox:{self.seed}:progress"),
            cache=cache,
        )

    # -- server-side access to the data ---------------------------------------------------

    def new_api_key(self, api_key: str | None = None) -> str:
        """Open another account (a separate video list) and return its API key."""
        key = api_key or f"sbx-{secrets.token_hex(16)}"
        self._store.add_account(key)
        return key

    def create_video(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        api_key: str | None = None,
        outcome: str | None = None,
        duration: float | None = None,
        status: str | None = None,
        progress: int | None = None,
        workspace_id: str | None = None,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a video server-side (no request, no statistics) and return its Video JSON.

        ``body`` is validated as a ``POST /videos`` body would be (``ValueError`` if it is
        bad). ``outcome`` (a final status) and ``duration`` (nominal seconds) replace the
        drawn plan; ``status`` and ``progress`` pin the video as with :meth:`set_status`.
        """
        key = api_key if api_key is not None else self.api_key
        if not self._store.has_account(key):
            raise ValueError(f"unknown api_key {key!r}: open the account with new_api_key()")
        request = None
        if body is not None:
            try:
                request = validate_create_body(dict(body))
            except BodyError as exc:
                raise ValueError(f"invalid create body: {exc.detail}") from None
        record = self._store.create(
            key,
            request,
            body=dict(body) if body is not None else None,
            workspace_id=workspace_id,
            team_id=team_id,
            outcome=outcome,
            duration=duration,
        )
        if status is not None:
            self._store.pin(record.video_id, status, progress)
        return self._handler.views.video(record, self.clock())

    def seed_videos(
        self, count: int, *, status: str = "ready", api_key: str | None = None
    ) -> list[str]:
        """Add ``count`` videos already in ``status`` to an account; return their ids.

        Made for benchmarks of ``GET /videos`` against big accounts.
        """
        check_status(status)
        key = api_key if api_key is not None else self.api_key
        if not self._store.has_account(key):
            raise ValueError(f"unknown api_key {key!r}: open the account with new_api_key()")
        terminal = status in TERMINAL_STATUSES
        ids = []
        for _ in range(count):
            number = len(self._store.records)
            record = self._store.create(
                key,
                validate_create_body(
                    {"name": f"Seeded video {number}", "source_draft_id": f"draft-{number}"}
                ),
                outcome=status if terminal else None,
                duration=0.0 if terminal else None,
            )
            if not terminal:
                self._store.pin(record.video_id, status, None)
            ids.append(record.video_id)
        return ids

    def set_status(self, video_id: str, status: str, *, progress: int | None = None) -> None:
        """Pin a video's status (and progress) from now on, whatever its plan said.

        ``progress`` defaults to 100 for ``ready``/``published`` and to the current progress
        otherwise. ``KeyError`` if there is no such video.
        """
        self._store.pin(video_id, status, progress)

    def video(self, video_id: str) -> dict[str, Any] | None:
        """Return the Video JSON of ``video_id`` now, as the API would show it, or ``None``.

        This read is not a client's: it counts nowhere and never reports progress -1.
        """
        record = self._store.get(None, video_id)
        return None if record is None else self._handler.views.video(record, self.clock())

    def videos(self, api_key: str | None = None) -> list[dict[str, Any]]:
        """Return the Video JSON of every live video of an account, oldest first."""
        now = self.clock()
        key = api_key if api_key is not None else self.api_key
        return [self._handler.views.video(record, now) for record in self._store.videos(key)]

    def video_record(self, video_id: str) -> VideoRecord | None:
        """Return the stored record of a live video: plan, headers, body, timings."""
        return self._store.get(None, video_id)

    @property
    def records(self) -> list[VideoRecord]:
        """Every video record ever created, deleted ones included, in creation order."""
        return list(self._store.records)
