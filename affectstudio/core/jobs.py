"""One way to run long work (analysis, export, training, studies): a plain function and a `JobState`.

A job is an ordinary function `job(state, ...)` that reports typed progress with `state.report(...)`, hands
out partial results with `state.partial(...)` and calls `state.check()` at safe points, which raises
`Cancelled` once someone asked it to stop (Orange's TaskState idea). Who runs it decides what the reports
become: the CLI prints a progress line, the GUI's `TaskThread` turns them into Qt signals, a study forwards
them from worker processes. The job itself never knows which.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class Cancelled(Exception):
    """Raised by `JobState.check()` after `cancel()`: the job stops at a safe point, keeping what it did."""


@dataclass(frozen=True)
class Progress:
    """One progress report. `total` is None when unknown; `detail` is a job-specific typed event
    (e.g. a training step or epoch summary) for views that show more than a bar."""

    done: float
    total: float | None = None
    message: str = ""
    detail: Any = None

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, max(0.0, self.done / self.total))


class JobState:
    """What a running job sees. Thread-safe: `cancel()` may be called from any thread."""

    def __init__(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
    ):
        self._on_progress = on_progress
        self._on_partial = on_partial
        self._cancel = threading.Event()

    def report(self, progress: Progress) -> None:
        if self._on_progress is not None:
            self._on_progress(progress)

    def partial(self, value: Any) -> None:
        if self._on_partial is not None:
            self._on_partial(value)

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if the job was asked to stop."""
        if self._cancel.is_set():
            raise Cancelled
