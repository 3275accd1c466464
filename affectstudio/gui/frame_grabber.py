"""A frame grabber thread that serves only the newest request (ephyviewer's scrubbing pattern).

Dragging the playhead asks for dozens of frames a second; decoding every one of them would leave the view
trailing behind the mouse. The grabber keeps a single "wanted" slot: each request overwrites it, and the
thread decodes whatever is wanted when it gets free. Stale requests are never decoded, so the frame shown is
always at most one decode behind the playhead.

The thread owns its own `VideoReader` (readers are not thread-safe) and converts the RGB array to a QImage
there, so the UI thread only paints. A small cache of recent frames makes stepping back and forth free.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

CACHE_FRAMES = 48


def rgb_to_qimage(image: np.ndarray) -> QImage:
    """Own copy of an HxWx3 uint8 RGB array as a QImage (safe to hand to another thread)."""
    image = np.ascontiguousarray(image)
    height, width, _ = image.shape
    return QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class FrameGrabber(QThread):
    """Decode frames of one video on request; emits `frame_ready(index, image)` or `failed(message)`."""

    frame_ready = Signal(int, QImage)
    failed = Signal(str)

    def __init__(self, path: str | Path, parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self._condition = threading.Condition()
        self._wanted: int | None = None
        self._stopping = False
        self._cache: OrderedDict[int, QImage] = OrderedDict()

    def request(self, index: int) -> None:
        """Ask for frame `index`; replaces any request not yet started."""
        with self._condition:
            self._wanted = int(index)
            self._condition.notify()

    def stop(self) -> None:
        """Finish the current decode, then end the thread; returns when it has ended."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self.wait()

    def run(self) -> None:
        from affectstudio.core.errors import AffectStudioError
        from affectstudio.core.video import VideoReader

        try:
            reader = VideoReader(self.path)
        except AffectStudioError as error:
            self.failed.emit(str(error))
            return
        try:
            while True:
                with self._condition:
                    while self._wanted is None and not self._stopping:
                        self._condition.wait()
                    if self._stopping:
                        return
                    index, self._wanted = self._wanted, None
                image = self._cache.get(index)
                if image is None:
                    try:
                        image = rgb_to_qimage(reader.read(index).image)
                    except AffectStudioError as error:
                        self.failed.emit(str(error))
                        continue
                    self._cache[index] = image
                    if len(self._cache) > CACHE_FRAMES:
                        self._cache.popitem(last=False)
                else:
                    self._cache.move_to_end(index)
                self.frame_ready.emit(index, image)
        finally:
            reader.close()
