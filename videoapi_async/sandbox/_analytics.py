"""The usage summary of ``GET /analytics/summary``, computed from an account's videos (pure).

Every video created in the account counts (deleted ones and failed renders too: they were
created), on the UTC date of its creation on the sandbox's wall clock, with its planned
length (the sum of its scene lengths, as its metadata reports) rounded to whole seconds.
Only periods with at least one video appear, oldest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ._requests import UsageQuery
from ._store import VideoRecord

__all__ = ["usage_summary", "video_seconds"]


def video_seconds(record: VideoRecord) -> int:
    """Return the planned length of a video in whole seconds."""
    return round(sum(record.plan.scene_lengths))


def _period(day: dt.date, breakdown: str) -> tuple[int, ...]:
    if breakdown == "daily":
        return (day.year, day.month, day.day)
    if breakdown == "weekly":
        iso = day.isocalendar()
        return (iso[0], iso[1])
    return (day.year, day.month)


def _row(period: tuple[int, ...], breakdown: str, count: int, seconds: int) -> dict[str, Any]:
    row: dict[str, Any]
    if breakdown == "daily":
        year, month, day = period
        row = {"day": day, "month": month, "year": year}
    elif breakdown == "weekly":
        year, week = period
        row = {"week": week, "year": year}
    else:
        year, month = period
        row = {"month": month, "year": year}
    row["videos_created"] = count
    row["total_duration"] = seconds
    return row


def usage_summary(
    records: Iterable[VideoRecord], query: UsageQuery, wall_epoch: float
) -> list[dict[str, Any]]:
    """Return the ``UsageResponse`` rows of ``records`` that ``query`` selects.

    ``wall_epoch`` is the Unix time of the sandbox clock's reading 0. Weekly rows carry
    the ISO week and its ISO year.
    """
    totals: dict[tuple[int, ...], list[int]] = {}
    for record in records:
        if query.correlation_id is not None and (
            record.fields.get("correlation_id") != query.correlation_id
        ):
            continue
        day = dt.datetime.fromtimestamp(wall_epoch + record.created_at, dt.timezone.utc).date()
        if (query.from_date is not None and day < query.from_date) or (
            query.to_date is not None and day > query.to_date
        ):
            continue
        total = totals.setdefault(_period(day, query.breakdown), [0, 0])
        total[0] += 1
        total[1] += video_seconds(record)
    return [
        _row(period, query.breakdown, count, seconds)
        for period, (count, seconds) in sorted(totals.items())
    ]
