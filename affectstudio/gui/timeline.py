"""The timelines: valence/arousal traces, expression heat strip, AU heat map; one time axis, one playhead.

Built for an hour of video (108,000 frames) staying fluid:
- curves get their data once (`setData`) and draw with clip-to-view and peak downsampling, so a redraw
  touches about two points per screen pixel, never all frames;
- heat maps are `ImageItem`s (one texture each, downsampled to the screen by pyqtgraph), their columns
  at each frame's presentation time also for a variable frame rate (`core/plot_times.py`);
- the playhead is an `InfiniteLine` per plot: moving it changes one item's position, nothing is rebuilt.

Left click or drag seeks (the scrubbing gesture of ELAN/BORIS); the wheel zooms time, middle or
Shift+left drag pans it. All plots share the x axis through `setXLink`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem

from affectstudio.core.figures import AROUSAL_COLOUR, EXPRESSION_COLOURS, VALENCE_COLOUR
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.plot_times import frame_columns, on_columns
from affectstudio.core.results import au_active, smooth, top_expression
from affectstudio.core.review_data import TrackArrays
from affectstudio.gui import plot_legends
from affectstudio.gui.plot_legends import HEAT_COLOURMAP, HEAT_LEVELS, TOP_BAND_TICK

PLAYHEAD_COLOUR = "#ffd54f"
AXIS_WIDTH = 78
AU_SUBROWS = 4  # per AU: three rows of probability colour, one row marking thresholded activation

_VIRIDIS = (pg.colormap.get(HEAT_COLOURMAP).getLookupTable(nPts=256, alpha=False)).astype(np.uint8)


def heat_rgba(values: np.ndarray) -> np.ndarray:
    """(F, R) values over HEAT_LEVELS -> (F, R, 4) RGBA; NaN (no face) becomes transparent.

    The colour bars beside the heat maps show the same colour map over the same levels.
    """
    valid = ~np.isnan(values)
    low, high = HEAT_LEVELS
    scaled = (np.nan_to_num(values, nan=low) - low) / (high - low)
    index = (np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    rgba[..., :3] = _VIRIDIS[index]
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


def expression_image(expr: np.ndarray) -> np.ndarray:
    """Eight probability rows plus a top band coloured by the most probable expression."""
    rgba = np.zeros((len(expr), len(EXPRESSIONS) + 1, 4), dtype=np.uint8)
    rgba[:, : len(EXPRESSIONS)] = heat_rgba(expr)
    top = top_expression(expr)
    palette = np.array([pg.mkColor(c).getRgb() for c in EXPRESSION_COLOURS], dtype=np.uint8)
    rgba[top >= 0, len(EXPRESSIONS)] = palette[top[top >= 0]]
    return rgba


def au_image(au: np.ndarray, thresholds) -> np.ndarray:
    """Per AU: probability colour with a white marker row where the AU is over its threshold."""
    frames = len(au)
    heat = heat_rgba(au)
    active = au_active(np.nan_to_num(au, nan=-1.0), thresholds)
    rgba = np.repeat(heat, AU_SUBROWS, axis=1).reshape(frames, len(ACTION_UNITS), AU_SUBROWS, 4)
    marker = rgba[:, :, AU_SUBROWS - 1]
    marker[active] = (255, 255, 255, 255)
    marker[~active & ~np.isnan(au)] = (20, 20, 20, 255)
    return rgba.reshape(frames, len(ACTION_UNITS) * AU_SUBROWS, 4)


class TimeAxis(pg.AxisItem):
    def tickStrings(self, values, scale, spacing):
        """m:ss with as many decimals as the tick spacing needs, so no two ticks read the same (a still
        image spans one frame, 33 ms, and gets ticks every 5 ms)."""
        decimals = 0 if spacing >= 1 else min(6, math.ceil(-math.log10(spacing) - 1e-9))
        width = 3 + decimals if decimals else 2
        return [f"{int(v // 60)}:{v % 60:0{width}.{decimals}f}" for v in values]


class SeekViewBox(pg.ViewBox):
    """Left click/drag seeks; wheel zooms time; middle or Shift+left drag pans."""

    def __init__(self, timeline: TimelinePanel):
        super().__init__(enableMenu=False)
        self._timeline = timeline
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._timeline.seek_requested.emit(self.mapSceneToView(ev.scenePos()).x())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        scrub = ev.button() == Qt.MouseButton.LeftButton and not (
            ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        if scrub:
            ev.accept()
            self._timeline.seek_requested.emit(self.mapSceneToView(ev.scenePos()).x())
        elif ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            ev.accept()
            delta = self.mapSceneToView(ev.lastScenePos()).x() - self.mapSceneToView(ev.scenePos()).x()
            self.translateBy(x=delta)
        else:
            super().mouseDragEvent(ev, axis)


class _WeightsLink(pg.LabelItem):
    """ "Get trained weights…" in the top-right corner of a plot whose head is untrained: a click opens the
    Models window. Small and in a corner (not the centred notice), so clicks elsewhere still seek."""

    def __init__(self, timeline: TimelinePanel):
        super().__init__("", color="#64b5f6", size="8pt")
        self._timeline = timeline
        self.setZValue(200)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton and self.text:
            ev.accept()
            self._timeline.weights_requested.emit()


class TimelinePanel(pg.GraphicsLayoutWidget):
    seek_requested = Signal(float)  # seconds
    weights_requested = Signal()  # a click on an untrained notice

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("#1e1e1e")
        self.ci.layout.setSpacing(2)
        self.duration = 1.0
        self._timestamps = np.zeros(0)
        self._columns, self._column_width = np.zeros(0, dtype=np.int64), 1.0
        self.va_plot = self._add_plot(0, "Valence / arousal", bottom_axis=False)
        self.va_plot.setYRange(-1.05, 1.05, padding=0)
        self.va_plot.getAxis("left").setTicks([[(-1, "-1"), (0, "0"), (1, "1")]])
        self.va_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#555555", width=1)))
        # Set on the plot, not the curves: PlotItem.addItem imposes the plot's own settings on each curve.
        self.va_plot.setClipToView(True)
        self.va_plot.setDownsampling(auto=True, mode="peak")
        self.raw_curves = []
        self.smooth_curves = []
        for colour, name in ((VALENCE_COLOUR, "valence"), (AROUSAL_COLOUR, "arousal")):
            raw = pg.PlotDataItem(pen=pg.mkPen(pg.mkColor(colour).lighter(100), width=1), connect="finite")
            raw.setOpacity(0.35)
            fine = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.6), connect="finite", name=name)
            for curve in (raw, fine):
                curve.opts["autoDownsampleFactor"] = 1.5  # peak mode keeps min and max: ~3 points per pixel
                curve.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                self.va_plot.addItem(curve)
            self.raw_curves.append(raw)
            self.smooth_curves.append(fine)
        self.expr_plot = self._add_plot(1, "Expressions", bottom_axis=False)
        self.expr_image = pg.ImageItem(autoDownsample=True)
        self.expr_plot.addItem(self.expr_image)
        self.expr_plot.setYRange(0, len(EXPRESSIONS) + 1, padding=0)
        ticks = [(i + 0.5, name) for i, name in enumerate(EXPRESSIONS)]
        ticks.append((len(EXPRESSIONS) + 0.5, TOP_BAND_TICK))
        self.expr_plot.getAxis("left").setTicks([ticks])
        self.au_plot = self._add_plot(2, "Action units", bottom_axis=True)
        self.au_image = pg.ImageItem(autoDownsample=True)
        self.au_plot.addItem(self.au_image)
        self.au_plot.setYRange(0, len(ACTION_UNITS), padding=0)
        self.au_plot.getAxis("left").setTicks([[(i + 0.5, name) for i, name in enumerate(ACTION_UNITS)]])
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.ci.layout.setRowStretchFactor(2, 3)
        # Room for one readable label per heat-map row (12 AUs, 8 expressions + the top band).
        self.ci.layout.setRowMinimumHeight(0, 90)
        self.ci.layout.setRowMinimumHeight(1, 9 * 11 + 8)
        self.ci.layout.setRowMinimumHeight(2, 12 * 11 + 30)
        self.playheads = []
        self.notices = {}
        self.weights_links = {}
        for task, plot in (("va", self.va_plot), ("expr", self.expr_plot), ("au", self.au_plot)):
            line = pg.InfiniteLine(0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD_COLOUR, width=1.5))
            line.setZValue(100)
            plot.addItem(line, ignoreBounds=True)
            self.playheads.append(line)
            notice = pg.LabelItem("", color="#bdbdbd", size="9pt")
            notice.setParentItem(plot.vb)
            notice.anchor(itemPos=(0.5, 0.5), parentPos=(0.5, 0.5))
            self.notices[task] = notice
            link = _WeightsLink(self)
            link.setParentItem(plot.vb)
            link.anchor(itemPos=(0.5, 0), parentPos=(0.5, 0.5), offset=(0, 9))  # just under the notice
            self.weights_links[task] = link
        for plot in (self.expr_plot, self.au_plot):
            plot.setXLink(self.va_plot)
        self.other_curves: list[pg.PlotDataItem] = []
        self.track_tag = pg.LabelItem("", size="8pt")
        self.track_tag.setParentItem(self.va_plot.vb)
        self.track_tag.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, 2))
        self.selection = pg.LinearRegionItem(
            movable=False,
            brush=pg.mkBrush(255, 213, 79, 45),
            pen=pg.mkPen(PLAYHEAD_COLOUR, style=Qt.PenStyle.DashLine),
        )
        self.selection.hide()
        self.va_plot.addItem(self.selection, ignoreBounds=True)
        plot_legends.decorate(self)
        # Never shorter than the rows' minimums plus the caption under them (a fixed guess once left the
        # caption below the bottom edge); the layout's margins above and below are kept small for it.
        left, _, right, _ = self.ci.layout.getContentsMargins()
        self.ci.layout.setContentsMargins(left, 2, right, 2)
        self.setMinimumHeight(math.ceil(self.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()))

    def _add_plot(self, row: int, title: str, bottom_axis: bool) -> pg.PlotItem:
        axes = {"bottom": TimeAxis("bottom")}
        plot = self.addPlot(row=row, col=0, viewBox=SeekViewBox(self), axisItems=axes)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        tick_font = QFont()
        tick_font.setPointSizeF(7.5)
        plot.getAxis("left").setStyle(tickFont=tick_font, tickTextOffset=3)
        plot.getAxis("left").setLabel(title, **{"font-size": "8pt"})
        plot.getAxis("bottom").setStyle(showValues=bottom_axis)
        if not bottom_axis:
            plot.getAxis("bottom").setHeight(4)
        return plot

    # data ---------------------------------------------------------------------------------------------
    def set_duration(self, timestamps: np.ndarray) -> None:
        """Fix the shared time axis to the video (empty plots still show the right span)."""
        self._timestamps = timestamps
        step = float(np.median(np.diff(timestamps))) if len(timestamps) > 1 else 1 / 30
        self.duration = float(timestamps[-1]) + step if len(timestamps) else 1.0
        for plot in (self.va_plot, self.expr_plot, self.au_plot):
            plot.vb.setLimits(xMin=0, xMax=self.duration, minXRange=min(self.duration, 20 * step))
        self.va_plot.setXRange(0, self.duration, padding=0)
        self._columns, self._column_width = frame_columns(timestamps, self.duration)
        for image in (self.expr_image, self.au_image):
            image.clear()
            self._place(image)

    def _place(self, image: pg.ImageItem) -> None:
        rows = len(EXPRESSIONS) + 1 if image is self.expr_image else len(ACTION_UNITS)
        image.setRect(QRectF(0, 0, len(self._columns) * self._column_width, rows))

    def set_track(self, arrays: TrackArrays | None, smoothing: int, thresholds, untrained: list[str]) -> None:
        """Show one track's predictions (None clears the plots)."""
        times = self._timestamps
        if arrays is None:
            for curve in (*self.raw_curves, *self.smooth_curves):
                curve.clear()
            self.expr_image.clear()
            self.au_image.clear()
        else:
            smoothed = smooth(arrays.va, smoothing)
            for column in range(2):
                self.raw_curves[column].setData(times, arrays.va[:, column])
                self.smooth_curves[column].setData(times, smoothed[:, column])
                self.raw_curves[column].setVisible(smoothing > 1)
            for image, rgba in (
                (self.expr_image, expression_image(arrays.expr)),
                (self.au_image, au_image(arrays.au, thresholds)),
            ):
                image.setImage(on_columns(rgba, self._columns), autoLevels=False, levels=(0, 255))
                self._place(image)
        self.set_untrained(untrained)

    def set_other_tracks(self, tracks: list[tuple[str, str, np.ndarray]], smoothing: int) -> None:
        """Which track the full plots show (name, colour: a tag at the top right) and, faint in their own
        colours, the other tracks' valence (solid) and arousal (dotted): (name, colour, va) each, the
        selected track first."""
        for curve in self.other_curves:
            self.va_plot.removeItem(curve)
        self.other_curves = []
        if not tracks:
            self.track_tag.setText("")
            return
        name, colour, _ = tracks[0]
        self.track_tag.setText(f"● {name}", color=colour, bold=True)
        for _, colour, va in tracks[1:]:
            smoothed = smooth(va, smoothing)
            for column, style in ((0, Qt.PenStyle.SolidLine), (1, Qt.PenStyle.DotLine)):
                curve = pg.PlotDataItem(
                    self._timestamps,
                    smoothed[:, column],
                    pen=pg.mkPen(colour, width=1, style=style),
                    connect="finite",
                )
                curve.setOpacity(0.55)
                curve.setZValue(-1)
                self.va_plot.addItem(curve)
                self.other_curves.append(curve)

    def set_untrained(self, untrained: list[str]) -> None:
        """Mark plots of heads the model never learned: still readable, dashed/dimmed, with a notice."""
        names = {"va": "valence/arousal", "expr": "expression", "au": "action-unit"}
        va_untrained = "va" in untrained
        for curve in self.smooth_curves:
            pen = pg.mkPen(curve.opts["pen"])
            pen.setStyle(Qt.PenStyle.DashLine if va_untrained else Qt.PenStyle.SolidLine)
            curve.setPen(pen)
            curve.setOpacity(plot_legends.UNTRAINED_OPACITY if va_untrained else 1.0)
        for image, task in ((self.expr_image, "expr"), (self.au_image, "au")):
            image.setOpacity(plot_legends.UNTRAINED_IMAGE_OPACITY if task in untrained else 1.0)
        for task, notice in self.notices.items():
            notice.setText(plot_legends.untrained_notice_html(names[task]) if task in untrained else "")
        for task, link in self.weights_links.items():
            link.setText("<u>Get trained weights…</u>" if task in untrained else "")

    def set_selection(self, start: float | None, stop: float | None) -> None:
        """The in/out span being marked for a new annotation (None hides it)."""
        if start is None:
            self.selection.hide()
            return
        self.selection.setRegion((start, stop if stop is not None else start))
        self.selection.show()

    def set_playhead(self, seconds: float) -> None:
        for line in self.playheads:
            line.setValue(seconds)

    # navigation ---------------------------------------------------------------------------------------
    def view_range(self) -> tuple[float, float]:
        return tuple(self.va_plot.vb.viewRange()[0])

    def zoom(self, factor: float, centre: float | None = None) -> None:
        """factor < 1 zooms in around `centre` (the playhead by default; an off-screen playhead is brought
        into the middle of the view rather than left outside it)."""
        start, stop = self.view_range()
        playhead = self.playheads[0].value()
        if centre is None and not start <= playhead <= stop:  # off screen: zoom onto it instead
            width = (stop - start) * factor
            self.va_plot.setXRange(playhead - width / 2, playhead + width / 2, padding=0)
            return
        centre = playhead if centre is None else centre
        self.va_plot.setXRange(
            centre - (centre - start) * factor, centre + (stop - centre) * factor, padding=0
        )

    def pan(self, fraction: float) -> None:
        start, stop = self.view_range()
        self.va_plot.vb.translateBy(x=(stop - start) * fraction)

    def show_all(self) -> None:
        self.va_plot.setXRange(0, self.duration, padding=0)

    def follow(self, seconds: float) -> None:
        """Keep the playhead in view while playing (page the view forward like a chart recorder)."""
        start, stop = self.view_range()
        if not start <= seconds <= stop:
            width = stop - start
            self.va_plot.setXRange(seconds - 0.1 * width, seconds + 0.9 * width, padding=0)
