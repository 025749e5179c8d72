"""The commands for the calls around a render: ``delete``, ``subtitles`` and ``usage``."""

from __future__ import annotations

import datetime as dt

import click
from rich.table import Table

from videoapi_async import UsagePeriod

from ._common import (
    ExitCode,
    Settings,
    call,
    emit_json,
    human_console,
)
from ._options import api_command
from ._root import command_help

__all__ = ["delete", "subtitles", "usage"]


@click.command(help=command_help("delete"))
@click.argument("video_id")
@click.option("--missing-ok", is_flag=True, help="Succeed when the video is already gone.")
@api_command
def delete(video_id: str, *, missing_ok: bool, settings: Settings, as_json: bool) -> int:
    """Run ``videoapi delete`` (its help is in `COMMANDS`)."""
    call(settings, lambda api: api.delete_video(video_id, missing_ok=missing_ok))
    if as_json:
        emit_json({"video_id": video_id, "deleted": True})
    else:
        human_console().print(f"Deleted video {video_id}.")
    return ExitCode.OK


@click.command(help=command_help("subtitles"))
@click.argument("video_id")
@click.option(
    "--language",
    "language_code",
    default="en",
    show_default=True,
    metavar="CODE",
    help="The subtitles' language, as the API names it (en, fr, ja ...).",
)
@click.option(
    "--format",
    "file_format",
    default="vtt",
    show_default=True,
    type=click.Choice(["vtt", "srt"]),
    help="The subtitle file format.",
)
@api_command
def subtitles(
    video_id: str, *, language_code: str, file_format: str, settings: Settings, as_json: bool
) -> int:
    """Run ``videoapi subtitles`` (its help is in `COMMANDS`)."""
    made = call(
        settings, lambda api: api.create_subtitles(video_id, language_code, format=file_format)
    )
    if as_json:
        emit_json({"language_code": made.language_code, "format": made.format, "url": made.url})
    else:
        human_console().print(f"{made.language_code} subtitles ({made.format}): {made.url}")
    return ExitCode.OK


@click.command(help=command_help("usage"))
@click.option(
    "--breakdown",
    default="monthly",
    show_default=True,
    type=click.Choice(["daily", "weekly", "monthly"]),
    help="How to group usage.",
)
@click.option("--from", "from_date", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "to_date", type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@click.option("--correlation-id", help="Count only videos created with this correlation id.")
@api_command
def usage(
    *,
    breakdown: str,
    from_date: dt.datetime | None,
    to_date: dt.datetime | None,
    correlation_id: str | None,
    settings: Settings,
    as_json: bool,
) -> int:
    """Run ``videoapi usage`` (its help is in `COMMANDS`)."""
    periods = call(
        settings,
        lambda api: api.get_usage_summary(
            breakdown,
            from_date=from_date.date() if from_date else None,
            to_date=to_date.date() if to_date else None,
            correlation_id=correlation_id,
        ),
    )
    if as_json:
        emit_json(
            [
                {
                    "year": p.year,
                    "month": p.month,
                    "week": p.week,
                    "day": p.day,
                    "videos_created": p.videos_created,
                    "total_duration": p.total_duration,
                }
                for p in periods
            ]
        )
        return ExitCode.OK
    console = human_console()
    if not periods:
        console.print("No usage in that window.")
        return ExitCode.OK
    table = Table(box=None, pad_edge=False)
    for column in ("PERIOD", "VIDEOS", "DURATION (s)"):
        table.add_column(column, justify="right")
    for p in periods:
        table.add_row(_period(p), str(p.videos_created), str(p.total_duration))
    console.print(table)
    return ExitCode.OK


def _period(period: UsagePeriod) -> str:
    if period.day is not None and period.month is not None:
        return f"{period.year}-{period.month:02d}-{period.day:02d}"
    if period.week is not None:
        return f"{period.year}-W{period.week:02d}"
    if period.month is not None:
        return f"{period.year}-{period.month:02d}"
    return str(period.year)
