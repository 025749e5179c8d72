"""The one-endpoint commands against a sandbox: output shapes, exit codes, and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from videoapi_async.cli._common import ExitCode

from .conftest import CANARY_KEY, CommandLoop, LoopSandbox, LoopServer, invoke

VIDEO_KEYS = {
    "id",
    "status",
    "progress",
    "name",
    "req_id",
    "draft_id",
    "video_player_url",
    "download_url",
    "correlation_id",
    "source_draft_id",
    "recipe_id",
    "template_id",
    "palette_id",
    "character_id",
    "voice_id",
    "scenes",
    "metadata",
    "palette",
    "global_media_elements",
}
RESULT_KEYS = ["video_id", "ok", "status", "error", "elapsed", "file", "video"]


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.usefixtures("clean_env")
def test_list_against_the_in_process_sandbox_prints_a_json_array() -> None:
    """--sandbox needs no key; list --json prints one array of complete Video objects."""
    result = invoke(["--sandbox", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    videos = json.loads(result.stdout)
    assert len(videos) == 3
    assert all(set(video) == VIDEO_KEYS for video in videos)
    assert {video["status"] for video in videos} == {"ready"}


@pytest.mark.usefixtures("clean_env")
def test_list_prints_a_table_for_people() -> None:
    """Without --json, list prints a table and a count; options may follow the command."""
    result = invoke(["list", "--sandbox"])
    assert result.exit_code == 0, result.stderr
    assert "STATUS" in result.stdout
    assert "Seeded video 0" in result.stdout
    assert "3 videos" in result.stdout


def test_get_and_metadata_show_one_video(cli_sandbox: LoopSandbox) -> None:
    """The get and metadata commands read the named video, in both output modes."""
    video = cli_sandbox.create(status="ready")
    env = cli_sandbox.env()
    got = invoke(["get", video["id"], "--json"], env=env)
    assert got.exit_code == 0, got.stderr
    assert json.loads(got.stdout)["id"] == video["id"]
    assert set(json.loads(got.stdout)) == VIDEO_KEYS
    meta = invoke(["metadata", video["id"], "--json"], env=env)
    assert meta.exit_code == 0, meta.stderr
    shape = json.loads(meta.stdout)
    assert set(shape) == {"duration", "scenes_metadata"}
    assert all(
        set(scene) == {"scene_index", "start_time", "duration"}
        for scene in shape["scenes_metadata"]
    )
    human = invoke(["get", video["id"]], env=env)
    assert video["id"] in human.stdout
    assert "made for a test" in human.stdout
    assert "Duration:" in invoke(["metadata", video["id"]], env=env).stdout


def test_create_sends_the_flat_form_from_options(cli_sandbox: LoopSandbox) -> None:
    """Options send exactly the fields given (and the workspace and team headers)."""
    result = invoke(
        [
            *("create", "--source-draft-id", "d-9", "--name", "From options"),
            *("--workspace-id", "ws-1", "--json"),
        ],
        env={**cli_sandbox.env(), "VIDEOAPI_TEAM_ID": "team-1"},
    )
    assert result.exit_code == 0, result.stderr
    video = json.loads(result.stdout)
    record = cli_sandbox.sandbox.video_record(video["id"])
    assert record is not None
    sent = dict(record.body)
    assert sent.pop("correlation_id").startswith("videoapi-async-")  # added by the client
    assert sent == {"name": "From options", "source_draft_id": "d-9"}
    assert (record.workspace_id, record.team_id) == ("ws-1", "team-1")


def test_create_takes_a_tagged_form_as_json_on_stdin(cli_sandbox: LoopSandbox) -> None:
    """--json-body - reads any create form, here a workflow, from stdin."""
    body = {"type": "workflow", "workflow_id": "wf", "variables": [{"name": "n", "value": "v"}]}
    result = invoke(["create", "--json-body", "-"], env=cli_sandbox.env(), input=json.dumps(body))
    assert result.exit_code == 0, result.stderr
    assert "Created video" in result.stdout
    sent = dict(cli_sandbox.sandbox.records[-1].body)
    assert sent.pop("correlation_id").startswith("videoapi-async-")  # added by the client
    assert sent == body


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["create", "--name", "no project"], None, "--source-draft-id or --recipe-id"),
        (["create", "--json-body", "-", "--name", "x"], "{}", "not both"),
        (["create", "--json-body", "-"], "{not json", "not valid JSON"),
        (["create", "--json-body", "-"], '{"type": "create"}', "required field missing"),
        (["wait", "v", "--timeout", "-1"], None, "--timeout"),
        (["list", "--bogus"], None, "No such option"),
        (["frobnicate"], None, "No such command"),
    ],
)
@pytest.mark.usefixtures("clean_env")
def test_bad_usage_exits_2_with_one_line(args: list[str], stdin: str | None, message: str) -> None:
    """Bad options and bad request bodies end with status 2 and one line on stderr."""
    result = invoke(["--sandbox", *args], input=stdin)
    assert result.exit_code == ExitCode.USAGE
    assert message in _one_error_line(result.stderr)
    assert result.stdout == ""


@pytest.mark.usefixtures("clean_env")
def test_a_missing_key_is_a_usage_error_that_says_what_to_do() -> None:
    """Without a key (and without --sandbox) nothing is sent and the fix is named."""
    result = invoke(["list"])
    assert result.exit_code == ExitCode.USAGE
    line = _one_error_line(result.stderr)
    assert "VIDEOAPI_API_KEY" in line
    assert "--sandbox" in line


def test_an_unknown_video_exits_3(cli_sandbox: LoopSandbox) -> None:
    """A 404 is an API error: status 3, the server's reason, no traceback."""
    result = invoke(["get", "no-such-video"], env=cli_sandbox.env())
    assert result.exit_code == ExitCode.API_ERROR
    assert "404" in _one_error_line(result.stderr)


def test_the_key_never_appears_in_output_errors_or_logs(cli_sandbox: LoopSandbox) -> None:
    """A refused key is reported (status 3) without ever printing it, even with -v."""
    env = {**cli_sandbox.env(), "VIDEOAPI_API_KEY": CANARY_KEY}
    for args in (["list", "-v"], ["--api-key", CANARY_KEY, "get", "x", "-v", "--json"]):
        result = invoke(args, env=env)
        assert result.exit_code == ExitCode.API_ERROR
        assert "401" in result.stderr
        assert CANARY_KEY not in result.stdout + result.stderr


def test_wait_prints_the_render_result(cli_sandbox: LoopSandbox) -> None:
    """With --json, wait prints one render result document for a render that ends ready."""
    video = cli_sandbox.create()
    result = invoke(["wait", video["id"], "--json"], env=cli_sandbox.env())
    assert result.exit_code == 0, result.stderr
    shape = json.loads(result.stdout)
    assert list(shape) == RESULT_KEYS
    assert (shape["video_id"], shape["ok"], shape["status"]) == (video["id"], True, "ready")
    assert shape["video"]["video_player_url"]


def test_a_failed_render_exits_1(cli_sandbox: LoopSandbox) -> None:
    """A render that ends failed gives status 1, the result on stdout, the reason on stderr."""
    video = cli_sandbox.create(status="failed")
    result = invoke(["wait", video["id"], "--json"], env=cli_sandbox.env())
    assert result.exit_code == ExitCode.RENDER_FAILED
    assert json.loads(result.stdout)["ok"] is False
    assert "failed" in _one_error_line(result.stderr)


def test_a_wait_timeout_exits_4(cli_sandbox: LoopSandbox) -> None:
    """--timeout ends the wait (not the render) with status 4 and the last state seen."""
    video = cli_sandbox.create(status="processing", progress=40)
    result = invoke(["wait", video["id"], "--timeout", "0.3", "--json"], env=cli_sandbox.env())
    assert result.exit_code == ExitCode.TIMEOUT
    shape = json.loads(result.stdout)
    assert (shape["ok"], shape["status"]) == (False, "processing")
    assert "0.3" in _one_error_line(result.stderr)


@pytest.mark.usefixtures("clean_env")
def test_render_creates_waits_and_downloads(tmp_path: Path) -> None:
    """With --download, render leaves the finished video in the folder, named by its id."""
    result = invoke(
        ["--sandbox", "render", "--source-draft-id", "d1", "--download", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    shape = json.loads(result.stdout)
    assert shape["ok"] is True
    assert shape["file"] == str(tmp_path / f"{shape['video_id']}.mp4")
    assert (tmp_path / f"{shape['video_id']}.mp4").read_bytes()[4:8] == b"ftyp"


def test_the_download_host_never_receives_the_api_key(
    clean_env: None, command_loop: CommandLoop, tmp_path: Path
) -> None:
    """With --download, wait fetches the file without the api-key header the API calls carry."""
    payload = b"\x00\x00\x00\x18ftypmp42" + bytes(2000)

    async def video(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "id": "v-1",
                "status": "ready",
                "progress": 100,
                "req_id": "r",
                "draft_id": "d",
                "video_player_url": server.url("/player/v-1"),
                "download_url": server.url("/files/v-1.mp4?sig=abc"),
            }
        )

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=payload, content_type="video/mp4")

    server = LoopServer(command_loop, {"/api/v1/videos/{id}": video, "/files/{name}": file})
    try:
        env = {"VIDEOAPI_BASE_URL": server.url("/api/v1"), "VIDEOAPI_API_KEY": CANARY_KEY}
        result = invoke(["wait", "v-1", "--download", str(tmp_path)], env=env)
    finally:
        server.close()
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "v-1.mp4").read_bytes() == payload
    api_calls = [headers for path, headers in server.seen if path.startswith("/api/")]
    downloads = [headers for path, headers in server.seen if path.startswith("/files/")]
    assert api_calls
    assert all(headers.get("api-key") == CANARY_KEY for headers in api_calls)
    assert len(downloads) == 1
    assert "api-key" not in {name.lower() for name in downloads[0]}
    assert CANARY_KEY not in str(downloads[0])


@pytest.mark.usefixtures("clean_env")
def test_the_sandbox_command_shares_the_sandbox_options() -> None:
    """The sandbox command's --help lists the sandbox's own options; a bad value exits 2."""
    shown = invoke(["sandbox", "--help"])
    assert shown.exit_code == 0
    assert "--time-scale" in shown.stdout
    assert "--fault-rate" in shown.stdout
    bad = invoke(["sandbox", "--failure-rate", "2"])
    assert bad.exit_code == ExitCode.USAGE
    assert "failure_rate" in _one_error_line(bad.stderr)
