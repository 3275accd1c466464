"""The Qt desktop application. The only package that imports Qt.

Importing this package first works around a PySide6 6.12.0 defect on Python 3.11: every call of a Qt
method that returns nothing (`update()`, `setText()`, `processEvents()`, ...) drops one reference to `None`
that it never took. On Python 3.12+ `None` is immortal and nothing happens; on 3.11 its count runs down
(playback makes thousands of such calls a second) and the interpreter aborts with "Fatal Python error:
none_dealloc: deallocating None" after about 20 s of playing a video. 6.11.0 does not have the defect.

`None` is a static object that is never freed, so its count only has to stay positive: when the defect is
present we add 2**40 to it once (a million years of playback at today's rate). The probe makes the fix a
no-op on fixed PySide6 releases and on Python 3.12+.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject

NONE_REFERENCE_RESERVE = 1 << 40


def _void_calls_drop_none_references() -> bool:
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")  # returns nothing
    return sys.getrefcount(None) < before - 32


if sys.implementation.name == "cpython" and sys.version_info < (3, 12) and _void_calls_drop_none_references():
    # ob_refcnt is the first field of every CPython object; the GIL is held while this line runs.
    ctypes.c_ssize_t.from_address(id(None)).value += NONE_REFERENCE_RESERVE
