"""Where the client's CPU goes: cProfile over the hot paths, grouped by layer.

Two profiles: ``get_video`` calls in a row (videoapi_async against raw aiohttp + json),
split into request (aiohttp and the event loop), decode (json), structure (cattrs and
attrs) and dispatch (the client's own layers); and a batch wait with list polling off,
where the scheduler's share shows. Time blocked in ``epoll.poll`` is idle, not CPU, and
is left out; built-in functions count for the layer of their caller. cProfile slows
Python-heavy code more than C code, so the shares are a map, not a measurement: section 1
has the timings.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from collections import defaultdict
from typing import Any

from benchmarks import _trial
from benchmarks._control import ServerProcess
from benchmarks._stacks import AiohttpStack, ClientStack, Stack
from benchmarks._trials import draw_durations

LAYERS = ("request", "decode", "structure", "dispatch", "wait scheduler", "other")


def layer_of(filename: str, function: str) -> str:
    """Return the layer of a profiled Python function (built-ins: see `breakdown`)."""
    path = filename.replace("\\", "/")
    if "/json/" in path:
        return "decode"
    if "cattrs" in path or "/attrs/" in path or "<attrs generated" in path:
        return "structure"
    if "/videoapi_async" in path:
        name = path.rsplit("/", 1)[-1]
        if name in ("_converters.py", "_models.py"):
            return "structure"
        if name in ("_poller.py", "_watch.py", "_strategy.py", "_cadence.py", "_waits.py"):
            return "wait scheduler"
        if name == "_protocol.py" and function in ("parse_video", "parse_videos", "_structure"):
            return "structure"
        return "dispatch"
    if "cattrs generated" in path:
        return "structure"
    if any(part in path for part in ("/aiohttp/", "/yarl/", "/multidict/", "/asyncio/")):
        return "request"
    if any(part in path for part in ("selectors.py", "socket.py", "ssl.py")):
        return "request"
    if "/tenacity/" in path:
        return "dispatch"
    return "other"


def _is_idle(function: str) -> bool:
    """Whether a built-in is the event loop blocking for I/O (idle time, not CPU)."""
    return "epoll" in function and "poll" in function


def breakdown(profile: cProfile.Profile, calls: int) -> dict[str, Any]:
    """Return profiled time per layer (microseconds per call) and the top functions."""
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    per_layer: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, line, function), (_, ncalls, tottime, _, callers) in raw.items():
        if filename == "~":
            if _is_idle(function):
                continue
            # A built-in (isinstance, heappush, socket.send, json's scanner) counts for
            # the layer of whoever called it, in proportion to each caller's share.
            if "json" in function or "scanstring" in function:
                shares = {"decode": tottime}
            else:
                edges = {k: v[2] for k, v in callers.items()} or {("", 0, ""): tottime}
                spent = sum(edges.values()) or 1.0
                shares = defaultdict(float)
                for (cfile, _, cfunc), t in edges.items():
                    shares[layer_of(cfile, cfunc) if cfile != "~" else "request"] += (
                        tottime * t / spent
                    )
            for layer, t in shares.items():
                per_layer[layer] += t
            layer = max(shares, key=lambda k: shares[k])
        else:
            layer = layer_of(filename, function)
            per_layer[layer] += tottime
        short = filename.rsplit("site-packages/", 1)[-1].rsplit("/lib/python", 1)[-1]
        short = short.rsplit("/benchmarks/", 1)[-1].rsplit("/videoapi_async/", 1)[-1]
        rows.append((tottime, f"{short}:{line}({function})", ncalls, layer))
    total = sum(per_layer.values()) or 1.0
    rows.sort(reverse=True)
    return {
        "calls": calls,
        "total_us_per_call": round(1e6 * total / calls, 2),
        "layers_us_per_call": {k: round(1e6 * per_layer.get(k, 0.0) / calls, 2) for k in LAYERS},
        "layers_share": {k: round(per_layer.get(k, 0.0) / total, 4) for k in LAYERS},
        "top": [
            {"function": name, "us_per_call": round(1e6 * t / calls, 2), "ncalls": n, "layer": la}
            for t, name, n, la in rows[:15]
        ],
    }


async def _profile_calls(server: ServerProcess, calls: int) -> dict[str, Any]:
    """Profile ``get_video`` on both stacks in alternating blocks (one profile per stack)."""
    control = server.control
    key = control.new_account()
    (video_id,), _ = control.start_renders(key, [0.0], time_scale=1.0)
    stacks: list[Stack] = [
        ClientStack(server.base_url, key, connections=1, module="videoapi_async"),
        AiohttpStack(server.base_url, key, connections=1),
    ]
    profiles = {stack.name: cProfile.Profile() for stack in stacks}
    blocks = 10
    per_block = max(calls // blocks, 1)
    try:
        for stack in stacks:
            for _ in range(50):  # warm-up
                await stack.get(video_id)
        for _ in range(blocks):
            for stack in stacks:
                profile = profiles[stack.name]
                profile.enable()
                for _ in range(per_block):
                    await stack.get(video_id)
                profile.disable()
    finally:
        for stack in stacks:
            await stack.aclose()
    return {name: breakdown(profile, per_block * blocks) for name, profile in profiles.items()}


def _profile_wait(server: ServerProcess, batch: int, scale: float, seed: int) -> dict[str, Any]:
    durations = draw_durations(batch, seed=seed, low=60.0, high=300.0)
    spec = {
        "base_url": server.base_url,
        "control_url": server.control_url,
        "api_key": server.control.new_account(),
        "durations": durations,
        "time_scale": scale,
        "strategy": "videoapi",
        "list_polling": "never",
        "client_budget": None,
        "timeout": max(durations) / scale * 3 + 30,
    }
    profile = cProfile.Profile()
    profile.enable()
    result = asyncio.run(_trial.run(spec))
    profile.disable()
    polls = max(result["client_stats"]["polls"], 1)
    summary = breakdown(profile, polls)
    summary["renders"] = batch
    summary["unprofiled_note"] = "per poll; includes the batch's subscribe and bookkeeping"
    return summary


def run_profile(
    server: ServerProcess, *, calls: int, batch: int, scale: float, seed: int
) -> dict[str, Any]:
    """Profile get_video (two stacks) and a batch wait with list polling off."""
    return {
        "get_video": asyncio.run(_profile_calls(server, calls)),
        "wait_list_off": _profile_wait(server, batch, scale, seed),
    }
