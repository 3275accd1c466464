"""One side of a comparison as dense per-frame labels: an annotator's lanes or the model's predictions.

Agreement and range statistics compare frame by frame, so both kinds of source are first turned into
the same arrays: expression index, AU on/off, valence/arousal, each with its own "unlabelled" marker
(-1, -1, NaN). A task the source does not label at all is absent (None / missing key), which is not the
same as labelled nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from affectstudio.core.annotations.lanes import Lane, LaneKey, Segment
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, VA_NAMES
from affectstudio.core.results import ResultTable, au_active, top_expression


@dataclass
class FrameLabels:
    """Dense labels over `frame_count` frames. `source` is "lanes" (an annotator) or "model"."""

    name: str
    source: str
    frame_count: int
    expression: np.ndarray | None = None  # (F,) int16 ABAW index, -1 = unlabelled
    aus: dict[str, np.ndarray] = field(default_factory=dict)  # AU name -> (F,) int8 0/1, -1 = unlabelled
    va: dict[str, np.ndarray] = field(default_factory=dict)  # "valence"/"arousal" -> (F,) float32, NaN
    face: np.ndarray | None = None  # (F,) bool, frames with a face (predictions only)
    excluded: np.ndarray | None = None  # (F,) bool, the source's own exclusion ranges

    @classmethod
    def from_lanes(
        cls, lanes: Iterable[Lane] | Mapping[LaneKey, Lane], frame_count: int, name: str | None = None
    ) -> FrameLabels:
        """Labels from the lanes of one annotator (and one face track; a later lane of the same name
        overwrites an earlier one where both label a frame). Events carry no per-frame label."""
        lanes = list(lanes.values()) if isinstance(lanes, Mapping) else list(lanes)
        annotators = sorted({lane.key.annotator for lane in lanes})
        out = cls(name or ", ".join(annotators) or "annotator", "lanes", frame_count)
        out.excluded = np.zeros(frame_count, dtype=bool)
        for lane in lanes:
            kind, dense = lane.key.kind, None
            if kind in ("expression", "au", "continuous"):
                dense = lane.per_frame(frame_count)
            if kind == "expression":
                out.expression = _merge(out.expression, dense, -1).astype(np.int16)
            elif kind == "au":
                out.aus[lane.key.name] = _merge(out.aus.get(lane.key.name), dense, -1).astype(np.int8)
            elif kind == "continuous":
                out.va[lane.key.name] = _merge(out.va.get(lane.key.name), dense, np.nan).astype(np.float32)
            elif kind == "exclusion":
                out.excluded |= exclusion_mask(lane.segments, frame_count)
        return out

    @classmethod
    def from_results(
        cls,
        table: ResultTable,
        track_id: int,
        frame_count: int | None = None,
        thresholds: Sequence[float] | None = None,
        name: str = "model",
    ) -> FrameLabels:
        """The model's labels for one face track: argmax expression, AUs over `thresholds` (default: the
        table's own `au_thresholds`, else 0.5), valence/arousal; frames without that face are unlabelled."""
        n = table.n_frames if frame_count is None else frame_count
        track = table.track_view(track_id, n)
        limits = thresholds if thresholds is not None else table.metadata.get("au_thresholds")
        out = cls(name, "model", n, face=~np.isnan(track.boxes[:, 0]))
        out.expression = top_expression(track.expr).astype(np.int16)
        active = au_active(track.au, limits).astype(np.int8)
        active[np.isnan(track.au)] = -1
        out.aus = {au: active[:, k] for k, au in enumerate(ACTION_UNITS)}
        out.va = {va: track.va[:, k].astype(np.float32) for k, va in enumerate(VA_NAMES)}
        return out

    @classmethod
    def from_overlay(
        cls, overlay, frame_count: int, face_id: int | None = None, au_threshold: float = 0.5
    ) -> FrameLabels:
        """Another tool's labels (an `overlays.Overlay`) for one face (default: the lowest face id): argmax
        over its `expr_*` columns, `AU<n>_active` (else `AU<n>_prob` >= `au_threshold`), valence/arousal.
        It compares like the model: a "model" side, with frames it has a row for as frames with a face."""
        df = overlay.frame
        if "face_id" in df.columns and len(df):
            df = df[df["face_id"] == (df["face_id"].min() if face_id is None else face_id)]
        df = df[(df.index >= 0) & (df.index < frame_count)]
        frames = df.index.to_numpy(dtype=np.int64)
        out = cls(overlay.name, "model", frame_count, face=np.zeros(frame_count, dtype=bool))
        out.face[frames] = True
        expr = [k for k, name in enumerate(EXPRESSIONS) if f"expr_{name}" in df.columns]
        if expr:
            probs = np.full((frame_count, len(EXPRESSIONS)), -np.inf)
            probs[:, expr] = np.nan
            probs[np.ix_(frames, expr)] = df[[f"expr_{EXPRESSIONS[k]}" for k in expr]].to_numpy(np.float64)
            labelled = ~np.isnan(probs[:, expr]).any(axis=1)
            out.expression = np.where(labelled, np.argmax(np.nan_to_num(probs, nan=-np.inf), axis=1), -1)
            out.expression = out.expression.astype(np.int16)
        for au in ACTION_UNITS:
            column = next((c for c in (f"{au}_active", f"{au}_prob") if c in df.columns), None)
            if column is not None:
                values = df[column].to_numpy(np.float64)
                dense = np.full(frame_count, -1, dtype=np.int8)
                limit = 0.5 if column.endswith("_active") else au_threshold
                dense[frames] = np.where(np.isnan(values), -1, values >= limit)
                out.aus[au] = dense
        for name in VA_NAMES:
            if name in df.columns:
                out.va[name] = np.full(frame_count, np.nan, dtype=np.float32)
                out.va[name][frames] = df[name].to_numpy(np.float32)
        return out


def _merge(base: np.ndarray | None, top: np.ndarray, unlabelled) -> np.ndarray:
    if base is None:
        return top
    labelled = ~np.isnan(top) if isinstance(unlabelled, float) else top != unlabelled
    return np.where(labelled, top, base)


Ranges = Iterable[Segment | Lane | tuple[int, int]]


def exclusion_mask(ranges: Ranges, frame_count: int) -> np.ndarray:
    """Frames inside any of `ranges`: segments, exclusion lanes or inclusive (start, stop) pairs."""
    mask = np.zeros(frame_count, dtype=bool)
    for item in ranges:
        if isinstance(item, Lane):
            mask |= exclusion_mask(item.segments, frame_count)
            continue
        start, stop = (item.start, item.stop) if isinstance(item, Segment) else item
        mask[max(int(start), 0) : max(int(stop) + 1, 0)] = True
    return mask


def as_labels(side, frame_count: int) -> FrameLabels:
    """FrameLabels as they are, or lanes (an iterable or a mapping of them) turned into FrameLabels."""
    return side if isinstance(side, FrameLabels) else FrameLabels.from_lanes(side, frame_count)
