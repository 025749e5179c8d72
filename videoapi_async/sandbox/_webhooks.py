"""Webhook deliveries: one background task sends a signed POST when a render ends.

A render's end is known in advance (its status is computed from time), so each video
created while webhooks are configured puts its finish time on a heap. One task sleeps until
the earliest entry is due, delivers it, and sleeps again; a new video, a changed config or
:meth:`WebhookDispatcher.deliver_due` (for clocks that do not move by themselves) wakes it.
An entry is checked when it comes due: a deleted video, or one whose status was pinned
since (its finish time moved), gets no delivery from it.

Deliveries are sent one at a time, in due order, through the dispatcher's own aiohttp
session, each attempt limited to ``WebhookConfig.timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

import aiohttp
import attrs

from ._config import WebhookConfig
from ._state import SUCCESS_STATUSES, TERMINAL_STATUSES
from ._store import VideoRecord, VideoStore, dump_json
from ._webhook_faults import (
    WebhookDelivery,
    WebhookFault,
    WebhookFaultInjector,
    webhook_key,
    webhook_signature,
)
from ._webhook_registry import WebhookRegistry

__all__ = ["WebhookDispatcher"]

_WRONG_KEY_SUFFIX: Final = b":not-the-signing-key"


@attrs.frozen
class _Message:
    """A built delivery: its id, event and exact body (the same on every attempt).

    ``target`` is the registered webhook it goes to (of account ``api_key``), or ``None``
    for the sandbox's own `WebhookConfig`.
    """

    delivery_id: str
    event: str
    video_id: str
    body: bytes
    created_at: float
    target: str | None = None
    api_key: str = ""


@attrs.frozen
class _Finish:
    """A render due to end at ``finish`` (sandbox clock)."""

    video_id: str
    finish: float


@attrs.frozen
class _Send:
    """A built delivery to (re)send: a delayed one, or a retry."""

    message: _Message
    attempt: int
    fault: str | None = None


class WebhookDispatcher:
    """Schedules and sends the webhook deliveries of one sandbox."""

    def __init__(
        self,
        *,
        config: WebhookConfig | None,
        store: VideoStore,
        video_view: Callable[[VideoRecord, float], dict[str, Any]],
        clock: Callable[[], float],
        deliveries: list[WebhookDelivery],
        seed: int,
        registry: WebhookRegistry | None = None,
    ) -> None:
        self._config = config
        self._registry = registry
        self._store = store
        self._video_view = video_view
        self._clock = clock
        self._deliveries = deliveries
        self._ids = random.Random(f"videoapi-sandbox:{seed}:webhook-ids")
        self.faults = WebhookFaultInjector(seed)
        self.faults.set_rates(config.fault_rates if config is not None else None)
        self._heap: list[tuple[float, int, _Finish | _Send]] = []
        self._order = itertools.count()
        self._announced: dict[tuple[str, str | None], str] = {}
        self._collectors: list[list[WebhookDelivery]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # -- settings and scheduling ---------------------------------------------------------

    @property
    def config(self) -> WebhookConfig | None:
        """The webhook settings in force (``None``: webhooks off)."""
        return self._config

    def configure(self, config: WebhookConfig | None) -> None:
        """Change the settings; random fault rates become ``config.fault_rates``."""
        if config is not None and not isinstance(config, WebhookConfig):
            raise TypeError(f"expected a WebhookConfig or None, got {type(config).__name__}")
        self._config = config
        self.faults.set_rates(config.fault_rates if config is not None else None)
        self._wake.set()

    @property
    def pending(self) -> int:
        """How many deliveries are scheduled (some may turn out void when due)."""
        return len(self._heap)

    def next_due(self) -> float | None:
        """Return the sandbox-clock time of the earliest scheduled delivery, if any."""
        return self._heap[0][0] if self._heap else None

    def _push(self, due: float, entry: _Finish | _Send) -> None:
        heapq.heappush(self._heap, (due, next(self._order), entry))
        self._wake.set()

    def schedule(self, record: VideoRecord) -> None:
        """Note the coming end of a new (or newly pinned) render, if webhooks are on.

        They are on when the sandbox has a `WebhookConfig` or the video's account has a
        registered webhook taking deliveries.
        """
        config = self._config
        finish = record.finished_at
        if finish is None or self._closed:
            return
        if config is None and not self._registered(record.api_key):
            return
        delay = config.delay if config is not None else 0.0
        self._push(finish + delay, _Finish(record.video_id, finish))

    def _registered(self, api_key: str) -> list[tuple[str, WebhookConfig]]:
        if self._registry is None:
            return []
        return self._registry.delivery_configs(api_key)

    def _config_of(self, message: _Message) -> WebhookConfig | None:
        """Return the settings a delivery goes out with now (``None``: not at all)."""
        if message.target is None:
            return self._config
        if self._registry is None:
            return None
        return self._registry.delivery_config(message.api_key, message.target)

    # -- lifetime ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background task (in the running event loop)."""
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="videoapi-sandbox-webhooks"
            )

    async def close(self) -> None:
        """Stop the background task and close the HTTP session (idempotent)."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            await self.deliver_due()
            due = self.next_due()
            if due is None:
                await self._wake.wait()
                continue
            wait = due - self._clock()
            if wait > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    # -- delivering ----------------------------------------------------------------------

    async def deliver_due(self) -> list[WebhookDelivery]:
        """Send every delivery due by now (sandbox clock); return the attempts made meanwhile.

        Waits for a delivery in progress in the background first, so everything due when
        called has been attempted when this returns; the list holds every attempt made
        from the call to its return, the background task's included.
        """
        made: list[WebhookDelivery] = []
        if self._closed:
            return made
        self._collectors.append(made)
        try:
            async with self._lock:
                while self._heap and self._heap[0][0] <= self._clock() and not self._closed:
                    _, _, entry = heapq.heappop(self._heap)
                    if isinstance(entry, _Finish):
                        await self._finish(entry)
                    else:
                        await self._attempt(entry.message, entry.attempt, entry.fault)
        finally:
            self._collectors.remove(made)
        return made

    async def send_now(
        self, record: VideoRecord, event: str | None = None, *, faults: bool = True
    ) -> list[WebhookDelivery]:
        """Build and send a delivery for ``record`` as it is now; return the attempts made."""
        config = self._config
        if self._closed:
            raise RuntimeError("the sandbox is closed: it sends no more webhooks")
        if config is None:
            raise RuntimeError("webhooks are off: pass webhooks=WebhookConfig(...) first")
        now = self._clock()
        if event is None:
            event = self._event_of(config, record.state(now)[0])
            if event is None:
                raise ValueError(
                    f"video {record.video_id} has not finished rendering: name the event"
                )
        message = self._build(record, event, now)
        async with self._lock:
            return await self._first_attempt(message, use_faults=faults)

    @staticmethod
    def _event_of(config: WebhookConfig, status: str) -> str | None:
        if status not in TERMINAL_STATUSES:
            return None
        return config.event_names["ready" if status in SUCCESS_STATUSES else "failed"]

    def _build(
        self, record: VideoRecord, event: str, now: float, target: str | None = None
    ) -> _Message:
        delivery_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        created_at = time.time()
        body = dump_json(
            {
                "id": delivery_id,
                "event": event,
                "created_at": created_at,
                "data": self._video_view(record, now),
            }
        )
        return _Message(
            delivery_id, event, record.video_id, body, created_at, target, record.api_key
        )

    async def _finish(self, entry: _Finish) -> list[WebhookDelivery]:
        record = self._store.get(None, entry.video_id)
        if record is None or record.finished_at != entry.finish:
            return []
        now = self._clock()
        status = record.state(now)[0]
        targets: list[tuple[str | None, WebhookConfig]] = []
        if self._config is not None:
            targets.append((None, self._config))
        targets.extend(self._registered(record.api_key))
        made: list[WebhookDelivery] = []
        for target, config in targets:
            event = self._event_of(config, status)
            if event is None or event not in config.events:
                continue
            if self._announced.get((record.video_id, target)) == status:
                continue  # pinned again to the status already announced
            self._announced[(record.video_id, target)] = status
            made += await self._first_attempt(self._build(record, event, now, target))
        return made

    async def _first_attempt(
        self, message: _Message, *, use_faults: bool = True
    ) -> list[WebhookDelivery]:
        config = self._config_of(message)
        if config is None:
            return []
        fault: WebhookFault | None = self.faults.pick() if use_faults else None
        if fault is None:
            return await self._attempt(message, 1, None)
        if fault.kind == "drop":
            return [self._record(message, 1, None, "dropped", fault.kind, None)]
        if fault.kind == "delay":
            seconds = fault.seconds if fault.seconds is not None else config.fault_delay
            self._push(self._clock() + seconds, _Send(message, 1, fault.kind))
            return []
        return await self._attempt(message, 1, fault.kind)

    async def _attempt(
        self, message: _Message, attempt: int, fault: str | None
    ) -> list[WebhookDelivery]:
        config = self._config_of(message)
        if config is None:
            return []
        secret: str | bytes = config.secret
        if fault == "bad_signature":
            secret = webhook_key(secret) + _WRONG_KEY_SUFFIX
        # The time of sending: for a first attempt on time, the reading of created_at.
        on_time = attempt == 1 and fault != "delay"
        timestamp = int(message.created_at if on_time else time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message.delivery_id,
            "webhook-timestamp": str(timestamp),
            config.signature_header: webhook_signature(
                secret, message.delivery_id, timestamp, message.body
            ),
        }
        replay = fault == "duplicate"
        first = await self._post(
            config, message, headers, attempt, None if replay else fault, timestamp
        )
        made = [first]
        if replay:  # the very same request again; only this copy is marked
            made.append(await self._post(config, message, headers, attempt, fault, timestamp))
        if not first.ok and attempt <= config.retries:
            self._push(self._clock() + config.retry_delay, _Send(message, attempt + 1))
        return made

    async def _post(
        self,
        config: WebhookConfig,
        message: _Message,
        headers: dict[str, str],
        attempt: int,
        fault: str | None,
        timestamp: int,
    ) -> WebhookDelivery:
        if self._closed:  # closed while delivering: no new session to leak
            return self._record(message, attempt, None, "sandbox closed", fault, None)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(
                config.url,
                data=message.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=config.timeout),
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except asyncio.TimeoutError:
            error = f"timed out after {config.timeout:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"
        return self._record(message, attempt, status, error, fault, timestamp)

    def _record(
        self,
        message: _Message,
        attempt: int,
        status: int | None,
        error: str | None,
        fault: str | None,
        timestamp: int | None,
    ) -> WebhookDelivery:
        delivery = WebhookDelivery(
            delivery_id=message.delivery_id,
            event=message.event,
            video_id=message.video_id,
            sent_at=self._clock(),
            status=status,
            error=error,
            fault=fault,
            attempt=attempt,
            timestamp=timestamp,
        )
        self._deliveries.append(delivery)
        for collector in self._collectors:
            collector.append(delivery)
        return delivery
