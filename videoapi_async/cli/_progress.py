"""Live progress bars for renders, drawn with rich on stderr (only when it is a terminal).

Polls are spaced out (the client polls near the predicted finish, not every second), so
between two readings a bar moves on by the render's estimated rate; the text beside it
always shows the last status and percentage the API reported.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar
from rich.text import Text

from videoapi_async import RenderUpdate

__all__ = ["RenderBoard"]

_NEAR_DONE: Final = 99.0


def estimated_percent(fields: dict[str, Any], now: float) -> float:
    """Return where a render probably is now, from its last reading and its ETA."""
    reported = fields.get("reported")
    if fields.get("final"):
        return 100.0
    if not isinstance(reported, (int, float)):
        return 0.0
    eta, seen_at = fields.get("eta"), fields.get("seen_at")
    if not isinstance(eta, (int, float)) or not isinstance(seen_at, (int, float)) or eta <= 0:
        return float(reported)
    share = min(max(now - seen_at, 0.0) / eta, 1.0)
    return min(reported + (100.0 - reported) * share, max(_NEAR_DONE, float(reported)))


class _RenderBar(BarColumn):
    """A bar that shows a render's estimated position (plain completion for other rows)."""

    def render(self, task: Task) -> ProgressBar:
        if task.fields.get("kind") == "render":
            bar = super().render(task)
            bar.total = 100.0
            bar.completed = estimated_percent(task.fields, time.monotonic())
            return bar
        return super().render(task)


class _State(ProgressColumn):
    """The last reported status, or the overall counts."""

    def render(self, task: Task) -> Text:
        return Text(str(task.fields.get("state", "")), style=str(task.fields.get("style", "")))


class RenderBoard:
    """Bars for renders, and optionally one for the whole job. Use as a context manager.

    Args:
        console: Where to draw; nothing is drawn when it is not a terminal.
        total: The number of items of the whole job, for an overall bar (None: no bar).
        keep_finished: Keep a render's bar when it ends (else it goes away).
        max_visible: The most render bars shown at once; the rest wait their turn.
    """

    def __init__(
        self,
        console: Console,
        *,
        total: int | None = None,
        keep_finished: bool = True,
        max_visible: int | None = None,
    ) -> None:
        self.enabled = console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description}", justify="left", markup=False),
            _RenderBar(bar_width=30),
            _State(),
            TimeElapsedColumn(),
            console=console,
            disable=not self.enabled,
            refresh_per_second=8,
        )
        self._keep = keep_finished
        self._max_visible = max_visible
        self._tasks: dict[str, TaskID] = {}
        self._active: list[str] = []
        self._overall: TaskID | None = None
        self._total = total
        self._done = 0
        self._failed = 0
        if total is not None:
            self._overall = self._progress.add_task("total", total=max(total, 1), state="")
            self._refresh_overall()

    def __enter__(self) -> RenderBoard:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def add(self, key: str, label: str) -> None:
        """Show a bar for a render that has started (or is about to)."""
        if key in self._tasks:
            return
        self._tasks[key] = self._progress.add_task(
            label[:32], total=100, kind="render", state="creating", reported=None
        )
        self._active.append(key)
        self._relayout()

    def update(self, key: str, update: RenderUpdate) -> None:
        """Move a render's bar to what the latest poll showed."""
        task = self._tasks.get(key)
        if task is None:
            return
        shown = f"{update.progress}%" if update.progress is not None else "?%"
        self._progress.update(
            task,
            state=f"{update.status.value} {shown}",
            reported=update.progress,
            eta=update.eta,
            seen_at=time.monotonic(),
        )

    def note(self, key: str, state: str) -> None:
        """Show a short state next to a render's bar (``"creating"``, ``"downloading"``)."""
        task = self._tasks.get(key)
        if task is not None:
            self._progress.update(task, state=state)

    def finish(self, key: str, *, ok: bool, state: str) -> None:
        """End a render's bar, and count it in the overall bar."""
        task = self._tasks.get(key)
        if task is not None:
            style = "green" if ok else "red"
            self._progress.update(task, state=state, style=style, final=ok, completed=100)
            if key in self._active:
                self._active.remove(key)
            if not self._keep:
                self._progress.remove_task(task)
                del self._tasks[key]
            self._relayout()
        self.count(ok=ok)

    def count(self, *, ok: bool) -> None:
        """Count one finished item of the job in the overall bar."""
        self._done += 1
        self._failed += 0 if ok else 1
        self._refresh_overall()

    def log(self, message: str) -> None:
        """Print a line above the bars (nothing when the bars are not drawn)."""
        if self.enabled:
            self._progress.console.print(message, highlight=False)

    def _relayout(self) -> None:
        if self._max_visible is not None:
            for index, key in enumerate(self._active):
                self._progress.update(self._tasks[key], visible=index < self._max_visible)
        self._refresh_overall()

    def _refresh_overall(self) -> None:
        if self._overall is None:
            return
        waiting = len(self._active)
        hidden = waiting - self._max_visible if self._max_visible is not None else 0
        parts = [f"{self._done}/{self._total} done"]
        if self._failed:
            parts.append(f"{self._failed} not ok")
        if waiting:
            parts.append(f"{waiting} rendering" + (f" ({hidden} not shown)" if hidden > 0 else ""))
        self._progress.update(self._overall, completed=self._done, state=", ".join(parts))
