"""Plots that explain themselves (issue 12 item 2): colour bars, legends, untrained heads, exports."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from gui_helpers import synthetic_rows
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter

from affectstudio.core.figures import EXPRESSION_COLOURS
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.core.review_data import ReviewData
from affectstudio.gui import figure_export
from affectstudio.gui.plot_legends import AU_BAR_LABEL, EXPR_BAR_LABEL, HEAT_LEVELS, TOP_BAND_TICK
from affectstudio.gui.timeline import PLAYHEAD_COLOUR, TimelinePanel, heat_rgba

TITLE = "clip.mp4 · Face #0 · model stock · 0:00.0–0:10.0"


@pytest.fixture
def timeline(qtbot):
    data = ReviewData(np.arange(300) / 30.0)
    data.add_rows(synthetic_rows(300, 30.0))
    panel = TimelinePanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 520)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_duration(data.timestamps)
    panel.set_track(data.tracks[0], 5, [0.5] * 12, [])
    panel.set_playhead(4.0)
    return panel


def playhead_pixels(image: QImage) -> int:
    """Pixels of the playhead's colour (its anti-aliased core), counted on an RGB copy."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rgb = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())[:, : width * 3]
    target = np.array(QColor(PLAYHEAD_COLOUR).getRgb()[:3])
    return int((np.abs(rgb.reshape(height, width, 3).astype(int) - target).max(axis=2) <= 12).sum())


def test_colour_bars_show_the_range_and_colours_the_heat_maps_use(timeline):
    for bar, label, row in ((timeline.expr_bar, EXPR_BAR_LABEL, 1), (timeline.au_bar, AU_BAR_LABEL, 2)):
        assert timeline.ci.getItem(row, 1) is bar  # beside its heat map
        assert tuple(bar.levels()) == HEAT_LEVELS == (0.0, 1.0)
        assert bar.label_text == label and label in bar.getAxis("right").labelText
        values = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
        fraction = (values - HEAT_LEVELS[0]) / (HEAT_LEVELS[1] - HEAT_LEVELS[0])
        on_bar = bar.colorMap().map(fraction, mode="byte")
        in_map = heat_rgba(values[None, :])[0]
        assert np.abs(on_bar[:, :3].astype(int) - in_map[:, :3]).max() <= 2
    assert "probability" in EXPR_BAR_LABEL and "AU activation" in AU_BAR_LABEL and "0–1" in AU_BAR_LABEL


def test_va_legend_sits_beside_the_traces_not_on_them(timeline):
    legend = timeline.va_legend
    assert timeline.va_plot.legend is None  # no overlay legend inside the plot
    assert [label.text for _, label in legend.items] == ["valence", "arousal"]
    plot_area = timeline.va_plot.vb.sceneBoundingRect()
    assert legend.isVisible() and not legend.sceneBoundingRect().intersects(plot_area)
    assert legend.sceneBoundingRect().left() >= plot_area.right()


def test_the_most_likely_band_is_labelled_and_its_classes_listed(timeline):
    ticks = dict((round(v, 1), t) for v, t in timeline.expr_plot.getAxis("left")._tickLevels[0])
    assert ticks[len(EXPRESSIONS) + 0.5] == TOP_BAND_TICK
    caption = timeline.top_band_caption.text
    assert "most probable expression per frame" in caption and "argmax" in caption
    assert "highest probability" in timeline.top_band_caption.toolTip()
    for name, colour in zip(EXPRESSIONS, EXPRESSION_COLOURS, strict=True):
        assert f"color:{colour}'>■</span>&nbsp;{name}" in caption
    assert "most likely" in timeline.expr_plot.toolTip()
    caption_top = timeline.top_band_caption.sceneBoundingRect().top()
    assert caption_top >= timeline.au_plot.sceneBoundingRect().bottom()  # under the plots, not on them


def test_untrained_heads_stay_readable_and_are_marked(timeline):
    timeline.set_untrained(["va", "au"])
    for curve in timeline.smooth_curves:
        assert curve.opacity() >= 0.6 and curve.opts["pen"].style() == Qt.PenStyle.DashLine
    assert timeline.au_image.opacity() >= 0.5 and timeline.expr_image.opacity() == 1.0
    assert "Not meaningful: untrained valence/arousal head" in timeline.notices["va"].text
    assert "untrained action-unit head" in timeline.notices["au"].text and timeline.notices["expr"].text == ""
    timeline.set_untrained([])
    assert timeline.smooth_curves[0].opts["pen"].style() == Qt.PenStyle.SolidLine
    assert timeline.smooth_curves[0].opacity() == 1.0 and timeline.au_image.opacity() == 1.0
    assert timeline.notices["va"].text == ""


def test_exported_png_has_the_title_band_and_no_playhead(timeline, monkeypatch):
    assert playhead_pixels(timeline.grab().toImage()) > 50  # on screen the playhead is there
    image = figure_export.timeline_image(timeline, TITLE)
    assert playhead_pixels(image) == 0
    assert all(line.isVisible() for line in timeline.playheads)  # shown again after the export
    band = round(figure_export.TITLE_HEIGHT * image.width() / timeline.ci.boundingRect().width())
    expected = QImage(image.width(), band, QImage.Format.Format_ARGB32)
    expected.fill(QColor(figure_export.BACKGROUND))
    painter = QPainter(expected)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    figure_export._draw_title(painter, TITLE, image.width(), band)
    painter.end()
    top = image.copy(0, 0, image.width(), band).convertToFormat(QImage.Format.Format_ARGB32)
    assert top == expected  # the band holds exactly the title text
    blank = QImage(image.width(), band, QImage.Format.Format_ARGB32)
    blank.fill(QColor(figure_export.BACKGROUND))
    assert top != blank
    monkeypatch.setattr(figure_export, "without_playhead", lambda _: contextlib.nullcontext())
    assert playhead_pixels(figure_export.timeline_image(timeline, TITLE)) > 50  # the check can fail


def test_exported_svg_has_the_title_text_and_no_playhead(timeline, tmp_path, monkeypatch):
    path = tmp_path / "plots.svg"
    figure_export.write_svg(timeline, TITLE, path)
    text = path.read_text(encoding="utf-8")
    assert TITLE in text and "<text" in text
    assert PLAYHEAD_COLOUR not in text.lower()
    monkeypatch.setattr(figure_export, "without_playhead", lambda _: contextlib.nullcontext())
    figure_export.write_svg(timeline, TITLE, tmp_path / "with.svg")
    assert PLAYHEAD_COLOUR in (tmp_path / "with.svg").read_text(encoding="utf-8").lower()
