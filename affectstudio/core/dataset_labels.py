"""Lanes + analysed face boxes -> one labelled row per (frame, face) for a training set.

Labels belong to a lane's face track: a frame labelled on track 3 takes track 3's box at that frame. A lane
on `ANY_TRACK` (-1) takes the face present at that frame if there is exactly one, else the largest. A frame
whose track has no face there is skipped, and the reason counted. Exclusion ranges (of the same track, or
of ANY_TRACK for every track) are left out. Where lanes overlap on one frame and face, a lane of the
specific track wins over an ANY_TRACK lane, field by field; among annotators, the later in the given
order wins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from affectstudio.core.annotations.lanes import ANY_TRACK, Lane
from affectstudio.core.labels import ACTION_UNITS
from affectstudio.core.results import BOX_COLUMNS, NO_FACE


@dataclass
class LabelArrays:
    """Dense labels of one track: VA (NaN = none), expression index and AU 0/1 (-1 = none)."""

    va: np.ndarray  # (F, 2) float32
    expr: np.ndarray  # (F,) int16
    au: np.ndarray  # (F, 12) int16

    @classmethod
    def empty(cls, n: int) -> LabelArrays:
        return cls(
            np.full((n, 2), np.nan, np.float32),
            np.full(n, -1, np.int16),
            np.full((n, len(ACTION_UNITS)), -1, np.int16),
        )

    def labelled(self) -> np.ndarray:
        return np.isfinite(self.va).all(axis=1) | (self.expr >= 0) | (self.au >= 0).any(axis=1)

    def overlay(self, other: LabelArrays, frames: np.ndarray) -> None:
        """Take `other`'s labels where it has them, on `frames` only."""
        va = np.isfinite(other.va[frames]).all(axis=1)
        self.va[frames[va]] = other.va[frames[va]]
        expr = other.expr[frames] >= 0
        self.expr[frames[expr]] = other.expr[frames[expr]]
        au = other.au[frames] >= 0
        target = self.au[frames]
        target[au] = other.au[frames][au]
        self.au[frames] = target


@dataclass
class LabelledFace:
    frame: int
    track: int
    box: np.ndarray  # (4,) x0 y0 x1 y1
    va: np.ndarray  # (2,) NaN = none
    expr: int  # -1 = none
    au: np.ndarray  # (12,) -1 = none


def track_labels(lanes: Sequence[Lane], n: int) -> dict[int, LabelArrays]:
    """Per lane track: the merged labels, excluded frames removed, before any face is looked up."""
    labels: dict[int, LabelArrays] = {}
    excluded: dict[int, np.ndarray] = {}
    for lane in lanes:
        key = lane.key
        if key.kind == "event":
            continue
        if key.kind == "exclusion":
            mask = excluded.setdefault(key.track_id, np.zeros(n, bool))
            for segment in lane.segments:
                mask[segment.start : segment.stop + 1] = True
            continue
        target = labels.setdefault(key.track_id, LabelArrays.empty(n))
        values = lane.per_frame(n)
        if key.kind == "continuous":
            column = 0 if key.name == "valence" else 1
            has = np.isfinite(values)
            target.va[has, column] = values[has]
        elif key.kind == "expression":
            target.expr[values >= 0] = values[values >= 0]
        else:
            column = ACTION_UNITS.index(key.name)
            target.au[values >= 0, column] = values[values >= 0]
    everywhere = excluded.get(ANY_TRACK, np.zeros(n, bool))
    for track, arrays in labels.items():
        half = np.isnan(arrays.va).any(axis=1)
        arrays.va[half] = np.nan  # valence without arousal is never a label
        out = everywhere | excluded.get(track, everywhere)
        arrays.expr[out], arrays.au[out], arrays.va[out] = -1, -1, np.nan
    return labels


def face_boxes(results: pd.DataFrame, n: int) -> dict[int, np.ndarray]:
    """Track id -> (n, 4) boxes, NaN where the track has no face."""
    rows = results[(results["track_id"] != NO_FACE) & (results["frame"] < n)]
    out = {}
    for track, group in rows.groupby("track_id"):
        boxes = np.full((n, 4), np.nan, np.float32)
        boxes[group["frame"].to_numpy(dtype=np.int64)] = group[BOX_COLUMNS].to_numpy(dtype=np.float32)
        out[int(track)] = boxes
    return out


def labelled_faces(
    lanes: Sequence[Lane], results: pd.DataFrame, n: int, skipped: Counter
) -> list[LabelledFace]:
    """The labelled (frame, face) pairs of one video, in time order; `skipped` counts what was left out."""
    labels = track_labels(lanes, n)
    boxes = face_boxes(results, n)
    stacked = np.stack(list(boxes.values())) if boxes else np.full((0, n, 4), np.nan, np.float32)
    track_ids = list(boxes)
    present = np.isfinite(stacked).all(axis=2)  # (tracks, n)
    area = np.where(present, (stacked[..., 2] - stacked[..., 0]) * (stacked[..., 3] - stacked[..., 1]), -1)
    merged: dict[int, LabelArrays] = {}
    order = sorted(labels, key=lambda track: track != ANY_TRACK)  # ANY_TRACK first: specific tracks win
    resolved: dict[int, dict[int, np.ndarray]] = {}
    for track in order:
        frames = np.flatnonzero(labels[track].labelled())
        if track == ANY_TRACK:
            if not track_ids:
                skipped["no face in the frame"] += len(frames)
                continue
            best = np.argmax(area[:, frames], axis=0)
            has = present[best, frames]
            skipped["no face in the frame"] += int((~has).sum())
            targets = [(track_ids[b], f) for b, f in zip(best[has], frames[has], strict=True)]
        else:
            has = (
                present[track_ids.index(track), frames] if track in track_ids else np.zeros(len(frames), bool)
            )
            if (~has).any():
                skipped[f"no face on track {track} at that frame"] += int((~has).sum())
            targets = [(track, f) for f in frames[has]]
        for target_track, frame in targets:
            resolved.setdefault(target_track, {}).setdefault(track, [])
            resolved[target_track][track].append(frame)
    for target_track, sources in resolved.items():
        arrays = merged.setdefault(target_track, LabelArrays.empty(n))
        for source in sorted(sources, key=lambda track: track != ANY_TRACK):
            arrays.overlay(labels[source], np.asarray(sources[source], dtype=np.int64))
    faces = []
    for track, arrays in merged.items():
        for frame in np.flatnonzero(arrays.labelled()):
            faces.append(
                LabelledFace(
                    int(frame),
                    track,
                    boxes[track][frame],
                    arrays.va[frame],
                    int(arrays.expr[frame]),
                    arrays.au[frame],
                )
            )
    return sorted(faces, key=lambda face: (face.frame, face.track))
