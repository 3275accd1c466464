"""The sources the agreement and statistics panels compare: the model's track, each annotator's lanes and
each imported overlay of the open video, as `FrameLabels` (see core/annotations/sources.py)."""

from __future__ import annotations

from affectstudio.core.annotations.framelabels import FrameLabels
from affectstudio.core.annotations.sources import model_labels, overlay_labels

MODEL = "model"
OVERLAY_PREFIX = "overlay: "


def source_names(session) -> list[str]:
    """The model (when there are results), the annotators with lanes, then the overlays."""
    names = [MODEL] if session.track_arrays() is not None else []
    names += sorted(
        {key.annotator for key, lane in session.lanes.items() if lane.segments or lane.trace is not None}
    )
    names += [f"{OVERLAY_PREFIX}{name}" for name in session.overlays]
    return names


def source_labels(session, name: str) -> FrameLabels | None:
    """FrameLabels of one source over the open video (None when it has nothing to compare)."""
    n = session.frame_count
    if name == MODEL:
        arrays = session.track_arrays()
        return None if arrays is None else model_labels(arrays, session.thresholds)
    if name.startswith(OVERLAY_PREFIX):
        table = session.overlays.get(name[len(OVERLAY_PREFIX) :])
        return None if table is None else overlay_labels(table, n, name)
    lanes = [lane for key, lane in session.lanes.items() if key.annotator == name]
    return FrameLabels.from_lanes(lanes, n, name) if lanes else None
