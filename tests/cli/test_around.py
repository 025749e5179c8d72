"""The delete, subtitles and usage commands against a sandbox."""

from __future__ import annotations

import json

from .conftest import LoopSandbox, invoke


def test_delete(cli_sandbox: LoopSandbox) -> None:
    """The delete command removes the video; a second delete exits 3 unless --missing-ok."""
    video = cli_sandbox.create(status="ready")
    env = cli_sandbox.env()
    first = invoke(["delete", video["id"], "--json"], env=env)
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {"video_id": video["id"], "deleted": True}
    again = invoke(["delete", video["id"]], env=env)
    assert again.exit_code == 3
    assert "404" in again.stderr
    assert invoke(["delete", video["id"], "--missing-ok"], env=env).exit_code == 0


def test_subtitles(cli_sandbox: LoopSandbox) -> None:
    """The subtitles command prints a ready video's file URL and refuses an unfinished one."""
    env = cli_sandbox.env()
    ready = cli_sandbox.create(status="ready")
    made = invoke(
        ["subtitles", ready["id"], "--language", "fr", "--format", "srt", "--json"], env=env
    )
    assert made.exit_code == 0, made.stderr
    shape = json.loads(made.stdout)
    assert shape["language_code"] == "fr"
    assert shape["format"] == "srt"
    assert shape["url"].endswith(".srt")
    busy = cli_sandbox.create(status="processing")
    refused = invoke(["subtitles", busy["id"]], env=env)
    assert refused.exit_code != 0
    assert "finished render" in refused.stderr
    assert invoke(["subtitles", ready["id"], "--language", "xx"], env=env).exit_code == 2


def test_usage(cli_sandbox: LoopSandbox) -> None:
    """The usage command prints periods as JSON and as a table, and refuses a reversed window."""
    env = cli_sandbox.env()
    cli_sandbox.create(status="ready")
    listed = invoke(["usage", "--breakdown", "daily", "--json"], env=env)
    assert listed.exit_code == 0, listed.stderr
    periods = json.loads(listed.stdout)
    assert sum(p["videos_created"] for p in periods) >= 1
    assert set(periods[0]) == {"year", "month", "week", "day", "videos_created", "total_duration"}
    assert "VIDEOS" in invoke(["usage"], env=env).stdout
    reversed_window = invoke(["usage", "--from", "2026-02-01", "--to", "2026-01-01"], env=env)
    assert reversed_window.exit_code == 2
    assert "after to_date" in reversed_window.stderr
