"""Timestamps of the steps before the first result, in seconds since the process started.

A first run waits for imports, the model, the video probe, the face detector, the face-mesh compile and the
first batch; `mark(step)` records when each was done (once per step and process) and logs it, so the log
file shows where a slow start went, and `benchmarks/bench_analyze.py --first-results` prints them.
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)
_lock = threading.Lock()
# Held while importing MediaPipe or OpenVINO off the main thread: the pipeline's threads (detection, face
# mesh, the fast-path build) start together, and MediaPipe's __init__ fails when a second thread imports it
# meanwhile (NameError: name 'modules' is not defined).
IMPORTS = threading.RLock()
MARKS: dict[str, float] = {}  # step -> seconds since the process started, in the order they happened


def _process_start() -> float:
    """The process's start on the `time.time()` clock (Linux: from /proc; elsewhere: this module's import)."""
    try:
        with open("/proc/self/stat") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])  # field 22: start, in ticks after boot
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time()


_STARTED = _process_start()


def since_start() -> float:
    return time.time() - _STARTED


def mark(step: str) -> float:
    """Record (the first time) and log that `step` is done; returns the seconds since the process started."""
    seconds = since_start()
    with _lock:
        if step in MARKS:
            return MARKS[step]
        MARKS[step] = seconds
    log.info("startup: %s at %.2f s", step, seconds)
    return seconds
