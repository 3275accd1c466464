"""Importing a spans CSV into a project video: one undo step, the file's spans win, VA merged pairwise."""

from __future__ import annotations

import numpy as np
import pytest

from affectstudio.core.annotations.edits import AddSegment, SetTrace, UndoStack
from affectstudio.core.annotations.importing import import_file, is_spans_csv
from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.errors import AnnotationError
from affectstudio.core.project import ProjectStore

TIMES = np.arange(50) / 10.0  # 50 frames at 10 fps


@pytest.fixture
def store(tmp_path):
    with ProjectStore(tmp_path / "p.affectproj") as project:
        project.remember_video("v", tmp_path / "v.mp4", 50, 10.0)
        yield project


def write(tmp_path, text):
    path = tmp_path / "spans.csv"
    path.write_text(text)
    return path


def test_spans_win_over_existing_labels_and_undo_as_one_step(tmp_path, store):
    stack = UndoStack(store)
    key = LaneKey("expression", "me", 2)
    stack.push(AddSegment("v", key, Segment(0, 39, "Neutral", "mine")))
    stack.push(SetTrace("v", LaneKey("valence", "me", 2), 0, np.full((50, 2), 0.1)))
    path = write(
        tmp_path,
        "lane,start,end,value\nexpression,1.0,2.0,Fear\nvalence,2.0,3.0,0.8\n",
    )
    result = import_file(store, "v", path, TIMES, track=2, stack=stack)
    assert result.kind == "lanes" and stack.undo_label() == "import lanes"
    assert [(s.start, s.stop, s.value) for s in store.segments("v", key)] == [
        (0, 9, "Neutral"),
        (10, 19, "Fear"),
        (20, 39, "Neutral"),
    ]
    valence = store.trace("v", LaneKey("valence", "me", 2))
    arousal = store.trace("v", LaneKey("arousal", "me", 2))
    np.testing.assert_allclose(valence[20:30], 0.8)
    np.testing.assert_allclose(valence[:20], 0.1)
    np.testing.assert_allclose(arousal, 0.1)  # the file gave valence only: arousal kept, pairs intact
    stack.undo()
    assert [(s.start, s.stop, s.note) for s in store.segments("v", key)] == [(0, 39, "mine")]
    np.testing.assert_allclose(store.trace("v", LaneKey("valence", "me", 2)), 0.1)


def test_errors_name_the_imported_file(tmp_path, store):
    lonely = write(tmp_path, "lane,start,end,value\nvalence,0,1,0.5\n")
    with pytest.raises(AnnotationError, match=r"spans\.csv: frame 0: valence and arousal"):
        import_file(store, "v", lonely, TIMES)
    assert store.lane_keys("v") == []
    typo = write(tmp_path, "lane,start,stop,value\nexpression,0,1,Fear\n")
    assert is_spans_csv(typo)
    with pytest.raises(AnnotationError, match=r"spans\.csv: line 1: the header must name"):
        import_file(store, "v", typo, TIMES)
    assert not is_spans_csv(write(tmp_path, "frame,valence\n0,0.5\n"))


def test_a_span_without_a_track_is_any_track_or_the_track_given(tmp_path, store):
    """A row with an empty track cell (or no track column) means "whichever face": lane track -1, unless
    the import names a track; a row with its own track keeps it either way."""
    path = write(
        tmp_path,
        "lane,start,end,value,track\nexpression,0.0,1.0,Fear,\nexpression,1.0,2.0,Anger,1\n",
    )
    result = import_file(store, "v", path, TIMES, annotator="me")
    assert sorted(k.track_id for k in result.lanes) == [-1, 1]
    assert [(s.start, s.stop, s.value) for s in store.segments("v", LaneKey("expression", "me", -1))] == [
        (0, 9, "Fear")
    ]
    no_column = tmp_path / "no-track-column.csv"
    no_column.write_text("lane,start,end,value\nexpression,2.0,3.0,Sadness\n")
    import_file(store, "v", no_column, TIMES, annotator="you", track=2)
    assert [(s.start, s.stop, s.value) for s in store.segments("v", LaneKey("expression", "you", 2))] == [
        (20, 29, "Sadness")
    ]
    import_file(store, "v", path, TIMES, annotator="they", track=2)
    assert sorted(k.track_id for k in store.lane_keys("v") if k.annotator == "they") == [1, 2]
    assert store.segments("v", LaneKey("expression", "they", 1))[0].value == "Anger"
    assert store.segments("v", LaneKey("expression", "they", 2))[0].value == "Fear"
