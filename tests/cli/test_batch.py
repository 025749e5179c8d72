"""videoapi batch: results, the JSON stream, and re-runs that never create a row twice."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
from pathlib import Path

import pytest

from videoapi_async.cli._common import ExitCode
from videoapi_async.sandbox import ServerRateLimit
from videoapi_async.sandbox._faults import Fault

from .conftest import LoopSandbox, invoke

ROW_KEYS = [
    "row",
    "line",
    "video_id",
    "status",
    "ok",
    "video_player_url",
    "download_url",
    "file",
    "error",
]
CSV_TEXT = "name,source_draft_id,recipe_id\nIntro,d1,\n,d2,\nBroken,,\n\nOutro,,r4\n"


def _csv(tmp_path: Path, text: str = CSV_TEXT) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text(text)
    return path


def _jsonl(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "jobs.jsonl"
    lines = []
    for n in range(1, rows + 1):
        if n % 3 == 0:  # a tagged form: found again by its correlation id
            body = {"type": "override", "source_draft_id": f"d{n}", "scenes": [{"name": "s"}]}
        else:  # the flat form, unnamed: found again by its derived name
            body = {"source_draft_id": f"d{n}"}
        lines.append(json.dumps(body))
    path.write_text("\n".join(lines) + "\n")
    return path


def _assert_created_once(sandbox: LoopSandbox, rows: int) -> None:
    stats = sandbox.sandbox.stats
    assert stats.duplicate_creates() == {}
    assert len(stats.created_ids) == rows
    assert sorted(stats.creates_by_body.values()) == [1] * rows


def test_batch_creates_each_row_and_reports_the_malformed_one(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """Good rows become ready videos; the bad row is reported with its line; status is 1."""
    results = tmp_path / "results.csv"
    result = invoke(
        ["batch", str(_csv(tmp_path)), "--results", str(results)], env=cli_sandbox.env()
    )
    assert result.exit_code == ExitCode.RENDER_FAILED, result.stderr
    rows = list(csv.DictReader(results.read_text().splitlines()))
    assert list(rows[0]) == ROW_KEYS
    assert [(r["row"], r["line"], r["status"], r["ok"]) for r in rows] == [
        ("1", "2", "ready", "true"),
        ("2", "3", "ready", "true"),
        ("3", "4", "invalid", "false"),
        ("4", "6", "ready", "true"),
    ]
    assert "source_draft_id or recipe_id" in rows[2]["error"]
    assert all(r["video_player_url"] for r in rows if r["ok"] == "true")
    assert "3 of 4 rows ok, 1 invalid" in result.stdout
    _assert_created_once(cli_sandbox, 3)
    names = {record.body["name"] for record in cli_sandbox.sandbox.records}  # type: ignore[index]
    assert "Intro" in names  # the user's own name is kept
    assert any(name.startswith("batch-") and name.endswith("-row-2") for name in names)


def test_batch_json_streams_one_line_per_row_then_a_summary(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """--json prints JSON Lines: a row record as each row finishes, a summary last."""
    result = invoke(["batch", str(_jsonl(tmp_path, 3)), "--json"], env=cli_sandbox.env())
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["type"] for record in records] == ["row", "row", "row", "summary"]
    assert all(list(record)[1:] == ROW_KEYS for record in records[:3])
    assert sorted(record["row"] for record in records[:3]) == [1, 2, 3]
    summary = records[-1]
    assert (summary["rows"], summary["ok"], summary["creates_sent"]) == (3, 3, 3)
    assert summary["journal"] == str(tmp_path / "jobs.jsonl.videoapi-journal.sqlite")


def test_running_a_finished_batch_again_creates_nothing(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """A re-run reports every row from the journal and sends no create."""
    jobs = _jsonl(tmp_path, 4)
    first = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert first.exit_code == 0, first.stderr
    again = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert again.exit_code == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert (summary["creates_sent"], summary["already_done"], summary["ok"]) == (0, 4, 4)
    _assert_created_once(cli_sandbox, 4)


def test_the_journal_refuses_a_changed_input_or_another_api(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """A journal is bound to its input's hash and its base URL; misuse exits 2, sends nothing."""
    jobs = _jsonl(tmp_path, 2)
    assert invoke(["batch", str(jobs)], env=cli_sandbox.env()).exit_code == 0
    elsewhere = {**cli_sandbox.env(), "VIDEOAPI_BASE_URL": "http://127.0.0.1:9/api/v1"}
    moved = invoke(["batch", str(jobs)], env=elsewhere)
    assert moved.exit_code == ExitCode.USAGE
    assert "was made against" in moved.stderr
    jobs.write_text(jobs.read_text() + json.dumps({"recipe_id": "new"}) + "\n")
    changed = invoke(["batch", str(jobs)], env=cli_sandbox.env())
    assert changed.exit_code == ExitCode.USAGE
    assert "belongs to another input" in changed.stderr
    assert "--amend" in changed.stderr
    _assert_created_once(cli_sandbox, 2)


@pytest.mark.parametrize(
    ("name", "text", "extra", "message"),
    [
        ("jobs.txt", "x", [], "cannot tell the format"),
        ("jobs.csv", "nom,source_draft_id\n", [], "'nom'"),
        ("jobs.csv", "name,source_draft_id\n", ["--results", "out.xlsx"], ".csv or .jsonl"),
    ],
)
@pytest.mark.usefixtures("clean_env")
def test_a_bad_input_file_exits_2(
    tmp_path: Path, name: str, text: str, extra: list[str], message: str
) -> None:
    """An input the command cannot read, or a results file it cannot write, is a usage error."""
    path = tmp_path / name
    path.write_text(text)
    result = invoke(["--sandbox", "batch", str(path), *extra])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert not (tmp_path / f"{name}.videoapi-journal.sqlite").exists()


def test_a_refused_key_stops_the_batch_and_a_rerun_finishes_it(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """With a wrong key the batch stops (status 3, nothing created); the right key finishes it."""
    jobs = _jsonl(tmp_path, 3)
    wrong = invoke(["batch", str(jobs)], env={**cli_sandbox.env(), "VIDEOAPI_API_KEY": "bad"})
    assert wrong.exit_code == ExitCode.API_ERROR
    assert "401" in wrong.stderr
    right = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert right.exit_code == 0, right.stderr
    _assert_created_once(cli_sandbox, 3)


def test_batch_downloads_and_a_rerun_keeps_the_files(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """--download saves each ready video and names it in the results; a re-run keeps them."""
    jobs = _jsonl(tmp_path, 2)
    out = tmp_path / "videos"
    results = tmp_path / "results.jsonl"
    state = tmp_path / "state" / "journal.sqlite"
    state.parent.mkdir()
    args = ["batch", str(jobs), "--download", str(out), "--results", str(results)]
    args += ["--state", str(state)]
    first = invoke(args, env=cli_sandbox.env())
    assert first.exit_code == 0, first.stderr
    assert state.exists()
    assert not (tmp_path / "jobs.jsonl.videoapi-journal.sqlite").exists()
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    files = sorted(Path(row["file"]) for row in rows)
    assert files == sorted(out / f"{row['video_id']}.mp4" for row in rows)
    stamps = [path.stat().st_mtime_ns for path in files]
    again = invoke(args, env=cli_sandbox.env())
    assert again.exit_code == 0, again.stderr
    assert [path.stat().st_mtime_ns for path in files] == stamps
    _assert_created_once(cli_sandbox, 2)


def _interrupt_on_post(sandbox: LoopSandbox, count: int) -> asyncio.Task[None]:
    """Send this process SIGINT (Ctrl-C) once the sandbox has received `count` creates.

    The watch runs on the sandbox's loop and looks every 2 ms of simulated time, well
    within the slow answer it interrupts.
    """

    async def watch() -> None:
        # The sandbox has no event to await for a request: read its counters.
        while sandbox.sandbox.stats.requests["POST /videos"] < count:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        os.kill(os.getpid(), signal.SIGINT)

    return sandbox.loop.loop.create_task(watch())


def test_a_batch_interrupted_mid_way_resumes_and_creates_every_row_once(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """Ctrl-C with one create's answer lost and another in flight: the re-run finds both."""
    rows = 7
    jobs = _jsonl(tmp_path, rows)
    faults = cli_sandbox.sandbox.faults
    cli_sandbox.run(
        lambda: faults.queue(
            "POST /videos",
            Fault("delay", seconds=0),  # row 1: answered
            "drop_response",  # row 2: stored, but the answer never arrives
            Fault("slow_body", seconds=0.3),  # row 3: stored, answer still coming at Ctrl-C
        )
    )
    watcher = _interrupt_on_post(cli_sandbox, 3)
    stopped = invoke(["batch", str(jobs), "--concurrency", "1"], env=cli_sandbox.env())
    assert watcher.done()
    assert stopped.exit_code == ExitCode.INTERRUPTED, stopped.stderr
    assert "is intact" in stopped.stderr
    assert f"videoapi batch {jobs}" in stopped.stderr
    assert len(cli_sandbox.sandbox.stats.created_ids) == 3

    resumed = invoke(["batch", str(jobs), "--json", "--lost-grace", "0.5"], env=cli_sandbox.env())
    assert resumed.exit_code == 0, resumed.stderr
    summary = json.loads(resumed.stdout.splitlines()[-1])
    assert summary["found_again"] == 2
    assert summary["ok"] == rows
    assert summary["creates_sent"] == rows - 3
    _assert_created_once(cli_sandbox, rows)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_max_rps_keeps_a_batch_under_the_servers_rate_limit(
    cli_sandbox: LoopSandbox, tmp_path: Path, how: str
) -> None:
    """Capped below the server's 5 requests/s by --max-rps (or VIDEOAPI_MAX_RPS): no 429."""
    limiter = ServerRateLimit(rate=5, burst=10)
    cli_sandbox.run(lambda: cli_sandbox.sandbox.set_rate_limit(limiter))
    jobs = _jsonl(tmp_path, 16)
    args = ["batch", str(jobs), "--concurrency", "16", "--json"]
    env = cli_sandbox.env()
    if how == "option":
        args += ["--max-rps", "4"]
    else:
        env["VIDEOAPI_MAX_RPS"] = "4"
    result = invoke(args, env=env)
    assert result.exit_code == 0, result.stderr
    stats = cli_sandbox.sandbox.stats
    assert stats.total_requests > 16
    assert stats.responses[429] == 0
    _assert_created_once(cli_sandbox, 16)


@pytest.mark.usefixtures("clean_env")
def test_a_max_rps_of_zero_is_a_usage_error() -> None:
    """A cap must be a positive number of requests per second."""
    result = invoke(["--sandbox", "list", "--max-rps", "0"])
    assert result.exit_code == ExitCode.USAGE
    assert "--max-rps" in result.stderr
