"""Taking an edited batch file into an existing journal, without rendering any row twice.

``videoapi batch FILE --amend`` accepts a FILE that changed since its journal was made:

* an input row whose request is one the journal already holds keeps that journal row,
  with its video (matched by the request, so moving rows around changes nothing);
* an input row the journal does not hold, at the place of a row that never made a video
  (a malformed row, a request the API refused), corrects that row and keeps its number;
* an input row the journal does not hold, at the place of a row that has a video, is an
  edit of a rendered row: it is *not* sent, the row keeps its video, and the edit is
  reported (to render the new request too, add it as a new row);
* any other input row the journal does not hold is new: it gets a new row number;
* a journal row that is no longer in FILE is kept when it has a video, or may have one
  (its create was sent and its answer lost), and dropped otherwise.

"At the place of" counts rows in file order, against the order of the input the journal
last ran with. A row that has a video is never sent again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ._batch import plan_rows
from ._input import InputRow
from ._journal import RowPlan, RowRecord

__all__ = ["Amendment", "plan_amendment"]


@attrs.frozen(kw_only=True)
class Amendment:
    """What to change in a journal to take an edited input.

    Attributes:
        lines: New line numbers of the rows kept, by row number.
        drop: Rows to delete (no video, and no longer in the input or replaced).
        new: Rows to write, with their markers; a number in ``drop`` is written anew.
        last_row: The highest row number ever given, after this amendment.
        refused: Edits of rows that have a video, as (row, line): not applied.
    """

    lines: dict[int, int]
    drop: tuple[int, ...]
    new: tuple[RowPlan, ...]
    last_row: int
    refused: tuple[tuple[int, int], ...] = ()


def _request_key(body: dict[str, Any] | None) -> str | None:
    return None if body is None else json.dumps(body, sort_keys=True)


def _user_request(record: RowRecord) -> str | None:
    """Return a journal row's request as the user wrote it (without a derived marker)."""
    body = record.body
    if body is not None and not record.user_marker and record.marker_field is not None:
        body = {key: value for key, value in body.items() if key != record.marker_field}
    return _request_key(body)


def _never_made_a_video(record: RowRecord) -> bool:
    return record.video_id is None and (
        record.sends == 0 or record.state in ("invalid", "rejected")
    )


def plan_amendment(
    records: Sequence[RowRecord], items: Iterable[InputRow], *, tag: str, last_row: int = 0
) -> Amendment:
    """Plan how the rows of an edited input map onto a journal's rows (module docstring)."""
    free: dict[str, list[RowRecord]] = {}
    for record in records:
        key = _user_request(record)
        if key is not None:
            free.setdefault(key, []).append(record)
    lines: dict[int, int] = {}
    unmatched: list[tuple[int, InputRow]] = []
    for place, item in enumerate(items, start=1):
        candidates = free.get(_request_key(item.body) or "", [])
        if item.body is not None and candidates:
            lines[candidates.pop(0).row] = item.line
        else:
            unmatched.append((place, item))
    # Where each unmatched journal row stood in the input it was last run with.
    at_place = {
        place: record
        for place, record in enumerate(sorted(records, key=lambda r: r.line), start=1)
        if record.row not in lines
    }
    dropped = {
        record.row
        for record in records
        if record.row not in lines and record.video_id is None and record.state != "sent"
    }
    next_row = max([last_row, *(record.row for record in records)]) + 1
    placed: list[InputRow] = []
    refused: list[tuple[int, int]] = []
    for place, item in unmatched:
        there = at_place.pop(place, None)
        if there is not None and _never_made_a_video(there):
            number = there.row  # a correction: the row keeps its number
        elif there is not None and there.row not in dropped:
            lines[there.row] = item.line  # an edit of a row that has a video: not sent
            refused.append((there.row, item.line))
            continue
        else:
            number, next_row = next_row, next_row + 1
        placed.append(attrs.evolve(item, row=number))
    return Amendment(
        lines=lines,
        drop=tuple(sorted(dropped)),
        new=tuple(plan_rows(placed, tag)),
        last_row=next_row - 1,
        refused=tuple(refused),
    )
