"""Statistics of a frame range, for an annotator's lanes or the model's predictions (as ELAN's time-series
viewer gives for a selection): time share per expression, mean/sd of valence and arousal, AU activation
rates, time with a face.

Times come from the video's presentation timestamps (a frame lasts until the next one is shown), so a
variable-frame-rate video's shares are shares of time, not of frames. Frames in exclusion ranges (given,
or the side's own exclusion lanes) are left out of everything, including the total that shares divide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from affectstudio.core.annotations.framelabels import Ranges, as_labels, exclusion_mask
from affectstudio.core.annotations.timing import as_timestamps, frame_durations
from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, VA_NAMES

UNLABELLED = "(unlabelled)"


@dataclass
class RangeStats:
    """What `range_stats` found in frames `start`..`stop` (inclusive)."""

    start: int
    stop: int
    frames: int  # counted: the range minus excluded frames
    seconds: float
    excluded_frames: int
    expressions: pd.DataFrame | None  # index: classes + "(unlabelled)"; frames, seconds, percent
    va: pd.DataFrame  # index: valence/arousal the side labels; frames, mean, sd (sample, ddof 1)
    aus: pd.DataFrame  # index: AUs the side labels; coded_frames, active_frames, rate
    face_frames: int | None  # predictions only
    face_seconds: float | None

    def to_frame(self) -> pd.DataFrame:
        """One tall table (statistic, name, value, unit) for a CSV or the command line."""
        rows = [
            ("range", "frames", self.frames, "frames"),
            ("range", "duration", self.seconds, "s"),
            ("range", "excluded", self.excluded_frames, "frames"),
        ]
        if self.face_frames is not None:
            rows += [
                ("face", "frames", self.face_frames, "frames"),
                ("face", "duration", self.face_seconds, "s"),
            ]
        if self.expressions is not None:
            for name, r in self.expressions.iterrows():
                rows += [("time share", name, r.seconds, "s"), ("time share", name, r.percent, "%")]
        for name, r in self.va.iterrows():
            rows += [("mean", name, r["mean"], ""), ("sd", name, r["sd"], "")]
        for name, r in self.aus.iterrows():
            rows.append(("activation rate", name, r.rate, "fraction of coded frames"))
        return pd.DataFrame(rows, columns=["statistic", "name", "value", "unit"])


def range_stats(
    side, timestamps, start: int = 0, stop: int | None = None, exclusions: Ranges = ()
) -> RangeStats:
    """Statistics of frames `start`..`stop` (inclusive; default: to the end) of `side` (FrameLabels, or the
    lanes of one annotator), timed with the video's `timestamps`."""
    times = as_timestamps(timestamps)
    n = len(times)
    stop = n - 1 if stop is None else stop
    if not 0 <= start <= stop < n:
        raise AnnotationError(
            None, f"frame range {start}..{stop} is not inside the video's frames 0..{n - 1}"
        )
    labels = as_labels(side, n)
    inside = np.zeros(n, dtype=bool)
    inside[start : stop + 1] = True
    excluded = exclusion_mask(exclusions, n)
    if labels.excluded is not None:
        excluded |= labels.excluded[:n]
    counted = inside & ~excluded
    durations = frame_durations(times)
    total = float(durations[counted].sum())

    expressions = None
    if labels.expression is not None:
        expr = labels.expression[:n]
        masks = [expr == k for k in range(len(EXPRESSIONS))] + [expr < 0]
        frames = [int((m & counted).sum()) for m in masks]
        seconds = [float(durations[m & counted].sum()) for m in masks]
        percent = [100 * s / total if total else np.nan for s in seconds]
        expressions = pd.DataFrame(
            {"frames": frames, "seconds": seconds, "percent": percent}, index=[*EXPRESSIONS, UNLABELLED]
        )

    va_rows = {}
    for name in VA_NAMES:
        if name in labels.va:
            values = labels.va[name][:n][counted].astype(np.float64)
            values = values[np.isfinite(values)]
            sd = float(values.std(ddof=1)) if values.size > 1 else np.nan
            va_rows[name] = (values.size, float(values.mean()) if values.size else np.nan, sd)
    va = pd.DataFrame.from_dict(va_rows, orient="index", columns=["frames", "mean", "sd"])

    au_rows = {}
    for au in ACTION_UNITS:
        if au in labels.aus:
            coded = labels.aus[au][:n][counted]
            coded = coded[coded >= 0]
            active = int((coded == 1).sum())
            au_rows[au] = (coded.size, active, active / coded.size if coded.size else np.nan)
    aus = pd.DataFrame.from_dict(au_rows, orient="index", columns=["coded_frames", "active_frames", "rate"])

    face_frames = face_seconds = None
    if labels.face is not None:
        face = labels.face[:n] & counted
        face_frames, face_seconds = int(face.sum()), float(durations[face].sum())
    return RangeStats(
        start,
        stop,
        int(counted.sum()),
        total,
        int((inside & excluded).sum()),
        expressions,
        va,
        aus,
        face_frames,
        face_seconds,
    )
