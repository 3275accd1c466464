"""One training run in a child process (`python -m training CONFIG --progress json`), as Qt signals.

Training runs in its own process so that a crash or a long run never freezes or takes down the app, and the
run can be resumed from the command line. The child prints one JSON event per line; `parse_event` reads
them with `training.events.from_json`, the typed events the CLI prints, so there is one parser. Cancel
sends SIGTERM (the trainer stops after the current step, saving its state) and kills after a grace period;
closing the window kills what is left.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

# The folder holding the `training` package, put on the child's PYTHONPATH.
PACKAGE_ROOT = Path(__file__).resolve().parents[3]
CANCEL_GRACE_MS = 30_000
OUTCOMES = {"done": "done", "stopped": "stopped", "error": "failed"}  # event kind -> outcome


def parse_event(line: str):
    """The typed progress event (training/events.py) of one stdout line of the child, or None for any other
    output (warnings, library messages)."""
    from training.events import from_json

    if not line.startswith("{"):
        return None
    try:
        return from_json(line)
    except ValueError:  # not JSON, or JSON that is not an event
        return None


class TrainingRun(QObject):
    """Start, follow, cancel and kill one `python -m training` child process."""

    event = Signal(object)  # every progress event (training.events), in order
    output = Signal(str)  # any other line the child printed (stdout or stderr)
    finished = Signal(str, int)  # outcome ("done", "stopped", "failed"), exit code

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self.outcome = ""
        self._buffer = b""

    def start(self, config_path: Path) -> None:
        self.outcome = ""
        self._buffer = b""
        self.process = process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        for key, value in os.environ.items():  # including changes made after start-up (tests, data dir)
            env.insert(key, value)
        env.insert(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        )
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(str(config_path.parent))
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.start(sys.executable, ["-m", "training", str(config_path), "--progress", "json"])

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Ask the run to stop at the next step (it saves its state; resumable with --resume)."""
        if self.is_running():
            self.process.terminate()
            # The process is the timer's context: if it is deleted first, the timer dies with it.
            QTimer.singleShot(CANCEL_GRACE_MS, self.process, self.process.kill)

    def kill(self) -> None:
        """Stop the child now (the window or app is closing): terminate, then kill after 5 s."""
        if self.is_running():
            self.process.terminate()
            if not self.process.waitForFinished(5000):
                self.process.kill()
                self.process.waitForFinished(2000)

    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            event = parse_event(line)
            if event is not None:
                self.outcome = OUTCOMES.get(event.kind, self.outcome)
                self.event.emit(event)
            elif line:
                self.output.emit(line)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").rstrip()
        if text:
            self.output.emit(text)

    def _finished(self, exit_code: int, _status) -> None:
        self._read_stdout()
        self.finished.emit(self.outcome or "failed", exit_code)
