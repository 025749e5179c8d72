"""Section 1: client CPU time per call, for videoapi_async and two other stacks.

All stacks talk to the same sandbox (in its own process) over keep-alive connections.
Blocks of calls run interleaved (a, b, c, a, b, c, ...) so that the machine's load drifts
over all of them alike; each block's CPU time (getrusage, user + system, of this
process) is divided by its number of calls. The ratios compare blocks of the same round.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._control import ServerProcess
from benchmarks._machine import cpu_seconds
from benchmarks._stacks import Stack, make_stacks

Call = Callable[[Stack], Awaitable[object]]


async def _block(stack: Stack, call: Call, calls: int, concurrency: int) -> tuple[float, float]:
    """Run ``calls`` calls over ``concurrency`` tasks; return (CPU s, wall s) per call."""
    per_task = max(calls // concurrency, 1)

    async def worker() -> None:
        for _ in range(per_task):
            await call(stack)

    gc.collect()
    cpu = cpu_seconds()
    wall = time.perf_counter()
    if concurrency == 1:
        await worker()
    else:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    done = per_task * concurrency
    return (cpu_seconds() - cpu) / done, (time.perf_counter() - wall) / done


async def _measure(
    stacks: list[Stack], call: Call, *, calls: int, concurrency: int, rounds: int
) -> dict[str, Any]:
    """Measure one operation on every stack, interleaved, and summarise it."""
    for stack in stacks:  # warm-up: connections, caches, lazily built code
        await _block(stack, call, max(calls // 5, 2), concurrency)
    cpu: dict[str, list[float]] = {stack.name: [] for stack in stacks}
    wall: dict[str, list[float]] = {stack.name: [] for stack in stacks}
    for _ in range(rounds):
        for stack in stacks:
            c, w = await _block(stack, call, calls, concurrency)
            cpu[stack.name].append(c)
            wall[stack.name].append(w)
    base = stacks[0].name
    summary: dict[str, Any] = {
        "calls_per_block": calls,
        "concurrency": concurrency,
        "rounds": rounds,
        "cpu_us_median": {k: statistics.median(v) * 1e6 for k, v in cpu.items()},
        "cpu_us_min": {k: min(v) * 1e6 for k, v in cpu.items()},
        "wall_us_median": {k: statistics.median(v) * 1e6 for k, v in wall.items()},
        "ratios": {},
    }
    for stack in stacks[1:]:
        pairs = [a / b for a, b in zip(cpu[base], cpu[stack.name], strict=True) if b > 0]
        summary["ratios"][f"{base}/{stack.name}"] = {
            "median": statistics.median(pairs),
            "min": min(pairs),
            "max": max(pairs),
        }
    for stack in stacks[1:]:
        pairs = [a / b for a, b in zip(wall[base], wall[stack.name], strict=True) if b > 0]
        summary.setdefault("wall_ratios", {})[f"{base}/{stack.name}"] = {
            "median": statistics.median(pairs),
            "min": min(pairs),
            "max": max(pairs),
        }
    for stack in stacks[3:]:  # candidate builds against the installed client
        pairs = [c / a for a, c in zip(cpu[base], cpu[stack.name], strict=True) if a > 0]
        summary["ratios"][f"{stack.name}/{base}"] = {
            "median": statistics.median(pairs),
            "min": min(pairs),
            "max": max(pairs),
        }
    return summary


async def _run(
    server: ServerProcess,
    *,
    get_calls: int,
    list_calls: int,
    list_size: int,
    rounds: int,
    concurrency: int,
    candidates: tuple[str, ...],
) -> dict[str, Any]:
    """Set up the accounts, then measure get (sequential, concurrent) and list."""
    control = server.control
    key = control.new_account()
    (video_id,), _ = control.start_renders(key, [0.0], time_scale=1.0)
    list_keys = {
        f"list_videos ({list_size} videos)": control.new_account(seed_videos=list_size),
        f"list_videos ({list_size} vendor-shaped videos)": control.new_account(
            seed_videos=list_size, shape="vendor"
        ),
    }
    results: dict[str, Any] = {}

    async def get(stack: Stack) -> object:
        return await stack.get(video_id)

    async def list_all(stack: Stack) -> object:
        return await stack.list()

    stacks = make_stacks(server.base_url, key, connections=concurrency, candidates=candidates)
    try:
        results["get_video"] = await _measure(
            stacks, get, calls=get_calls, concurrency=1, rounds=rounds
        )
        if concurrency > 1:
            results[f"get_video x{concurrency} concurrent"] = await _measure(
                stacks, get, calls=get_calls, concurrency=concurrency, rounds=rounds
            )
    finally:
        for stack in stacks:
            await stack.aclose()
    for operation, list_key in list_keys.items():
        stacks = make_stacks(server.base_url, list_key, connections=1, candidates=candidates)
        try:
            results[operation] = await _measure(
                stacks, list_all, calls=list_calls, concurrency=1, rounds=rounds
            )
        finally:
            for stack in stacks:
                await stack.aclose()
    return results


def run_percall(
    server: ServerProcess,
    *,
    get_calls: int,
    list_calls: int,
    list_size: int,
    rounds: int,
    concurrency: int,
    candidates: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run section 1 and return its results."""
    return asyncio.run(
        _run(
            server,
            get_calls=get_calls,
            list_calls=list_calls,
            list_size=list_size,
            rounds=rounds,
            concurrency=concurrency,
            candidates=candidates,
        )
    )
