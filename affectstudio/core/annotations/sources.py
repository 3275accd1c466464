"""What the review window compares and draws, as `FrameLabels`: the model's dense track arrays and
imported overlays (OpenFace, py-feat, generic CSV).

`framelabels.FrameLabels.from_results` reads a `ResultTable`; the review session holds dense per-track
arrays instead (`review_data.TrackArrays`), and overlays are tables indexed by our frame. Both become the
same per-frame labels here, so the agreement panel, the statistics panel and the overlay traces read one
thing whatever the source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from affectstudio.core.annotations.framelabels import FrameLabels
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, EXPRESSIONS, VA_NAMES
from affectstudio.core.results import au_active, top_expression

# An OpenFace AU intensity (0-5) at or above this counts as active when the file has no presence column.
INTENSITY_ACTIVE = 1.0
AU_COLUMNS = (("active", 0.5), ("prob", DEFAULT_AU_THRESHOLD), ("intensity", INTENSITY_ACTIVE))


def model_labels(arrays, thresholds: Sequence[float] | None = None, name: str = "model") -> FrameLabels:
    """The model's labels for one track from its dense arrays (va, expr, au, boxes; NaN without a face)."""
    n = len(arrays.va)
    out = FrameLabels(name, "model", n, face=~np.isnan(arrays.boxes[:, 0]))
    out.expression = top_expression(arrays.expr).astype(np.int16)
    active = au_active(np.nan_to_num(arrays.au, nan=-1.0), thresholds).astype(np.int8)
    active[np.isnan(arrays.au)] = -1
    out.aus = {au: active[:, k] for k, au in enumerate(ACTION_UNITS)}
    out.va = {va: arrays.va[:, k].astype(np.float32) for k, va in enumerate(VA_NAMES)}
    return out


def first_face(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per frame: the lowest `face_id` where the overlay has several faces."""
    table = frame.reset_index() if "frame" not in frame.columns else frame
    if "face_id" in table.columns:
        table = table.sort_values(["frame", "face_id"], kind="stable")
    return table.drop_duplicates("frame", keep="first").set_index("frame")


def _dense(values: pd.Series, n: int, fill, dtype) -> np.ndarray:
    out = np.full(n, fill, dtype=dtype)
    frames = values.index.to_numpy(dtype=np.int64)
    inside = (frames >= 0) & (frames < n)
    out[frames[inside]] = values.to_numpy()[inside]
    return out


def overlay_labels(frame: pd.DataFrame, frame_count: int, name: str = "overlay") -> FrameLabels:
    """Labels from an imported overlay's table: valence/arousal where it has them, the most probable
    expression from `expr_*` columns, AUs from presence (`AU<n>_active`), probability (`AU<n>_prob`, at
    0.5) or intensity (`AU<n>_intensity`, at 1). Frames the file does not cover are unlabelled."""
    table = first_face(frame)
    out = FrameLabels(name, "overlay", frame_count)
    for va in VA_NAMES:
        if va in table.columns:
            out.va[va] = _dense(table[va].astype(np.float32), frame_count, np.nan, np.float32)
    expr_columns = [f"expr_{e}" for e in EXPRESSIONS]
    present = [c for c in expr_columns if c in table.columns]
    if present:
        probs = np.full((frame_count, len(EXPRESSIONS)), -np.inf, dtype=np.float32)
        covered = np.zeros(frame_count, dtype=bool)
        for k, column in enumerate(expr_columns):
            if column in table.columns:
                values = _dense(table[column].astype(np.float32), frame_count, np.nan, np.float32)
                covered |= ~np.isnan(values)
                probs[:, k] = np.nan_to_num(values, nan=-np.inf)
        out.expression = np.where(covered, probs.argmax(axis=1), -1).astype(np.int16)
    for au in ACTION_UNITS:
        for suffix, limit in AU_COLUMNS:
            column = f"{au}_{suffix}"
            if column in table.columns:
                values = _dense(table[column].astype(np.float64), frame_count, np.nan, np.float64)
                labels = np.where(np.isnan(values), -1, values >= limit).astype(np.int8)
                out.aus[au] = labels
                break
    return out
