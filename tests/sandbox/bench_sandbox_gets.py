"""Measure how many simple GETs per second the sandbox serves on one core.

The server runs alone in a child process (``python -m videoapi_async.sandbox --port 0``);
this process generates the load with aiohttp over keep-alive connections. Two figures
are printed: requests per second of wall time (bounded by whichever process saturates
first) and requests per second of the server's own CPU time, read from
``/proc/<pid>/stat`` (what one core of the server can do).

    python tests/sandbox/bench_sandbox_gets.py --seconds 5 --concurrency 32
    python tests/sandbox/bench_sandbox_gets.py --route list --videos 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds used so far by process ``pid`` (Linux only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


async def hammer(url: str, key: str, seconds: float, concurrency: int) -> int:
    """GET ``url`` from ``concurrency`` loops for ``seconds``; return the responses read."""
    count = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"api-key": key}) as session:

        async def loop() -> None:
            nonlocal count
            while time.monotonic() < deadline:
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"unexpected status {response.status}")
                count += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return count


async def prepare(base_url: str, key: str) -> str:
    """Create one video and return its id."""
    async with (
        aiohttp.ClientSession(headers={"api-key": key}) as session,
        session.post(base_url + "/videos", json={"source_draft_id": "bench"}) as response,
    ):
        video = await response.json()
    return str(video["id"])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--route", choices=("get", "metadata", "list"), default="get")
    parser.add_argument("--videos", type=int, default=0, help="finished videos preloaded")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "videoapi_async.sandbox", "--port", "0"]
    command += ["--api-key", "bench", "--seed", "1", "--preload-videos", str(args.videos)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert server.stdout is not None
        match = re.search(r"(http://\S+/api/v1)", server.stdout.readline())
        if match is None:
            raise RuntimeError("the sandbox did not print its base URL")
        base_url = match.group(1)
        video_id = asyncio.run(prepare(base_url, "bench"))
        url = {
            "get": f"{base_url}/videos/{video_id}",
            "metadata": f"{base_url}/videos/{video_id}/metadata",
            "list": f"{base_url}/videos",
        }[args.route]
        cpu_before = cpu_seconds(server.pid)
        started = time.monotonic()
        count = asyncio.run(hammer(url, "bench", args.seconds, args.concurrency))
        wall = time.monotonic() - started
        cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.communicate(timeout=10)
    result = {
        "route": args.route,
        "requests": count,
        "wall_seconds": round(wall, 3),
        "server_cpu_seconds": round(cpu, 3),
        "requests_per_second": round(count / wall),
        "requests_per_server_cpu_second": round(count / cpu) if cpu > 0 else None,
        "machine": f"{platform.machine()}, {cpu_model()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>32}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
