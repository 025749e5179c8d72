"""A damaged journal is refused with exit 2 and advice, and nothing is created again."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from videoapi_async.cli._common import ExitCode
from videoapi_async.cli._journal import Journal

from .conftest import LoopSandbox, invoke


def _jobs(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(json.dumps({"source_draft_id": f"d{n}"}) + "\n" for n in range(3)))
    return path


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _zero_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:] = bytes(len(data) - 4096)  # every page but the first
    path.write_bytes(bytes(data))


def _bad_json(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE rows SET body = '{\"source_draft_id\": ' WHERE row = 2")
    db.commit()
    db.close()


def _other_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_empty, "is damaged (the file is empty"),
        (_zero_pages, "damaged"),
        (_bad_json, "row 2 holds a create body that is not a JSON object"),
        (_other_schema, "another version of videoapi (schema '99'"),
    ],
)
def test_a_damaged_journal_is_refused_and_nothing_is_created_again(
    cli_sandbox: LoopSandbox,
    tmp_path: Path,
    damage: Callable[[Path], None],
    message: str,
) -> None:
    """Empty, zeroed, unreadable or other-version journals exit 2 with advice; none is resent."""
    jobs = _jobs(tmp_path)
    first = invoke(["batch", str(jobs)], env=cli_sandbox.env())
    assert first.exit_code == 0, first.stderr
    journal = tmp_path / "jobs.jsonl.videoapi-journal.sqlite"
    damage(journal)
    again = invoke(["batch", str(jobs), "--json"], env=cli_sandbox.env())
    assert again.exit_code == ExitCode.USAGE, again.stderr
    assert message in again.stderr
    assert "Nothing was sent" in again.stderr or "finish the batch" in again.stderr
    assert "Traceback" not in again.stderr
    assert len(cli_sandbox.sandbox.stats.created_ids) == 3
    assert journal.exists()  # the evidence is left where it was


def test_a_journal_of_another_version_is_refused_without_touching_a_closed_database(
    tmp_path: Path,
) -> None:
    """The schema check reads the version before closing, so the error is a JournalError."""
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path)
    journal.initialise(meta={}, rows=[])
    journal.close()
    _other_schema(path)
    with pytest.raises(Exception, match="another version") as caught:
        Journal.open(path)
    assert type(caught.value).__name__ == "JournalError"
