"""The lanes editor on the real window and the sample video: key coding during playback, mouse edits,
undo/redo, VA recording, and every edit in the project store when it is reopened."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import WAIT_MS
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from test_gui_main_window import no_auto_analysis, open_and_wait

from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.project import ProjectStore
from affectstudio.gui.main_window import MainWindow
from affectstudio.gui.views.segment_dialog import SegmentDialog

EXPRESSION = LaneKey("expression", "me", ANY_TRACK)


@pytest.fixture
def window(qtbot, sample_video):
    win = MainWindow(no_auto_analysis())
    qtbot.addWidget(win)
    win.resize(1200, 900)
    win.show()
    open_and_wait(win, qtbot, sample_video)
    yield win
    win.close()


def spans(window, key):
    return [(s.start, s.stop, s.value) for s in window.session.lane(key).segments]


def stored(window, key):
    with ProjectStore(window.store.path) as store:
        return [(s.start, s.stop, s.value) for s in store.segments(window.video_hash, key)]


def row(window, key):
    return next(r for r in window.lanes.rows if r.key == key)


def lane_point(window, key, frame, where=0.5):
    """Widget coordinates of `frame` (its middle) on the row of `key`."""
    lanes, r = window.lanes, row(window, key)
    stamps = window.timestamps
    seconds = float(stamps[frame]) + 0.5 * (stamps[1] - stamps[0])
    scene = lanes.plot.vb.mapViewToScene(QPointF(seconds, r.y0 + where * r.height))
    return lanes.mapFromScene(scene)


def drag(qtbot, window, start, stop):
    """Press, move in steps, release, as a hand does: each event handled before the next, and a pause
    before the press so that it is never read as the second click of a double click."""
    viewport = window.lanes.viewport()
    qtbot.wait(QApplication.doubleClickInterval() + 50)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(viewport, start + (stop - start) * step / 5)
        qtbot.wait(10)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=stop)
    qtbot.wait(10)


def test_key_coding_during_playback_tiles_segments(window, qtbot):
    video = window.video
    window.playback.change_speed(-2)  # 0.5x: the keys land well inside the clip
    qtbot.keyClick(video, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.current_frame >= 10, timeout=WAIT_MS)
    first = window.current_frame
    qtbot.keyClick(video, Qt.Key.Key_4)  # Happiness
    qtbot.waitUntil(lambda: window.current_frame >= first + 15, timeout=WAIT_MS)
    second = window.current_frame
    qtbot.keyClick(video, Qt.Key.Key_1)  # Anger: closes Happiness just before the playhead
    qtbot.keyClick(video, Qt.Key.Key_Q)  # AU1 on
    assert window.lanes.rows[0].item.pending is not None  # the open segment is drawn growing
    qtbot.waitUntil(lambda: window.current_frame >= second + 10, timeout=WAIT_MS)
    third = window.current_frame
    qtbot.keyClick(video, Qt.Key.Key_Q)  # AU1 off
    qtbot.keyClick(video, Qt.Key.Key_Space)
    end = window.current_frame
    qtbot.keyClick(video, Qt.Key.Key_C)  # close what is open, at the playhead
    assert spans(window, EXPRESSION) == [(first, second - 1, "Happiness"), (second, end, "Anger")]
    au1 = LaneKey("AU1", "me", ANY_TRACK)
    assert spans(window, au1) == [(second, third - 1, 1)]
    assert [s.value for s in row(window, EXPRESSION).item.segments] == ["Happiness", "Anger"]
    assert stored(window, EXPRESSION) == spans(window, EXPRESSION)  # committed at once
    assert window.errors == []


def test_mouse_create_resize_split_merge_delete_and_undo(window, qtbot):
    au12 = LaneKey("AU12", "me", ANY_TRACK)
    drag(qtbot, window, lane_point(window, au12, 20), lane_point(window, au12, 40))
    assert spans(window, au12) == [(20, 40, 1)]
    drag(qtbot, window, lane_point(window, EXPRESSION, 50), lane_point(window, EXPRESSION, 70))
    dialog = window._dialogs[-1]
    assert isinstance(dialog, SegmentDialog) and (dialog.first.value(), dialog.last.value()) == (50, 70)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # no expression chosen: Enter stores nothing
    assert spans(window, EXPRESSION) == [] and dialog.isVisible()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    dialog.value.setCurrentText("Surprise")
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert spans(window, EXPRESSION) == [(50, 70, "Surprise")]
    # resize: drag the right edge of the segment from 70 to 80
    stamps, r = window.timestamps, row(window, EXPRESSION)
    edge = QPointF(float(stamps[71]), r.y0 + 0.5 * r.height)  # the end of frame 70
    right = window.lanes.mapFromScene(window.lanes.plot.vb.mapViewToScene(edge))
    drag(qtbot, window, right, lane_point(window, EXPRESSION, 80))
    assert spans(window, EXPRESSION) == [(50, 80, "Surprise")]
    # split at the playhead (S), then merge back (M) after selecting the first part
    window.activateWindow()  # the segment dialog was the active window; shortcuts go to the active one
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    window.seek(60)
    qtbot.keyClick(window.video, Qt.Key.Key_S)
    assert spans(window, EXPRESSION) == [(50, 59, "Surprise"), (60, 80, "Surprise")]
    qtbot.mouseClick(
        window.lanes.viewport(), Qt.MouseButton.LeftButton, pos=lane_point(window, EXPRESSION, 55)
    )
    assert window.lanes.selected_segment()[1].start == 50 and window.current_frame == 55  # click also seeks
    qtbot.keyClick(window.video, Qt.Key.Key_M)
    assert spans(window, EXPRESSION) == [(50, 80, "Surprise")]
    # delete asks first: No keeps it, Yes removes it
    qtbot.keyClick(window.video, Qt.Key.Key_Delete)
    box = window._dialogs[-1]
    assert isinstance(box, QMessageBox)
    box.button(QMessageBox.StandardButton.No).click()
    assert spans(window, EXPRESSION) == [(50, 80, "Surprise")]
    qtbot.keyClick(window.video, Qt.Key.Key_Delete)
    window._dialogs[-1].button(QMessageBox.StandardButton.Yes).click()
    assert spans(window, EXPRESSION) == []
    # undo every step back to the start, then redo them all: each state exactly as it was
    history = []
    while window.act_undo.isEnabled():
        history.append((spans(window, EXPRESSION), spans(window, au12)))
        qtbot.keyClick(window.video, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert spans(window, EXPRESSION) == [] and spans(window, au12) == [] and len(history) == 6
    for expected in reversed(history):
        qtbot.keyClick(
            window.video,
            Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
        assert (spans(window, EXPRESSION), spans(window, au12)) == expected
    assert stored(window, au12) == [(20, 40, 1)] and window.errors == []


def test_double_click_edits_value_and_note(window, qtbot):
    window.session.add_segment(EXPRESSION, Segment(10, 20, "Fear"))
    viewport, point = window.lanes.viewport(), lane_point(window, EXPRESSION, 15)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=point)  # a double click as the mouse sends it
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=point)
    dialog = window._dialogs[-1]
    assert isinstance(dialog, SegmentDialog) and dialog.value.currentText() == "Fear"
    dialog.value.setCurrentText("Disgust")
    dialog.note.setText("nose wrinkle")
    dialog.accept()
    segment = window.session.lane(EXPRESSION).segments[0]
    assert (segment.start, segment.stop, segment.value, segment.note) == (10, 20, "Disgust", "nose wrinkle")


def test_va_recording_writes_the_traces_of_the_frames_played(window, qtbot):
    plane = window.va_plane
    qtbot.keyClick(window.video, Qt.Key.Key_V)
    assert window.act_record_va.isChecked() and plane.recording
    point = plane.plot.mapFromScene(plane.plot.getPlotItem().vb.mapViewToScene(QPointF(0.5, -0.25)))
    qtbot.mouseMove(plane.plot.viewport(), point)
    assert plane.pointer == pytest.approx((0.5, -0.25), abs=0.03)
    window.playback.change_speed(-2)
    qtbot.keyClick(window.video, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.current_frame >= 20, timeout=WAIT_MS)
    first = min(window.session.recording)
    qtbot.keyClick(window.video, Qt.Key.Key_Space)  # pausing ends the pass: one SetTrace
    last = window.current_frame
    valence = window.session.lane(LaneKey("valence", "me", ANY_TRACK)).trace
    arousal = window.session.lane(LaneKey("arousal", "me", ANY_TRACK)).trace
    labelled = np.flatnonzero(np.isfinite(valence))
    assert labelled[0] == first and labelled[-1] == last and len(labelled) == last - first + 1
    np.testing.assert_allclose(valence[labelled], plane.pointer[0], atol=1e-6)
    np.testing.assert_allclose(arousal[labelled], plane.pointer[1], atol=1e-6)
    x, _ = row(window, LaneKey("valence", "me", ANY_TRACK)).item.getData()
    assert np.isfinite(x).sum() >= len(labelled)  # drawn in the lane
    with ProjectStore(window.store.path) as store:
        np.testing.assert_array_equal(
            store.trace(window.video_hash, LaneKey("valence", "me", ANY_TRACK)), valence
        )
    assert window.act_undo.text() == "Undo set trace"
    window.act_undo.trigger()
    assert LaneKey("valence", "me", ANY_TRACK) not in window.session.lanes
    qtbot.keyClick(window.video, Qt.Key.Key_V)
    assert not plane.recording and plane.pointer is None


def test_labels_go_to_the_face_present_and_ask_when_several(window, qtbot):
    from gui_helpers import synthetic_rows

    rows = synthetic_rows(120, window.session.video.fps, tracks=2)
    rows = rows[~((rows["track_id"] == 0) & (rows["frame"] < 40))]  # face 0 arrives at frame 40
    window.controller.rows.emit(rows)
    assert window.track == 1  # the face seen longest is selected first (face 0 arrives at frame 40)
    window.session.select_track(None)
    window.seek(10)
    qtbot.keyClick(window.video, Qt.Key.Key_2)  # only face 1 is there: no question
    window.seek(20)
    qtbot.keyClick(window.video, Qt.Key.Key_C)
    assert spans(window, LaneKey("expression", "me", 1)) == [(10, 20, "Disgust")]
    asked = []
    window.ask_track = lambda ambiguous: asked.append(ambiguous.tracks) or 0
    window.seek(60)
    qtbot.keyClick(window.video, Qt.Key.Key_3)  # both faces: the window asks, never guesses
    window.seek(70)
    qtbot.keyClick(window.video, Qt.Key.Key_C)
    assert asked == [[0, 1]] and spans(window, LaneKey("expression", "me", 0)) == [(60, 70, "Fear")]


def test_coding_keys_are_configurable_in_settings(window, qtbot):
    from affectstudio.core.settings import Settings

    dialog = window.settings_dialog()
    qtbot.addWidget(dialog)
    dialog.key_boxes[len(EXPRESSIONS)].setText("a")  # AU1: Q -> A
    dialog.apply()
    assert Settings.load().coding_keys.au[0] == "A"
    window.seek(5)
    qtbot.keyClick(window.video, Qt.Key.Key_A)
    window.seek(10)
    qtbot.keyClick(window.video, Qt.Key.Key_A)
    qtbot.keyClick(window.video, Qt.Key.Key_Q)  # no longer bound: nothing opens
    assert spans(window, LaneKey("AU1", "me", ANY_TRACK)) == [(5, 9, 1)] and window.session.coding == {}
    dialog.key_boxes[len(EXPRESSIONS) + 1].setText("s")  # the split key: refused, with a message
    dialog.apply()
    assert window.errors[-1][0] == "Coding keys not changed" and Settings.load().coding_keys.au[1] == "W"


def test_the_playheads_of_lanes_strip_and_timelines_line_up(window, qtbot):
    """The timelines keep a column beside their plots (legend, colour bars): the lanes and the track strip
    must keep the same, or one time sits at two places on screen."""
    window.seek(60)
    qtbot.waitUntil(lambda: window.current_frame == 60)

    def screen_x(view, line) -> float:
        return view.mapToGlobal(view.mapFromScene(line.mapToScene(line.boundingRect().center()))).x()

    def plot_right(view, plot) -> float:
        rect = plot.vb.sceneBoundingRect()
        return view.mapToGlobal(view.mapFromScene(rect.topRight())).x()

    timeline = window.timeline
    expected = screen_x(timeline, timeline.playheads[0])
    assert abs(screen_x(window.lanes, window.lanes.playhead) - expected) <= 2
    assert abs(screen_x(window.track_strip, window.track_strip.playhead) - expected) <= 2
    right = plot_right(timeline, timeline.va_plot)
    assert abs(plot_right(window.lanes, window.lanes.plot) - right) <= 2
    assert abs(plot_right(window.track_strip, window.track_strip.plot) - right) <= 2


def test_spans_imported_without_a_track_are_drawn_for_the_face_shown(qtbot, tmp_path, sample_video, capsys):
    """A user's report: spans imported as the README shows (`project import ... --annotator me`, no
    track) were stored for any face and never drawn once a face was selected. They are drawn for every
    face, marked "any face", and an edit on their row stays any-face."""
    import shutil

    from gui_helpers import synthetic_rows
    from test_gui_analysis import close, make_window

    from affectstudio.cli import main

    project, clip, csv = tmp_path / "study.affectproj", tmp_path / "clip.mp4", tmp_path / "spans.csv"
    shutil.copy(sample_video, clip)
    csv.write_text("lane,start,end,value\nexpression,0.0,1.5,Happiness\nexpression,1.6,3.0,Sadness\n")
    for argv in (
        ["new", project],
        ["add", project, clip],
        ["import", project, clip, csv, "--annotator", "me"],
    ):
        assert main(["project", *map(str, argv)]) == 0
    assert "expression/me/-1" in capsys.readouterr().out
    window = make_window(qtbot, project, auto_analyse=False)
    window.resize(1200, 900)
    tree = window.project_browser.tree
    with qtbot.waitSignal(window.video.frame_shown, timeout=WAIT_MS):
        tree.itemDoubleClicked.emit(tree.topLevelItem(0), 0)  # the user's double-click on clip.mp4
    window.controller.rows.emit(synthetic_rows(120, window.session.video.fps, tracks=2))
    assert window.session.track == 0
    au12, own = LaneKey("AU12", "me", ANY_TRACK), LaneKey("AU12", "me", 0)
    for track in (0, 1):
        window.session.select_track(track)
        r = row(window, EXPRESSION)
        assert [(s.start, s.stop, s.value) for s in r.item.segments] == [
            (0, 44, "Happiness"),
            (48, 89, "Sadness"),
        ]
        [ticks, _] = window.lanes.plot.getAxis("left")._tickLevels
        assert (r.y0 + r.height / 2, "me · expression\nany face") in ticks
    viewport = window.lanes.viewport()  # the tooltip says what "any face" means; other rows have none
    qtbot.mouseMove(viewport, lane_point(window, LaneKey("AU1", "me", 1), 30))
    qtbot.wait(50)
    assert window.lanes.toolTip() == ""
    qtbot.mouseMove(viewport, lane_point(window, EXPRESSION, 30))
    qtbot.waitUntil(lambda: "for any face" in window.lanes.toolTip(), timeout=WAIT_MS)
    drag(qtbot, window, lane_point(window, EXPRESSION, 100), lane_point(window, EXPRESSION, 110))
    window._dialogs[-1].value.setCurrentText("Fear")
    window._dialogs[-1].accept()
    assert spans(window, EXPRESSION)[-1] == (100, 110, "Fear")  # an edit on the any-face row stays any-face
    assert LaneKey("expression", "me", 1) not in window.session.lanes
    window.act_undo.trigger()
    assert spans(window, EXPRESSION) == [(0, 44, "Happiness"), (48, 89, "Sadness")]
    assert au12 not in window.session.lanes and own not in window.session.lanes
    window.activateWindow()  # the segment dialog was the active window; shortcuts go to the active one
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    window.seek(60)
    qtbot.keyClick(window.video, Qt.Key.Key_3)  # key coding labels the face shown: its own row appears
    face = LaneKey("expression", "me", 1)
    assert row(window, face).item.pending is not None and row(window, EXPRESSION).item.segments
    window.seek(70)
    qtbot.keyClick(window.video, Qt.Key.Key_C)
    assert spans(window, face) == [(60, 70, "Fear")] and len(spans(window, EXPRESSION)) == 2
    close(window)
