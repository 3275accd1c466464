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
from affectstudio.core.labels import ACTION_UNITS, VA_NAMES
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
                out.expression = _overlay(out.expression, dense, -1).astype(np.int16)
            elif kind == "au":
                out.aus[lane.key.name] = _overlay(out.aus.get(lane.key.name), dense, -1).astype(np.int8)
            elif kind == "continuous":
                out.va[lane.key.name] = _overlay(out.va.get(lane.key.name), dense, np.nan).astype(np.float32)
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


def _overlay(base: np.ndarray | None, top: np.ndarray, unlabelled) -> np.ndarray:
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
