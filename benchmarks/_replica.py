"""One replica of a service in the replicas benchmark: a coordinated client in its own process.

``python -m benchmarks._replica SPEC_JSON`` opens a `VideoAPI` (coordinated through Redis
when the spec has a ``redis_url``), and, when the spec has a ``webhook_secret``, serves a
webhook endpoint on a free port of 127.0.0.1. It prints one JSON line
``{"token", "webhook_url"}``, then reads one line ``{"ids": [...], "timeout": s}`` on
standard input, waits for those renders, and prints one JSON line: per video the
``time.monotonic()`` its wait ended (the clock is the machine's, shared by every process),
the webhook receipts, the errors and the client's counters.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from typing import Any

from aiohttp import web

from videoapi_async import PollPolicy, RateLimit, VideoAPI
from videoapi_async.webhooks import WebhookEvent, WebhookVerifier, webhook_handler


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Serve as one replica as ``spec`` says; return what it saw."""
    coordination = None
    if spec.get("redis_url"):
        from videoapi_async.coordination import RedisCoordination

        coordination = RedisCoordination(
            spec["redis_url"], namespace=spec["namespace"], lease_time=spec["lease_time"]
        )
    budget = spec.get("client_budget")
    api = VideoAPI(
        api_key=spec["api_key"],
        base_url=spec["base_url"],
        poll=PollPolicy(**spec.get("policy", {})),
        rate_limit=RateLimit() if budget == "default" else RateLimit(requests_per_second=budget),
        coordination=coordination,
    )
    received: dict[str, float] = {}
    delivered: dict[str, float] = {}
    errors = 0
    runner = None
    async with api:
        webhook_url = None
        if spec.get("webhook_secret"):

            def note(event: WebhookEvent) -> None:
                received.setdefault(event.video_id, time.monotonic())

            app = web.Application()
            verifier = WebhookVerifier(spec["webhook_secret"])
            app.router.add_post("/hooks", webhook_handler(verifier, api=api, on_event=note))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            port = _free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            webhook_url = f"http://127.0.0.1:{port}/hooks"
        token = getattr(coordination, "token", None)
        print(json.dumps({"token": token, "webhook_url": webhook_url}), flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        order = json.loads(line)
        async for update in api.wait_for_renders(order["ids"], timeout=order["timeout"]):
            delivered[update.outcome.video_id] = time.monotonic()
            if not update.outcome.ok:
                errors += 1
        stats = dict(api.stats)
        if runner is not None:
            await runner.cleanup()
    return {
        "delivered": delivered,
        "received": received,
        "errors": errors,
        "stats": stats,
    }


def main() -> None:
    """Run one replica with the spec given as the first argument."""
    result = asyncio.run(run(json.loads(sys.argv[1])))
    print(json.dumps(result, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
