"""The demo, the command as a real process, and the cli extra being optional."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from videoapi_async.cli import MISSING_EXTRA_MESSAGE

from .conftest import invoke

REPO = Path(__file__).resolve().parents[2]
_COMMAND = (sys.executable, "-m", "videoapi_async.cli")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOAPI_")}
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.usefixtures("clean_env")
def test_the_demo_reports_every_render_and_what_it_cost() -> None:
    """The demo shows each render's end, its time and requests, and where to play it."""
    result = invoke(
        ["demo", "--count", "6", "--failure-rate", "0.5", "--seed", "4", "--speed", "20"]
    )
    assert result.exit_code == 0, result.stderr
    assert "Demo batch" in result.stdout
    assert "Requests:" in result.stdout
    assert "6 creates" in result.stdout
    assert "/media/player/" in result.stdout
    assert "failed" in result.stdout


def test_demo_json_runs_as_a_real_process() -> None:
    """As a real process, 'videoapi demo --json' prints one report document and exits 0."""
    completed = subprocess.run(
        [*_COMMAND, "demo", "--json", "--count", "5", "--seed", "2", "--speed", "200"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert set(report) == {"seed", "elapsed", "videos", "summary"}
    assert report["seed"] == 2
    assert len(report["videos"]) == 5
    summary = report["summary"]
    assert summary["ready"] + summary["failed"] == 5
    assert summary["creates"] == 5
    assert summary["requests"] >= 5 + summary["status_polls"]
    for video in report["videos"]:
        assert video["status"] in ("ready", "failed")
        assert video["ok"] == (video["status"] == "ready")
        assert video["requests"] >= 1


def test_the_sandbox_command_serves_until_ctrl_c() -> None:
    """The sandbox command prints its URL and key, answers the API, and stops cleanly on SIGINT."""
    process = subprocess.Popen(
        [*_COMMAND, "sandbox", "--port", "0", "--api-key", "k", "--preload-videos", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        exports = next(line for line in banner if "export VIDEOAPI_BASE_URL=" in line)
        base_url = exports.split("VIDEOAPI_BASE_URL=")[1].split()[0]
        request = urllib.request.Request(f"{base_url}/videos", headers={"api-key": "k"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert len(json.load(response)) == 2
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert "Sandbox stopped." in out


def test_importing_the_library_never_imports_click_or_rich() -> None:
    """Importing the library leaves the cli extra alone; main says how to install it."""
    code = (
        "import sys\n"
        "import videoapi_async, videoapi_async.cli\n"
        "assert 'click' not in sys.modules and 'rich' not in sys.modules, 'extra imported'\n"
        "sys.modules['click'] = None\n"
        "videoapi_async.cli.main(['--help'])\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(),
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.strip() == MISSING_EXTRA_MESSAGE
    assert completed.stdout == ""


def test_the_command_uses_only_the_public_api() -> None:
    """No module of the command imports a private module of the library."""
    cli_dir = REPO / "videoapi_async" / "cli"
    private = re.compile(r"^\s*(from|import)\s+videoapi_async\._", re.MULTILINE)
    offenders = [
        path.name
        for path in sorted(cli_dir.glob("*.py"))
        if private.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
