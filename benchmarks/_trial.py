"""One waiting trial, run in a fresh process so its CPU time and memory are its own.

``python -m benchmarks._trial`` reads a JSON spec on standard input, starts the renders
server-side through the control API, waits for all of them with one strategy, and prints
one JSON object: the sandbox's request counters, this process's CPU time, peak RSS growth
and bytes read, and per render its real duration, two detection delays (when the sandbox sent
the first answer showing the final status; when the waiting code got it) and the GETs
of that video.

Strategies:

* ``videoapi``: ``async for update in api.wait_for_renders(ids)``, with
  ``PollPolicy(list_polling=...)``;
* ``loop``: one task per video, ``get_video`` then ``asyncio.sleep(interval)`` until the
  render ends (``interval=1`` and ``first_delay=0`` is the naive loop users write; the
  fixed-interval strategy sleeps first).
* ``create``: ``count`` creates through the API, at most ``concurrency`` at a time, each
  row waiting for its render as soon as its create answers (what ``videoapi batch``
  does); the sandbox's render profile decides the durations.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

from aiohttp import client_proto

from benchmarks._control import ControlClient
from benchmarks._machine import cpu_seconds, peak_rss_bytes, reset_peak_rss, rss_bytes
from videoapi_async import PollPolicy, RateLimit, Video, VideoAPI, VideoAPIError
from videoapi_async._protocol import parse_video

_received = [0]


def _count_received_bytes() -> None:
    """Count every byte aiohttp's client connections receive (headers and bodies)."""
    original = client_proto.ResponseHandler.data_received

    def data_received(self: client_proto.ResponseHandler, data: bytes) -> None:
        _received[0] += len(data)
        original(self, data)

    client_proto.ResponseHandler.data_received = data_received  # type: ignore[method-assign]


def _budget(spec: dict[str, Any]) -> RateLimit:
    """Return the client-side request budget the spec asks for."""
    value = spec.get("client_budget")
    if value == "default":
        return RateLimit()
    return RateLimit(requests_per_second=value)


async def _wait_videoapi(
    api: VideoAPI, targets: list[str] | list[Video], timeout: float, delivered: dict[str, float]
) -> int:
    """Wait with `VideoAPI.wait_for_renders`; return how many waits ended in error."""
    errors = 0
    async for update in api.wait_for_renders(targets, timeout=timeout):
        delivered[update.outcome.video_id] = time.monotonic()
        if not update.outcome.ok:
            errors += 1
    return errors


async def _wait_loops(
    api: VideoAPI,
    ids: list[str],
    *,
    interval: float,
    first_delay: float,
    timeout: float,
    delivered: dict[str, float],
) -> int:
    """Poll each video in its own task every ``interval`` s; return the errors met."""
    errors = 0
    deadline = time.monotonic() + timeout

    async def poll(video_id: str) -> None:
        nonlocal errors
        if first_delay:
            await asyncio.sleep(first_delay)
        while time.monotonic() < deadline:
            try:
                video = await api.get_video(video_id)
            except VideoAPIError:
                errors += 1  # what a careful loop does: note it and try again later
            else:
                if video.is_terminal:
                    delivered[video_id] = time.monotonic()
                    return
            await asyncio.sleep(interval)

    await asyncio.gather(*(poll(video_id) for video_id in ids))
    return errors


async def _create_and_wait(
    api: VideoAPI,
    *,
    count: int,
    concurrency: int,
    timeout: float,
    ids: list[str],
    delivered: dict[str, float],
) -> tuple[int, float]:
    """Create and wait row by row; return the errors and when the last create answered."""
    slots = asyncio.Semaphore(concurrency)
    errors = 0
    last_created = 0.0

    async def row(number: int) -> None:
        nonlocal errors, last_created
        try:
            async with slots:
                video = await api.create_video(
                    source_draft_id=f"bench-draft-{number}", name=f"bench row {number}"
                )
            ids.append(video.id)
            last_created = max(last_created, time.monotonic())
            await api.wait_for_render(video, timeout=timeout)
        except VideoAPIError:
            errors += 1
        else:
            delivered[video.id] = time.monotonic()

    await asyncio.gather(*(row(number) for number in range(count)))
    return errors, last_created


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one trial as ``spec`` says and return its measurements."""
    control = ControlClient(spec["control_url"])
    timeout = float(spec["timeout"])
    policy = PollPolicy(list_polling=spec.get("list_polling", "auto"), **spec.get("policy", {}))
    delivered: dict[str, float] = {}
    async with VideoAPI(
        api_key=spec["api_key"],
        base_url=spec["base_url"],
        poll=policy,
        rate_limit=_budget(spec),
    ) as api:
        control.reset()
        server_cpu = control.stats()["cpu_seconds"]
        gc.collect()
        baseline = rss_bytes()
        peak_reset = reset_peak_rss()
        ids: list[str] = []
        answers: list[dict[str, Any]] = []
        if spec["strategy"] != "create":
            ids, answers = control.start_renders(
                spec["api_key"], spec["durations"], time_scale=spec["time_scale"]
            )
        cpu = cpu_seconds()
        read = _received[0]
        started = time.monotonic()
        creates_done: float | None = None
        if spec["strategy"] == "create":
            errors, last_created = await _create_and_wait(
                api,
                count=int(spec["count"]),
                concurrency=int(spec["concurrency"]),
                timeout=timeout,
                ids=ids,
                delivered=delivered,
            )
            creates_done = last_created - started
        elif spec["strategy"] == "videoapi":
            # "seeded": wait on the Video a create answered, as after create_videos().
            targets = (
                [parse_video(v, method="POST", path="/videos") for v in answers]
                if spec.get("seeded")
                else ids
            )
            errors = await _wait_videoapi(api, targets, timeout, delivered)
        else:
            errors = await _wait_loops(
                api,
                ids,
                interval=float(spec["interval"]),
                first_delay=float(spec.get("first_delay", 0.0)),
                timeout=timeout,
                delivered=delivered,
            )
        wall = time.monotonic() - started
        cpu = cpu_seconds() - cpu
        read = _received[0] - read
        peak = peak_rss_bytes()
        client_stats = dict(api.stats)
    stats = control.stats()
    timings = control.timings(ids)
    renders = []
    for video_id, timing in zip(ids, timings, strict=True):
        if timing is None:
            continue
        created, finished, seen, gets = timing
        assert created is not None
        got = delivered.get(video_id)
        renders.append(
            [
                None if finished is None else finished - created,
                None if seen is None or finished is None else seen - finished,
                None if got is None or finished is None else got - finished,
                gets,
            ]
        )
    last = max(delivered.values(), default=started)
    return {
        "n": len(ids),
        "requests": stats["requests"],
        "responses": stats["responses"],
        "faults": stats["faults"],
        "server_cpu_seconds": stats["cpu_seconds"] - server_cpu,
        "client_stats": client_stats,
        "client_cpu_seconds": cpu,
        "wall_seconds": wall,
        "completion_seconds": last - started,
        "creates_seconds": creates_done,
        "rss_baseline_bytes": baseline,
        "rss_peak_growth_bytes": max(peak - baseline, 0) if peak_reset else None,
        "bytes_read": read,
        "errors": errors,
        "completed": len(delivered),
        "renders": renders,
    }


def main() -> None:
    """Read the spec from standard input, run the trial, print the result as JSON."""
    spec = json.loads(sys.stdin.read())
    _count_received_bytes()
    result = asyncio.run(run(spec))
    sys.stdout.write(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
