"""Frame-exact video reading on PyAV: metadata, exact timestamps, sequential decode and seek(frame).

Why not trust the container: frame counts and frame rates in headers are often wrong or nominal (variable
frame rate phone videos, edited files). So the reader builds its own index at open time by *demuxing*
every packet of the video stream (cheap: no decoding) and takes the sorted presentation timestamps as the
frames. Frame i is the i-th timestamp; its time is measured from the first frame, so frame 0 is at 0.0 s.
The last group of pictures is decoded once at open time so that a truncated file reports only the frames
that can really be decoded.

`read(i)` seeks to the keyframe at or before frame i and decodes forward until the frame whose timestamp
is frame i's, so it is exact whatever the codec's B-frame reordering. That run of decoding is most of a
seek's cost, so frames shown before frame i that no other frame is predicted from are skipped on the way
(see `_decode_from_here`). The decoder stays positioned after each read, so reading i, i+1, i+2 ...
decodes each frame once and never seeks again. Raw elementary streams (e.g. a Raspberry Pi camera's
.h264) carry no timestamps at all: there frames are numbered in the order they decode, timed at the
stream's nominal rate, and a backward read decodes again from the start.

OpenCV is not used as a fallback: opencv-python's wheel embeds an older FFmpeg (5.1) than PyAV's (8.x),
so a file PyAV cannot open is not one OpenCV can.

Display geometry: phones store a rotation (display matrix, formerly the `rotate` tag), and DV/DVD video
has non-square pixels (sample aspect ratio). Images come out upright and at their displayed width (the
height is kept, as players do), and `VideoInfo.width/height` are that displayed size. Mirroring flags in
the display matrix are not applied (rare in practice).

A reader is not thread-safe; a GUI frame grabber should own its own reader.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from affectstudio.core.errors import VideoError
from affectstudio.core.wording import plural

TAIL_CHECK_FRAMES = 250  # x264's default keyframe interval, so most files are checked to their last frame


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # displayed width (after rotation)
    height: int  # displayed height (after rotation)
    frame_count: int
    fps: float  # average frame rate; see VideoReader.timestamps for the exact times
    duration: float  # seconds from the first frame's start to the last frame's end
    rotation: int  # degrees the stored picture is turned clockwise for display: 0, 90, 180 or 270
    codec: str
    truncated: str = ""  # why the file holds fewer frames than its header promises ("" = complete)


@dataclass
class Frame:
    index: int
    time: float  # seconds since the first frame
    image: np.ndarray  # HxWx3 uint8 RGB, upright


class VideoReader:
    """Reads one video file; raises `VideoError` for a missing, non-video, corrupt or empty file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(self.path, "file not found")
        if not self.path.is_file():
            raise VideoError(self.path, "not a file")
        if self.path.stat().st_size == 0:
            raise VideoError(self.path, "not a readable video file (the file is empty)")
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as error:
            if _mp4_without_index(self.path):
                raise VideoError(
                    self.path,
                    "truncated: the file ends before its index (moov) was written, as when a recording is "
                    "interrupted; no frame can be located",
                ) from None
            raise VideoError(self.path, f"not a readable video file ({_reason(error)})") from None
        try:
            self._open_stream()
        except BaseException:
            self._container.close()
            raise

    def _open_stream(self) -> None:
        if not self._container.streams:  # e.g. an mp4 cut short before its index (moov) was written
            raise VideoError(self.path, "no streams found: not a video, or truncated or damaged")
        if not self._container.streams.video:
            raise VideoError(self.path, "contains no video stream")
        self._stream = self._container.streams.video[0]
        # Frame threads (AUTO) even for seeks: a seek's run of reference frames decodes about as fast with
        # them as with slice threads (x264 files rarely have slices), and sequential decoding for analysis
        # is about 30% faster. FFmpeg fixes the choice when the decoder opens, so one must serve both.
        self._stream.thread_type = "AUTO"
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._pending: tuple[int, av.VideoFrame] | None = None  # decoded ahead of the frame asked for
        self._next_index = 0  # the frame the decoder yields next when nothing is pending
        self._position = 0  # the frame it really decodes next (behind _next_index after an interrupted read)
        self._skip_before: int | None = None  # timestamp of the frame being read: see _decode_from_here
        self._rotation_ccw = 0
        self._scaled_size: tuple[int, int] | None = None  # (width, height) for non-square pixels

        self._counted = False  # frames carry no timestamps: number them in decode order
        self._cut_short = False  # the packets end before the header's promise (see _shortfall)
        self._decoded_count = 0
        self._build_index()
        self.timestamps, fps, last_duration = self._frame_times()
        self.timestamps.setflags(write=False)
        width, height = self._stream.codec_context.width, self._stream.codec_context.height
        pixel_aspect = self._stream.sample_aspect_ratio
        if pixel_aspect and pixel_aspect > 0 and pixel_aspect != 1:  # anamorphic (DV, DVD): widen or narrow
            width = max(1, round(width * pixel_aspect))
            self._scaled_size = (width, height)
        if self._rotation_ccw % 180:
            width, height = height, width
        self.info = VideoInfo(
            path=self.path,
            width=width,
            height=height,
            frame_count=len(self._pts),
            fps=fps,
            duration=float(self.timestamps[-1]) + last_duration,
            rotation=(-self._rotation_ccw) % 360,
            codec=self._stream.codec_context.name,
            truncated=self._shortfall(),
        )

    def _build_index(self) -> None:
        """The frames' timestamps (`_pts`, presentation order) and keyframe positions, checked to decode."""
        pts, keyframe_pts, self._durations = self._demux_index()
        if not pts:
            raise VideoError(self.path, "contains no video frames")
        self._pts = np.array(pts, dtype=np.int64)
        self._index_of = {int(p): i for i, p in enumerate(self._pts)}
        self._keyframes = sorted({self._index_of[p] for p in keyframe_pts} | {0})
        last_decodable = self._last_decodable_frame()
        if last_decodable < 0:
            raise VideoError(self.path, "no frame could be decoded (the file is damaged)")
        self._cut_short |= last_decodable < len(self._pts) - 1
        self._pts = self._pts[: last_decodable + 1]
        self._keyframes = [k for k in self._keyframes if k <= last_decodable]

    def _frame_times(self) -> tuple[np.ndarray, float, float]:
        """Each frame's time from the first frame, the average frame rate, and the last frame's duration."""
        n = len(self._pts)
        rate = self._stream.average_rate or self._stream.guessed_rate
        if self._counted:
            fps = float(rate) if rate else 25.0
            return np.arange(n) / fps, fps, 1.0 / fps
        time_base = self._stream.time_base
        times = np.array([float((p - self._pts[0]) * time_base) for p in self._pts])
        measured = (n - 1) / times[-1] if times[-1] > 0 else 0.0
        fps = float(rate) if rate else measured
        last_duration = float(self._durations.get(int(self._pts[-1]), 0) * time_base)
        if last_duration <= 0:
            last_duration = 1.0 / fps if fps > 0 else 0.0
        return times, fps, last_duration

    def _demux_index(self) -> tuple[list[int], set[int], dict[int, int]]:
        """Presentation timestamps of every frame, which of them are keyframes, and packet durations."""
        pts: list[int] = []
        keyframes: set[int] = set()
        durations: dict[int, int] = {}
        dts: list[int] = []
        packets_seen = 0
        cut_short = False
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError:  # truncated or damaged past this point: keep what came before
                cut_short = True
                break
            if packet.size == 0:
                continue
            packets_seen += 1
            if packet.dts is not None:
                dts.append(packet.dts)
            if packet.is_discard:  # cut by an edit list: the decoder drops it too
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                self._counted = True
            pts.append(stamp)
            durations[stamp] = packet.duration or 0
            if packet.is_keyframe:
                keyframes.add(stamp)
        if self._counted:
            return list(range(len(pts))), set(), {}
        pts.sort()
        if len(set(pts)) != len(pts):
            raise VideoError(self.path, "several frames share one timestamp (unsupported stream format)")
        self._cut_short = bool(pts) and (cut_short or self._shorter_than_header(pts, packets_seen))
        if dts and self._cut_short:
            # Frames are stored in decode order, so a cut loses the last few decode-order frames, some of
            # which show before frames that survived (B-frames). Keep only frames shown before the cut
            # point, so that frame numbers stay those of the complete file.
            pts = [p for p in pts if p <= max(dts)]
        return pts, keyframes, durations

    def _shorter_than_header(self, pts: list[int], packets_seen: int) -> bool:
        """Whether the container's header promises more frames or a longer video than the packets give."""
        stream = self._stream
        if stream.frames and stream.frames > packets_seen:
            return True
        span = float((pts[-1] - pts[0]) * stream.time_base)
        frame_time = span / (len(pts) - 1) if len(pts) > 1 else 0.0
        end = max(span, float(pts[-1] * stream.time_base))  # durations may count from 0 or from the start
        if stream.duration:
            promised = float(stream.duration * stream.time_base)
        else:  # Matroska keeps only the file's duration (which may include a longer audio track)
            promised = self._container.duration / av.time_base if self._container.duration else 0.0
        return promised > end + 3 * frame_time + 0.1

    def _shortfall(self) -> str:
        """In words, how much of what the header promises is missing ('' when nothing is)."""
        if not self._cut_short:
            return ""
        promised, readable = int(self._stream.frames or 0), len(self._pts)
        if promised > readable:
            header = plural(promised, "frame")
            return f"truncated or damaged: {readable} of the {header} in its header are readable"
        return f"truncated or damaged: the file ends early; {plural(readable, 'frame')} readable"

    def _last_decodable_frame(self) -> int:
        """Decode the last group of pictures (stepping back if it is broken); return the last good frame.

        A group longer than `TAIL_CHECK_FRAMES` (some screen recorders put one keyframe per video) is not
        decoded to its end; the index is trusted past that point so that opening stays quick.
        """
        self._skip_before = None  # every frame of the group is checked
        for key in reversed(self._keyframes):
            self._seek(key)
            last, count = -1, 0
            while (decoded := self._pull()) is not None:
                last, count = max(last, decoded[0]), count + 1
                self._rotation_ccw = round(decoded[1].rotation / 90.0) * 90
                if count == TAIL_CHECK_FRAMES:
                    last = len(self._pts) - 1
                    break
            self._decoder, self._pending = None, None
            if last >= 0:
                return last
        return -1

    # -- decoding ---------------------------------------------------------------------------------------

    def _decode_from_here(self) -> Iterator[av.VideoFrame]:
        """Decode packet by packet from the demuxer's position, skipping the frames no read will return.

        A seek lands on a keyframe up to a whole group of pictures before the frame asked for, and decoding
        forward to it is nearly all of a random read's time. Frames shown before `_skip_before` are never
        returned (reads only go forward from here; a read backwards seeks again), so of those only the
        reference frames, which later frames are predicted from, need decoding: FFmpeg's skip_frame=NONREF
        drops the others (B-frames nothing refers to) unparsed. The setting is chosen per packet, by the
        packet's presentation time, since decode order differs from display order; frames from the one
        asked for onwards are always decoded in full, so every frame returned is what a plain decode gives.
        """
        codec = self._stream.codec_context
        codec.skip_frame = "DEFAULT"
        skipping = False
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except (StopIteration, av.FFmpegError):
                return
            skip = self._skip_before is not None and packet.pts is not None and packet.pts < self._skip_before
            if skip != skipping:
                codec.skip_frame = "NONREF" if skip else "DEFAULT"
                skipping = skip
            try:
                yield from codec.decode(packet)
            except av.FFmpegError:  # a damaged packet: skip it, later keyframes may still decode
                continue

    def _pull(self) -> tuple[int, av.VideoFrame] | None:
        """The next decoded frame of the index, with its frame number; None at the end of the stream."""
        if self._pending is not None:
            decoded, self._pending = self._pending, None
            return decoded
        if self._decoder is None:
            return None
        for frame in self._decoder:
            if self._counted:
                index, self._decoded_count = self._decoded_count, self._decoded_count + 1
            else:
                index = self._index_of.get(frame.pts)
            if index is not None and index < len(self._pts):
                return index, frame
        self._decoder = None
        return None

    def _seek(self, index: int) -> None:
        """Put the decoder at the keyframe at or before `index`.

        Demuxers without an index (MPEG-TS, MPEG-PS) may land a group of pictures late; then try the
        keyframe before, and in the end decode from the start of the file, which works for every format.
        """
        first_key = bisect.bisect_right(self._keyframes, index) - 1
        for k in range(-1 if self._counted else first_key, -1, -1):
            self._container.seek(int(self._pts[self._keyframes[k]]), stream=self._stream, backward=True)
            if self._start_decoding(index):
                return
        self._container.close()
        self._container = av.open(str(self.path))
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._decoded_count = 0
        self._start_decoding(index)

    def _start_decoding(self, index: int) -> bool:
        """Decode from the demuxer's position; whether the first frame out comes at or before `index`."""
        self._decoder = self._decode_from_here()
        self._pending = None
        first = self._pull()
        self._pending = first
        self._next_index = self._position = first[0] if first is not None else len(self._pts)
        return first is not None and first[0] <= index

    @property
    def longest_gop(self) -> int:
        """The most frames from one keyframe to the next (or to the end): the worst seek's decoding run."""
        bounds = [*self._keyframes, len(self._pts)]
        return int(np.diff(bounds).max())

    def decode_distance(self, index: int) -> int:
        """How many frames reading `index` now would decode: from the decoder's position, or from the
        keyframe a seek lands on. A scrubbing view shows a preview first when this is large."""
        key = self._keyframes[bisect.bisect_right(self._keyframes, index) - 1]
        return index - key + 1 if self._needs_seek(index, key) else index - self._position + 1

    def _needs_seek(self, index: int, key: int) -> bool:
        idle = self._decoder is None and self._pending is None
        return idle or index < self._next_index or key > self._next_index

    def read(self, index: int) -> Frame:
        """Exactly frame `index` (0-based, presentation order)."""
        frame = self.read_unless(index, None)
        assert frame is not None  # only an interrupt gives None
        return frame

    def read_unless(self, index: int, interrupt: Callable[[], bool] | None) -> Frame | None:
        """`read(index)`, but None as soon as `interrupt()` is true on the way to it (a scrub moved on).

        The decoder keeps its place, so a later read at or after `index` continues from there instead of
        seeking again; a read before it seeks, since frames before `index` may have been skipped.
        """
        n = len(self._pts)
        if not 0 <= index < n:
            raise IndexError(f"frame {index} out of range: {self.path} has {plural(n, 'frame')}")
        key = self._keyframes[bisect.bisect_right(self._keyframes, index) - 1]
        self._skip_before = None if self._counted else int(self._pts[index])  # set before a seek decodes
        if self._needs_seek(index, key):
            self._seek(index)
        while (decoded := self._pull()) is not None:
            found, frame = decoded
            self._position = found + 1
            if found < index:
                if interrupt is not None and interrupt():
                    self._next_index = index
                    return None
                continue
            self._next_index = index + 1
            if found > index:  # the decoder dropped frame `index`; keep what it gave for the next read
                self._pending = decoded
                break
            return Frame(index, float(self.timestamps[index]), self._to_rgb(frame))
        raise VideoError(self.path, f"frame {index} could not be decoded (the file is damaged)")

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        if self._scaled_size is None:
            image = frame.to_ndarray(format="rgb24")
        else:
            image = frame.to_ndarray(format="rgb24", width=self._scaled_size[0], height=self._scaled_size[1])
        if self._rotation_ccw % 360:
            image = np.ascontiguousarray(np.rot90(image, k=self._rotation_ccw // 90))
        return image

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[Frame]:
        """Frames start..stop-1 in order, each decoded once; frames the decoder cannot produce are skipped."""
        stop = len(self._pts) if stop is None else min(stop, len(self._pts))
        index = max(start, 0)
        while index < stop:
            try:
                yield self.read(index)
                index += 1
            except VideoError:
                if self._decoder is None and self._pending is None:  # the decoder gave up: next keyframe
                    later = bisect.bisect_right(self._keyframes, index)
                    index = self._keyframes[later] if later < len(self._keyframes) else stop
                else:
                    index += 1

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __len__(self) -> int:
        return len(self._pts)

    def twin(self) -> VideoReader:
        """A second reader of the same file with its own decoder, sharing this one's index (no demuxing):
        for keeping one decoder at the playhead while another fills frames behind it."""
        twin = copy.copy(self)  # the index (_pts, _index_of, _keyframes, timestamps) is only ever read
        twin._container = av.open(str(self.path))
        twin._stream = twin._container.streams.video[0]
        twin._stream.thread_type = "AUTO"
        twin._decoder, twin._pending, twin._skip_before = None, None, None
        twin._next_index = twin._position = twin._decoded_count = 0
        return twin

    def close(self) -> None:
        self._decoder = None
        self._pending = None
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _mp4_without_index(path: Path) -> bool:
    """True for an MP4/MOV file (it starts with an `ftyp` box) whose top-level boxes hold no `moov`: a
    recording cut short before the recorder wrote its index, which FFmpeg reports only as invalid data."""
    boxes = []
    with open(path, "rb") as file:
        size_left = path.stat().st_size
        while size_left >= 8 and len(boxes) < 64:
            header = file.read(8)
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            boxes.append(kind)
            if size == 1:  # a 64-bit size follows the type
                size = int.from_bytes(file.read(8), "big")
                file.seek(size - 16, 1)
            elif size < 8:  # 0: the box runs to the end of the file
                break
            else:
                file.seek(size - 8, 1)
            size_left -= size
    return bool(boxes) and boxes[0] == b"ftyp" and b"moov" not in boxes


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)
