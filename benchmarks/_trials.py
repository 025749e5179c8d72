"""Running waiting trials in child processes, and summarising what they measured."""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks._control import REPO, ServerProcess

ROUTE_GET = "GET /videos/{video_id}"
ROUTE_LIST = "GET /videos"


def draw_durations(count: int, *, seed: int, low: float, high: float) -> list[float]:
    """Return ``count`` nominal render durations (seconds), log-uniform in [low, high].

    The same seed gives the same sequence, so every strategy of a run waits for renders
    of the same lengths (a batch of n takes the first n).
    """
    rng = random.Random(seed)
    return [math.exp(rng.uniform(math.log(low), math.log(high))) for _ in range(count)]


def percentile(values: Sequence[float], share: float) -> float | None:
    """Return the ``share`` (0..1) percentile of ``values`` (nearest rank), or None."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def tune_interval(real_durations: Sequence[float], requests_per_render: float) -> float:
    """Return the fixed interval T whose polls (at T, 2T, ...) average the given count.

    A render of duration D polled every T seconds, first at T, takes ceil(D / T) polls.
    """
    target = max(requests_per_render, 1.0)

    def mean_polls(interval: float) -> float:
        return statistics.fmean(math.ceil(d / interval) for d in real_durations)

    low, high = 1e-3, max(real_durations) * 2
    for _ in range(60):
        middle = (low + high) / 2
        if mean_polls(middle) > target:
            low = middle
        else:
            high = middle
    return high


def run_trial(server: ServerProcess, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one trial (``benchmarks._trial``) in a fresh process and return its result."""
    full = {
        "base_url": server.base_url,
        "control_url": server.control_url,
        **spec,
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (_pythonpath(), str(REPO))))}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks._trial"],
        input=json.dumps(full),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"trial {spec.get('label')!r} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarise(result: dict[str, Any], *, label: str, budget: float | None = None) -> dict[str, Any]:
    """Condense one trial's raw result into the figures the report shows.

    ``budget`` is the target's allowance: a render counts as detected in time when its
    delay is at most ``budget + 5 %`` of its (real) duration.
    """
    n = result["n"]
    requests = result["requests"]
    gets = requests.get(ROUTE_GET, 0)
    lists = requests.get(ROUTE_LIST, 0)
    renders = result["renders"]
    durations = [r[0] for r in renders if r[0] is not None]
    seen = [r[1] for r in renders if r[1] is not None]
    got = [r[2] for r in renders if r[2] is not None]
    shares = [r[1] / r[0] for r in renders if r[1] is not None and r[0]]
    allowance = 1.0 if budget is None else budget
    in_time = [r[1] <= allowance + 0.05 * r[0] for r in renders if r[1] is not None and r[0]]
    per_video = [r[3] for r in renders]
    rate_limited = int(result["responses"].get("429", 0))
    growth = result["rss_peak_growth_bytes"]
    return {
        "label": label,
        "renders": n,
        "completed": result["completed"],
        "mean_duration_s": _round(statistics.fmean(durations) if durations else None, 2),
        "requests": gets + lists,
        "requests_per_render": _round((gets + lists) / n if n else None),
        "gets": gets,
        "gets_per_render_p50": percentile(per_video, 0.5),
        "gets_per_render_p95": percentile(per_video, 0.95),
        "gets_per_render_max": max(per_video, default=None),
        "lists": lists,
        "http_429": rate_limited,
        "detect_p50_s": _round(percentile(seen, 0.5)),
        "detect_p95_s": _round(percentile(seen, 0.95)),
        "detect_max_s": _round(max(seen) if seen else None),
        "delivered_p95_s": _round(percentile(got, 0.95)),
        "detect_p50_share": _round(percentile(shares, 0.5), 4),
        "detect_p95_share": _round(percentile(shares, 0.95), 4),
        "within_1s_5pct": _round(sum(in_time) / len(in_time) if in_time else None, 4),
        "client_cpu_s": _round(result["client_cpu_seconds"]),
        "client_cpu_ms_per_render": _round(1000 * result["client_cpu_seconds"] / n if n else None),
        "server_cpu_s": _round(result["server_cpu_seconds"]),
        "rss_growth_mb": None if growth is None else round(growth / 1e6, 1),
        "bytes_per_render": round(result["bytes_read"] / n) if n else None,
        "completion_s": _round(result["completion_seconds"], 2),
        "creates_s": _round(result.get("creates_seconds"), 2),
        "errors": result["errors"],
        "client_stats": result["client_stats"],
    }
