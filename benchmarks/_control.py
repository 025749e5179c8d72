"""Starting the benchmark's server process and talking to its control API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class ControlClient:
    """Blocking calls to the control API; used only between measured phases."""

    def __init__(self, control_url: str) -> None:
        self.url = control_url.rstrip("/")

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST ``body`` as JSON (or GET when None) and return the decoded answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def new_account(self, seed_videos: int = 0, *, shape: str = "flat") -> str:
        """Open a fresh account holding ``seed_videos`` finished videos; return its key.

        ``shape`` is ``"flat"`` (the flat create form's videos) or ``"vendor"`` (videos
        with scenes, media, a palette and metadata, as a real account holds).
        """
        body = {"seed_videos": seed_videos, "shape": shape}
        return str(self.call("/account", body)["api_key"])

    def start_renders(
        self, api_key: str, durations: list[float], *, time_scale: float
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Start one render per nominal duration, server-side.

        Returns the video ids and each video's JSON as a create would have answered.
        """
        body = {"api_key": api_key, "durations": durations, "time_scale": time_scale}
        answer = self.call("/renders", body)
        return list(answer["ids"]), list(answer["videos"])

    def reset(self) -> None:
        """Zero the sandbox's counters."""
        self.call("/reset", {})

    def stats(self) -> dict[str, Any]:
        """Return the sandbox's counters and its process's CPU seconds."""
        return dict(self.call("/stats"))

    def timings(self, ids: list[str]) -> list[list[float | None] | None]:
        """Return ``[created_at, finished_at, first_seen_at, GETs]`` per id (clock seconds)."""
        return list(self.call("/timings", {"ids": ids})["timings"])

    def set_render_profile(
        self, min_duration: float, max_duration: float, *, time_scale: float = 1.0
    ) -> None:
        """Set how long the sandbox's renders of created videos last (nominal seconds)."""
        body = {"min_duration": min_duration, "max_duration": max_duration}
        self.call("/render_profile", {**body, "time_scale": time_scale})

    def set_rate_limit(self, rate: float | None, burst: int | None = None) -> None:
        """Set the sandbox's per-key rate limit; None switches it off."""
        self.call("/rate_limit", {"rate": rate, "burst": burst})


class ServerProcess:
    """The sandbox and its control API in a child process (``benchmarks._server``)."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.control_url = ""
        self.api_key = ""
        self.pid = 0

    def __enter__(self) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (_path(), str(REPO))))}
        command = [sys.executable, "-m", "benchmarks._server", "--seed", str(self.seed)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.__exit__(None, None, None)
            raise RuntimeError("the benchmark server process did not start")
        info = json.loads(line)
        self.base_url = info["base_url"]
        self.control_url = info["control_url"]
        self.api_key = info["api_key"]
        self.pid = int(info["pid"])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    @property
    def control(self) -> ControlClient:
        """A client of this server's control API."""
        return ControlClient(self.control_url)


def _path() -> str:
    """Return the PYTHONPATH this process was started with (kept for child processes)."""
    return os.environ.get("PYTHONPATH", "")
