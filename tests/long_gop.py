"""A small indexed video with one keyframe every 250 frames (x264's default), for seek and cache tests."""

from __future__ import annotations

from pathlib import Path

import av

from tests.videos import index_image

SIZE = (192, 144)
KEYINT = 250


def write_long_gop_video(
    path: Path, n_frames: int = 300, size: tuple[int, int] = SIZE, keyint: int = KEYINT
) -> Path:
    """`n_frames` frames carrying their index (tests/videos.py), B-frames, a keyframe every `keyint` frames
    (at 0 and 250 only by default)."""
    options = {
        "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=2",
        "preset": "ultrafast",
    }
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(n_frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(index_image(i, size), format="rgb24")))
        container.mux(stream.encode(None))
    return path
