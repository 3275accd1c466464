"""A frame grabber thread that serves only the newest request (ephyviewer's scrubbing pattern).

Dragging the playhead asks for dozens of frames a second; decoding every one of them would leave the view
trailing behind the mouse. The grabber keeps a single "wanted" slot: each request overwrites it, and the
thread decodes whatever is wanted when it gets free. Stale requests are never decoded, and once a preview
is on screen, a decode on its way to a frame no longer wanted stops (`VideoReader.read_unless`), so the
view is never far behind.

Frames come from `core.frame_cache.PlayheadFrames`: a cache of exact frames that the thread fills around
the playhead whenever no request waits, so stepping back and forth is free. When a frame would take a long
decoding run and a scrubbing proxy exists (core/scrub_proxy.py, made in the background by
`make_proxy`), its small picture is sent first as `preview_ready`, then the exact frame as `frame_ready`.

The thread owns its own readers (readers are not thread-safe) and converts arrays to QImages there, so the
UI thread only paints.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.frame_cache import DEFAULT_CACHE_BYTES

log = logging.getLogger(__name__)

# Frames a read would decode from which the proxy's picture is shown first. A proxy frame is on screen about
# 10 ms after the request; four 720p frames already take longer to decode (3-5 ms each, more on a loaded
# machine), and with 12, a seek landing up to 11 frames after a keyframe (more than a third of them with a
# keyframe every 30) waited 40-90 ms for its first picture.
PREVIEW_FROM = 4
CACHE_BYTES = DEFAULT_CACHE_BYTES  # kept decoded around the playhead (0: none, the benchmark's baseline)


def rgb_to_qimage(image: np.ndarray) -> QImage:
    """Own copy of an HxWx3 uint8 RGB array as a QImage (safe to hand to another thread)."""
    image = np.ascontiguousarray(image)
    height, width, _ = image.shape
    return QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class FrameGrabber(QThread):
    """Decode frames of one video on request; emits `frame_ready(index, image)` or `failed(message)`."""

    frame_ready = Signal(int, QImage)  # the exact frame
    preview_ready = Signal(int, QImage)  # the proxy's small picture of it, sent while it decodes
    failed = Signal(str)

    def __init__(self, path: str | Path, parent=None, cache_bytes: int | None = None):
        super().__init__(parent)
        self.path = Path(path)
        self.cache_bytes = CACHE_BYTES if cache_bytes is None else cache_bytes
        self._condition = threading.Condition()
        self._wanted: int | None = None
        self._stopping = False
        self._proxy_path: Path | None = None  # set from the UI thread, opened by the grabber thread
        self._proxy_task = None
        self._proxy = None  # the open ScrubProxy; the grabber thread's own
        self._settled = threading.Event()  # nothing requested and the cache is filled around the playhead

    def request(self, index: int) -> None:
        """Ask for frame `index`; replaces any request not yet started."""
        with self._condition:
            self._wanted = int(index)
            self._settled.clear()
            self._condition.notify()

    def set_proxy(self, path: str | Path | None) -> None:
        """Show previews from this scrubbing proxy (None: none) from the next request on."""
        with self._condition:
            self._proxy_path = Path(path) if path else None

    def make_proxy(self, video_hash: str) -> None:
        """Make (or find) the scrubbing proxy in a low-priority background task and use it once ready.
        Videos that seek fast get none (`worth_a_proxy`)."""
        from affectstudio.core.scrub_proxy import make_proxy
        from affectstudio.gui.tasks import TaskThread

        job = partial(make_proxy, video=self.path, video_hash=video_hash, if_slow=True)
        self._proxy_task = TaskThread("scrub proxy", job, self)
        self._proxy_task.done.connect(self.set_proxy)
        self._proxy_task.failed.connect(lambda message, _: log.warning("no scrubbing proxy: %s", message))
        self._proxy_task.start(QThread.Priority.LowestPriority)

    @property
    def proxy_task(self):
        """The background task making the proxy (None when none was asked for)."""
        return self._proxy_task

    def stop(self) -> None:
        """Cancel the proxy task, finish the current decode, end the thread; returns when it has ended."""
        if self._proxy_task is not None:
            self._proxy_task.stop()
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self.wait()

    def settled(self) -> bool:
        """Whether the last request was served and the frames around it are decoded (tests, benchmarks)."""
        return self._settled.is_set()

    def _interrupted(self) -> bool:
        return self._wanted is not None or self._stopping

    def run(self) -> None:
        from affectstudio.core.frame_cache import PlayheadFrames
        from affectstudio.core.video import VideoReader

        try:
            reader = VideoReader(self.path)
        except AffectStudioError as error:
            self.failed.emit(str(error))
            return
        frames = PlayheadFrames(reader, self.cache_bytes)
        opened = None
        busy = False  # prefetching around the playhead has work left
        try:
            while True:
                with self._condition:
                    while self._wanted is None and not self._stopping and not busy:
                        self._settled.set()
                        self._condition.wait()
                    if self._stopping:
                        return
                    index, self._wanted = self._wanted, None
                    proxy_path = self._proxy_path
                if proxy_path != opened:
                    self._open_proxy(proxy_path, len(frames))
                    opened = proxy_path
                try:
                    if index is None:
                        busy = frames.prefetch(self._interrupted)
                    else:
                        busy = True
                        self._serve(frames, index)
                except AffectStudioError as error:
                    self.failed.emit(str(error))
        finally:
            self._open_proxy(None, 0)
            frames.close()
            reader.close()

    def _serve(self, frames, index: int) -> None:
        """The preview first when the exact frame is far, then the exact frame. Only a previewed frame's
        decode gives way to a newer request: without a preview, a drag would interrupt every decode and
        show nothing until the mouse stops, where finishing shows a frame every decode."""
        previewed = False
        if self._proxy is not None and frames.decode_distance(index) >= PREVIEW_FROM:
            try:
                self.preview_ready.emit(index, rgb_to_qimage(self._proxy.read(index)))
                previewed = True
            except AffectStudioError as error:  # a damaged proxy: carry on without (it is only a cache)
                log.warning("scrubbing proxy dropped: %s", error)
                self._open_proxy(None, 0)
            if self._interrupted():  # scrubbing on: skip the exact decode of a frame already passed
                return
        frame = frames.read(index, self._interrupted if previewed else None)
        if frame is not None:
            self.frame_ready.emit(index, rgb_to_qimage(frame.image))

    def _open_proxy(self, path: Path | None, frame_count: int) -> None:
        from affectstudio.core.scrub_proxy import open_proxy_file

        if self._proxy is not None:
            self._proxy.close()
        self._proxy = open_proxy_file(path, frame_count) if path is not None else None
