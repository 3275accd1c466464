"""Exact frames near the playhead without decoding from the keyframe each time.

With one keyframe every 250 frames (x264's default, screen recorders, some cameras) a frame-exact read
decodes up to 249 frames first, so stepping backwards one frame at a time would cost a whole group of
pictures per step. `PlayheadFrames` wraps one `VideoReader` with a least-recently-used cache of decoded
frames, bounded in bytes, and, while the viewer is idle, fills it around the last frame asked for:
a few frames ahead (the decoder is already there, so they cost one decode each) and a window behind,
decoded in one forward run from its keyframe by a second decoder (`VideoReader.twin`), so that the first
stays at the playhead. Stepping back then costs one such run per half window instead of one per frame,
and stepping or playing forward never seeks. A read goes to whichever decoder is nearer its frame.

The cache holds the reader's own arrays, so a cached frame is pixel for pixel what a fresh decode gives.
Like the reader it wraps, it belongs to one thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from affectstudio.core.errors import VideoError
from affectstudio.core.video import Frame, VideoReader

DEFAULT_CACHE_BYTES = 256 * 2**20  # about 90 frames of 720p RGB, 40 of 1080p
AHEAD = 8  # frames decoded ahead of the playhead while idle
BEHIND = 40  # frames kept decoded behind it (fewer when the budget holds fewer)


class FrameCache:
    """Decoded frames by index, least recently used dropped first once over `max_bytes`."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._frames: OrderedDict[int, Frame] = OrderedDict()

    def get(self, index: int) -> Frame | None:
        frame = self._frames.get(index)
        if frame is not None:
            self._frames.move_to_end(index)
        return frame

    def put(self, frame: Frame) -> None:
        if frame.index in self._frames:
            self._frames.move_to_end(frame.index)
            return
        self._frames[frame.index] = frame
        self.nbytes += frame.image.nbytes
        while self.nbytes > self.max_bytes and self._frames:
            _, dropped = self._frames.popitem(last=False)
            self.nbytes -= dropped.image.nbytes

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def __len__(self) -> int:
        return len(self._frames)


class PlayheadFrames:
    """Reads exact frames through a cache kept filled around the playhead (see the module docstring)."""

    def __init__(self, reader: VideoReader, max_bytes: int = DEFAULT_CACHE_BYTES):
        self.reader = reader
        self.cache = FrameCache(max_bytes)
        frame_bytes = max(1, reader.info.width * reader.info.height * 3)
        capacity = max_bytes // frame_bytes  # frames the budget holds
        self.ahead = min(AHEAD, capacity // 4)
        self.behind = min(BEHIND, capacity // 2)
        self.playhead: int | None = None
        self._behind: VideoReader | None = None  # the second decoder, opened at the first refill
        self._refilling = False  # a refill of the window behind is under way: finish it
        self._unreadable: set[int] = set()

    def __len__(self) -> int:
        return len(self.reader)

    def cached(self, index: int) -> Frame | None:
        return self.cache.get(index)

    def read(self, index: int, interrupt: Callable[[], bool] | None = None) -> Frame | None:
        """Exactly frame `index`, from the cache or decoded; None if `interrupt()` turned true on the way.
        The frame becomes the playhead that `prefetch` fills around."""
        self.playhead = index
        return self._read(index, interrupt)

    def decode_distance(self, index: int) -> int:
        """Frames that reading `index` would decode (0 when cached): when many, show a preview first."""
        return 0 if index in self.cache else min(r.decode_distance(index) for r in self._readers())

    def prefetch(self, interrupt: Callable[[], bool] | None = None) -> bool:
        """Decode one more frame near the playhead into the cache; False when there is nothing left to do.

        Ahead first (cheap: the decoder is positioned there), then behind. Behind is refilled only once a
        frame of its nearer half is missing, and then whole, as one forward run from its oldest missing
        frame, so stepping back seeks once per half window rather than at every step.
        """
        if self.playhead is None:
            return False
        head, last = self.playhead, len(self.reader) - 1
        for index in range(head + 1, min(head + self.ahead, last) + 1):
            if index not in self.cache and index not in self._unreadable:
                self._fill(index, interrupt)
                return True
        start = max(0, head - self.behind)
        missing = [i for i in range(start, head) if i not in self.cache and i not in self._unreadable]
        near = range(max(start, head - self.behind // 2), head)
        if not missing or (not self._refilling and all(i in self.cache for i in near)):
            self._refilling = False
            return False
        self._refilling = True
        if self._behind is None:
            self._behind = self.reader.twin()
        self._fill(missing[0], interrupt, self._behind)
        return True

    def close(self) -> None:
        """Close the second decoder (the reader passed in stays its owner's to close)."""
        if self._behind is not None:
            self._behind.close()
            self._behind = None

    def _readers(self) -> list[VideoReader]:
        return [self.reader] if self._behind is None else [self.reader, self._behind]

    def _fill(
        self, index: int, interrupt: Callable[[], bool] | None, reader: VideoReader | None = None
    ) -> None:
        try:
            self._read(index, interrupt, reader)
        except VideoError:  # a damaged frame: do not try it again on every idle moment
            self._unreadable.add(index)

    def _read(
        self, index: int, interrupt: Callable[[], bool] | None, reader: VideoReader | None = None
    ) -> Frame | None:
        frame = self.cache.get(index)
        if frame is None:
            if reader is None:  # the decoder nearer the frame
                reader = min(self._readers(), key=lambda r: r.decode_distance(index))
            frame = reader.read_unless(index, interrupt)
            if frame is not None:
                self.cache.put(frame)
        return frame
