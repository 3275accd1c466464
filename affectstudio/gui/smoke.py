"""`AFFECTSTUDIO_SMOKE_TEST=1`: the app closes itself once a frame is on screen and results have arrived.

The packaging smoke test (packaging/smoke.sh) starts the frozen app offscreen on a video with no one to
close the window; this proves the whole GUI path works inside the bundle (Qt plugins, the model loader,
MediaPipe, the analysis thread) and measures how long the first window, frame and results take. It prints
one line per milestone to stderr and exits 0 when a frame was shown and the analysis finished, else 1 (the
analysis or model failed, or both did not happen within N s of the process start: N is the variable's value
when that is a number above 1, else 600). Times are from the process start, imports included (Linux).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

ENV = "AFFECTSTUDIO_SMOKE_TEST"


def requested() -> bool:
    return os.environ.get(ENV, "") not in ("", "0")


def process_age() -> float:
    """Seconds since this process started (Linux: the figures then include every import), else 0."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def run(window) -> int:
    """Run until `window` (a MainWindow) has shown a frame and got its results; returns the exit status.

    It runs its own event loop rather than the application's: `QApplication.exit()` leaves Qt's quit flag
    set, so every later event loop in the process (a test's) would return at once.
    """
    loop = QEventLoop()
    started = time.perf_counter() - process_age()
    value = os.environ.get(ENV, "")
    limit_s = float(value) if value.replace(".", "", 1).isdigit() and float(value) > 1 else 600.0
    seen: dict[str, float] = {}

    def note(what: str) -> None:
        seen[what] = time.perf_counter() - started
        print(f"smoke: {what} {seen[what]:.2f} s after the process started", file=sys.stderr, flush=True)

    def finish(status: int, why: str = "") -> None:
        if not loop.isRunning():  # closing the window stops the model loader, which may report once more
            return
        if why:
            print(f"smoke: FAILED: {why}", file=sys.stderr, flush=True)
        timer.stop()
        window.close()
        loop.exit(status)

    def poll() -> None:
        if "window shown" not in seen and window.isVisible():
            note("window shown")
        if "first frame" not in seen and window.video.index >= 0:
            note("first frame")
        if "first frame" in seen and "results" in seen:
            finish(0)
        elif time.perf_counter() - started > limit_s:
            finish(1, f"no frame and results within {limit_s:g} s")

    def arrived(_result) -> None:
        note("results")

    window.analysis_finished.connect(arrived)
    window.controller.failed.connect(lambda message: finish(1, f"analysis failed: {message}"))
    window.controller.model_failed.connect(lambda message: finish(1, f"model failed: {message}"))
    timer = QTimer(window)
    timer.timeout.connect(poll)
    timer.start(20)
    return loop.exec()
