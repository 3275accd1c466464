"""The main window on a 1400x900 screen (issue 12): it fits, the caption under the plots and the time axis
are shown, and the lanes' labels keep one readable row each, scrolling when the lanes are short."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF
from test_gui_main_window import no_auto_analysis, open_and_wait

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
