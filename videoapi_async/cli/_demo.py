"""``videoapi demo``: a whole batch against an in-process sandbox, in a few seconds.

It starts a sandbox whose renders take one to four minutes of simulated time (run
faster, so the demo ends in about fifteen seconds, some of them failing), creates the
batch with `VideoAPI.create_videos`, follows every render with `VideoAPI.wait_for_render`,
then shows what happened and what it cost in requests.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

import click
from rich.table import Table
from rich.text import Text

from videoapi_async import CreateVideoRequest, SourceDraftVideoRequest, Video

if TYPE_CHECKING:
    pass

from ._common import (
    SANDBOX_POLL,
    ExitCode,
    emit_json,
    human_console,
    progress_console,
    run_async,
    safe_text,
)
from ._progress import RenderBoard
from ._root import command_help

__all__ = ["demo", "run_demo"]

_MIN_RENDER: Final = 60.0  # simulated seconds
_MAX_RENDER: Final = 240.0
_TIME_SCALE: Final = 24.0  # 1-4 minutes take 2.5-10 s


async def run_demo(
    *,
    count: int,
    failure_rate: float,
    seed: int | None,
    speed: float = 1.0,
    concurrency: int = 4,
    board: RenderBoard | None = None,
) -> dict[str, Any]:
    """Run the demo and return its report (the ``--json`` document)."""
    from videoapi_async.sandbox import RenderProfile, Sandbox

    profile = RenderProfile(
        min_duration=_MIN_RENDER,
        max_duration=_MAX_RENDER,
        failure_rate=failure_rate,
        time_scale=_TIME_SCALE * speed,
    )
    clock = asyncio.get_running_loop().time  # time.monotonic, unless in simulated time
    started = clock()
    async with Sandbox(seed=seed, render=profile, clock=clock) as sandbox:
        names = [f"Demo video {n}" for n in range(1, count + 1)]
        requests: list[CreateVideoRequest] = [
            SourceDraftVideoRequest(name=name, source_draft_id=f"demo-draft-{n}")
            for n, name in enumerate(names, start=1)
        ]
        from videoapi_async import VideoAPI  # not at the top: --help needs no aiohttp

        async with VideoAPI(
            sandbox.api_key, base_url=sandbox.base_url, poll=SANDBOX_POLL, clock=clock
        ) as api:
            created_at: dict[str, float] = {}
            done_at: dict[str, float] = {}
            finals: dict[str, Video] = {}
            followers: list[asyncio.Task[None]] = []

            async def follow(video: Video, label: str) -> None:
                async for update in api.wait_for_render(video):
                    if board is not None:
                        board.update(video.id, update)
                    if update.is_terminal:
                        finals[video.id] = update.video
                        done_at[video.id] = clock()
                        if board is not None:
                            board.finish(
                                video.id, ok=update.video.is_ready, state=update.status.value
                            )

            def on_result(result: Any) -> None:
                label = names[result.index]
                if result.video is None:
                    return
                created_at[result.video.id] = clock()
                if board is not None:
                    board.add(result.video.id, label)
                followers.append(asyncio.ensure_future(follow(result.video, label)))

            try:
                results = await api.create_videos(
                    requests, concurrency=concurrency, on_result=on_result
                )
                await asyncio.gather(*followers)
            finally:
                # Stop the followers still running (after a failure or Ctrl-C) and let
                # each end before the client closes under it.
                for task in followers:
                    task.cancel()
                await _until_done(followers)
            client_stats = api.stats
        finished = clock()
        stats = sandbox.stats
        videos = []
        for result in results:
            video = finals.get(result.video.id) if result.video is not None else None
            videos.append(
                {
                    "row": result.index + 1,
                    "video_id": result.video.id if result.video is not None else None,
                    "name": names[result.index],
                    "status": video.status.value if video is not None else None,
                    "ok": video is not None and video.is_ready,
                    "elapsed": round(done_at[video.id] - created_at[video.id], 3)
                    if video is not None
                    else None,
                    "requests": stats.video_requests.get(video.id, 0) if video else 0,
                    "video_player_url": (video.video_player_url or None) if video else None,
                    "download_url": video.download_url if video else None,
                    "error": str(result.error) if result.error is not None else None,
                }
            )
        requests_by_route = dict(stats.requests)
    return {
        "seed": sandbox.seed,
        "elapsed": round(finished - started, 3),
        "videos": videos,
        "summary": {
            "videos": len(videos),
            "ready": sum(1 for item in videos if item["ok"]),
            "failed": sum(1 for item in videos if not item["ok"]),
            "requests": sum(requests_by_route.values()),
            "creates": requests_by_route.get("POST /videos", 0),
            "status_polls": requests_by_route.get("GET /videos/{video_id}", 0),
            "list_polls": requests_by_route.get("GET /videos", 0),
            "client_polls": client_stats["polls"] + client_stats["list_polls"],
        },
    }


async def _until_done(tasks: list[asyncio.Task[None]]) -> None:
    """Wait until every task has ended, even if this wait is itself cancelled meanwhile.

    A cancellation that arrives meanwhile is raised once they have all ended.
    """
    interrupted = False
    while pending := [task for task in tasks if not task.done()]:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
    for task in tasks:  # read each outcome, so that none is reported as never retrieved
        if not task.cancelled():
            task.exception()
    if interrupted:
        raise asyncio.CancelledError


def _print_report(report: dict[str, Any]) -> None:
    console = human_console()
    table = Table(title="Demo batch", box=None, pad_edge=False)
    for column in ("#", "VIDEO", "STATUS", "TIME", "REQUESTS"):
        table.add_column(column, justify="right" if column in ("#", "TIME", "REQUESTS") else "left")
    for item in report["videos"]:
        style = "green" if item["ok"] else "red"
        elapsed = f"{item['elapsed']:.1f} s" if item["elapsed"] is not None else "-"
        table.add_row(
            str(item["row"]),
            item["video_id"] or "-",
            Text(safe_text(str(item["status"] or item["error"])), style=style),
            elapsed,
            str(item["requests"]),
        )
    console.print(table)
    summary = report["summary"]
    console.print(
        f"{summary['ready']} ready, {summary['failed']} failed, in {report['elapsed']:.1f} s "
        f"(renders of 1-4 simulated minutes; seed {report['seed']})."
    )
    per_video = summary["requests"] / max(summary["videos"], 1)
    console.print(
        f"Requests: {summary['requests']} in all ({per_video:.1f} per video): "
        f"{summary['creates']} creates, {summary['status_polls']} status polls, "
        f"{summary['list_polls']} list polls."
    )
    ready = [item for item in report["videos"] if item["ok"]]
    if ready:
        console.print("Players (served by the demo's sandbox, which has now stopped):")
        for item in ready:
            console.print(f"  {item['video_player_url']}", soft_wrap=True)
    console.print(
        "Next: 'videoapi sandbox' serves a sandbox that stays up; 'videoapi --help' lists "
        "every command."
    )


@click.command(
    help=command_help(
        "demo",
        "Creates the batch, follows each render live, then shows how each one ended, how "
        "long it took, how many requests it cost, and where to play it.",
    )
)
@click.option(
    "--count", type=click.IntRange(1, 1000), default=20, show_default=True, help="Videos to make."
)
@click.option(
    "--failure-rate",
    type=click.FloatRange(0, 1),
    default=0.15,
    show_default=True,
    help="The share of renders that fail.",
)
@click.option("--seed", type=int, default=None, help="Replay a run: the same renders and outcomes.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Run the renders this many times faster still.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
def demo(count: int, failure_rate: float, seed: int | None, speed: float, as_json: bool) -> int:
    """Run ``videoapi demo`` (its help is in `COMMANDS` and the decorator)."""
    console = progress_console()

    async def work() -> dict[str, Any]:
        with RenderBoard(console, total=count) as board:
            return await run_demo(
                count=count, failure_rate=failure_rate, seed=seed, speed=speed, board=board
            )

    report = run_async(work)
    if as_json:
        emit_json(report)
    else:
        _print_report(report)
    return ExitCode.OK
