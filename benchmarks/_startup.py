"""Startup: wall time of ``videoapi --help`` against ``python -c pass``.

Both run as fresh processes of the same interpreter, interleaved (pass, help, pass,
help, ...); the ratio is taken within each round and the median reported. The command
runs as ``python -m videoapi_async.cli --help``, what the ``videoapi`` script runs,
so that a stale or missing script on ``PATH`` cannot change the figure.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASELINE = (sys.executable, "-c", "pass")
_SCRIPT = Path(sys.executable).with_name("videoapi")
HELP = (
    (str(_SCRIPT), "--help")
    if _SCRIPT.is_file()
    else (sys.executable, "-m", "videoapi_async.cli", "--help")
)


def _children_cpu() -> float:
    """Return the CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: tuple[str, ...]) -> tuple[float, float]:
    """Run ``command`` once, output discarded; return its (wall, CPU) seconds."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=60)
    return time.perf_counter() - started, _children_cpu() - cpu


def run_startup(*, rounds: int) -> dict[str, Any]:
    """Measure both commands ``rounds`` times, interleaved, after one warm-up each.

    The children's CPU time is recorded beside the wall time: on a busy machine the
    wall time also counts waiting for a core.
    """
    _run(BASELINE)
    _run(HELP)
    baseline, help_ = [], []
    for _ in range(rounds):
        baseline.append(_run(BASELINE))
        help_.append(_run(HELP))
    summary: dict[str, Any] = {"rounds": rounds, "command": "videoapi --help"}
    for index, kind in enumerate(("wall", "cpu")):
        ratios = [h[index] / b[index] for h, b in zip(help_, baseline, strict=True) if b[index]]
        summary[kind] = {
            "python_pass_ms_median": statistics.median(b[index] for b in baseline) * 1e3,
            "help_ms_median": statistics.median(h[index] for h in help_) * 1e3,
            "ratio": {
                "median": statistics.median(ratios),
                "min": min(ratios),
                "max": max(ratios),
            },
        }
    return summary
