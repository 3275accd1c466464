"""Where per-frame values go on a time axis, for plots that can only draw a uniform grid (heat maps).

A heat map is one image stretched over the time axis, so its columns are evenly spaced; a video's frames
are not (variable frame rate: phone clips, screen recordings). Drawing column i at i * duration / frames
puts a frame's values up to several frames away from its real time, where the playhead and the traces
(drawn at each frame's presentation time) are. So for a variable frame rate the image is resampled onto a
uniform grid fine enough that every frame gets at least one column, each column showing the frame on
screen at its centre time, the same rule as the playhead's `frame_at`. A constant frame rate keeps one
column per frame (exact, and no bigger than before).
"""

from __future__ import annotations

import numpy as np

MAX_COLUMNS = 250_000  # ~50 MB for the AU image at most; a display downsamples it anyway


def frame_columns(timestamps: np.ndarray, end: float) -> tuple[np.ndarray, float]:
    """(frame index of each column, column width in seconds) for a heat map spanning [0, end].

    Index -1 marks columns before the first frame (draw them empty).
    """
    times = np.asarray(timestamps, dtype=np.float64)
    count = len(times)
    if count == 0 or end <= 0:
        return np.zeros(0, dtype=np.int64), 1.0
    steps = np.diff(times)
    width = end / count
    uniform = abs(times[0]) < 1e-6 and np.allclose(times, np.arange(count) * width, rtol=0, atol=1e-6)
    if uniform:
        return np.arange(count, dtype=np.int64), width
    shortest = float(steps[steps > 0].min()) if (steps > 0).any() else end
    width = max(shortest / 2, end / min(MAX_COLUMNS, 64 * count))
    columns = int(np.ceil(end / width - 1e-9))
    centres = (np.arange(columns) + 0.5) * width
    return np.searchsorted(times, centres + 1e-9, side="right").astype(np.int64) - 1, width


def on_columns(image: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Per-frame image rows (F, ...) -> per-column rows; columns before the first frame are zero."""
    out = image[np.clip(columns, 0, None)]
    out[columns < 0] = 0
    return out
