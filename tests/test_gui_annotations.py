"""Annotation: in/out marks, labelling a span, the list and timeline, ABAW export, persistence."""

from __future__ import annotations

import pytest
from test_gui_main_window import no_auto_analysis, open_and_wait

from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.project import Annotation
from affectstudio.gui.annotations import write_abaw_annotations
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


def test_mark_in_out_and_annotate_a_span(window, qtbot, tmp_path, sample_video):
    window.seek(30)
    window.mark_in()
    window.seek(20)
    window.mark_out()  # out before in: the span is ordered
    assert window.marks == [20, 30] and window.timeline.selection.isVisible()
    window.annotate(
        {
            "start_frame": 20,
            "stop_frame": 30,
            "expression": "Surprise",
            "valence": None,
            "arousal": None,
            "note": "gasps",
        }
    )
    assert not window.timeline.selection.isVisible()
    assert window.annotation_list.list.count() == 1
    assert "Surprise" in window.annotation_list.list.item(0).text()
    assert len(window.timeline._annotation_items) == 2  # the shaded span and its label
    path = window.export_annotations(tmp_path / "out.txt")
    assert len(path.read_text().splitlines()) == 1 + 11
    window.annotation_list.list.setCurrentRow(0)
    window.annotation_list.remove_requested.emit(window.store.annotations(window.video_hash)[0].id)
    assert window.annotation_list.list.count() == 0
    assert window.export_annotations(tmp_path / "none.txt") is None
    assert window.errors[-1][0] == "Nothing to export"


def test_annotation_dialog_values_and_persistence(window, qtbot, sample_video):
    window.seek(5)
    window.annotate()  # opens the dialog on the current frame
    dialog = window._dialogs[-1]
    dialog.expression.setCurrentText("Anger")
    dialog.with_va.setChecked(True)
    dialog.valence.setValue(-0.4)
    dialog.arousal.setValue(0.7)
    dialog.last.setValue(9)
    dialog.accept()
    stored = window.store.annotations(window.video_hash)
    assert [(a.start_frame, a.stop_frame, a.expression, a.valence, a.arousal) for a in stored] == [
        (5, 9, "Anger", -0.4, 0.7)
    ]
    path = window.store.path
    window.close()
    again = MainWindow(no_auto_analysis())
    qtbot.addWidget(again)
    assert again.store.path == path
    again.show()
    open_and_wait(again, qtbot, sample_video)
    assert again.annotation_list.list.count() == 1  # kept in the project store
    again.close()


def test_export_training_set_from_annotated_results(window, tmp_path):
    from gui_helpers import synthetic_rows

    from training.data import load_split

    assert window.export_training_set(tmp_path / "set") is None  # nothing annotated yet: a dialog says so
    assert window.errors[-1][0] == "Nothing to export"
    window.data.add_rows(synthetic_rows(120))
    values = {"expression": "Happiness", "valence": 0.4, "arousal": -0.1, "note": ""}
    window.annotate({"start_frame": 0, "stop_frame": 9, **values})
    summary = window.export_training_set(tmp_path / "set")
    assert summary is not None, window.errors
    assert summary.train_frames == 8 and summary.validation_frames == 2
    train = load_split(tmp_path / "set", "train")
    assert len(train) == 8
    assert "Training set in" in window.status_label.text()
