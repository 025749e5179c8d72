"""The batch journal: durable transitions, one user at a time, and no foreign files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from videoapi_async import Video, VideoStatus
from videoapi_async.cli._journal import Journal, JournalError, RowPlan

PLANS = [
    RowPlan(row=1, line=2, body={"name": "a", "recipe_id": "r"}, marker_field="name", marker="a"),
    RowPlan(row=2, line=3, body=None, error="bad row"),
]


def _video(status: VideoStatus) -> Video:
    return Video(id="vid-1", status=status, req_id="r", draft_id="d", video_player_url="p")


def test_every_transition_survives_closing_the_journal(tmp_path: Path) -> None:
    """Rows, their states and the pre-existing ids read back the same after a reopen."""
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path)
    assert journal.is_new
    journal.initialise(meta={"input_sha256": "abc"}, rows=PLANS, preexisting=["old-1"])
    journal.mark_sent(1)
    journal.mark_created(1, _video(VideoStatus.PROCESSING))
    journal.mark_done(1, _video(VideoStatus.READY))
    journal.mark_file(1, "out/vid-1.mp4")
    journal.close()

    again = Journal.open(path)
    try:
        assert not again.is_new
        assert again.meta()["input_sha256"] == "abc"
        first, second = again.rows()
        assert (first.state, first.video_id, first.status, first.file, first.sends) == (
            "done",
            "vid-1",
            "ready",
            "out/vid-1.mp4",
            1,
        )
        assert (second.state, second.error, second.body) == ("invalid", "bad row", None)
        assert again.preexisting() == {"old-1"}
        assert again.owned_ids() == {"vid-1"}
    finally:
        again.close()


def test_the_journal_is_written_ahead_and_synced(tmp_path: Path) -> None:
    """The database runs in WAL mode, so a crash mid-write cannot corrupt it."""
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        check.close()


def test_a_second_batch_cannot_use_a_journal_in_use(tmp_path: Path) -> None:
    """While one run holds the journal, another is refused (both would create videos)."""
    path = tmp_path / "j.sqlite"
    first = Journal.open(path)
    try:
        first.initialise(meta={}, rows=PLANS)
        with pytest.raises(JournalError, match="in use by another"):
            Journal.open(path)
    finally:
        first.close()
    Journal.open(path).close()  # free again once the first run ends


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    """Pointing --state at some other file fails instead of damaging it."""
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just notes\n" * 100)
    with pytest.raises(JournalError, match="not a videoapi batch journal"):
        Journal.open(path)
    assert path.read_text().startswith("not a database")
