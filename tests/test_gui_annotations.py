"""Annotation through the lanes: ABAW export, training-set export, persistence across windows."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_gui_main_window import no_auto_analysis, open_and_wait

from affectstudio.core.annotations.abaw import write_abaw_annotations
from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.core.faces import FaceDetector
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.project import Annotation
from affectstudio.gui.main_window import MainWindow


def test_abaw_layout_with_overlaps_and_invalid_values(tmp_path):
    spans = [
        Annotation(1, 0, 2, 4, "Happiness", None, None),
        Annotation(2, 0, 4, 5, None, 0.5, -0.25),
    ]
    path = write_abaw_annotations(tmp_path / "ann.txt", "clip", spans)
    lines = path.read_text().splitlines()
    assert (
        lines[0] == "image,valence,arousal,expression,AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"
    )
    happy = EXPRESSIONS.index("Happiness")
    assert lines[1] == f"clip/00003.jpg,-5,-5,{happy}," + ",".join(["-1"] * 12)
    assert lines[3].startswith(f"clip/00005.jpg,0.5,-0.25,{happy},")  # frame 4: both spans
    assert lines[4].startswith("clip/00006.jpg,0.5,-0.25,-1,")
    assert len(lines) == 5


@pytest.fixture
def window(qtbot, sample_video):
    win = MainWindow(no_auto_analysis())
    qtbot.addWidget(win)
    win.show()
    open_and_wait(win, qtbot, sample_video)
    yield win
    win.close()


def test_coded_lanes_export_as_abaw_and_persist(window, qtbot, tmp_path, sample_video):
    key = LaneKey("expression", "me", ANY_TRACK)
    window.seek(20)
    window.code_expression("Surprise")
    window.seek(31)
    window.code_expression("Surprise")  # the same key closes: frames 20..30
    window.session.set_trace(LaneKey("valence", "me", ANY_TRACK), 25, [[0.5, -0.25]] * 3)
    path = window.export_annotations(tmp_path / "out.txt")
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 11
    surprise = EXPRESSIONS.index("Surprise")
    assert lines[1].startswith(f"{sample_video.stem}/00021.jpg,-5,-5,{surprise},")
    assert lines[6].startswith(f"{sample_video.stem}/00026.jpg,0.5,-0.25,{surprise},")
    store_path = window.store.path
    window.close()
    again = MainWindow(no_auto_analysis())
    qtbot.addWidget(again)
    assert again.store.path == store_path
    again.show()
    open_and_wait(again, qtbot, sample_video)
    assert [(s.start, s.stop, s.value) for s in again.session.lane(key).segments] == [(20, 30, "Surprise")]
    assert [s.value for s in again.lanes.rows[0].item.segments] == ["Surprise"]  # drawn on reopening
    again.session.remove_segment(key, again.session.lane(key).segments[0].id)
    again.session.clear_range(LaneKey("valence", "me", ANY_TRACK), 0, 119)
    assert again.export_annotations(tmp_path / "none.txt") is None
    assert again.errors[-1][0] == "Nothing to export"
    again.close()


@pytest.mark.slow  # analyses the sample (about a minute on a loaded 2-core machine)
def test_export_training_set_from_annotated_results(window, tmp_path, sample_video):
    """On the real analysis of the sample (the detector's boxes, not made-up ones): the labels come back
    as coded and every exported crop holds the face."""
    from affectstudio.core.analysis import AnalysisOptions, analyze
    from affectstudio.core.model.checkpoint import untrained_model
    from training.data import load_split

    assert window.export_training_set(tmp_path / "set") is None  # nothing annotated yet: a dialog says so
    assert window.errors[-1][0] == "Nothing to export"
    options = AnalysisOptions(batch_size=16, fast=False)
    window.session.add_rows(analyze(sample_video, None, options, loaded=untrained_model(seed=1)).table.df)
    window.session.add_segment(LaneKey("expression", "me", 0), Segment(0, 9, "Happiness"))
    window.session.set_trace(LaneKey("valence", "me", 0), 0, [[0.4, -0.1]] * 10)
    summary = window.export_training_set(tmp_path / "set")
    assert summary is not None, window.errors
    assert summary.train_frames == 8 and summary.validation_frames == 2
    assert "Training set in" in window.status_label.text()
    train = load_split(tmp_path / "set", "train")
    assert len(train) == 8 and list(train.expr) == [EXPRESSIONS.index("Happiness")] * 8
    np.testing.assert_allclose(train.va, [[0.4, -0.1]] * 8, atol=1e-6)
    with FaceDetector("short") as detector:
        for image in train.images:
            crop = cv2.cvtColor(cv2.imread(str(train.root / image)), cv2.COLOR_BGR2RGB)
            faces = detector.detect(crop)
            assert faces, f"no face in the exported crop {image}"
            box = max(faces, key=lambda f: f.box.area).box
            assert box.area > 0.3 * crop.shape[0] * crop.shape[1], image  # the face fills the crop
