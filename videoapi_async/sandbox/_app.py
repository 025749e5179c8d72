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

from ._config import (
    FaultConfig,
    RenderProfile,
    SandboxConfig,
    ServerRateLimit,
    VoicePreviewProfile,
    WebhookConfig,
)
from ._faults import FaultInjector, RateLimiter
from ._handler import ApiHandler
from ._routes import API_PREFIX
from ._state import TERMINAL_STATUSES, check_status
from ._stats import SandboxStats
from ._store import VideoRecord, VideoStore, VideoViews
from ._validation import BodyError, validate_create_body
from ._voice import VoiceTaskStore
from ._webhook_faults import WebhookDelivery, WebhookFaultInjector
from ._webhook_registry import WebhookRegistry
from ._webhooks import WebhookDispatcher

__all__ = ["Sandbox"]

_SHUTDOWN_TIMEOUT: Final = 1.0


class Sandbox:
    """A local Video API server that behaves like the real one, in this process.

    Use it as ``async with Sandbox(...) as sb:`` (or ``await sb.start()`` / ``await
    sb.close()``), then point a client at ``sb.base_url`` with ``sb.api_key``. Keyword
    arguments replace the matching fields of ``config``. ``clock`` (monotonic seconds) drives
    render progress, voice previews, webhook deliveries and the rate limiter: pass a
    :class:`~videoapi_async.sandbox.ManualClock` to move time forward without sleeping (and
    ``await sb.deliver_due_webhooks()`` after moving it). ``wall_start`` is the Unix time
    that the clock's reading at construction stands for (default: now); the usage summary
    dates videos by it.
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
        rate_limit: ServerRateLimit | None = None,
        voice_preview: VoicePreviewProfile | None = None,
        webhooks: WebhookConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_start: float | None = None,
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
                ("voice_preview", voice_preview),
                ("webhooks", webhooks),
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
        self.wall_epoch: float = (wall_start if wall_start is not None else time.time()) - clock()
        """The Unix time of the clock's reading 0 (see :meth:`wall_time`)."""
        self._store = VideoStore(self.seed, config.render, clock)
        self._store.add_account(self.api_key)
        self._voices = VoiceTaskStore(self.seed, config.voice_preview)
        self.faults = FaultInjector(config.faults, self.seed)
        """Scripted and random faults; see :class:`FaultInjector`."""
        self._limiter = RateLimiter(config.rate_limit, clock)
        self.stats = SandboxStats(lambda: self._store.records)
        """Request, response, create and fault counters; see :class:`SandboxStats`."""
        self.bearer_token: str = f"sbt-{secrets.token_hex(16)}"
        """The first account's bearer token: the webhook routes and the create example."""
        self._registry = WebhookRegistry(self.seed, self.wall_time)
        self._handler = ApiHandler(
            store=self._store,
            voices=self._voices,
            views=self._make_views(f"http://{config.host}:{config.port}", cache=False),
            faults=self.faults,
            limiter=self._limiter,
            stats=self.stats,
            clock=clock,
            wall_epoch=self.wall_epoch,
            registry=self._registry,
        )
        self._handler.bearer_accounts[self.bearer_token] = self.api_key
        self._webhooks = WebhookDispatcher(
            config=config.webhooks,
            store=self._store,
            video_view=lambda record, now: self._handler.views.video(record, now),
            clock=clock,
            deliveries=self.stats.webhooks,
            seed=self.seed,
            registry=self._registry,
        )
        self._store.listener = self._webhooks.schedule
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
        self._webhooks.start()

    async def close(self) -> None:
        """Stop serving, ending requests still in progress, and stop webhooks (idempotent)."""
        self._handler.closing.set()
        await self._webhooks.close()
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
            voice_preview=self._voices.profile,
            webhooks=self._webhook_config(),
            port=self._port if self._port is not None else self._config.port,
        )

    def _webhook_config(self) -> WebhookConfig | None:
        config = self._webhooks.config
        if config is None:
            return None
        return attrs.evolve(config, fault_rates=self._webhooks.faults.rates)

    def set_render_profile(self, profile: RenderProfile) -> None:
        """Use ``profile`` for videos created from now on (existing plans stay)."""
        self._store.profile = profile
        self._handler.views.unknown_progress_rate = profile.unknown_progress_rate

    def set_voice_preview_profile(self, profile: VoicePreviewProfile) -> None:
        """Use ``profile`` for voice previews created from now on (existing plans stay)."""
        self._voices.profile = profile

    def set_webhooks(self, config: WebhookConfig | None) -> None:
        """Change the webhook settings; ``None`` switches deliveries off.

        Renders of videos created from now on are announced. Deliveries already scheduled
        keep their due times and go out with the settings in force then (none if off).
        """
        self._webhooks.configure(config)

    def set_rate_limit(self, limit: ServerRateLimit | None) -> None:
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
        listener, self._store.listener = self._store.listener, None  # no webhooks for these
        try:
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
        finally:
            self._store.listener = listener
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

    def wall_time(self, reading: float | None = None) -> float:
        """Return the Unix time a clock reading (default: now) stands for."""
        return self.wall_epoch + (self.clock() if reading is None else reading)

    # -- voice previews -------------------------------------------------------------------

    def create_voice_preview(
        self,
        transcript: str = "Hello from the sandbox",
        source_draft_id: str = "draft-voice",
        *,
        api_key: str | None = None,
        outcome: str | None = None,
        duration: float | None = None,
    ) -> dict[str, Any]:
        """Create a voice-preview task server-side; return its CreateVoicePreviewResponse.

        ``outcome`` (``"ready"`` or ``"failed"``) and ``duration`` (nominal seconds)
        replace the drawn plan.
        """
        key = api_key if api_key is not None else self.api_key
        if not self._store.has_account(key):
            raise ValueError(f"unknown api_key {key!r}: open the account with new_api_key()")
        task = self._voices.create(
            key,
            transcript,
            source_draft_id,
            now=self.clock(),
            time_scale=self._store.profile.time_scale,
            outcome=outcome,
            duration=duration,
        )
        return task.created_view()

    def voice_preview(self, task_id: str) -> dict[str, Any] | None:
        """Return the TaskProgressResponse of a voice preview now, or ``None``."""
        task = self._voices.get(None, task_id)
        if task is None:
            return None
        return task.progress_view(
            self.clock(),
            self._handler.voice_url(task_id),
            null_unset_fields=self._config.null_unset_fields,
        )

    # -- webhooks -------------------------------------------------------------------------

    @property
    def webhook_faults(self) -> WebhookFaultInjector:
        """Scripted and random faults of webhook deliveries; see :class:`WebhookFaultInjector`."""
        return self._webhooks.faults

    @property
    def pending_webhooks(self) -> int:
        """How many webhook deliveries are scheduled (some may turn out void when due)."""
        return self._webhooks.pending

    def next_webhook_due(self) -> float | None:
        """Return the clock reading when the next scheduled delivery is due, if any."""
        return self._webhooks.next_due()

    async def deliver_due_webhooks(self) -> list[WebhookDelivery]:
        """Send every webhook delivery due by now; return the attempts made by this call.

        For clocks that do not move by themselves (``ManualClock``): move the clock, then
        await this. It also waits for a delivery the background task is making, so every
        delivery due when it is called has been attempted when it returns.
        """
        return await self._webhooks.deliver_due()

    async def send_webhook(
        self, video_id: str, event: str | None = None, *, faults: bool = True
    ) -> list[WebhookDelivery]:
        """Send a signed delivery for a video as it is now; return the attempts made.

        ``event`` defaults to the configured name of the video's final status (a video
        still rendering needs one). Webhook faults apply unless ``faults=False``; a
        ``delay`` fault schedules the delivery instead (the list is then empty).
        ``KeyError`` if there is no such video; ``RuntimeError`` if webhooks are off.
        """
        record = self._store.get(None, video_id)
        if record is None:
            raise KeyError(f"no video with id {video_id!r} in the sandbox")
        return await self._webhooks.send_now(record, event, faults=faults)
