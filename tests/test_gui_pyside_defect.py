"""Guards the PySide6 pin in pyproject.toml.

PySide6 6.12.0 on Python 3.11 drops one reference to `None` on every call of a Qt method that returns
nothing; playback makes thousands of such calls a second, and after about 20 s the interpreter aborts with
"Fatal Python error: none_dealloc". 6.11 does not have the defect; this test fails on a release that does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MANY_VOID_CALLS = """
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for _ in range(400_000):  # more than None's whole reference count at start-up
    label.setText("x")
    app.processEvents()
print("alive")
"""


def test_hundreds_of_thousands_of_qt_calls_do_not_abort_the_interpreter():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", MANY_VOID_CALLS], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0 and "alive" in run.stdout, run.stderr[-2000:]
