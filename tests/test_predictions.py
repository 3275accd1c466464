"""Predictions -> lanes: argmax expression runs, thresholded AU runs, VA trace, no face = unlabelled."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.annotations.edits import AddSegment, UndoStack
from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.core.annotations.predictions import FillFromPredictions
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.project import ProjectStore
from affectstudio.core.results import NO_FACE, FrameBatch, ResultTable, batch_to_frame

N = 40


def results():
    """Track 0 on every frame but 5-7 (no face there); track 1, a smaller face, on frames 0-19."""
    frames, tracks, boxes, expr, au, va = [], [], [], [], [], []
    for f in range(N):
        for track in (0, 1):
            if track == 0 and 5 <= f <= 7:
                continue
            if track == 1 and f >= 20:
                continue
            frames.append(f)
            tracks.append(track)
            boxes.append((0, 0, 100, 100) if track == 0 else (0, 0, 10 + f, 10 + f))
            e = np.full(8, 0.01)
            e[EXPRESSIONS.index("Happiness" if (track == 0 and f < 20) else "Fear")] = 0.9
            expr.append(e)
            a = np.full(12, 0.1)
            a[ACTION_UNITS.index("AU12")] = 0.6 if f < 30 else 0.2
            au.append(a)
            va.append((f / N - 0.5, 0.3 if track == 0 else -0.3))
    frames.append(N)  # one frame without any face
    tracks.append(NO_FACE)
    boxes.append((np.nan,) * 4)
    expr.append(np.full(8, np.nan))
    au.append(np.full(12, np.nan))
    va.append((np.nan, np.nan))
    batch = FrameBatch(
        np.array(frames),
        np.array(frames) / 25.0,
        np.array(tracks),
        np.ones(len(frames)),
        np.array(boxes, float),
        np.array(va, float),
        np.array(expr, float),
        np.array(au, float),
    )
    return ResultTable(batch_to_frame(batch, [0.5] * 12)).df


@pytest.fixture
def store(tmp_path):
    with ProjectStore(tmp_path / "p.affectproj") as project:
        project.remember_video("v", tmp_path / "v.mp4", N + 1, 25.0)
        yield project


def spans(store, lane, track=0, annotator="model"):
    return [(s.start, s.stop, s.value) for s in store.segments("v", LaneKey(lane, annotator, track))]


def test_fill_makes_expression_au_and_va_lanes_of_one_track(store):
    thresholds = [0.5] * 12
    thresholds[ACTION_UNITS.index("AU12")] = 0.55
    stack = UndoStack(store)
    stack.push(FillFromPredictions("v", results(), 0, 0, N, "model", thresholds=thresholds))
    assert spans(store, "expression") == [(0, 4, "Happiness"), (8, 19, "Happiness"), (20, 39, "Fear")]
    assert spans(store, "AU12") == [(0, 4, 1), (8, 29, 1), (30, 39, 0)]
    assert spans(store, "AU1") == [(0, 4, 0), (8, 39, 0)]
    valence = store.trace("v", LaneKey("valence", "model", 0))
    arousal = store.trace("v", LaneKey("arousal", "model", 0))
    assert np.isnan(valence[5:8]).all() and np.isnan(valence[N])
    np.testing.assert_allclose(valence[:5], np.arange(5) / N - 0.5, atol=1e-6)
    np.testing.assert_allclose(arousal[8:N], 0.3, atol=1e-6)


def test_fill_replaces_the_range_only_and_undoes_whole(store):
    stack = UndoStack(store)
    key = LaneKey("expression", "model", 0)
    stack.push(AddSegment("v", key, Segment(0, 39, "Sadness", "mine")))
    stack.push(FillFromPredictions("v", results(), 0, 10, 24, "model", lanes=["expression"]))
    assert spans(store, "expression") == [
        (0, 9, "Sadness"),
        (10, 19, "Happiness"),
        (20, 24, "Fear"),
        (25, 39, "Sadness"),
    ]
    assert store.lane_keys("v") == [key]  # only the lanes asked for
    stack.undo()
    assert [(s.start, s.stop, s.value, s.note) for s in store.segments("v", key)] == [
        (0, 39, "Sadness", "mine")
    ]


def test_any_track_takes_the_largest_face_of_each_frame(store):
    UndoStack(store).push(FillFromPredictions("v", results(), ANY_TRACK, 0, N, "model", lanes=["expression"]))
    # track 0 (larger) is Happiness up to 19, Fear after; in its gap (5-7) track 1's Fear fills in
    assert spans(store, "expression", ANY_TRACK) == [
        (0, 4, "Happiness"),
        (5, 7, "Fear"),
        (8, 19, "Happiness"),
        (20, 39, "Fear"),
    ]
