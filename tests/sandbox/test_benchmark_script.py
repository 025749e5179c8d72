"""The GET benchmark script runs end to end (its figures are reported, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("bench_sandbox_gets.py")
REPO = Path(__file__).resolve().parents[2]


def _start() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(BENCH), "--seconds", "0.3", "--concurrency", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_benchmark_script_reports_its_figures() -> None:
    """A short run of the benchmark serves requests and prints every figure as JSON."""
    process = _start()
    try:
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    figures = json.loads(out)
    assert figures["requests"] > 0
    assert figures["route"] == "get"
    assert {"requests_per_second", "requests_per_server_cpu_second", "machine"} <= set(figures)
