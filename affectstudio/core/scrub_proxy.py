"""A small copy of a video with every frame a keyframe, shown while scrubbing (as video editors do).

Dragging the playhead over a video with one keyframe every 250 frames (or every 30 at 720p and above) asks
for frames that each take a long decoding run to reach exactly (see core/video.py). The proxy is the same
video at 360 lines in MJPEG, where every frame is a picture of its own: any frame decodes in a millisecond
or two. The viewer shows the proxy's frame at once while the exact frame is decoded, and the exact frame
replaces it as soon as it is ready, so scrubbing follows the mouse and what stays on screen is exact.

The proxy's frame i is the video's frame i: it is made from `VideoReader.frames()` (rotation and pixel
aspect applied) with presentation time i, and a frame the reader cannot decode is stood in for by the one
before, so the numbering never shifts. It is made in the background by a `JobState` job, only for videos
whose seeks decode a lot (720p with a keyframe every 30 frames already does: `MIN_SEEK_PIXELS`), and
cached by the video's content hash in the cache folder. It is written through `atomic_path`, so a
cancelled or failed run leaves nothing behind. Size: about 9 KB a frame (1 GB for an hour at 30 fps).
Proxies not used for longest are deleted once they hold more than `KEEP_BYTES` together; the cache
folder may be emptied at any time.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import av
import numpy as np

from affectstudio.core.errors import VideoError
from affectstudio.core.jobs import JobState, Progress
from affectstudio.core.paths import atomic_path, cache_dir
from affectstudio.core.video import VideoReader

PROXY_HEIGHT = 360
# A seek decodes up to a group of pictures, at a cost about proportional to its pixels: 3-5 ms a 720p frame,
# so 720p with a keyframe every 30 frames (cameras, phones) seeks in 40-90 ms, over the 50 ms a scrubbing
# view may take to show the frame asked for. Videos whose longest group costs more than 15 frames of 720p
# get a proxy; smaller ones (360p up to a keyframe every 60 frames) seek fast enough without.
MIN_SEEK_PIXELS = 1280 * 720 * 15
VERSION = 1  # part of the file name: a change of format makes new proxies instead of misreading old ones
KEEP_BYTES = 8 * 2**30  # proxies kept in the cache, least recently used deleted first


def proxy_path(video_hash: str) -> Path:
    return cache_dir() / "scrub" / f"{video_hash}.v{VERSION}.mkv"


def worth_a_proxy(reader: VideoReader) -> bool:
    """Whether seeks in this video are slow enough for a proxy to help (long groups of pictures)."""
    return reader.info.width * reader.info.height * reader.longest_gop > MIN_SEEK_PIXELS


def proxy_size(width: int, height: int, max_height: int = PROXY_HEIGHT) -> tuple[int, int]:
    """The proxy's (width, height): at most `max_height` lines, aspect kept, even sizes for 4:2:0."""
    scale = min(1.0, max_height / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def make_proxy(
    state: JobState, video: str | Path, video_hash: str, max_height: int = PROXY_HEIGHT, if_slow: bool = False
) -> Path | None:
    """Write the proxy of `video` (if not already there) and return its path; `Cancelled` leaves none.
    With `if_slow`, only for a video that `worth_a_proxy` (else None)."""
    path = proxy_path(video_hash)
    with VideoReader(video) as reader:
        count = len(reader)
        if _matches(path, count):
            return path
        if if_slow and not worth_a_proxy(reader):
            return None
        prune(KEEP_BYTES)
        width, height = proxy_size(reader.info.width, reader.info.height, max_height)
        with atomic_path(path) as temp, av.open(str(temp), "w", format="matroska") as out:
            stream = out.add_stream("mjpeg", rate=25)  # timing is irrelevant: frame i has time i/25
            stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
            previous: np.ndarray | None = None
            written = 0
            for frame in reader.frames():
                state.check()
                for index in range(written, frame.index + 1):  # undecodable frames: repeat the one before
                    image = frame.image if previous is None or index == frame.index else previous
                    _encode(out, stream, image, index, width, height)
                previous, written = frame.image, frame.index + 1
                if written % 25 == 0:
                    state.report(Progress(written, count, "Making the scrubbing copy"))
            if previous is None:
                raise VideoError(Path(video), "no frame could be decoded for the scrubbing copy")
            for index in range(written, count):
                state.check()
                _encode(out, stream, previous, index, width, height)
            out.mux(stream.encode())
        state.report(Progress(count, count, "Making the scrubbing copy"))
    return path


def make_and_open_proxy(state: JobState, video: str | Path, video_hash: str, if_slow: bool = False):
    """`make_proxy`, then its `ScrubProxy` opened (indexing a long proxy takes a while: not in the UI
    thread); None when the video gets none. The caller owns the proxy and closes it."""
    path = make_proxy(state, video, video_hash, if_slow=if_slow)
    return None if path is None else ScrubProxy(VideoReader(path))


def prune(keep_bytes: int) -> None:
    """Delete the least recently used proxies until the rest hold at most `keep_bytes`."""
    folder = proxy_path("x").parent
    if not folder.is_dir():
        return
    proxies = sorted(folder.glob("*.mkv"), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for path in proxies:
        total += path.stat().st_size
        if total > keep_bytes and not path.name.startswith("."):  # never another writer's partial file
            with contextlib.suppress(OSError):
                path.unlink()


def _encode(out, stream, image: np.ndarray, index: int, width: int, height: int) -> None:
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(width, height, "yuvj420p")
    frame.pts = index
    out.mux(stream.encode(frame))


def _matches(path: Path, count: int) -> bool:
    proxy = open_proxy_file(path, count)
    if proxy is None:
        return False
    proxy.close()
    return True


class ScrubProxy:
    """Reads frames of a finished proxy; `read(i)` is a small picture of the video's frame i."""

    def __init__(self, reader: VideoReader):
        self._reader = reader

    def read(self, index: int) -> np.ndarray:
        return self._reader.read(index).image

    def __len__(self) -> int:
        return len(self._reader)

    def close(self) -> None:
        self._reader.close()


def open_proxy(video_hash: str, frame_count: int) -> ScrubProxy | None:
    """The cached proxy of the video with this hash, or None when there is none (or a stale one)."""
    return open_proxy_file(proxy_path(video_hash), frame_count)


def open_proxy_file(path: Path, frame_count: int) -> ScrubProxy | None:
    if not path.is_file():
        return None
    try:
        reader = VideoReader(path)
    except VideoError:
        reader = None
    if reader is not None and len(reader) == frame_count:
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: `prune` keeps it longest
        return ScrubProxy(reader)
    if reader is not None:
        reader.close()
    with contextlib.suppress(OSError):  # damaged or stale: it is a cache, make it again
        path.unlink()
    return None
