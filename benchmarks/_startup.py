"""Startup: wall time of ``videoapi --help`` against ``python -c pass``.

Both run as fresh processes of the same interpreter, interleaved (pass, help, pass,
help, ...); the ratio is taken within each round and the median reported. The command
runs as the ``videoapi`` script when there is one beside the interpreter, else as
``python -m videoapi_async.cli``, so that a stale script elsewhere on ``PATH`` cannot
change the figure.

Three more processes run in the same rounds, to show where the time goes:
``videoapi --version``, ``videoapi get --help`` (a command's own help, which imports
that command's module) and ``python -c "import click"`` (the floor that importing the
command's library alone sets).

Every process runs with its bytecode cached, as after ``pip install`` (which compiles
the package): a development shell often sets ``PYTHONDONTWRITEBYTECODE``, and then the
package's own modules are compiled again by every run. The children drop that variable
and keep their bytecode in a temporary ``PYTHONPYCACHEPREFIX``, which the warm-up run
fills; the baseline runs the same way.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASELINE = (sys.executable, "-c", "pass")
_SCRIPT = Path(sys.executable).with_name("videoapi")
_VIDEOAPI = (str(_SCRIPT),) if _SCRIPT.is_file() else (sys.executable, "-m", "videoapi_async.cli")
HELP = (*_VIDEOAPI, "--help")
OTHERS = {
    "videoapi --version": (*_VIDEOAPI, "--version"),
    "videoapi get --help": (*_VIDEOAPI, "get", "--help"),
    "python -c 'import click'": (sys.executable, "-c", "import click"),
}
"""Measured in the same rounds, to show where the time of ``--help`` goes."""


def _children_cpu() -> float:
    """Return the CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: tuple[str, ...], env: dict[str, str]) -> tuple[float, float]:
    """Run ``command`` once in ``env``, output discarded; return its (wall, CPU) seconds."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=60, env=env)
    return time.perf_counter() - started, _children_cpu() - cpu


def run_startup(*, rounds: int) -> dict[str, Any]:
    """Measure every command ``rounds`` times, interleaved, after one warm-up each.

    The children's CPU time is recorded beside the wall time: on a busy machine the
    wall time also counts waiting for a core. Bytecode is cached (see the module's
    docstring).
    """
    commands = {"python -c pass": BASELINE, "videoapi --help": HELP, **OTHERS}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="videoapi-startup-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for command in commands.values():
            _run(command, env)
        for _ in range(rounds):
            for name, command in commands.items():
                times[name].append(_run(command, env))
    baseline, help_ = times.pop("python -c pass"), times.pop("videoapi --help")
    summary: dict[str, Any] = {
        "rounds": rounds,
        "command": "videoapi --help",
        "bytecode": "cached",
    }
    for index, kind in enumerate(("wall", "cpu")):
        summary[kind] = {
            "python_pass_ms_median": statistics.median(b[index] for b in baseline) * 1e3,
            "help_ms_median": statistics.median(h[index] for h in help_) * 1e3,
            "ratio": _ratios(help_, baseline, index),
        }
    summary["others"] = {
        name: {
            kind: {
                "ms_median": statistics.median(t[index] for t in measured) * 1e3,
                "ratio": _ratios(measured, baseline, index),
            }
            for index, kind in enumerate(("wall", "cpu"))
        }
        for name, measured in times.items()
    }
    return summary


def _ratios(
    measured: list[tuple[float, float]], baseline: list[tuple[float, float]], index: int
) -> dict[str, float]:
    """Return the median, least and greatest of the per-round ratios to the baseline."""
    ratios = [m[index] / b[index] for m, b in zip(measured, baseline, strict=True) if b[index]]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
