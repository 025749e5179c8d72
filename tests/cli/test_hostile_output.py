"""Hostile servers and bad arguments: text stays text, and every mistake gets a clear status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from videoapi_async.cli._common import ExitCode, safe_text

from .conftest import CANARY_KEY, CommandLoop, LoopSandbox, LoopServer, invoke

HOSTILE_NAMES = [
    "[/]",
    "[link=https://evil.test/]click me[/link]",
    "[bold red]alarm[/] :warning:",
    "clear\x1b[2Jscreen",
    "title\x1b]0;pwned\x07set",
    "link\x1b]8;;https://evil.test/\x1b\\here\x1b]8;;\x1b\\",
    "csi\x9b31mred",
    "bidi\u202egnp.exe",
]


def _video(video_id: str, name: str) -> dict[str, Any]:
    return {
        "id": video_id,
        "name": name,
        "status": "ready",
        "progress": 100,
        "req_id": "r",
        "draft_id": "d",
        "video_player_url": f"https://player.test/{video_id}",
    }


@pytest.fixture
def hostile(clean_env: None, command_loop: CommandLoop) -> Any:
    """Serve videos named with markup and terminal escapes; yield the environment to use it."""
    videos = [_video(f"v-{n}", name) for n, name in enumerate(HOSTILE_NAMES)]

    async def listing(request: web.Request) -> web.Response:
        return web.json_response(videos)

    async def one(request: web.Request) -> web.Response:
        index = int(request.match_info["id"].split("-")[1])
        return web.json_response(videos[index])

    server = LoopServer(command_loop, {"/api/v1/videos": listing, "/api/v1/videos/{id}": one})
    try:
        yield {"VIDEOAPI_BASE_URL": server.url("/api/v1"), "VIDEOAPI_API_KEY": CANARY_KEY}
    finally:
        server.close()


def _no_controls(text: str) -> None:
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert "\u202e" not in text


def test_list_prints_server_names_as_text(hostile: dict[str, str]) -> None:
    """Markup in names is printed literally and escapes are shown, never obeyed."""
    result = invoke(["list"], env=hostile)
    assert result.exit_code == 0, result.stderr
    _no_controls(result.stdout)
    out = " ".join(result.stdout.split())
    for text in ("[/]", "[link=https://evil.test/]click me[/link]", "[bold red]alarm[/]"):
        assert text in out
    assert ":warning:" in out
    assert "clear\\x1b[2Jscreen" in out
    assert "\\u202egnp.exe" in out


@pytest.mark.parametrize("index", range(len(HOSTILE_NAMES)))
def test_get_prints_a_hostile_name_as_text(hostile: dict[str, str], index: int) -> None:
    """Get shows each hostile name as escaped text and exits 0."""
    result = invoke(["get", f"v-{index}"], env=hostile)
    assert result.exit_code == 0, result.stderr
    _no_controls(result.stdout)
    assert safe_text(HOSTILE_NAMES[index]) in result.stdout


def test_json_output_escapes_c1_controls(hostile: dict[str, str]) -> None:
    """--json stays valid JSON with every name intact, and carries no raw control byte."""
    result = invoke(["list", "--json"], env=hostile)
    assert result.exit_code == 0, result.stderr
    _no_controls(result.stdout.replace("\u202e", ""))
    assert [video["name"] for video in json.loads(result.stdout)] == HOSTILE_NAMES


@pytest.mark.parametrize(
    ("video_id", "message"),
    [("", "must not be empty"), ("..", "cannot be sent"), ("x" * 5000, "5000 characters")],
)
@pytest.mark.parametrize("command", ["get", "wait", "metadata", "delete"])
def test_a_bad_video_id_is_a_usage_error(
    cli_sandbox: LoopSandbox, command: str, video_id: str, message: str
) -> None:
    """An id the client cannot send exits 2 with the client's reason, not 70."""
    result = invoke([command, video_id], env=cli_sandbox.env())
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert message in result.stderr
    assert "unexpected" not in result.stderr


@pytest.mark.parametrize("args", [["list"], ["create", "--source-draft-id", "d1"]])
def test_a_base_url_without_the_api_path_says_the_url_looks_wrong(
    cli_sandbox: LoopSandbox, args: list[str]
) -> None:
    """List or create answering 404 means the URL is wrong, not that a video is missing."""
    env = {**cli_sandbox.env(), "VIDEOAPI_BASE_URL": cli_sandbox.sandbox.origin}
    result = invoke(args, env=env)
    assert result.exit_code == ExitCode.API_ERROR
    assert "base URL looks wrong" in result.stderr
    assert "/api/v1" in result.stderr
    assert "no such video" not in result.stderr


def test_an_error_detail_with_escapes_is_printed_as_text(
    clean_env: None, command_loop: CommandLoop
) -> None:
    """A server error message cannot drive the terminal through stderr."""

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"detail": "no\x1b]0;pwned\x07 [red]way[/]"}, status=400)

    server = LoopServer(command_loop, {"/api/v1/videos/{id}": broken})
    try:
        env = {"VIDEOAPI_BASE_URL": server.url("/api/v1"), "VIDEOAPI_API_KEY": CANARY_KEY}
        result = invoke(["get", "v-1"], env=env)
    finally:
        server.close()
    assert result.exit_code == ExitCode.API_ERROR
    _no_controls(result.stderr)
    assert "[red]way[/]" in result.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_a_failed_download_reports_the_finished_render_first(
    clean_env: None, command_loop: CommandLoop, tmp_path: Path, as_json: bool
) -> None:
    """The ready video is printed; the error says how to fetch it without rendering again."""

    async def video(request: web.Request) -> web.Response:
        body = _video("v-1", "promo")
        return web.json_response({**body, "download_url": server.url("/files/v-1.mp4")})

    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=404)

    server = LoopServer(command_loop, {"/api/v1/videos/{id}": video, "/files/{name}": gone})
    try:
        env = {"VIDEOAPI_BASE_URL": server.url("/api/v1"), "VIDEOAPI_API_KEY": CANARY_KEY}
        args = ["wait", "v-1", "--download", str(tmp_path / "out")]
        result = invoke([*args, "--json"] if as_json else args, env=env)
    finally:
        server.close()
    assert result.exit_code == ExitCode.API_ERROR
    if as_json:
        shape = json.loads(result.stdout)
        assert (shape["video_id"], shape["status"], shape["ok"], shape["file"]) == (
            "v-1",
            "ready",
            False,
            None,
        )
        assert "download failed" in shape["error"]
    else:
        assert "Video v-1 is ready." in result.stdout
    assert f"videoapi wait v-1 --download {tmp_path / 'out'}" in result.stderr
    assert "HTTP 404" in result.stderr
    assert "videoapi render" not in result.stderr
    assert ".part" not in result.stderr  # no file was started, so none is named
