"""The errors that end a wait say, in one wording, where the job was last seen."""

from __future__ import annotations

from typing import Any

import pytest

from videoapi_async import RenderStalledError, RenderTimeoutError, VoicePreviewTimeoutError
from videoapi_async._converters import converter, structure_video
from videoapi_async._outcomes import render_stalled, render_timed_out, voice_timed_out
from videoapi_async._resources import VoicePreview


def _video(**fields: Any) -> Any:
    base = {"id": "v1", "status": "processing", "req_id": "r", "draft_id": "d"}
    return structure_video({**base, "video_player_url": "", **fields})


@pytest.mark.parametrize(
    ("last", "seen"),
    [
        (None, ""),
        (_video(progress=40), "; last seen processing at 40 %"),
        (_video(progress=-1), "; last seen processing"),  # progress unknown
    ],
    ids=["never seen", "with progress", "progress unknown"],
)
def test_timeout_and_stall_say_where_the_render_was_last_seen(last: Any, seen: str) -> None:
    """A timeout and a stall end their messages' first sentence with the same last state."""
    timed_out = render_timed_out("v1", last, 30)
    assert isinstance(timed_out, RenderTimeoutError)
    assert str(timed_out) == (
        f"gave up waiting for video 'v1' after 30 s{seen}. The render may still finish: "
        "wait again, or check it with get_video()"
    )
    stalled = render_stalled("v1", last, 600.4)
    assert isinstance(stalled, RenderStalledError)
    assert str(stalled) == (
        f"gave up waiting for video 'v1': no change for 600 s (PollPolicy.stall_timeout)"
        f"{seen}. The render may still move: wait again, or ask support"
    )


def test_voice_timeout_says_where_the_preview_was_last_seen() -> None:
    """A voice preview's timeout names its last status the same way (it has no progress)."""
    preview = converter.structure(
        {"id": "t1", "req_id": "r", "status": "in_progress"}, VoicePreview
    )
    error = voice_timed_out("t1", preview, 5)
    assert isinstance(error, VoicePreviewTimeoutError)
    assert str(error) == (
        "gave up waiting for voice preview 't1' after 5 s; last seen in_progress. It may "
        "still finish: check it with get_voice_preview()"
    )
