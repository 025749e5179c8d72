"""The batch journal: what ``videoapi batch`` has done for each row, kept in SQLite.

Every transition of a row is committed before the next step is taken, so a batch that
stops at any moment (Ctrl-C, a crash, a lost connection) can be run again without
losing a render or paying for one twice. The database uses WAL mode with full sync, and
one process at a time holds it (an exclusive lock, taken when it is opened).

Schema (version 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)      schema, input_sha256, input_name,
                                                base_url, batch_tag, created_at,
                                                last_row (the highest row number
                                                given, once an input was amended)
    rows(row INTEGER PRIMARY KEY,               the row number, from 1
         line INTEGER,                          where the row starts in the input
         body TEXT,                             the create body to send (JSON); NULL if invalid
         marker_field TEXT, marker TEXT,        how the row's video is found again:
                                                ("name" | "correlation_id", value)
         user_marker INTEGER,                   1 when the marker is the user's own value
         state TEXT,                            see below
         video_id TEXT, status TEXT,            the row's video and its last known status
         video_player_url TEXT, download_url TEXT,
         file TEXT,                             where the video was downloaded
         error TEXT,                            the last problem, for the report
         sends INTEGER,                         creates sent for this row, all runs
         updated_at REAL)
    preexisting(video_id TEXT PRIMARY KEY)      videos already in the account when the
                                                journal was made, that share a row's marker

Row states: ``pending`` (not sent), ``sent`` (create sent, answer not recorded: the video
may exist), ``created`` (has a video id; the render has not been seen to end),
``done`` (the render ended: ``status`` says how), ``rejected`` (the API refused the
create, so no video was made), ``invalid`` (the input row is malformed; never sent).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from videoapi_async import CreateVideoRequest, Video

__all__ = ["JOURNAL_SUFFIX", "Journal", "JournalError", "RowPlan", "RowRecord"]

JOURNAL_SUFFIX: Final = ".videoapi-journal.sqlite"
"""Added to the input file's name to make the default journal path."""

SCHEMA_VERSION: Final = "1"

_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rows (
    row INTEGER PRIMARY KEY,
    line INTEGER NOT NULL,
    body TEXT,
    marker_field TEXT,
    marker TEXT,
    user_marker INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    video_id TEXT,
    status TEXT,
    video_player_url TEXT,
    download_url TEXT,
    file TEXT,
    error TEXT,
    sends INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE INDEX rows_video_id ON rows(video_id);
CREATE TABLE preexisting (video_id TEXT PRIMARY KEY);
"""

_COLUMNS: Final = (
    "row, line, body, marker_field, marker, user_marker, state, video_id, status, "
    "video_player_url, download_url, file, error, sends, updated_at"
)


class JournalError(Exception):
    """The journal cannot be used: another input, another API, locked, or damaged."""


@attrs.frozen(kw_only=True)
class RowPlan:
    """A row as first written to a new journal."""

    row: int
    line: int
    body: dict[str, Any] | None
    marker_field: str | None = None
    marker: str | None = None
    user_marker: bool = False
    error: str | None = None
    request: CreateVideoRequest | None = attrs.field(default=None, eq=False)
    """The checked request of ``body``, kept for this run (it is not written)."""


@attrs.frozen(kw_only=True)
class RowRecord:
    """A row as the journal holds it now (see the module docstring for the fields)."""

    row: int
    line: int
    body: dict[str, Any] | None
    marker_field: str | None
    marker: str | None
    user_marker: bool
    state: str
    video_id: str | None
    status: str | None
    video_player_url: str | None
    download_url: str | None
    file: str | None
    error: str | None
    sends: int
    updated_at: float = 0.0


class Journal:
    """One batch's journal. Open it with `Journal.open`; every method commits at once."""

    def __init__(self, connection: sqlite3.Connection, path: str, *, new: bool) -> None:
        self._db = connection
        self.path = path
        self.is_new = new

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (or create, empty) the journal at ``path``; ``":memory:"`` keeps it in memory.

        Raises:
            JournalError: Another process holds the journal, it is not a journal, it was
                written by another version, or it is damaged (every row is read once here,
                so damage is found before anything is sent).
        """
        where = str(path)
        if where != ":memory:" and _is_empty_file(where):
            raise JournalError(_damaged(where, "the file is empty (0 bytes)"))
        try:
            db = sqlite3.connect(where, isolation_level=None, timeout=0)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {where}: {exc}") from None
        try:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")  # take the lock now, for the whole run
            db.execute("COMMIT")
            tables = {
                name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise JournalError(
                    f"the journal {where} is in use by another videoapi batch; wait for it "
                    "to finish (running both could create videos twice)"
                ) from None
            raise JournalError(f"cannot use the journal {where}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            db.close()
            raise JournalError(
                f"{where} is not a videoapi batch journal, or a damaged one ({exc}). "
                + _DAMAGED_ADVICE
            ) from None
        journal = cls(db, where, new=not tables)
        if not tables:
            return journal
        try:
            if not {"meta", "rows", "preexisting"} <= tables:
                raise JournalError(f"{where} is not a videoapi batch journal")
            schema = journal.meta().get("schema")
            if schema != SCHEMA_VERSION:
                raise JournalError(
                    f"the journal {where} was written by another version of videoapi "
                    f"(schema {schema!r}, this version writes {SCHEMA_VERSION!r}); finish "
                    "the batch with that version, or see 'videoapi batch --help' to start over"
                )
            journal.check()
        except sqlite3.DatabaseError as exc:
            journal.close()
            raise JournalError(_damaged(where, str(exc))) from None
        except BaseException:
            journal.close()
            raise
        return journal

    def check(self) -> None:
        """Read the whole journal once; raise `JournalError` if any of it is damaged."""
        try:
            (verdict,) = self._db.execute("PRAGMA quick_check(1)").fetchone()
            if verdict != "ok":
                raise JournalError(_damaged(self.path, f"SQLite reports: {verdict}"))
            self.rows()
            self.preexisting()
        except sqlite3.DatabaseError as exc:
            raise JournalError(_damaged(self.path, str(exc))) from None

    def close(self) -> None:
        """Close the database (and release its lock). Safe to call more than once."""
        self._db.close()

    # --- creation ----------------------------------------------------------------------

    def initialise(
        self,
        *,
        meta: dict[str, str],
        rows: Sequence[RowPlan],
        preexisting: Iterable[str] = (),
    ) -> None:
        """Write a new journal's schema, metadata, rows and pre-existing videos at once."""
        now = time.time()
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                {**meta, "schema": SCHEMA_VERSION, "created_at": repr(now)}.items(),
            )
            _add_rows(db, rows, preexisting, now)
        self.is_new = False

    def amend(
        self,
        *,
        lines: dict[int, int],
        drop: Sequence[int],
        rows: Sequence[RowPlan],
        meta: dict[str, str],
        preexisting: Iterable[str] = (),
    ) -> None:
        """Take an edited input at once: new line numbers, dropped rows, new rows, metadata."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE rows SET line = ? WHERE row = ?", [(v, k) for k, v in lines.items()]
            )
            db.executemany(
                "DELETE FROM rows WHERE row = ? AND video_id IS NULL", [(row,) for row in drop]
            )
            _add_rows(db, rows, preexisting, time.time())
            db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta.items())

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one transaction: all of it is written, or none."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- reading -----------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """Return the journal's metadata."""
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def rows(self) -> list[RowRecord]:
        """Return every row, in row order."""
        cursor = self._db.execute(f"SELECT {_COLUMNS} FROM rows ORDER BY row")
        return [_record(values) for values in cursor.fetchall()]

    def row(self, row: int) -> RowRecord:
        """Return one row as it is now."""
        values = self._db.execute(f"SELECT {_COLUMNS} FROM rows WHERE row = ?", (row,)).fetchone()
        if values is None:
            raise KeyError(row)
        return _record(values)

    def owned_ids(self) -> set[str]:
        """Return the ids of the videos that rows of this journal already own."""
        cursor = self._db.execute("SELECT video_id FROM rows WHERE video_id IS NOT NULL")
        return {video_id for (video_id,) in cursor.fetchall()}

    def preexisting(self) -> set[str]:
        """Return the ids of videos that were in the account before the journal was made."""
        return {video_id for (video_id,) in self._db.execute("SELECT video_id FROM preexisting")}

    # --- transitions (each one committed) ----------------------------------------------

    def _update(self, row: int, **values: Any) -> None:
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in values)
        self._db.execute(f"UPDATE rows SET {assignments} WHERE row = ?", (*values.values(), row))

    def mark_sent(self, row: int) -> None:
        """Record that the row's create is about to be sent (the video may exist from now)."""
        self._db.execute(
            "UPDATE rows SET state = 'sent', sends = sends + 1, error = NULL, updated_at = ? "
            "WHERE row = ?",
            (time.time(), row),
        )

    def mark_created(self, row: int, video: Video) -> None:
        """Record the row's video, as soon as its id is known."""
        self._update(row, state="created", error=None, **_video_columns(video))

    def mark_status(self, row: int, video: Video) -> None:
        """Record the latest status of the row's video."""
        self._update(row, **_video_columns(video))

    def mark_done(self, row: int, video: Video) -> None:
        """Record that the row's render ended (ready, published, failed ...)."""
        self._update(row, state="done", error=None, **_video_columns(video))

    def mark_rejected(self, row: int, error: str) -> None:
        """Record that the API refused the row's create (no video was made)."""
        self._update(row, state="rejected", error=error)

    def mark_pending(self, row: int) -> None:
        """Put a row back in line to be created (no video of it exists)."""
        self._update(row, state="pending")

    def note_error(self, row: int, error: str | None) -> None:
        """Record a problem of the row without changing its state."""
        self._update(row, error=error)

    def mark_file(self, row: int, file: str) -> None:
        """Record where the row's video was downloaded."""
        self._update(row, file=file, error=None)


def _add_rows(
    db: sqlite3.Connection, rows: Sequence[RowPlan], preexisting: Iterable[str], now: float
) -> None:
    """Insert planned rows and the ids of videos that were there before them."""
    db.executemany(
        "INSERT INTO rows(row, line, body, marker_field, marker, user_marker, state, "
        "error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_plan_values(plan, now) for plan in rows],
    )
    db.executemany(
        "INSERT OR IGNORE INTO preexisting(video_id) VALUES (?)",
        [(video_id,) for video_id in preexisting],
    )


def _plan_values(plan: RowPlan, now: float) -> tuple[Any, ...]:
    return (
        plan.row,
        plan.line,
        json.dumps(plan.body, sort_keys=True) if plan.body is not None else None,
        plan.marker_field,
        plan.marker,
        int(plan.user_marker),
        "pending" if plan.body is not None else "invalid",
        plan.error,
        now,
    )


def _video_columns(video: Video) -> dict[str, Any]:
    return {
        "video_id": video.id,
        "status": video.status.value,
        "video_player_url": video.video_player_url or None,
        "download_url": video.download_url,
    }


_DAMAGED_ADVICE: Final = (
    "Nothing was sent. The journal is what tells which rows already have a video, so "
    "running without it could pay for them twice: restore the file from a backup, or "
    "check the account with 'videoapi list' and start a new journal with --state NEW_PATH "
    "for the rows that have no video yet"
)


def _is_empty_file(where: str) -> bool:
    try:
        return Path(where).stat().st_size == 0
    except OSError:
        return False


def _damaged(where: str, why: str) -> str:
    return f"the journal {where} is damaged ({why}). {_DAMAGED_ADVICE}"


def _body(text: str | None, row: int) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise sqlite3.DatabaseError(f"row {row} holds a create body that is not a JSON object")
    return body


_STATES: Final = frozenset({"pending", "sent", "created", "done", "rejected", "invalid"})


def _record(values: tuple[Any, ...]) -> RowRecord:
    (row, line, body, marker_field, marker, user_marker, state, video_id, status) = values[:9]
    player, download, file, error, sends, updated_at = values[9:]
    if state not in _STATES:
        raise sqlite3.DatabaseError(f"row {row} has an unknown state {state!r}")
    return RowRecord(
        row=row,
        line=line,
        body=_body(body, row),
        marker_field=marker_field,
        marker=marker,
        user_marker=bool(user_marker),
        state=state,
        video_id=video_id,
        status=status,
        video_player_url=player,
        download_url=download,
        file=file,
        error=error,
        sends=sends,
        updated_at=updated_at,
    )
