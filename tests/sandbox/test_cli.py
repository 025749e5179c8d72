"""The standalone command: options, and a real run as a subprocess."""

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

from videoapi_async.sandbox import ServerRateLimit, WebhookConfig
from videoapi_async.sandbox._cli import build_arg_parser, config_from_args

REPO = Path(__file__).resolve().parents[2]


def test_arguments_build_the_config() -> None:
    """Command-line options map onto the SandboxConfig fields."""
    namespace = build_arg_parser().parse_args(
        [
            "--port",
            "0",
            "--seed",
            "9",
            "--time-scale",
            "5",
            "--failure-rate",
            "0.25",
            "--fault-rate",
            "0.1",
            "--fault-kinds",
            "http_503",
            "--rate-limit",
            "20",
            "--api-key",
            "k",
            "--null-unset-fields",
        ]
    )
    config = config_from_args(namespace)
    assert (config.port, config.seed, config.api_key) == (0, 9, "k")
    assert config.render.time_scale == 5
    assert config.render.failure_rate == 0.25
    assert dict(config.faults.routes["*"].rates) == {"http_503": 0.1}
    assert config.rate_limit == ServerRateLimit(20)
    assert config.null_unset_fields


def test_voice_and_webhook_arguments() -> None:
    """--voice-* and --webhook-* options build the voice profile and the webhook config."""
    namespace = build_arg_parser().parse_args(
        [
            "--voice-failure-rate",
            "0.5",
            "--voice-max-duration",
            "2",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
            "--webhook-secret",
            "s3",
            "--webhook-delay",
            "0.5",
        ]
    )
    config = config_from_args(namespace)
    assert (config.voice_preview.failure_rate, config.voice_preview.max_duration) == (0.5, 2)
    assert config.webhooks == WebhookConfig("http://127.0.0.1:9/hook", "s3", delay=0.5)


def test_defaults_are_the_config_defaults() -> None:
    """Without options, the config is the default one on port 8080."""
    config = config_from_args(build_arg_parser().parse_args([]))
    assert config.port == 8080
    assert config.render.failure_rate == 0
    assert config.rate_limit is None
    assert config.webhooks is None


def test_parser_can_be_reused_as_a_subcommand() -> None:
    """build_arg_parser adds its options to a given (sub)parser."""
    import argparse

    top = argparse.ArgumentParser(prog="videoapi")
    sub = top.add_subparsers(dest="command")
    build_arg_parser(sub.add_parser("sandbox"))
    namespace = top.parse_args(["sandbox", "--seed", "3"])
    assert namespace.command == "sandbox"
    assert config_from_args(namespace).seed == 3


def _run(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "videoapi_async.sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.mark.e2e
def test_standalone_server_serves_and_stops_on_sigint() -> None:
    """`python -m videoapi_async.sandbox` prints its URL and key, serves, exits 0 on Ctrl-C."""
    process = _run("--port", "0", "--api-key", "cli-key", "--seed", "4")
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.search(r"(http://\S+/api/v1)", first_line)
        assert match, first_line
        assert "cli-key" in process.stdout.readline()
        request = urllib.request.Request(
            match.group(1) + "/videos",
            data=json.dumps({"source_draft_id": "d"}).encode(),
            headers={"api-key": "cli-key", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
            assert json.load(response)["status"] == "not_started"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Sandbox stopped." in out


@pytest.mark.e2e
def test_bad_option_exits_2_with_the_reason() -> None:
    """A bad option value stops the command with exit status 2 and says why."""
    process = _run("--failure-rate", "2")
    _, err = process.communicate(timeout=10)
    assert process.returncode == 2
    assert "failure_rate must be a probability" in err


@pytest.mark.e2e
async def test_standalone_server_delivers_webhooks() -> None:
    """With --webhook-url, the command prints the secret and delivers a signed video.ready."""
    import asyncio

    import aiohttp
    from aiohttp import web
    from standardwebhooks.webhooks import Webhook

    received: list[tuple[dict[str, str], bytes]] = []
    arrived = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        arrived.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "videoapi_async.sandbox",
        "--port",
        "0",
        "--api-key",
        "k",
        "--time-scale",
        "100",
        "--webhook-url",
        url,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        lines = [(await process.stdout.readline()).decode() for _ in range(6)]
        base_url = re.search(r"(http://\S+/api/v1)", lines[0])
        assert base_url, lines
        assert lines[3].split() == ["webhooks:", url]
        secret = lines[4].split(": ", 1)[1].strip()
        assert lines[5].split(": ", 1)[1].startswith("sbt-")  # for the webhook operations
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                base_url.group(1) + "/videos",
                json={"source_draft_id": "d"},
                headers={"api-key": "k"},
            ) as response,
        ):
            assert response.status == 201
        await asyncio.wait_for(arrived.wait(), 10)
        headers, body = received[0]
        assert secret.startswith("whsec_")
        Webhook(secret).verify(body, headers, json_parse=False)  # raises if not signed right
        assert json.loads(body)["event"] == "video.ready"
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 10)
        assert process.returncode == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await runner.cleanup()
