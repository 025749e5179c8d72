"""Subtitle files of finished videos, in WebVTT or SubRip, timed by the video's scenes.

The cues follow the scene timings ``GET /videos/{video_id}/metadata`` reports: each scene's
text (its transcript, else its on-screen texts, else its name) is cut into cues of at most
:data:`WORDS_PER_CUE` words spread evenly over the scene. The sandbox does not translate:
a file in another language than English carries the same words, each cue marked with the
language code (``[es] ...``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from videoapi_async.contract import SUBTITLE_FORMATS, SUBTITLE_LANGUAGES

__all__ = [
    "SUBTITLE_CONTENT_TYPES",
    "SUBTITLE_FORMATS",
    "SUBTITLE_LANGUAGES",
    "WORDS_PER_CUE",
    "render_subtitles",
    "subtitle_cues",
]


SUBTITLE_CONTENT_TYPES: Final = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
}

WORDS_PER_CUE: Final = 10

Cue = tuple[float, float, str]


def _scene_text(scene: dict[str, Any], fallback: str) -> str:
    transcript = scene.get("transcript")
    if isinstance(transcript, str) and transcript.strip():
        return transcript
    texts = scene.get("texts")
    if isinstance(texts, list) and texts:
        return " ".join(str(text) for text in texts)
    elements = scene.get("texts_elements")
    if isinstance(elements, list) and elements:
        return " ".join(str(element.get("text", "")) for element in elements)
    name = scene.get("name")
    return name if isinstance(name, str) and name.strip() else fallback


def subtitle_cues(
    fields: dict[str, Any], scene_lengths: Sequence[float], language_code: str = "en"
) -> list[Cue]:
    """Return ``(start, end, text)`` of every cue of a video, in seconds from its start.

    ``fields`` are the video's echoed create fields (its ``scenes``, ``name``) and
    ``scene_lengths`` the lengths of its scenes.
    """
    scenes: list[dict[str, Any]] = fields.get("scenes") or []
    name = fields.get("name")
    cues: list[Cue] = []
    start = 0.0
    for index, length in enumerate(scene_lengths):
        scene = scenes[index] if index < len(scenes) else {}
        fallback = name if isinstance(name, str) and name.strip() else f"Scene {index + 1}"
        # "-->" would end a cue's text early in either format.
        words = _scene_text(scene, fallback).replace("-->", "->").split() or [fallback]
        pieces = [
            " ".join(words[at : at + WORDS_PER_CUE]) for at in range(0, len(words), WORDS_PER_CUE)
        ]
        step = length / len(pieces)
        for number, piece in enumerate(pieces):
            text = piece if language_code == "en" else f"[{language_code}] {piece}"
            cues.append((start + number * step, start + (number + 1) * step, text))
        start += length
    return cues


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render_subtitles(cues: Sequence[Cue], file_format: str) -> str:
    """Return the text of a subtitle file of ``cues`` in ``file_format`` (vtt or srt)."""
    separator = "." if file_format == "vtt" else ","
    blocks = ["WEBVTT\n"] if file_format == "vtt" else []
    for number, (start, end, text) in enumerate(cues, start=1):
        timing = f"{_timestamp(start, separator)} --> {_timestamp(end, separator)}"
        blocks.append(f"{number}\n{timing}\n{text}\n")
    return "\n".join(blocks)
