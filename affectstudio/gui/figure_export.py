"""The timelines as a figure to keep: PNG or SVG with a title line and without the playhead.

A figure taken out of the app must say what it shows (`core.figures.figure_title`: video, track, model, time
range, untrained heads) and must not carry the app's transient state: the playhead lines and the in/out
selection are hidden while it renders and shown again afterwards. The colour bars, legends and untrained
notices stay: they are what makes the figure readable on its own. The figure covers the time range the
export asks for (`showing`), not whatever the timelines happen to show; their view is put back afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

TITLE_HEIGHT = 30  # px at the widget's own scale
TITLE_COLOUR = "#eeeeee"
BACKGROUND = "#1e1e1e"


@contextmanager
def without_playhead(timeline):
    """Hide the playhead lines and the selection for the duration of the block."""
    items = [*timeline.playheads, timeline.selection]
    shown = [item.isVisible() for item in items]
    for item in items:
        item.hide()
    try:
        yield
    finally:
        for item, visible in zip(items, shown, strict=True):
            item.setVisible(visible)


@contextmanager
def showing(timeline, start: float, stop: float):
    """Show `start`..`stop` s in the timelines for the duration of the block; yields the range shown (the
    view keeps its minimum width, so a very short range comes out a little wider)."""
    before = timeline.view_range()
    timeline.va_plot.setXRange(start, stop, padding=0)
    try:
        yield timeline.view_range()
    finally:
        timeline.va_plot.setXRange(*before, padding=0)


def _draw_title(painter: QPainter, title: str, width: float, height: float) -> None:
    font = QFont()
    font.setPixelSize(max(9, int(height * 0.45)))
    painter.setFont(font)
    painter.setPen(QColor(TITLE_COLOUR))
    padding = height * 0.3
    box = QRectF(padding, 0, width - 2 * padding, height)
    painter.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)


def timeline_image(timeline, title: str, width: int = 1600) -> QImage:
    """The timelines rendered at `width` px (at least their on-screen width) under a title band."""
    import pyqtgraph.exporters as exporters

    item = timeline.ci
    exporter = exporters.ImageExporter(item)
    exporter.parameters()["width"] = max(width, int(item.boundingRect().width()))
    with without_playhead(timeline):
        plots = exporter.export(toBytes=True)
    band = round(TITLE_HEIGHT * plots.width() / max(1.0, item.boundingRect().width()))
    image = QImage(plots.width(), plots.height() + band, QImage.Format.Format_ARGB32)
    image.fill(QColor(BACKGROUND))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    _draw_title(painter, title, plots.width(), band)
    painter.drawImage(0, band, plots)
    painter.end()
    return image


def write_png(timeline, title: str, path: Path) -> None:
    if not timeline_image(timeline, title).save(str(path), "PNG"):
        raise OSError(f"{path}: Qt could not write the PNG")


def write_svg(timeline, title: str, path: Path) -> None:
    """Vector SVG through Qt's own SVG painter, the title as real text.

    pyqtgraph's SVGExporter post-processes Qt's SVG and fails on the path syntax Qt 6 writes for some
    items (legend boxes), so the scene is painted into a QSvgGenerator directly instead.
    """
    from PySide6.QtSvg import QSvgGenerator

    source = QRectF(timeline.viewport().rect())
    full = QRectF(0, 0, source.width(), source.height() + TITLE_HEIGHT)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(full.width()), int(full.height())))
    generator.setViewBox(full)
    generator.setTitle(title)
    generator.setResolution(timeline.logicalDpiX())  # else fonts in points shrink against pixel items
    painter = QPainter(generator)
    painter.fillRect(full, QColor(BACKGROUND))
    _draw_title(painter, title, full.width(), TITLE_HEIGHT)
    with without_playhead(timeline):
        timeline.render(painter, source.translated(0, TITLE_HEIGHT), source.toRect())
    painter.end()
