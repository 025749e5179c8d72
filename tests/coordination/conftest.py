"""A real redis-server per test, on a free port of 127.0.0.1, and helpers around it.

Without ``redis-server`` (or without redis-py) the tests that need it skip, saying how to
install it; with ``VIDEOAPI_REQUIRE_REDIS=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_SERVER = "apt-get install -y redis-server"
INSTALL_CLIENT = "pip install -e '.[redis]'"


def _missing(reason: str) -> None:
    if os.environ.get("VIDEOAPI_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason} (VIDEOAPI_REQUIRE_REDIS=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process on 127.0.0.1, with no persistence; can be killed and restarted."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's redis:// URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (on the same port as before) and wait until it answers."""
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Return a running redis-server of this test's own; skip (or fail in CI) without one."""
    executable = shutil.which("redis-server")
    if executable is None:
        _missing(f"redis-server is not installed; install it with: {INSTALL_SERVER}")
    try:
        import redis  # noqa: F401
    except ImportError:
        _missing(f"redis-py is not installed; install the extra with: {INSTALL_CLIENT}")
    assert executable is not None
    server = RedisServer(executable, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()
