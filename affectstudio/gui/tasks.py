"""Run long plain functions (model loading, analysis, export) off the UI thread.

The engine's long jobs are ordinary functions that take a `core.jobs.JobState` (DESIGN convention 2).
`TaskThread` runs one such function in a QThread and turns its reports into Qt signals, which Qt delivers
on the UI thread (queued connections), so widgets are only ever touched there.
Errors a user can cause arrive as `failed(message)`; anything else is a bug and arrives with its traceback.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import QThread, Signal

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import Cancelled, JobState


class TaskThread(QThread):
    progress = Signal(object)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(str, bool)  # message, whether it is the user's error (False = a bug, with traceback)

    def __init__(self, name: str, function: Callable[[JobState], object], parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.state = JobState(on_progress=self.progress.emit, on_partial=self.partial.emit)
        self._function = function

    def run(self) -> None:
        try:
            result = self._function(self.state)
        except Cancelled:
            self.done.emit(None)
        except AffectStudioError as error:
            self.failed.emit(str(error), True)
        except Exception as error:  # a bug: keep the app running, show the traceback
            details = "".join(traceback.format_exception(error))
            self.failed.emit(f"{type(error).__name__}: {error}\n\n{details}", False)
        else:
            self.done.emit(result)

    def cancel(self) -> None:
        self.state.cancel()

    def stop(self, timeout_ms: int = 30000) -> None:
        """Ask the function to stop and wait for the thread to end."""
        self.state.cancel()
        self.wait(timeout_ms)
