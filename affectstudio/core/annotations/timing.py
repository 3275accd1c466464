"""Seconds <-> frame indices on a video's presentation timestamps (exact for variable frame rates).

Lanes count frames; files other tools read and write count seconds. Every conversion goes through the
video's own timestamps, never through an average frame rate, so a variable-frame-rate video lines up too.
"""

from __future__ import annotations

import numpy as np

# Times written with 6 decimals come back within half a microsecond; frames are far further apart.
TOLERANCE_S = 1e-6


def as_timestamps(timestamps) -> np.ndarray:
    """Presentation times (seconds) as a float64 array; they must be finite and increasing."""
    times = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if times.size == 0:
        raise ValueError("a video needs at least one frame timestamp")
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ValueError("frame timestamps must be finite and strictly increasing")
    return times


def frame_durations(times: np.ndarray) -> np.ndarray:
    """How long each frame is shown: up to the next frame; the last frame lasts as long as the one before
    it (one second for a one-frame video, which has no interval to copy)."""
    if len(times) == 1:
        return np.ones(1)
    steps = np.diff(times)
    return np.append(steps, steps[-1])


def video_end(times: np.ndarray) -> float:
    """When the last frame stops being shown."""
    return float(times[-1] + frame_durations(times)[-1])


def frames_within(times: np.ndarray, start: float, end: float) -> tuple[int, int] | None:
    """First and last frame whose presentation time lies in [start, end): a span's end is when its last
    frame stops being shown (ELAN's end), so the frame presented at `end` starts after it. None if no frame
    does."""
    first = int(np.searchsorted(times, start - TOLERANCE_S, side="left"))
    last = int(np.searchsorted(times, end - TOLERANCE_S, side="left")) - 1
    return (first, last) if first <= last else None


def span_end(times: np.ndarray, last: int) -> float:
    """When frame `last` stops being shown: the end time of a span whose last frame it is."""
    return float(times[last] + frame_durations(times)[last])


def frame_shown_at(times: np.ndarray, t: float) -> int:
    """The frame on screen at time `t` (the last one presented at or before it), clamped to the video."""
    index = int(np.searchsorted(times, t + TOLERANCE_S, side="right")) - 1
    return min(max(index, 0), len(times) - 1)


def nearest_frames(times: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each time, the nearest frame and whether it lies within half that frame's interval of it.

    Half a frame interval on each side is the frame's own neighbourhood: before the first frame and after
    the last, the neighbouring intervals are copied, so a time past the video's end finds no frame.
    """
    t = np.asarray(t, dtype=np.float64)
    right = np.clip(np.searchsorted(times, t, side="left"), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    nearest = np.where(np.abs(times[left] - t) <= np.abs(times[right] - t), left, right)
    durations = frame_durations(times)
    before = np.concatenate([durations[:1], durations[:-1]])  # interval before each frame
    gap = t - times[nearest]
    half = np.where(gap >= 0, durations[nearest], before[nearest]) / 2
    inside = np.abs(gap) <= half + TOLERANCE_S
    return nearest, inside
