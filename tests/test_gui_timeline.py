"""Timelines, VA plane and the data model behind them, fed with made-up result rows."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import synthetic_rows
from PySide6.QtCore import QPointF, Qt

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import au_active, top_expression
from affectstudio.core.review_data import ReviewData
from affectstudio.gui.timeline import AU_SUBROWS, TimelinePanel, au_image, expression_image
from affectstudio.gui.va_plane import VAPlane

FPS = 30.0


def review(frames=300, **kw) -> ReviewData:
    data = ReviewData(np.arange(frames) / FPS)
    data.add_rows(synthetic_rows(frames, FPS, **kw))
    return data


def test_rows_fill_dense_arrays_with_nan_where_no_face():
    data = review(100, gap=(10, 20))
    arrays = data.tracks[0]
    assert data.track_ids() == [0] and data.analysed_until == 100
    assert np.isnan(arrays.va[10:20]).all() and not np.isnan(arrays.va[:10]).any()
    assert data.faces_at(15) == [] and data.faces_at(5)[0][0] == 0
    assert len(data.rows()) == 100


def test_batches_arriving_in_pieces_build_the_same_arrays():
    rows = synthetic_rows(90, FPS, tracks=2)
    whole = ReviewData(np.arange(90) / FPS)
    whole.add_rows(rows)
    pieces = ReviewData(np.arange(90) / FPS)
    new_tracks = [pieces.add_rows(rows[rows["frame"].between(a, a + 29)]) for a in (0, 30, 60)]
    assert new_tracks == [[0, 1], [], []]
    for track in (0, 1):
        np.testing.assert_array_equal(whole.tracks[track].au, pieces.tracks[track].au)


def test_thresholds_and_top_expression_are_derived():
    probs = np.tile([[0.2, 0.7], [0.6, 0.1]], (1, 6))
    thresholds = [0.5] * 11 + [0.05]
    np.testing.assert_array_equal(
        au_active(probs, thresholds)[:, [0, 1, 11]], [[False, True, True], [True, False, True]]
    )
    expr = np.full((3, 8), 0.1)
    expr[0, 4] = 0.9
    expr[2] = np.nan
    assert list(top_expression(expr)) == [4, 0, -1]


def test_heat_images_have_one_column_per_frame_and_mark_activations():
    data = review(50, gap=(10, 12))
    arrays = data.tracks[0]
    image = expression_image(arrays.expr)
    assert image.shape == (50, len(EXPRESSIONS) + 1, 4)
    assert image[11, :, 3].max() == 0  # no face: transparent
    thresholds = [0.5] * 12
    au = au_image(arrays.au, thresholds)
    assert au.shape == (50, len(ACTION_UNITS) * AU_SUBROWS, 4)
    marker_rows = au[:, AU_SUBROWS - 1 :: AU_SUBROWS]
    active = arrays.au >= 0.5
    assert (marker_rows[active][:, :3] == 255).all()
    assert (marker_rows[~active & ~np.isnan(arrays.au)][:, :3] == 20).all()


@pytest.fixture
def timeline(qtbot):
    panel = TimelinePanel()
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_timeline_shows_a_track_and_moves_one_playhead(timeline):
    data = review(300)
    timeline.set_duration(data.timestamps)
    timeline.set_track(data.tracks[0], 15, [0.5] * 12, [])
    x, _ = timeline.smooth_curves[0].getData()
    assert len(x) == 300 and timeline.raw_curves[0].isVisible()
    assert timeline.expr_image.image.shape[0] == 300
    timeline.set_playhead(4.0)
    assert {line.value() for line in timeline.playheads} == {4.0}
    timeline.set_track(data.tracks[0], 1, [0.5] * 12, [])
    assert not timeline.raw_curves[0].isVisible()  # smoothing off: only the trace itself


def test_click_and_drag_on_the_timeline_request_seeks(timeline, qtbot):
    data = review(300)
    timeline.set_duration(data.timestamps)
    timeline.set_track(data.tracks[0], 1, [0.5] * 12, [])
    seeks = []
    timeline.seek_requested.connect(seeks.append)
    vb = timeline.au_plot.vb
    target = vb.mapViewToScene(QPointF(6.0, 5.0))
    point = timeline.mapFromScene(target)
    qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert seeks and abs(seeks[-1] - 6.0) < 0.1
    start = timeline.mapFromScene(vb.mapViewToScene(QPointF(2.0, 5.0)))
    stop = timeline.mapFromScene(vb.mapViewToScene(QPointF(8.0, 5.0)))
    qtbot.mousePress(timeline.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(timeline.viewport(), start + (stop - start) * step / 5)
    qtbot.mouseRelease(timeline.viewport(), Qt.MouseButton.LeftButton, pos=stop)
    assert timeline.view_range() == pytest.approx((0, 10), abs=0.01)  # scrubbing does not pan
    assert abs(seeks[-1] - 8.0) < 0.2


def test_zoom_pan_and_show_all_keep_the_plots_linked(timeline):
    data = review(3000)
    timeline.set_duration(data.timestamps)
    timeline.set_playhead(50.0)
    timeline.zoom(0.25)
    start, stop = timeline.view_range()
    assert stop - start == pytest.approx(25.0, rel=0.01) and start <= 50 <= stop
    assert timeline.au_plot.vb.viewRange()[0] == pytest.approx([start, stop])
    timeline.pan(0.5)
    assert timeline.view_range()[0] == pytest.approx(start + 12.5, rel=0.01)
    timeline.show_all()
    assert timeline.view_range() == pytest.approx((0, 100), abs=0.01)


def test_untrained_heads_are_marked_with_the_reason(timeline):
    data = review(100)
    timeline.set_duration(data.timestamps)
    timeline.set_track(data.tracks[0], 1, [0.5] * 12, ["va", "au"])
    assert "untrained" in timeline.notices["va"].text and timeline.notices["expr"].text == ""
    assert timeline.smooth_curves[0].opts["pen"].style() == Qt.PenStyle.DashLine  # marked, still readable
    assert timeline.smooth_curves[0].opacity() >= 0.5 and timeline.expr_image.opacity() == 1.0


def test_va_plane_shows_point_trail_and_values(qtbot):
    plane = VAPlane()
    qtbot.addWidget(plane)
    data = review(100, gap=(50, 60))
    plane.show_frame(data.tracks[0], 40)
    assert len(plane.point.data) == 1 and len(plane.trail.data) == 30
    assert "valence" in plane.values.text() and "AUs:" in plane.values.text()
    plane.show_frame(data.tracks[0], 55)
    assert len(plane.point.data) == 0 and "No face" in plane.values.text()
