"""Test helpers: small synthetic videos whose frames carry their own index, written with PyAV.

Each frame is a 4x4 grid of big flat blocks. The top row is a fixed marker (light, dark, light, dark), so a
frame shown the wrong way round is detected; the other 12 blocks are the bits of the frame index. Blocks
of at least 16x12 pixels keep their means through lossy codecs (mpeg4, H.264) despite the added grain.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

GRID = 4
MARKER = (1, 0, 1, 0)
LIGHT, DARK = 220, 35
INDEX_BITS = GRID * (GRID - 1)

# Encoder settings that force B-frames and short groups of pictures, so seeking crosses keyframes and
# decode order differs from presentation order (the hard case for frame-exact seeking).
CODEC_OPTIONS = {
    "libx264": {
        "x264-params": "keyint=12:min-keyint=12:scenecut=0:bframes=2:b-adapt=0",
        "preset": "ultrafast",
    },
    "mpeg4": {"g": "12", "bf": "2", "sc_threshold": "1000000000", "qscale": "4"},
}


def index_image(index: int, size: tuple[int, int]) -> np.ndarray:
    """An RGB image (height, width, 3) showing the marker row and the bits of `index`."""
    width, height = size
    bits = [*MARKER, *((index >> b) & 1 for b in range(INDEX_BITS))]
    cells = np.where(np.array(bits).reshape(GRID, GRID) == 1, LIGHT, DARK).astype(np.uint8)
    image = np.kron(cells, np.ones((height // GRID, width // GRID), dtype=np.uint8))
    image = np.pad(image, ((0, height - image.shape[0]), (0, width - image.shape[1])), mode="edge")
    # texture, so packets have realistic sizes and damage hits real picture data
    grain = np.random.default_rng(index).integers(-25, 26, size=(height, width, 3))
    return (image[:, :, None] + grain).clip(0, 255).astype(np.uint8)


def decode_index(image: np.ndarray) -> int | None:
    """The index an `index_image` carries, or None when the marker row is not where it should be."""
    height, width = image.shape[:2]
    bh, bw = height // GRID, width // GRID
    gray = image.astype(np.float32).mean(axis=2)
    # the inner half of each block, away from the codec's ringing at the block edges
    cells = np.array(
        [
            [
                gray[
                    r * bh + bh // 4 : (r + 1) * bh - bh // 4, c * bw + bw // 4 : (c + 1) * bw - bw // 4
                ].mean()
                for c in range(GRID)
            ]
            for r in range(GRID)
        ]
    )
    bits = (cells > (LIGHT + DARK) / 2).astype(int).ravel()
    if tuple(bits[:GRID]) != MARKER:
        return None
    return int(sum(int(bit) << b for b, bit in enumerate(bits[GRID:])))


def vfr_timestamps(n_frames: int, seed: int = 0) -> np.ndarray:
    """Irregular frame times in whole milliseconds (10-120 ms apart), starting at 0."""
    gaps = np.random.default_rng(seed).integers(10, 121, size=n_frames - 1)
    return np.concatenate([[0], np.cumsum(gaps)]) / 1000.0


def write_indexed_video(
    path: str | Path,
    n_frames: int,
    size: tuple[int, int] = (128, 96),
    fps: int = 25,
    codec: str = "libx264",
    vfr: bool = False,
    rotation: int = 0,
    timestamps: Sequence[float] | None = None,
    faststart: bool = False,
    pixel_aspect: Fraction | None = None,
) -> np.ndarray:
    """Write `n_frames` index frames; return the presentation time of each frame in seconds.

    `rotation` is stored as a display matrix: the clockwise turn a player applies (the `rotate` tag's
    meaning). `vfr` spaces frames irregularly (see `vfr_timestamps`); `timestamps` gives them explicitly.
    `faststart` puts the mp4 index (moov) first, so a truncated copy still opens. `pixel_aspect` marks the
    pixels as non-square (a sample aspect ratio, as DV and DVD video have).
    """
    if vfr and timestamps is None:
        timestamps = vfr_timestamps(n_frames)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps, options=CODEC_OPTIONS.get(codec, {}))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        time_base = Fraction(1, 1000) if timestamps is not None else Fraction(1, fps)
        stream.codec_context.time_base = time_base
        if pixel_aspect is not None:
            stream.codec_context.sample_aspect_ratio = pixel_aspect
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV takes counter-clockwise degrees
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(index_image(i, size), format="rgb24")
            frame.time_base = time_base
            frame.pts = round(timestamps[i] * 1000) if timestamps is not None else i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    if timestamps is not None:
        return np.asarray(timestamps, dtype=np.float64) - timestamps[0]
    return np.arange(n_frames) / fps


def write_frames(path: str | Path, frames: Sequence[np.ndarray], fps: int = 25) -> Path:
    """Encode RGB frames (all the same even size) as an H.264 mp4."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in frames:
            container.mux(
                stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24"))
            )
        container.mux(stream.encode(None))
    return Path(path)


def write_zero_frame_video(path: str | Path) -> Path:
    """A container with a video stream and not one frame (a recorder stopped at once)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return Path(path)


def write_audio_only(path: str | Path) -> Path:
    """A quarter second of silence, AAC, with no video stream."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(4):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, i * 1024
            container.mux(stream.encode(chunk))
        container.mux(stream.encode(None))
    return Path(path)
