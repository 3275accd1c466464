"""The main window on a 1400x900 screen (issue 12): it fits, the caption under the plots and the time axis
are shown, and the lanes' labels keep one readable row each, scrolling when the lanes are short. Opening a
project (its browser docked beside the review) and analysing a video in it keep the window on the screen:
long texts are cut to the room there is (`FittingLabel`), not let to widen the window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication
from test_gui_analysis import close, make_window, wait_for_results
from test_gui_main_window import no_auto_analysis, open_and_wait, show_frame

from affectstudio.core.project import ProjectStore
from affectstudio.gui.fitting_label import FittingLabel
from affectstudio.gui.main_window import MainWindow
from affectstudio.gui.views.lanes import LanesView


@pytest.fixture
def window(qtbot, sample_video):
    win = MainWindow(no_auto_analysis())
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    open_and_wait(win, qtbot, sample_video)
    yield win
    win.close()


def inside_view(view, item) -> bool:
    """Whether all of `item` is drawn inside the graphics view's visible area."""
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    return shown.contains(item.mapRectToScene(item.boundingRect()))


def row_pixels(lanes: LanesView, row) -> float:
    vb = lanes.plot.vb
    return vb.mapViewToScene(QPointF(0, row.y0 + row.height)).y() - vb.mapViewToScene(QPointF(0, row.y0)).y()


def test_at_1400x900_the_window_fits_and_the_caption_and_time_axis_are_shown(window):
    assert window.minimumSizeHint().height() <= 900 and window.height() == 900
    timeline = window.timeline
    assert inside_view(timeline, timeline.top_band_caption.item)  # the "most likely" caption's text
    assert inside_view(timeline, timeline.au_plot.getAxis("bottom"))


def test_lane_rows_stay_one_label_tall_and_scroll_when_the_lanes_are_short(window, qtbot):
    lanes = window.lanes
    assert len(lanes.rows) == 17 and lanes.height() <= 140
    assert min(row_pixels(lanes, row) for row in lanes.rows) >= 10  # an AU row: one 7-pt label
    assert lanes.scrollbar.isVisible()
    top, bottom = lanes.plot.vb.viewRange()[1]
    assert top == pytest.approx(0) and bottom < lanes.rows[-1].y0
    lanes.scrollbar.setValue(lanes.scrollbar.maximum())  # scrolled to the end: the last row is shown
    last = lanes.rows[-1]
    assert lanes.plot.vb.viewRange()[1][1] == pytest.approx(last.y0 + last.height + 0.2)
    tall = LanesView(window.session)  # room for every row: all shown, no scroll bar
    qtbot.addWidget(tall)
    tall.resize(1400, 400)
    tall.show()
    qtbot.waitExposed(tall)
    assert not tall.scrollbar.isVisible()
    assert tall.plot.vb.viewRange()[1] == pytest.approx([0, last.y0 + last.height + 0.2])
    assert min(row_pixels(tall, row) for row in tall.rows) > 10


def test_opening_a_project_and_analysing_a_video_keep_the_window_on_a_1400_px_screen(
    qtbot, tmp_path, sample_video
):
    """The reported bug: File > Open project… grew the window to 1592 px on a 1400-px screen. The project
    browser asked for its whole title (the project's folder) and at least 560 px; with a video analysed, the
    playback bar's readout and the status bar's whole analysis message widened it further."""
    folder = tmp_path / "the lab's recordings of the second study, sessions one to twelve, consented"
    folder.mkdir()
    project = folder / "second study (all sessions, both cameras).affectproj"
    with ProjectStore.create(project) as store:
        store.add_video(sample_video)
    window = make_window(qtbot, tmp_path / "default.sqlite3")  # analyses the video it opens
    window.resize(1400, 900)
    qtbot.waitExposed(window)
    assert window.open_project(project)
    QApplication.processEvents()
    assert window.project_browser.isVisible() and window.width() == 1400
    assert window.minimumSizeHint().width() <= 1280
    assert wait_for_results(window, qtbot, sample_video) is not None
    show_frame(window, qtbot, lambda: window.seek(60))
    QApplication.processEvents()
    assert window.data.analysed_until and window.status_label.text().startswith("Analysed 120 frames")
    assert window.minimumSizeHint().width() <= 1280
    window.resize(1400, 900)
    QApplication.processEvents()
    assert window.size().toTuple() == (1400, 900)
    readout = window.playback.position
    assert readout.text().startswith("frame  60 / 119") and "00:02" in readout.shown_text()
    title = window.project_browser.title
    assert title.text().endswith(str(folder)) and title.shown_text() != title.text()  # cut in the middle
    close(window)


def test_a_fitting_label_shows_the_longest_form_that_fits(qtbot):
    label = FittingLabel()
    qtbot.addWidget(label)
    forms = ["frame  60 / 119   00:02.002 / 00:04.004", " 60/119  00:02.002", " 60  00:02.002"]
    label.set_forms(forms)
    advance = label.fontMetrics().horizontalAdvance
    assert label.text() == forms[0] and label.sizeHint().width() >= advance(forms[0])
    assert label.minimumSizeHint().width() == advance(forms[2])
    for width, shown in (
        (advance(forms[0]), forms[0]),
        (advance(forms[1]) + 2, forms[1]),
        (advance("00:0…"), None),
    ):
        label.resize(width, 20)
        assert label.shown_text() == shown if shown else label.shown_text().endswith("…")
    assert label.is_cut()
    label.setText("a new message")  # a plain text drops the old forms
    assert label.forms() == ["a new message"]
