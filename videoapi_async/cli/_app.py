"""The video commands: ``list``, ``get``, ``metadata``, ``create``, ``wait`` and ``render``.

The first four print what the API answered; ``wait`` and ``render`` follow a render with a
live bar and can download the finished video.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click
from rich.table import Table

from videoapi_async import RenderTimeoutError, RenderWait, Video, VideoAPIError

from ._common import (
    CliError,
    ExitCode,
    Interrupted,
    Settings,
    call,
    client_error,
    emit_json,
    human_console,
    open_client,
    progress_console,
    run_async,
)
from ._download import Downloader, DownloadError, download_name
from ._options import api_command, create_options, request_from_options
from ._progress import RenderBoard
from ._root import cli, command_help
from ._shapes import metadata_json, render_result_json, video_json

__all__ = ["cli", "create", "get", "list_command", "metadata", "render", "wait"]


def _video_table(videos: Sequence[Video]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None)
    for column in ("ID", "NAME", "STATUS", "PROGRESS"):
        table.add_column(column, no_wrap=column != "NAME", overflow="fold")
    for video in videos:
        progress = "?" if video.progress is None else f"{video.progress}%"
        table.add_row(video.id, video.name or "", video.status.value, progress)
    return table


def _show_video(video: Video) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in video_json(video).items():
        if value in (None, "", [], {}):
            continue
        if key == "scenes":
            value = ", ".join(str(scene.get("name")) for scene in value)
        elif isinstance(value, (list, dict)):
            value = str(value)
        table.add_row(key, str(value))
    human_console().print(table)


@click.command(name="list", help=command_help("list"))
@api_command
def list_command(*, settings: Settings, as_json: bool) -> int:
    """Run ``videoapi list`` (its help is in `COMMANDS`)."""
    videos = call(settings, lambda api: api.list_videos())
    if as_json:
        emit_json([video_json(video) for video in videos])
    elif not videos:
        human_console().print("No videos yet.")
    else:
        console = human_console()
        console.print(_video_table(videos))
        console.print(f"{len(videos)} video{'s' if len(videos) != 1 else ''}")
    return ExitCode.OK


@click.command(help=command_help("get"))
@click.argument("video_id")
@api_command
def get(video_id: str, *, settings: Settings, as_json: bool) -> int:
    """Run ``videoapi get`` (its help is in `COMMANDS`)."""
    video = call(settings, lambda api: api.get_video(video_id))
    if as_json:
        emit_json(video_json(video))
    else:
        _show_video(video)
    return ExitCode.OK


@click.command(help=command_help("metadata"))
@click.argument("video_id")
@api_command
def metadata(video_id: str, *, settings: Settings, as_json: bool) -> int:
    """Run ``videoapi metadata`` (its help is in `COMMANDS`)."""
    meta = call(settings, lambda api: api.get_video_metadata(video_id))
    if as_json:
        emit_json(metadata_json(meta))
        return ExitCode.OK
    console = human_console()
    console.print(f"Duration: {meta.duration:g} s")
    table = Table(box=None, pad_edge=False)
    for column in ("SCENE", "START (s)", "DURATION (s)"):
        table.add_column(column, justify="right")
    for scene in meta.scenes_metadata:
        table.add_row(str(scene.scene_index), f"{scene.start_time:g}", f"{scene.duration:g}")
    console.print(table)
    return ExitCode.OK


@click.command(
    help=command_help(
        "create",
        "Give the project or recipe with options (--source-draft-id, --recipe-id, --name "
        "...), or any create form as JSON with --json-body.",
    )
)
@create_options
@api_command
def create(
    *, settings: Settings, as_json: bool, json_body: IO[str] | None, **fields: str | None
) -> int:
    """Run ``videoapi create`` (its help is in `COMMANDS` and the decorator)."""
    request = request_from_options(fields, json_body)

    video = call(settings, lambda api: api.create_video(request))
    if as_json:
        emit_json(video_json(video))
    else:
        human_console().print(
            f"Created video {video.id} ({video.status.value}).\n"
            f"Follow it with: videoapi wait {video.id}"
        )
    return ExitCode.OK


def _timeout_option(function: Any) -> Any:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help="Stop waiting after this long (exit status 4; the render goes on).",
    )(function)


def _download_options(function: Any) -> Any:
    function = click.option(
        "--overwrite", is_flag=True, help="Replace a file that already exists."
    )(function)
    return click.option(
        "--download",
        "download_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        metavar="DIR",
        help="Download the finished video into DIR (as VIDEO_ID.mp4).",
    )(function)


@click.command(help=command_help("wait"))
@click.argument("video_id")
@_timeout_option
@_download_options
@api_command
def wait(
    video_id: str,
    *,
    settings: Settings,
    as_json: bool,
    timeout: float | None,
    download_dir: Path | None,
    overwrite: bool,
) -> int:
    """Run ``videoapi wait`` (its help is in `COMMANDS`)."""
    return _follow(
        settings,
        as_json,
        lambda api: api.wait_for_render(video_id, timeout=timeout),
        video_id,
        download_dir,
        overwrite,
    )


@click.command(
    help=command_help(
        "render",
        "Takes the options of 'create', and can download the result with --download DIR.",
    )
)
@create_options
@_timeout_option
@_download_options
@api_command
def render(
    *,
    settings: Settings,
    as_json: bool,
    json_body: IO[str] | None,
    timeout: float | None,
    download_dir: Path | None,
    overwrite: bool,
    **fields: str | None,
) -> int:
    """Run ``videoapi render`` (its help is in `COMMANDS` and the decorator)."""
    request = request_from_options(fields, json_body)
    return _follow(
        settings,
        as_json,
        lambda api: api.render(request, timeout=timeout),
        "new video",
        download_dir,
        overwrite,
    )


def _follow(
    settings: Settings,
    as_json: bool,
    start: Any,
    label: str,
    download_dir: Path | None,
    overwrite: bool,
) -> int:
    """Follow one render to its end; print the result and return the exit status."""
    started = time.monotonic()
    outcome: dict[str, Any] = {"video": None, "error": None, "code": ExitCode.OK, "file": None}

    async def work() -> None:
        async with open_client(settings) as api:
            waiting: RenderWait = start(api)
            with RenderBoard(progress_console()) as board:
                board.add("render", label)
                try:
                    async for update in waiting:
                        outcome["video"] = update.video
                        board.update("render", update)
                except RenderTimeoutError as exc:
                    outcome["video"] = exc.video or outcome["video"]
                    outcome["error"], outcome["code"] = str(exc), ExitCode.TIMEOUT
                    board.finish("render", ok=False, state="timed out")
                    return
                video: Video | None = outcome["video"]
                if video is None:
                    return
                if video.is_failed:
                    outcome["error"] = f"the render of {video.id} ended {video.status.value}"
                    outcome["code"] = ExitCode.RENDER_FAILED
                    board.finish("render", ok=False, state=video.status.value)
                    return
                board.finish("render", ok=True, state=video.status.value)
                if download_dir is not None:
                    outcome["file"], problem = await _download_one(
                        video, download_dir, overwrite, board
                    )
                    if problem is not None:
                        outcome["error"], outcome["code"] = problem, ExitCode.API_ERROR

    try:
        run_async(work)
    except VideoAPIError as exc:
        raise client_error(exc) from None
    except (ValueError, TypeError) as exc:  # an id the client refuses to send
        raise CliError(str(exc), ExitCode.USAGE) from None
    except Interrupted:
        seen: Video | None = outcome["video"]
        if seen is None or seen.is_terminal:
            raise
        raise Interrupted(
            f"interrupted; video {seen.id} goes on rendering: follow it with "
            f"'videoapi wait {seen.id}'"
        ) from None
    video = outcome["video"]
    error, code = outcome["error"], outcome["code"]
    if as_json:
        video_id = video.id if video is not None else label
        emit_json(
            render_result_json(
                video_id=video_id,
                video=video,
                error=error,
                elapsed=time.monotonic() - started,
                file=outcome["file"],
            )
        )
    elif video is not None and (code == ExitCode.OK or video.is_ready):
        console = human_console()
        console.print(f"Video {video.id} is {video.status.value}.")
        console.print(f"  play:     {video.video_player_url or '(no player URL)'}")
        if video.download_url:
            console.print(f"  download: {video.download_url}", soft_wrap=True)
        if outcome["file"]:
            console.print(f"  saved:    {outcome['file']}")
    if error is not None:
        raise CliError(error, code)
    return ExitCode.OK


async def _download_one(
    video: Video, folder: Path, overwrite: bool, board: RenderBoard
) -> tuple[str | None, str | None]:
    """Download a finished video; return the file, or the problem and how to try again.

    A failed download never asks for the render again: the advice is ``videoapi wait``,
    which answers at once for a finished video and only downloads.
    """
    again = f"fetch it without rendering again: videoapi wait {video.id} --download {folder}"
    if not video.download_url:
        return None, f"video {video.id} is {video.status.value} but has no download_url; {again}"
    board.add("download", "download")
    try:
        async with Downloader(folder, overwrite=overwrite) as downloader:
            result = await downloader.download(
                video.download_url, download_name(video.id, video.download_url)
            )
    except DownloadError as exc:
        board.finish("download", ok=False, state="failed")
        return (
            None,
            f"video {video.id} is {video.status.value}, but its download failed: {exc}; {again}",
        )
    board.finish("download", ok=True, state="kept existing file" if result.kept else "saved")
    return str(result.path), None
