"""Timestamps of the steps before the first result, in seconds since the process started.

A first run waits for imports, the model, the video probe, the face detector, the face-mesh compile and the
first batch; `mark(step)` records when each was done (once per step and process) and logs it, so the log
file shows where a slow start went, and `benchmarks/bench_analyze.py --first-results` prints them.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import sys
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


def import_mediapipe():
    """MediaPipe, imported under IMPORTS. Its package imports every "solution", and their drawing helpers
    import matplotlib.pyplot, which we never use: 0.2 of MediaPipe's 0.55 s import (more in a fresh profile,
    where pyplot builds its font cache). So pyplot is imported lazily (importlib's LazyLoader) during
    MediaPipe's import: it loads on first use, by whoever uses it."""
    with IMPORTS:
        if "mediapipe" not in sys.modules and "matplotlib.pyplot" not in sys.modules:
            lazy = _LazyImport("matplotlib.pyplot")
            sys.meta_path.insert(0, lazy)
            try:
                import mediapipe
            finally:
                sys.meta_path.remove(lazy)
        import mediapipe
    return mediapipe


class _LazyImport(importlib.abc.MetaPathFinder):
    """Finds one module, once, with a loader that runs it on first attribute access."""

    def __init__(self, name: str):
        self.name = name

    def find_spec(self, name, path, target=None):
        if name != self.name:
            return None
        self.name = None  # once: the finders below are asked without us
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec
