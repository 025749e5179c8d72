"""videoapi batch --amend: correct or append rows without rendering any row twice."""

from __future__ import annotations

import json
from pathlib import Path

from videoapi_async.cli._common import ExitCode

from .conftest import LoopSandbox, invoke

HEADER = "name,source_draft_id,recipe_id\n"


def _summary(stdout: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(stdout.splitlines()[-1])
    assert record["type"] == "summary"
    return record


def _rows(stdout: str) -> dict[int, dict[str, object]]:
    records = [json.loads(line) for line in stdout.splitlines()]
    return {int(r["row"]): r for r in records if r["type"] == "row"}


def test_a_corrected_row_and_an_appended_row_are_created_and_nothing_else(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """After fixing a malformed row and adding one, --amend sends exactly those two creates."""
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(HEADER + "A,d1,\nBroken,,\nC,d3,\n")
    first = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert first.exit_code == ExitCode.RENDER_FAILED, first.stderr
    assert _summary(first.stdout)["creates_sent"] == 2

    jobs.write_text(HEADER + "A,d1,\nFixed,d2,\nC,d3,\nD,,r4\n")
    refused = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert refused.exit_code == ExitCode.USAGE
    assert "--amend" in refused.stderr
    assert "created again" not in refused.stderr

    amended = invoke(["batch", str(jobs), "--json", "--amend"], env=cli_sandbox.env())
    assert amended.exit_code == 0, amended.stderr
    summary = _summary(amended.stdout)
    assert (summary["rows"], summary["ok"], summary["creates_sent"]) == (4, 4, 2)
    rows = _rows(amended.stdout)
    assert sorted(rows) == [1, 2, 3, 4]
    assert (rows[2]["line"], rows[4]["line"]) == (3, 5)
    stats = cli_sandbox.sandbox.stats
    assert stats.duplicate_creates() == {}
    assert len(stats.created_ids) == 4

    again = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert again.exit_code == 0, again.stderr  # the amended journal now belongs to FILE
    assert _summary(again.stdout)["creates_sent"] == 0


def test_an_edit_of_a_rendered_row_is_reported_and_not_rendered(
    cli_sandbox: LoopSandbox, tmp_path: Path
) -> None:
    """Moving rows sends nothing; renaming a row that has a video sends nothing either."""
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(HEADER + "A,d1,\nB,d2,\n")
    assert invoke(["batch", str(jobs)], env=cli_sandbox.env()).exit_code == 0
    jobs.write_text(HEADER + "B,d2,\nA,d1,\n")
    moved = invoke(["batch", str(jobs), "--json", "--amend"], env=cli_sandbox.env())
    assert moved.exit_code == 0, moved.stderr
    assert _summary(moved.stdout)["creates_sent"] == 0
    rows = _rows(moved.stdout)
    assert (rows[1]["line"], rows[2]["line"]) == (3, 2)
    jobs.write_text(HEADER + "B,d2,\nA renamed,d1,\n")
    edited = invoke(["batch", str(jobs), "--json", "--amend"], env=cli_sandbox.env())
    assert edited.exit_code == 0, edited.stderr
    assert _summary(edited.stdout)["creates_sent"] == 0
    assert "row 1 (line 3) already has a video" in edited.stderr
    assert len(cli_sandbox.sandbox.stats.created_ids) == 2
