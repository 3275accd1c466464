"""Predictions -> lanes: start an annotation from what the model says, then correct it by hand.

From the per-frame results table (`core/results.py` columns) of one face track over frames start..stop:

- `expression`: one segment per run of frames with the same most probable class;
- `AU1`..`AU26`: on (1) / off (0) segments from the AU probabilities and per-AU thresholds;
- `valence`/`arousal`: the predicted trace.

Frames where the track has no face stay unlabelled (a run ends there). For `ANY_TRACK` (-1) each frame
takes its only face, or the largest one when there are several. `FillFromPredictions` is the undoable
command: it replaces what the chosen lanes held in the range (ELAN's "fill tier from a recognizer").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from affectstudio.core.annotations.edits import Command, SegmentChange, SetTrace
from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.core.errors import AnnotationError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, EXPRESSIONS
from affectstudio.core.results import AU_PROB_COLUMNS, EXPR_COLUMNS, NO_FACE

DEFAULT_LANES = ("expression", *ACTION_UNITS, "valence")


@dataclass
class TrackPredictions:
    """Dense predictions of one track over frames start..stop (NaN rows where it has no face)."""

    start: int
    expr: np.ndarray  # (n, 8)
    au: np.ndarray  # (n, 12)
    va: np.ndarray  # (n, 2)

    @property
    def has_face(self) -> np.ndarray:
        return np.isfinite(self.expr).all(axis=1)


def track_predictions(df: pd.DataFrame, track_id: int, start: int, stop: int) -> TrackPredictions:
    n = stop - start + 1
    rows = df[(df["frame"] >= start) & (df["frame"] <= stop) & (df["track_id"] != NO_FACE)]
    if track_id != ANY_TRACK:
        rows = rows[rows["track_id"] == track_id]
    else:  # the largest face of each frame
        area = (rows["x1"] - rows["x0"]) * (rows["y1"] - rows["y0"])
        rows = rows.assign(_area=area.to_numpy()).sort_values("_area").drop_duplicates("frame", keep="last")
    index = rows["frame"].to_numpy(dtype=np.int64) - start

    def dense(columns: list[str]) -> np.ndarray:
        out = np.full((n, len(columns)), np.nan, dtype=np.float32)
        out[index] = rows[columns].to_numpy(dtype=np.float32, na_value=np.nan)
        return out

    return TrackPredictions(start, dense(EXPR_COLUMNS), dense(AU_PROB_COLUMNS), dense(["valence", "arousal"]))


def runs(values: np.ndarray, valid: np.ndarray, start: int) -> list[tuple[int, int, int]]:
    """(first, last, value) of each run of equal values over valid frames, in absolute frame numbers."""
    index = np.flatnonzero(valid)
    if not index.size:
        return []
    kept = values[index]
    breaks = np.flatnonzero((np.diff(index) != 1) | (np.diff(kept) != 0)) + 1
    firsts, lasts = np.r_[0, breaks], np.r_[breaks - 1, len(index) - 1]
    return [
        (start + int(index[a]), start + int(index[b]), int(kept[a]))
        for a, b in zip(firsts, lasts, strict=True)
    ]


def predicted_segments(
    predictions: TrackPredictions, lane: str, thresholds: Sequence[float] | None = None
) -> list[Segment]:
    face = predictions.has_face
    if lane == "expression":
        top = np.argmax(np.nan_to_num(predictions.expr, nan=-1.0), axis=1)
        return [Segment(a, b, EXPRESSIONS[v]) for a, b, v in runs(top, face, predictions.start)]
    if lane in ACTION_UNITS:
        column = ACTION_UNITS.index(lane)
        limit = DEFAULT_AU_THRESHOLD if thresholds is None else thresholds[column]
        probability = predictions.au[:, column]
        on = (probability >= limit).astype(np.int64)
        return [Segment(a, b, v) for a, b, v in runs(on, face & np.isfinite(probability), predictions.start)]
    raise AnnotationError(None, f"no prediction fills a {lane!r} lane")


class FillFromPredictions(Command):
    """Fill lanes of one annotator and track over frames start..stop from the results table."""

    label = "fill from predictions"

    def __init__(
        self,
        video_hash: str,
        results: pd.DataFrame,
        track_id: int,
        start: int,
        stop: int,
        annotator: str,
        lanes: Sequence[str] = DEFAULT_LANES,
        thresholds: Sequence[float] | None = None,
    ):
        super().__init__(video_hash)
        if stop < start:
            raise AnnotationError(None, f"empty frame range {start}..{stop}")
        self.predictions = track_predictions(results, track_id, start, stop)
        self.track_id, self.start, self.stop, self.annotator = track_id, start, stop, annotator
        self.lanes, self.thresholds = list(lanes), thresholds
        for lane in self.lanes:
            LaneKey(lane, annotator, track_id)  # validates the names before anything changes

    def _plan(self, store) -> None:
        for lane in self.lanes:
            key = LaneKey(lane, self.annotator, self.track_id)
            if key.kind == "continuous":
                va = np.clip(self.predictions.va, -1.0, 1.0)
                SetTrace(self.video_hash, key, self.start, va)._plan_into(self, store)
                continue
            self._carve(store, key, self.start, self.stop)
            for segment in predicted_segments(self.predictions, lane, self.thresholds):
                self._record(store, SegmentChange(key, None, segment))
