"""Issue 12 item 4 and issue 9's error dialogs: each small defect seen in the first hour, on real widgets."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QToolButton
from test_gui_main_window import no_auto_analysis, open_and_wait

from affectstudio.core.logs import LOG_NAME, log_dir
from affectstudio.core.review_data import TrackArrays
from affectstudio.gui.main_window import MainWindow
from affectstudio.gui.timeline import TimelinePanel
from affectstudio.gui.va_plane import VAPlane


@pytest.fixture
def window(qtbot):
    win = MainWindow(no_auto_analysis())
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    yield win
    win.close()


def face_until(frames: int, last: int) -> TrackArrays:
    arrays = TrackArrays.empty(frames)
    arrays.va[:last] = [0.5, 0.5]
    arrays.expr[:last] = 1 / 8
    arrays.au[:last] = 0.2
    return arrays


def test_nothing_of_the_old_point_stays_on_the_va_plane_at_a_frame_without_a_face(qtbot):
    planes = [VAPlane(), VAPlane()]
    for plane in planes:
        qtbot.addWidget(plane)
        plane.resize(300, 380)
        plane.show()
    arrays = face_until(100, 40)
    planes[0].show_frame(arrays, 39)  # the point and its trail
    planes[0].show_frame(arrays, 45)  # jump to a frame without a face (the trail's frames had one)
    planes[1].show_frame(TrackArrays.empty(100), 45)  # a plane that never showed a face
    images = [plane.plot.grab().toImage() for plane in planes]
    assert images[0] == images[1]
    assert planes[0].values.text() == "No face at this frame"
    planes[0].show_frame(arrays, 39)
    assert planes[0].plot.grab().toImage() != images[1]  # the comparison can see a point


@pytest.mark.parametrize("size", [(300, 380), (600, 200), (200, 600)])
def test_the_va_plane_axes_stay_at_about_plus_minus_one_whatever_its_shape(qtbot, size):
    plane = VAPlane()
    qtbot.addWidget(plane)
    plane.resize(*size)
    plane.show()
    qtbot.waitExposed(plane)
    arrays = face_until(10, 10)
    plane.show_frame(arrays, 9)
    for axis in plane.plot.getPlotItem().vb.viewRange():
        assert axis == pytest.approx([-1.05, 1.05], abs=0.01)
    assert plane.plot.width() == plane.plot.height()  # square: the unit circle stays round


def test_the_va_plane_in_the_window_spans_plus_minus_one(window, qtbot):
    qtbot.waitExposed(window)
    for axis in window.va_plane.plot.getPlotItem().vb.viewRange():
        assert axis == pytest.approx([-1.05, 1.05], abs=0.01)


def test_zooming_brings_an_off_screen_playhead_into_view(qtbot):
    timeline = TimelinePanel()
    qtbot.addWidget(timeline)
    timeline.set_duration(np.arange(3000) / 30)
    timeline.va_plot.setXRange(0, 10, padding=0)
    timeline.set_playhead(60.0)
    timeline.zoom(0.5)
    start, stop = timeline.view_range()
    assert start < 60.0 < stop and stop - start == pytest.approx(5.0)
    timeline.zoom(2.0)  # and zooming out around it keeps it there
    start, stop = timeline.view_range()
    assert start < 60.0 < stop and stop - start == pytest.approx(10.0)


def test_stepping_past_the_view_edge_pages_the_timeline(window, qtbot, sample_video):
    open_and_wait(window, qtbot, sample_video)
    window.timeline.va_plot.setXRange(0, 1.0, padding=0)
    window.seek(100)
    seconds = float(window.timestamps[100])
    start, stop = window.timeline.view_range()
    assert start <= seconds <= stop


def test_a_still_image_has_no_duplicate_time_labels(qtbot):
    timeline = TimelinePanel()
    qtbot.addWidget(timeline)
    timeline.set_duration(np.array([0.0]))  # one frame: the axis spans 33 ms
    axis = timeline.au_plot.getAxis("bottom")
    start, stop = timeline.view_range()
    labels = []
    for spacing, values in axis.tickValues(start, stop, 700):
        labels += axis.tickStrings(values, 1.0, spacing)
    assert len(labels) > 3 and len(set(labels)) == len(labels), labels
    assert axis.tickStrings([62.0, 63.0], 1.0, 1.0) == ["1:02", "1:03"]  # whole seconds stay short


def test_a_deleted_file_is_dropped_from_open_recent(window, qtbot, sample_video, tmp_path):
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(sample_video.read_bytes())
    kept = tmp_path / "kept.mp4"
    kept.write_bytes(sample_video.read_bytes())
    for path in (gone, kept):
        window.settings.add_recent_file(path)
    gone.unlink()
    window.recent_menu.aboutToShow.emit()  # the menu is about to show
    assert [a.text() for a in window.recent_menu.actions()] == [str(kept.resolve())]
    assert "gone.mp4" in window.status_label.text() and "no longer exists" in window.status_label.text()
    from affectstudio.core.settings import Settings

    assert Settings.load().recent.files == [str(kept.resolve())]  # saved, not only hidden

    window.settings.add_recent_file(gone)  # opened from a stale menu: an error, and it is dropped too
    assert not window.open_video(gone)
    assert str(gone.resolve()) not in window.settings.recent.files
    assert window.errors[-1][0] == "Cannot open video"


def test_playback_menu_says_words_with_shortcuts_and_the_bar_keeps_symbols(window):
    menu = window.menus["Playback"]
    entries = [a for a in menu.actions() if not a.isSeparator()]
    for action in entries:
        assert any(c.isalpha() for c in action.text().replace("&", "")), action.text()
        assert not action.shortcut().isEmpty(), action.text()
    assert window.act_play.text() == "&Play" and window.act_back.text() == "Frame &back"
    buttons = {b.text() for b in window.playback.findChildren(QToolButton)}
    assert {"▶", "◀|", "|▶", "−N", "+N"} <= buttons


def test_training_plots_are_tall_enough_to_read(qtbot):
    from affectstudio.gui.windows.training import TrainingWindow

    training = TrainingWindow()
    qtbot.addWidget(training)
    training.show()
    qtbot.waitExposed(training)
    for plot in (training.curves.loss_plot, training.curves.score_plot):
        assert plot.height() >= 200


def test_help_has_usage_about_and_the_log_folder(window, qtbot):
    titles = [a.text() for a in window.menus["Help"].actions() if not a.isSeparator()]
    assert titles == ["&Usage", "Keyboard shortcuts", "Open &log folder", "&About AffectStudio"]
    window.act_about.trigger()
    about = window._dialogs[-1]
    text = about.text()
    for part in ("AffectStudio", "Python", "Qt", "torch", "MediaPipe", "OpenVINO"):
        assert f"<td>{part}</td>" in text
    assert "0.1.0" in text and str(log_dir()) in text
    about.close()
    window.act_usage.trigger()
    usage = window._dialogs[-1]
    assert "affectstudio models fetch" in usage.text.toPlainText()
    usage.close()

    class Catcher(QObject):
        def __init__(self):
            super().__init__()
            self.urls: list[QUrl] = []

        @Slot(QUrl)
        def open(self, url):
            self.urls.append(url)

    catcher = Catcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        window.act_log_folder.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [url.toLocalFile() for url in catcher.urls] == [str(log_dir())]


def test_error_dialogs_show_one_line_with_traceback_log_and_path_behind_details(window, qtbot):
    from affectstudio.core.logs import setup_logging

    setup_logging("test")
    window.show_error("Analysis failed", "ValueError: bad thing\n\nTraceback (most recent call last):\n  x")
    box = window.error_box
    assert box.text() == "ValueError: bad thing"
    details = box.detailedText()
    assert "Traceback (most recent call last)" in details
    assert f"Log file: {log_dir() / LOG_NAME}" in details
    assert "Analysis failed: ValueError: bad thing" in details  # the log excerpt ends with this error
    box.close()
    QApplication.processEvents()
