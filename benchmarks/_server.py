"""The benchmark's server process: a sandbox plus a small control API, on two ports.

The sandbox's counters and render timings live in its own process, so this process runs
`Sandbox` in-process and serves them as JSON on a second port, next to operations that
set up an experiment without sending API traffic (new accounts, server-side renders,
rate limits). Run ``python -m benchmarks._server``; it prints one JSON line (the API base
URL, the control URL, the first API key, its pid) and serves until its standard input
closes or it gets SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import sys
import threading
import time
from typing import Any

import attrs
from aiohttp import web

from videoapi_async.sandbox import RenderProfile, Sandbox, ServerRateLimit, WebhookConfig


def _cpu_seconds() -> float:
    """Return this process's user + system CPU seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _json(data: Any) -> web.Response:
    """Answer ``data`` as compact JSON."""
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(), content_type="application/json"
    )


class Control:
    """The control routes over one running sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._serial = 0

    def routes(self) -> list[web.RouteDef]:
        """Return the control API's routes."""
        return [
            web.post("/account", self.account),
            web.post("/renders", self.renders),
            web.post("/reset", self.reset),
            web.get("/stats", self.stats),
            web.post("/timings", self.timings),
            web.post("/rate_limit", self.rate_limit),
            web.post("/render_profile", self.render_profile),
            web.post("/webhooks", self.webhooks),
        ]

    async def account(self, request: web.Request) -> web.Response:
        """Open a new account, optionally holding ``seed_videos`` finished videos.

        With ``"shape": "vendor"`` the videos are made by the ``create`` form with three
        scenes, media, texts, a palette and metadata, as a real account's videos are;
        otherwise they are the flat form's, with none of that.
        """
        body = await request.json()
        key = self.sandbox.new_api_key()
        count = int(body.get("seed_videos", 0))
        if count and body.get("shape") == "vendor":
            for number in range(count):
                self.sandbox.create_video(
                    _vendor_body(number), api_key=key, outcome="ready", duration=0.0
                )
        elif count:
            self.sandbox.seed_videos(count, api_key=key)
        return _json({"api_key": key})

    async def renders(self, request: web.Request) -> web.Response:
        """Start one render per nominal duration in ``durations``, server-side (no stats)."""
        body = await request.json()
        sandbox = self.sandbox
        scale = float(body.get("time_scale", 1.0))
        profile = sandbox.config.render
        if profile.time_scale != scale:
            sandbox.set_render_profile(attrs.evolve(profile, time_scale=scale))
        outcome = body.get("outcome", "ready")
        ids = []
        videos = []
        for duration in body["durations"]:
            self._serial += 1
            video = sandbox.create_video(
                {"source_draft_id": f"bench-draft-{self._serial}", "name": f"bench {self._serial}"},
                api_key=body["api_key"],
                duration=float(duration),
                outcome=outcome,
            )
            ids.append(video["id"])
            videos.append(video)
        return _json({"ids": ids, "videos": videos, "created_at": time.monotonic()})

    async def reset(self, request: web.Request) -> web.Response:
        """Zero the sandbox's request counters."""
        self.sandbox.reset_stats()
        return _json({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        """Return the request, response and fault counters, and this process's CPU time."""
        stats = self.sandbox.stats
        return _json(
            {
                "requests": dict(stats.requests),
                "responses": {str(k): v for k, v in stats.responses.items()},
                "faults": dict(stats.faults),
                "cpu_seconds": _cpu_seconds(),
            }
        )

    async def timings(self, request: web.Request) -> web.Response:
        """Return ``[created_at, finished_at, first_seen_at, GETs]`` of each video in ``ids``."""
        body = await request.json()
        rows: list[list[float | None] | None] = []
        requests = self.sandbox.stats.video_requests
        for video_id in body["ids"]:
            record = self.sandbox.video_record(video_id)
            if record is None:
                rows.append(None)
            else:
                rows.append(
                    [
                        record.created_at,
                        record.finished_at,
                        record.first_seen_finished_at,
                        requests.get(video_id, 0),
                    ]
                )
        return _json({"timings": rows})

    async def render_profile(self, request: web.Request) -> web.Response:
        """Set the durations (and time scale) of renders of videos created through the API."""
        body = await request.json()
        profile = attrs.evolve(
            self.sandbox.config.render,
            min_duration=float(body["min_duration"]),
            max_duration=float(body["max_duration"]),
            time_scale=float(body.get("time_scale", 1.0)),
        )
        self.sandbox.set_render_profile(profile)
        return _json({"ok": True})

    async def rate_limit(self, request: web.Request) -> web.Response:
        """Set the sandbox's per-key rate limit (``rate`` null switches it off)."""
        body = await request.json()
        rate = body.get("rate")
        if rate is None:
            self.sandbox.set_rate_limit(None)
        else:
            burst = body.get("burst")
            limit = (
                ServerRateLimit(float(rate))
                if burst is None
                else ServerRateLimit(float(rate), int(burst))
            )
            self.sandbox.set_rate_limit(limit)
        return _json({"ok": True})

    async def webhooks(self, request: web.Request) -> web.Response:
        """Deliver webhooks to ``url``, signed with ``secret`` (``url`` null: no webhooks)."""
        body = await request.json()
        url = body.get("url")
        self.sandbox.set_webhooks(None if url is None else WebhookConfig(url, body["secret"]))
        return _json({"ok": True})


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` once standard input reaches end of file (the parent went away)."""

    def wait() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait, name="stdin-watch", daemon=True).start()


def _vendor_body(number: int) -> dict[str, Any]:
    """Return a ``create`` body shaped like a real account's videos."""
    media = [{"id": "logo", "url": f"https://media.example/{number}/logo.png"}]
    scenes = [
        {
            "type": "create_scene",
            "name": f"Scene {index}",
            "layout_id": "layout-title",
            "media_elements": media,
            "texts_elements": [{"id": "title", "text": f"Quarterly update, part {index}"}],
            "transcript": "Welcome to the quarterly update. " * 4,
        }
        for index in range(3)
    ]
    return {
        "type": "create",
        "name": f"Vendor-shaped video {number}",
        "template_id": "template-1",
        "character_id": "character-1",
        "voice_id": "voice-1",
        "scenes": scenes,
        "palette": [{"color": "#112233"}, {"color": "#445566FF"}],
        "global_media_elements": media,
        "metadata": {"customer": "acme", "row": number, "approved": True},
        "correlation_id": f"row-{number}",
    }


async def serve(seed: int) -> None:
    """Run the sandbox and the control API until told to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    profile = RenderProfile(min_duration=1.0, max_duration=1.0)
    async with Sandbox(seed=seed, render=profile, api_key="bench-key") as sandbox:
        app = web.Application()
        app.add_routes(Control(sandbox).routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        port = sock.getsockname()[1]
        line = {
            "base_url": sandbox.base_url,
            "control_url": f"http://127.0.0.1:{port}",
            "api_key": sandbox.api_key,
            "pid": os.getpid(),
        }
        print(json.dumps(line), flush=True)
        _watch_stdin(loop, stop)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(serve(args.seed))


if __name__ == "__main__":
    main()
