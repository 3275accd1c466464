"""A frame grabber thread that serves only the newest request (ephyviewer's scrubbing pattern).

Dragging the playhead asks for dozens of frames a second; decoding every one of them would leave the view
trailing behind the mouse. The grabber keeps a single "wanted" slot: each request overwrites it, and the
thread decodes whatever is wanted when it gets free. Stale requests are never decoded, and once a preview
is on screen, a decode on its way to a frame no longer wanted stops (`VideoReader.read_unless`), so the
view is never far behind.

Frames come from `core.frame_cache.PlayheadFrames`: a cache of exact frames that the thread fills around
the playhead whenever no request waits, so stepping back and forth is free. When a frame would take a
decoding run and a scrubbing proxy exists (core/scrub_proxy.py, made and opened in the background by
`make_proxy`), its small picture is sent first as `preview_ready`, then the exact frame as `frame_ready`.

The preview is decoded by `request` itself, in the requesting (UI) thread, before it returns: an all-intra
360-line frame takes about a millisecond, and shown from there it is painted in the same pass as the moved
playhead. Sent from the grabber thread instead, it waited for that thread to finish the frame it was
prefetching, for the GIL, and for the UI's repaint of the playhead before a second paint pass: 10-15 ms
typical, 30-50 ms at the 95th percentile on a busy machine. How far the exact frame is (`decode_distance`)
is read from the grabber thread's readers without a lock: plain values, a heuristic that may be one frame
stale. The thread owns its readers (not thread-safe) and converts exact frames to QImages there.
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

# Frames a read would decode from which the proxy's picture is shown first. A proxy frame takes about 1 ms
# and is painted with the moved playhead; four 720p frames already take longer to decode (3-5 ms each, more
# on a loaded machine), and with 12, a seek landing up to 11 frames after a keyframe (more than a third of
# them with a keyframe every 30) waited 40-90 ms for its first picture.
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
        self._wanted: tuple[int, bool] | None = None  # frame, and whether its preview is on screen
        self._stopping = False
        self._frames = None  # the grabber thread's PlayheadFrames, once open (read for decode_distance)
        self._proxy_task = None
        self._proxy = None  # the open ScrubProxy, opened in the background; the requesting thread's own
        self._settled = threading.Event()  # nothing requested and the cache is filled around the playhead

    def request(self, index: int) -> None:
        """Ask for frame `index`; replaces any request not yet started. When the exact frame is a decoding
        run away, its proxy picture is sent (`preview_ready`) before this returns."""
        previewed = self._preview(int(index))
        with self._condition:
            self._wanted = (int(index), previewed)
            self._settled.clear()
            self._condition.notify()

    def set_proxy(self, proxy) -> None:
        """Show previews from this open `ScrubProxy` (None: none) from the next request on; call it from the
        thread that makes the requests, which then owns it."""
        if self._proxy is not None:
            self._proxy.close()
        self._proxy = proxy
        if self._stopping and proxy is not None:  # handed over after stop(): nobody will use or close it
            self.set_proxy(None)

    @property
    def proxy_ready(self) -> bool:
        return self._proxy is not None

    def make_proxy(self, video_hash: str) -> None:
        """Make (or find) the scrubbing proxy in a low-priority background task and use it once ready.
        Videos that seek fast get none (`worth_a_proxy`)."""
        from affectstudio.core.scrub_proxy import make_and_open_proxy
        from affectstudio.gui.tasks import TaskThread

        job = partial(make_and_open_proxy, video=self.path, video_hash=video_hash, if_slow=True)
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
        self.set_proxy(None)

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
        self._frames = frames
        busy = False  # prefetching around the playhead has work left
        try:
            while True:
                with self._condition:
                    while self._wanted is None and not self._stopping and not busy:
                        self._settled.set()
                        self._condition.wait()
                    if self._stopping:
                        return
                    wanted, self._wanted = self._wanted, None
                try:
                    if wanted is None:
                        busy = frames.prefetch(self._interrupted)
                    else:
                        busy = True
                        self._serve(frames, *wanted)
                except AffectStudioError as error:
                    self.failed.emit(str(error))
        finally:
            self._frames = None
            frames.close()
            reader.close()

    def _serve(self, frames, index: int, previewed: bool) -> None:
        """The exact frame. Only a previewed frame's decode gives way to a newer request: without a
        preview, a drag would interrupt every decode and show nothing until the mouse stops, where
        finishing shows a frame every decode."""
        if previewed and self._interrupted():  # scrubbing on: skip the exact decode of a frame passed
            return
        frame = frames.read(index, self._interrupted if previewed else None)
        if frame is not None:
            self.frame_ready.emit(index, rgb_to_qimage(frame.image))

    def _preview(self, index: int) -> bool:
        """Send the proxy's picture of `index` when its exact frame is a decoding run away."""
        frames = self._frames
        if frames is None or self._proxy is None or frames.decode_distance(index) < PREVIEW_FROM:
            return False
        try:
            image = rgb_to_qimage(self._proxy.read(index))
        except (AffectStudioError, IndexError) as error:  # damaged or stale: go on without (a cache)
            log.warning("scrubbing proxy dropped: %s", error)
            self.set_proxy(None)
            return False
        self.preview_ready.emit(index, image)
        return True
