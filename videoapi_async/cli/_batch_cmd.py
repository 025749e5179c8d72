"""``videoapi batch FILE``: a bulk job from CSV or JSON Lines, safe to stop and run again."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
from rich.table import Table
from rich.text import Text

from videoapi_async import CreateVideoRequest, RenderUpdate, Video, VideoAPIError

if TYPE_CHECKING:
    from videoapi_async import VideoAPI

from ._amend import plan_amendment
from ._batch import (
    LOST_GRACE,
    BatchObserver,
    BatchRunner,
    plan_rows,
    preexisting_ids,
    row_json,
)
from ._common import (
    BATCH_POLL,
    CliError,
    ExitCode,
    Interrupted,
    Settings,
    client_error,
    emit_json,
    human_console,
    open_client,
    progress_console,
    run_async,
    safe_text,
)
from ._download import Downloader
from ._input import InputFileError, InputRow, detect_format, read_rows
from ._journal import JOURNAL_SUFFIX, Journal, JournalError, RowPlan, RowRecord
from ._options import api_command
from ._progress import RenderBoard
from ._root import command_help
from ._shapes import ROW_FIELDS

__all__ = ["batch", "run_batch_file", "write_results"]

_RESULT_SUFFIXES: Final = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SHOWN_ROWS: Final = 25


class _Board(BatchObserver):
    """Live bars: the whole batch, and the renders in flight."""

    def __init__(self, board: RenderBoard) -> None:
        self.board = board

    def sending(self, row: RowRecord) -> None:
        self.board.add(str(row.row), f"row {row.row}")

    def created(self, row: int, video: Video, *, adopted: bool) -> None:
        self.board.add(str(row), f"row {row}")
        self.board.note(str(row), "found again" if adopted else video.status.value)

    def update(self, row: int, update: RenderUpdate) -> None:
        self.board.update(str(row), update)

    def note(self, row: int, text: str) -> None:
        self.board.add(str(row), f"row {row}")
        self.board.note(str(row), text)

    def finished(self, row: RowRecord) -> None:
        shown = row_json(row)
        state = str(shown["status"])
        if row.state == "invalid":
            self.board.log(f"row {row.row} (line {row.line}) is invalid: {row.error}")
        self.board.finish(str(row.row), ok=bool(shown["ok"]), state=state)


class _Lines(_Board):
    """JSON Lines on stdout, one per row as it finishes (and bars on a terminal)."""

    def finished(self, row: RowRecord) -> None:
        super().finished(row)
        emit_json({"type": "row", **row_json(row)})


def _discard(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_results(path: Path, rows: Sequence[RowRecord]) -> None:
    """Write one result per row to ``path`` (CSV or JSON Lines by its suffix), atomically."""
    kind = _RESULT_SUFFIXES[path.suffix.lower()]
    buffer = io.StringIO(newline="")
    if kind == "csv":
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row_json(row).items()})
    else:
        for row in rows:
            buffer.write(json.dumps(row_json(row), ensure_ascii=False) + "\n")
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temporary, path)


async def run_batch_file(
    api: VideoAPI,
    journal: Journal,
    data: bytes,
    *,
    input_name: str,
    fmt: str,
    concurrency: int = 4,
    timeout: float | None = None,
    download_dir: Path | None = None,
    overwrite: bool = False,
    observer: BatchObserver | None = None,
    lost_grace: float = LOST_GRACE,
    amend: bool = False,
    rows: Sequence[InputRow] | None = None,
) -> BatchRunner:
    """Run (or resume) the batch of ``data`` under ``journal``; return the finished runner.

    A new journal is filled first: every row with its marker, and the videos already in
    the account that share a marker. An existing journal must have been made against the
    same API, and for the same input (same SHA-256) unless ``amend`` (see `_amend`).

    Raises:
        JournalError: The journal belongs to another API, or to another input without
            ``amend``.
        InputFileError: The input cannot be read.
        VideoAPIError: The API refused the key, or could not be asked about lost creates.
    """
    digest = hashlib.sha256(data).hexdigest()
    base_url = api.base_url.rstrip("/")
    if rows is None:
        rows = list(read_rows(data, "csv" if fmt == "csv" else "jsonl"))
    requests: dict[int, CreateVideoRequest] = {}
    if journal.is_new:
        plans = plan_rows(rows, digest[:12])
        requests = {plan.row: plan.request for plan in plans if plan.request is not None}
        existing = preexisting_ids(plans, await api.list_videos())
        journal.initialise(
            meta={
                "input_sha256": digest,
                "input_name": input_name,
                "base_url": base_url,
                "batch_tag": digest[:12],
            },
            rows=plans,
            preexisting=existing,
        )
    else:
        meta = journal.meta()
        if meta.get("base_url") != base_url:
            raise JournalError(
                f"the journal {journal.path} was made against {meta.get('base_url')}, not "
                f"{base_url}: pass --base-url {meta.get('base_url')}"
            )
        if meta.get("input_sha256") != digest:
            if not amend:
                raise JournalError(
                    f"the journal {journal.path} belongs to another input: it was made for "
                    f"{meta.get('input_name')} with SHA-256 "
                    f"{meta.get('input_sha256', '?')[:12]}..., and this input's is "
                    f"{digest[:12]}... Run it with that file unchanged, or pass --amend to "
                    "take the edited file: rows that have a video keep it and are never "
                    "rendered again, and only new or corrected rows are created"
                )
            added = await _amend_journal(api, journal, rows, meta, digest, input_name)
            requests = {plan.row: plan.request for plan in added if plan.request is not None}
    downloader = Downloader(download_dir, overwrite=overwrite) if download_dir else None
    runner = BatchRunner(
        api,
        journal,
        concurrency=concurrency,
        timeout=timeout,
        downloader=downloader,
        observer=observer,
        lost_grace=lost_grace,
        requests=requests,
    )
    if downloader is not None:
        async with downloader:
            await runner.run()
    else:
        await runner.run()
    return runner


async def _amend_journal(
    api: VideoAPI,
    journal: Journal,
    rows: Sequence[InputRow],
    meta: dict[str, str],
    digest: str,
    input_name: str,
) -> Sequence[RowPlan]:
    """Take an edited input into ``journal`` (see `_amend`); return the rows it added."""
    amendment = plan_amendment(
        journal.rows(),
        rows,
        tag=meta.get("batch_tag") or digest[:12],
        last_row=int(meta.get("last_row") or 0),
    )
    existing: list[str] = []
    if amendment.new:
        owned = journal.owned_ids()
        listed = await api.list_videos()
        existing = [i for i in preexisting_ids(amendment.new, listed) if i not in owned]
    for row, line in amendment.refused:
        message = (
            f"row {row} (line {line}) already has a video, so its edit was not sent; add the "
            "new request as a new row to render it"
        )
        click.echo(f"Warning: {message}", err=True)
    journal.amend(
        lines=amendment.lines,
        drop=amendment.drop,
        rows=amendment.new,
        meta={
            "input_sha256": digest,
            "input_name": input_name,
            "last_row": str(amendment.last_row),
        },
        preexisting=existing,
    )
    return amendment.new


_BATCH_HELP: Final = """\b
CSV columns are the create fields: name, source_draft_id, recipe_id, folder_id,
palette_id, character_id, voice_id. A JSON Lines row is any create body, tagged
forms included. A malformed row is reported with its line; the others go on.

\b
The journal beside FILE records each row before its create is sent and its video
as soon as it is known. Run the same command again after Ctrl-C or a crash: rows
with a video are waited on, finished rows are reported, and a create whose answer
was lost is looked for (by its name or correlation_id) before it is ever sent again.

\b
Edited FILE since? Run with --amend: rows that already have a video keep it and are
never sent again (an edit of such a row is reported, not rendered), corrected rows
and new rows are created, and rows removed from FILE without a video are dropped.
"""


@click.command(help=command_help("batch", _BATCH_HELP))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="The most creates in flight at once.",
)
@click.option(
    "--results",
    "results_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Write one result per row to PATH (.csv or .jsonl).",
)
@click.option(
    "--download",
    "download_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Download each finished video into DIR (as VIDEO_ID.mp4).",
)
@click.option("--overwrite", is_flag=True, help="Replace downloaded files that already exist.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help=f"The journal to keep (default: FILE{JOURNAL_SUFFIX}).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop waiting for a render after this long (run again to keep waiting).",
)
@click.option(
    "--amend",
    is_flag=True,
    help="Accept an edited FILE: corrected and new rows are created; rows that already "
    "have a video keep it and are never rendered again.",
)
@click.option(
    "--lost-grace",
    type=click.FloatRange(min=0),
    default=LOST_GRACE,
    show_default=True,
    metavar="SECONDS",
    help="How long the server may take to store a create whose answer was lost (or that "
    "was in flight when a run stopped) before its video is looked for.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="The input's format (default: from its extension).",
)
@api_command
def batch(
    file: Path,
    *,
    settings: Settings,
    as_json: bool,
    concurrency: int,
    results_path: Path | None,
    download_dir: Path | None,
    overwrite: bool,
    state_path: Path | None,
    timeout: float | None,
    lost_grace: float,
    amend: bool,
    fmt: str | None,
) -> int:
    """Run ``videoapi batch`` (its help is in `COMMANDS` and `_BATCH_HELP`)."""
    settings.check()
    if results_path is not None and results_path.suffix.lower() not in _RESULT_SUFFIXES:
        raise CliError("--results must end in .csv or .jsonl", ExitCode.USAGE)
    try:
        kind = detect_format(file, fmt)
        data = file.read_bytes()
        input_rows = list(read_rows(data, kind))
    except InputFileError as exc:
        raise CliError(f"{file}: {exc}", ExitCode.USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc}", ExitCode.USAGE) from None
    if settings.sandbox and state_path is None:
        journal_where: str = ":memory:"  # a sandbox of this command only: nothing to resume
    else:
        journal_where = str(state_path or file.with_name(file.name + JOURNAL_SUFFIX))
    existed = journal_where != ":memory:" and Path(journal_where).exists()
    started = time.monotonic()
    holder: dict[str, Any] = {}

    async def work() -> None:
        journal = Journal.open(journal_where)
        try:
            async with open_client(settings, poll=BATCH_POLL) as api:
                with RenderBoard(
                    progress_console(), total=len(input_rows), keep_finished=False, max_visible=8
                ) as board:
                    observer = _Lines(board) if as_json else _Board(board)
                    holder["runner"] = await run_batch_file(
                        api,
                        journal,
                        data,
                        input_name=file.name,
                        fmt=kind,
                        concurrency=concurrency,
                        timeout=timeout,
                        download_dir=download_dir,
                        overwrite=overwrite,
                        observer=observer,
                        lost_grace=lost_grace,
                        amend=amend,
                        rows=input_rows,
                    )
                holder["stats"] = api.stats
        finally:
            fresh = journal.is_new
            if not fresh:
                holder["rows"] = journal.rows()
                if results_path is not None:
                    write_results(results_path, holder["rows"])
            journal.close()
            if fresh and not existed and journal_where != ":memory:":
                _discard(journal_where)  # nothing was sent: leave no trace

    try:
        run_async(work)
    except JournalError as exc:
        raise CliError(str(exc), ExitCode.USAGE) from None
    except Interrupted:
        rows: list[RowRecord] = holder.get("rows", [])
        if not rows:
            raise Interrupted("interrupted before any create was sent") from None
        done = sum(1 for row in rows if row.state in ("done", "invalid"))
        if journal_where == ":memory:":
            raise Interrupted(
                f"interrupted with {done} of {len(rows)} rows finished (the sandbox of this "
                "command is gone, so there is nothing to resume)"
            ) from None
        again = f"videoapi batch {file}" + (f" --state {state_path}" if state_path else "")
        raise Interrupted(
            f"interrupted with {done} of {len(rows)} rows finished; the journal "
            f"{journal_where} is intact. Run '{again}' (with the same options) to resume"
        ) from None
    except VideoAPIError as exc:
        raise client_error(exc) from None
    rows = holder["rows"]
    results = [row_json(row) for row in rows]
    failed = [item for item in results if not item["ok"]]
    summary = _summary(results, holder["runner"], holder.get("stats", {}), started)
    summary.update(journal=None if journal_where == ":memory:" else journal_where)
    summary.update(results=str(results_path) if results_path else None)
    if as_json:
        emit_json({"type": "summary", **summary})
    else:
        _print_summary(summary, results, failed)
    return ExitCode.RENDER_FAILED if failed else ExitCode.OK


def _summary(
    results: Sequence[dict[str, Any]], runner: BatchRunner, stats: dict[str, int], started: float
) -> dict[str, Any]:
    statuses = [item["status"] for item in results]
    counts = runner.counts
    return {
        "rows": len(results),
        "ok": sum(1 for item in results if item["ok"]),
        "ready": sum(1 for s in statuses if s in ("ready", "published")),
        "failed": sum(1 for s in statuses if s in ("failed", "cancelled", "stopped")),
        "invalid": statuses.count("invalid"),
        "rejected": statuses.count("rejected"),
        "unknown": statuses.count("unknown"),
        "unfinished": sum(
            1 for item in results if item["status"] not in _FINAL and item["video_id"] is not None
        ),
        "creates_sent": counts.creates_sent,
        "found_again": counts.adopted,
        "already_done": counts.skipped,
        "downloaded": counts.downloaded,
        "polls": stats.get("polls", 0) + stats.get("list_polls", 0),
        "elapsed": round(time.monotonic() - started, 3),
    }


_FINAL: Final = frozenset(
    {"ready", "published", "failed", "cancelled", "stopped", "invalid", "rejected"}
)


def _print_summary(
    summary: dict[str, Any], results: Sequence[dict[str, Any]], failed: Sequence[dict[str, Any]]
) -> None:
    console = human_console()
    if len(results) <= _SHOWN_ROWS:
        table = Table(box=None, pad_edge=False)
        for column in ("ROW", "LINE", "VIDEO", "STATUS", "PLAYER / FILE"):
            table.add_column(column, overflow="fold")
        for item in results:
            where = item["file"] or item["video_player_url"] or item["error"] or ""
            style = "green" if item["ok"] else "red"
            table.add_row(
                str(item["row"]),
                str(item["line"]),
                item["video_id"] or "-",
                Text(safe_text(str(item["status"])), style=style),
                where,
            )
        console.print(table)
    parts = [f"{summary['ok']} of {summary['rows']} rows ok"]
    for key in ("failed", "invalid", "rejected", "unknown", "unfinished"):
        if summary[key]:
            parts.append(f"{summary[key]} {key}")
    console.print(", ".join(parts) + f" in {summary['elapsed']:.1f} s.")
    console.print(
        f"Creates sent: {summary['creates_sent']}, found again after a lost answer: "
        f"{summary['found_again']}, already done before this run: {summary['already_done']}, "
        f"polls: {summary['polls']}."
    )
    if failed and len(results) > _SHOWN_ROWS:
        for item in failed[:_SHOWN_ROWS]:
            console.print(
                f"  row {item['row']} (line {item['line']}): {item['status']}: "
                f"{item['error'] or ''}"
            )
        if len(failed) > _SHOWN_ROWS:
            console.print(f"  ... and {len(failed) - _SHOWN_ROWS} more")
    if summary["results"]:
        console.print(f"Results: {summary['results']}")
    elif len(results) > _SHOWN_ROWS:
        console.print("Pass --results PATH (.csv or .jsonl) for one result per row.")
    if summary["journal"]:
        console.print(f"Journal: {summary['journal']} (run the same command to resume or retry)")
