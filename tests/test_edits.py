"""Undoable lane edits: each command's effect, ELAN-style overlap trimming, exact undo/redo with ids."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.annotations.edits import (
    AddSegment,
    ChangeSegment,
    ClearRange,
    Composite,
    MergeSegments,
    RemoveSegment,
    SetTrace,
    SplitSegment,
    UndoStack,
)
from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.errors import AnnotationError
from affectstudio.core.project import ProjectError, ProjectStore

EXPR = LaneKey("expression", "ann", 0)
VAL = LaneKey("valence", "ann", 0)


@pytest.fixture
def store(tmp_path):
    with ProjectStore(tmp_path / "p.affectproj") as project:
        project.remember_video("v", tmp_path / "v.mp4", 500, 25.0)
        yield project


@pytest.fixture
def stack(store):
    changed = []
    stack = UndoStack(store, listener=changed.append)
    stack.changed = changed
    return stack


def spans(store, key=EXPR):
    return [(s.start, s.stop, s.value) for s in store.segments("v", key)]


def snapshot(store):
    return [(s.id, s.start, s.stop, s.value, s.note) for s in store.segments("v", EXPR)]


def test_add_trims_and_splits_neighbours_and_undo_restores_them(store, stack):
    stack.push(AddSegment("v", EXPR, Segment(0, 9, "Neutral")))
    stack.push(AddSegment("v", EXPR, Segment(10, 49, "Happiness", "long smile")))
    stack.push(AddSegment("v", EXPR, Segment(60, 69, "Fear")))
    before = snapshot(store)
    stack.push(AddSegment("v", EXPR, Segment(5, 20, "Anger")))  # trims both neighbours
    assert spans(store) == [(0, 4, "Neutral"), (5, 20, "Anger"), (21, 49, "Happiness"), (60, 69, "Fear")]
    stack.push(AddSegment("v", EXPR, Segment(30, 35, "Sadness")))  # splits Happiness in two
    assert spans(store) == [
        (0, 4, "Neutral"),
        (5, 20, "Anger"),
        (21, 29, "Happiness"),
        (30, 35, "Sadness"),
        (36, 49, "Happiness"),
        (60, 69, "Fear"),
    ]
    assert store.segments("v", EXPR)[4].note == "long smile"  # the split-off part keeps the note
    stack.push(AddSegment("v", EXPR, Segment(55, 80, "Surprise")))  # covers Fear: removed
    assert spans(store)[-1] == (55, 80, "Surprise") and len(spans(store)) == 6
    for _ in range(3):
        stack.undo()
    assert snapshot(store) == before  # same ids, values and notes
    for _ in range(3):
        stack.redo()
    assert spans(store)[-1] == (55, 80, "Surprise") and len(spans(store)) == 6
    assert len(stack.changed) == 12 and stack.changed[-1].touched() == {EXPR}


def test_change_moves_resizes_relabels_and_trims(store, stack):
    a = stack.push(AddSegment("v", EXPR, Segment(0, 9, "Neutral"))).added
    b = stack.push(AddSegment("v", EXPR, Segment(20, 29, "Fear"))).added
    stack.push(ChangeSegment("v", EXPR, a.id, stop=24, note="longer"))  # resize into b: b trimmed
    assert spans(store) == [(0, 24, "Neutral"), (25, 29, "Fear")]
    stack.push(ChangeSegment("v", EXPR, b.id, start=100, stop=110, value="Disgust"))  # move + relabel
    assert spans(store) == [(0, 24, "Neutral"), (100, 110, "Disgust")]
    with pytest.raises(AnnotationError, match="unknown expression"):
        stack.push(ChangeSegment("v", EXPR, a.id, value="Joy"))
    assert spans(store) == [(0, 24, "Neutral"), (100, 110, "Disgust")]  # a failed edit changes nothing
    stack.undo()
    stack.undo()
    assert snapshot(store) == [(a.id, 0, 9, "Neutral", ""), (b.id, 20, 29, "Fear", "")]
    with pytest.raises(TypeError):
        ChangeSegment("v", EXPR, a.id, colour="red")


def test_split_and_merge(store, stack):
    whole = stack.push(AddSegment("v", EXPR, Segment(10, 29, "Happiness", "a"))).added
    stack.push(SplitSegment("v", EXPR, whole.id, 20))
    left, right = store.segments("v", EXPR)
    assert (left.id, left.start, left.stop, right.start, right.stop) == (whole.id, 10, 19, 20, 29)
    with pytest.raises(AnnotationError, match="cannot split"):
        stack.push(SplitSegment("v", EXPR, whole.id, 10))
    stack.push(ChangeSegment("v", EXPR, right.id, note="b"))
    stack.push(MergeSegments("v", EXPR, right.id, left.id))
    assert snapshot(store) == [(whole.id, 10, 29, "Happiness", "a; b")]
    stack.undo()
    assert [s.id for s in store.segments("v", EXPR)] == [left.id, right.id]
    stack.push(ChangeSegment("v", EXPR, right.id, value="Fear"))
    with pytest.raises(AnnotationError, match="values differ"):
        stack.push(MergeSegments("v", EXPR, left.id, right.id))
    stack.push(ChangeSegment("v", EXPR, right.id, start=25, value="Happiness"))
    with pytest.raises(AnnotationError, match="not adjacent"):
        stack.push(MergeSegments("v", EXPR, left.id, right.id))


def test_remove_and_clear_range(store, stack):
    a = stack.push(AddSegment("v", EXPR, Segment(0, 99, "Neutral"))).added
    stack.push(ClearRange("v", EXPR, 40, 59))
    assert spans(store) == [(0, 39, "Neutral"), (60, 99, "Neutral")]
    stack.push(RemoveSegment("v", EXPR, a.id))
    assert spans(store) == [(60, 99, "Neutral")]
    with pytest.raises(AnnotationError, match="no segment"):
        stack.push(RemoveSegment("v", EXPR, a.id))
    stack.undo()
    stack.undo()
    assert snapshot(store) == [(a.id, 0, 99, "Neutral", "")]
    assert not stack.can_undo or stack.undo_label() == "add segment"


def test_set_trace_records_point_edits_and_refuses_half_labels(store, stack):
    recording = np.stack([np.linspace(-0.5, 0.5, 50), np.linspace(0.2, 0.4, 50)], 1)
    stack.push(SetTrace("v", VAL, 100, recording))
    stack.push(SetTrace("v", VAL, 110, [0.9, 0.9]))  # point edit of valence only; arousal kept
    valence = store.trace("v", VAL)
    arousal = store.trace("v", LaneKey("arousal", "ann", 0))
    assert valence[110] == pytest.approx(0.9) and arousal[110] == pytest.approx(recording[10, 1])
    with pytest.raises(AnnotationError, match="frame 200: valence and arousal"):
        stack.push(SetTrace("v", VAL, 200, [0.3]))  # arousal unlabelled there
    stack.push(ClearRange("v", VAL, 100, 119))
    assert np.isnan(store.trace("v", VAL)[:120]).all()
    stack.undo()
    stack.undo()
    np.testing.assert_allclose(store.trace("v", VAL)[100:150], recording[:, 0], atol=1e-6)
    stack.undo()
    assert np.isnan(store.trace("v", VAL)).all()
    assert stack.can_redo and not stack.can_undo
    with pytest.raises(AnnotationError, match="not a valence/arousal lane"):
        SetTrace("v", EXPR, 0, [0.1])


def test_composite_is_one_step_and_all_or_nothing(store, stack):
    good = [AddSegment("v", EXPR, Segment(0, 9, "Fear")), SetTrace("v", VAL, 0, np.full((10, 2), 0.5))]
    stack.push(Composite("v", good, "fill"))
    assert spans(store) == [(0, 9, "Fear")] and stack.undo_label() == "fill"
    bad = [AddSegment("v", EXPR, Segment(20, 29, "Anger")), SetTrace("v", VAL, 495, np.full((10, 2), 0.5))]
    with pytest.raises(AnnotationError, match="outside the video"):
        stack.push(Composite("v", bad))
    assert spans(store) == [(0, 9, "Fear")]  # the first half was rolled back with the second
    stack.undo()
    assert spans(store) == [] and np.isnan(store.trace("v", VAL)).all()
    stack.redo()
    assert spans(store) == [(0, 9, "Fear")]
    stack.clear()
    assert not stack.can_undo and not stack.can_redo


def test_a_redo_after_undo_keeps_the_ids_later_commands_use(store, stack):
    added = stack.push(AddSegment("v", EXPR, Segment(0, 9, "Fear"))).added
    stack.push(ChangeSegment("v", EXPR, added.id, stop=19))
    stack.undo()
    stack.undo()
    stack.redo()
    stack.redo()  # the change finds the re-added segment under its old id
    assert snapshot(store) == [(added.id, 0, 19, "Fear", "")]
    stack.undo()
    stack.push(AddSegment("v", EXPR, Segment(50, 59, "Anger")))
    assert not stack.can_redo  # a new edit drops the redo branch


def test_an_edit_on_a_busy_project_fails_whole(tmp_path, store, stack):
    stack.push(AddSegment("v", EXPR, Segment(0, 9, "Fear")))
    other = ProjectStore(store.path, timeout=0.1)
    other._db.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ProjectError, match="another AffectStudio window"):
            stack.push(AddSegment("v", EXPR, Segment(5, 20, "Anger")))
    finally:
        other._db.execute("ROLLBACK")
        other.close()
    assert spans(store) == [(0, 9, "Fear")] and stack.undo_label() == "add segment"
