"""Batch input: reading rows, giving each one a marker, and finding a lost create again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from videoapi_async import Video, VideoStatus, match_lost_creates
from videoapi_async.cli._batch import marker_of, plan_rows, preexisting_ids, row_json
from videoapi_async.cli._input import (
    InputError,
    InputFileError,
    InputRow,
    read_rows,
    request_from_json,
)
from videoapi_async.cli._journal import RowRecord

OVERRIDE = {
    "type": "override",
    "source_draft_id": "d1",
    "scenes": [{"type": "override_scene", "name": "Intro", "texts": ["Hi"]}],
}
CREATE = {
    "type": "create",
    "template_id": "t",
    "character_id": "c",
    "voice_id": "v",
    "palette": [{"color": "#112233"}],
    "scenes": [
        {
            "name": "One",
            "layout_id": "l",
            "media_elements": [{"url": "https://cdn.test/a.png"}],
            "texts_elements": [{"id": "title", "text": "Hello"}],
        }
    ],
}
WORKFLOW = {"type": "workflow", "workflow_id": "w", "variables": [{"name": "a", "value": "b"}]}


def _video(**fields: Any) -> Video:
    base: dict[str, Any] = {"id": "v1", "status": VideoStatus.READY, "req_id": "r", "draft_id": "d"}
    return Video(**{**base, **fields})


def _record(**fields: Any) -> RowRecord:
    base: dict[str, Any] = {
        "row": 1,
        "line": 2,
        "body": {"name": "Promo", "source_draft_id": "d1"},
        "marker_field": "name",
        "marker": "Promo",
        "user_marker": True,
        "state": "sent",
        "video_id": None,
        "status": None,
        "video_player_url": None,
        "download_url": None,
        "file": None,
        "error": None,
        "sends": 1,
    }
    return RowRecord(**{**base, **fields})


def test_csv_rows_become_flat_bodies_with_their_line_numbers() -> None:
    """CSV cells become the flat form's fields; blank lines are not rows; lines are counted."""
    data = b"name,source_draft_id,recipe_id\nA,d1,\n\n,,\n,d2,r2\n"
    rows = list(read_rows(data, "csv"))
    assert rows == [
        InputRow(row=1, line=2, body={"name": "A", "source_draft_id": "d1"}),
        InputRow(row=2, line=5, body={"source_draft_id": "d2", "recipe_id": "r2"}),
    ]


def test_a_malformed_csv_row_is_reported_and_the_rest_read() -> None:
    """A row with too many cells or no draft/recipe carries an error; later rows still come."""
    data = b'name,source_draft_id\nA,d1,extra\nB,\n"multi\nline",d3\n'
    rows = list(read_rows(data, "csv"))
    assert [(row.row, row.line, row.body is None) for row in rows] == [
        (1, 2, True),
        (2, 3, True),
        (3, 4, False),
    ]
    assert "3 cells" in (rows[0].error or "")
    assert "source_draft_id or recipe_id" in (rows[1].error or "")
    assert rows[2].body == {"name": "multi\nline", "source_draft_id": "d3"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,sorce_draft_id\nA,d\n", "'sorce_draft_id'"),
        (b"name,name\nA,B\n", "more than once"),
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_a_csv_file_that_cannot_be_read_is_refused_whole(data: bytes, message: str) -> None:
    """A bad header, an empty file or a non-UTF-8 file is a file error, not a row error."""
    with pytest.raises(InputFileError, match=message):
        list(read_rows(data, "csv"))


def test_json_lines_take_every_create_form() -> None:
    """JSON Lines rows may be flat or tagged; the body sent is the checked one."""
    lines = [{"name": "Flat", "recipe_id": "r"}, OVERRIDE, CREATE, WORKFLOW]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    rows = list(read_rows(data, "jsonl"))
    assert [row.error for row in rows] == [None] * 4
    assert [row.body["type"] if row.body else None for row in rows[1:]] == [
        "override",
        "create",
        "workflow",
    ]
    assert rows[1].body is not None
    assert rows[1].body["scenes"] == [{"name": "Intro", "texts": ["Hi"]}]


def test_a_bad_json_line_is_reported_with_its_line() -> None:
    """Invalid JSON, a non-object and an unknown nested field each name the problem."""
    data = (
        b'{"recipe_id": "r"}\n\nnot json\n[1]\n'
        + json.dumps(
            {**CREATE, "scenes": [{"name": "x", "layout_id": "l", "texts_elements": [{"txt": 1}]}]}
        ).encode()
    )
    rows = list(read_rows(data, "jsonl"))
    assert [(row.row, row.line) for row in rows] == [(1, 1), (2, 3), (3, 4), (4, 5)]
    assert rows[0].error is None
    assert "not valid JSON" in (rows[1].error or "")
    assert "must be a JSON object" in (rows[2].error or "")
    assert "txt" in (rows[3].error or "")
    assert "scenes[0].texts_elements[0]" in (rows[3].error or "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "montage"}, "type must be one of"),
        ({"type": "workflow", "workflow_id": "w"}, "required field missing @ request.variables"),
        ({"name": "only a name"}, "source_draft_id or recipe_id"),
        ({"source_draft_id": "d", "colour": "red"}, r"extra fields found \(colour\)"),
        ({**WORKFLOW, "correlation_id": "x" * 101}, "at most 100"),
    ],
)
def test_requests_are_checked_before_anything_is_sent(data: Any, message: str) -> None:
    """A body the API would refuse is refused here, with the field named."""
    with pytest.raises(InputError, match=message):
        request_from_json(data)


def test_rows_get_findable_markers_and_keep_the_users_own() -> None:
    """Unnamed flat rows get a derived name, tagged rows a correlation id; given ones stay."""
    rows = [
        InputRow(row=1, line=2, body={"source_draft_id": "d"}),
        InputRow(row=2, line=3, body={"name": "Mine", "source_draft_id": "d"}),
        InputRow(row=3, line=4, body=dict(OVERRIDE)),
        InputRow(row=4, line=5, body={**OVERRIDE, "correlation_id": "own-4"}),
        InputRow(row=5, line=6, error="bad"),
    ]
    plans = plan_rows(rows, "abc123")
    assert [(p.marker_field, p.marker, p.user_marker) for p in plans] == [
        ("name", "batch-abc123-row-1", False),
        ("name", "Mine", True),
        ("correlation_id", "batch-abc123-row-3", False),
        ("correlation_id", "own-4", True),
        (None, None, False),
    ]
    assert plans[0].body == {"source_draft_id": "d", "name": "batch-abc123-row-1"}
    assert plans[2].body is not None
    assert plans[2].body["correlation_id"] == "batch-abc123-row-3"
    assert plans[4].body is None
    assert plans[4].error == "bad"


def _find(row: RowRecord, videos: list[Video], exclude: set[str]) -> Video | None:
    marker = marker_of(row)
    assert marker is not None
    return match_lost_creates([(row.row, marker)], videos, exclude=exclude).get(row.row)


def test_a_named_row_matches_only_a_video_with_the_same_name_and_fields() -> None:
    """Name and every echoed field must agree; excluded (owned, older) videos never match."""
    row = _record()
    other_draft = _video(id="a", name="Promo", source_draft_id="other")
    older = _video(id="b", name="Promo", source_draft_id="d1")
    ours = _video(id="c", name="Promo", source_draft_id="d1")
    silent = _video(id="d", name="Promo")  # the API may not echo source_draft_id
    assert _find(row, [other_draft, older, ours], exclude={"b"}) is ours
    assert _find(row, [other_draft, silent], exclude=set()) is silent
    assert _find(row, [other_draft], exclude=set()) is None


def test_a_tagged_row_matches_by_correlation_id() -> None:
    """A tagged row's video is the one with its correlation id, whatever its name."""
    row = _record(marker_field="correlation_id", marker="batch-x-row-1", body=dict(OVERRIDE))
    found = _video(id="z", correlation_id="batch-x-row-1", name="anything")
    assert _find(row, [_video(id="y"), found], exclude=set()) is found


def test_preexisting_videos_are_those_sharing_a_marker() -> None:
    """Only videos carrying a row's name or correlation id are remembered as pre-existing."""
    plans = plan_rows([InputRow(row=1, line=2, body={"name": "Promo", "recipe_id": "r"})], "t")
    videos = [_video(id="a", name="Promo"), _video(id="b", name="Other")]
    assert preexisting_ids(plans, videos) == ["a"]


@pytest.mark.parametrize(
    ("state", "status", "error", "shown", "ok"),
    [
        ("done", "ready", None, "ready", True),
        ("done", "failed", "the render ended failed", "failed", False),
        ("done", "ready", "download failed: x", "ready", False),
        ("sent", None, "create answer lost", "unknown", False),
        ("rejected", None, "422", "rejected", False),
        ("pending", None, None, "pending", False),
        ("created", "processing", None, "processing", False),
    ],
)
def test_row_results_say_plainly_how_each_row_ended(
    state: str, status: str | None, error: str | None, shown: str, ok: bool
) -> None:
    """The row shape's status and ok follow the journal state."""
    result = row_json(_record(state=state, status=status, error=error))
    assert (result["status"], result["ok"]) == (shown, ok)
    assert list(result) == [
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
