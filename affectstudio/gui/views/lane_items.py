"""What one lane row draws: segments (coloured, labelled), AU on/off bars, events, hatched exclusions.

Drawn in device pixels, only what is in view: the segment arrays are cached as numpy (start time, end
time, colour index) once per edit, and a paint maps the visible ones to pixels in one vectorised step and
issues one `drawRects` per colour. Segments thinner than a pixel merge into the pixel they fall in, so an
hour of one-second segments costs as much to draw as a screenful.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem

from affectstudio.core.annotations.lanes import Lane, Segment
from affectstudio.core.labels import EXPRESSIONS
from affectstudio.gui.timeline import EXPRESSION_COLOURS

AU_COLOUR = "#26a69a"
AU_OFF_COLOUR = "#455a64"
EVENT_COLOUR = "#ffb74d"
EXCLUSION_COLOUR = "#bdbdbd"
PENDING_COLOUR = "#ffffff"


def segment_colour(kind: str, value) -> int:
    """Index into `PALETTE` for a segment's fill."""
    if kind == "expression":
        return EXPRESSIONS.index(value) if value in EXPRESSIONS else 0
    if kind == "au":
        return len(EXPRESSIONS) + (0 if value else 1)
    if kind == "event":
        return len(EXPRESSIONS) + 2
    return len(EXPRESSIONS) + 3


PALETTE = [QColor(c) for c in (*EXPRESSION_COLOURS, AU_COLOUR, AU_OFF_COLOUR, EVENT_COLOUR, EXCLUSION_COLOUR)]


class SegmentsItem(pg.GraphicsObject):
    """The segments of one lane, in the band y0..y0+height of the lanes plot (y grows downward)."""

    def __init__(self, kind: str, y0: float, height: float):
        super().__init__()
        self.kind, self.y0, self.height = kind, y0, height
        self.segments: list[Segment] = []
        self.selected_id: int | None = None
        self.pending: tuple[float, float, object] | None = None  # (start s, end s, value) being coded
        self.preview: tuple[float, float] | None = None  # a drag in progress
        self._times = np.zeros((0, 2))
        self._colours = np.zeros(0, dtype=np.int64)
        self._duration = 1.0
        self._font = QFont()
        self._font.setPointSizeF(7.5)
        # Repaint from a pixmap while only the playhead moves; redrawn when the view or the lane changes.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_lane(self, lane: Lane, timestamps: np.ndarray, step: float) -> None:
        """Cache the lane's segments as times (a segment covers its frames' whole display time)."""
        self.segments = list(lane.segments)
        if self.segments and len(timestamps):
            n = len(self.segments)
            starts = np.fromiter((s.start for s in self.segments), dtype=np.int64, count=n)
            stops = np.fromiter((s.stop for s in self.segments), dtype=np.int64, count=n)
            last = len(timestamps) - 1
            self._times = np.stack(
                [timestamps[np.clip(starts, 0, last)], timestamps[np.clip(stops, 0, last)] + step], axis=1
            )
            lookup = {value: segment_colour(self.kind, value) for value in {s.value for s in self.segments}}
            self._colours = np.fromiter((lookup[s.value] for s in self.segments), dtype=np.int64, count=n)
        else:
            self._times, self._colours = np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        self._duration = float(timestamps[-1]) + step if len(timestamps) else 1.0
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(0.0, self.y0, self._duration, self.height)

    def paint(self, painter, option, widget=None) -> None:
        view = self.getViewBox()
        if view is None:
            return
        (left, right), _ = view.viewRange()
        transform: QTransform = painter.transform()
        painter.save()
        painter.resetTransform()
        top = transform.map(QPointF(0, self.y0)).y() + 1
        bottom = transform.map(QPointF(0, self.y0 + self.height)).y() - 1
        scale, shift = transform.m11(), transform.dx()
        visible = np.flatnonzero((self._times[:, 1] >= left) & (self._times[:, 0] <= right))
        x0 = self._times[visible, 0] * scale + shift
        x1 = np.maximum(self._times[visible, 1] * scale + shift, x0 + 1)
        if self.kind == "event":
            self._paint_events(painter, visible, x0, top, bottom)
        else:
            self._paint_bars(painter, visible, x0, x1, top, bottom, (scale, shift))
        for span, colour in ((self.pending, PENDING_COLOUR), (self.preview, PLAYHEAD_PREVIEW)):
            if span is not None:
                a, b = span[0] * scale + shift, span[1] * scale + shift
                painter.setPen(QPen(QColor(colour), 1, Qt.PenStyle.DashLine))
                painter.setBrush(QBrush(QColor(255, 255, 255, 40)))
                painter.drawRect(QRectF(min(a, b), top, max(abs(b - a), 1), bottom - top))
        painter.restore()

    def _paint_bars(self, painter, visible, x0, x1, top, bottom, mapping) -> None:
        height = bottom - top
        hatched = self.kind == "exclusion"
        painter.setPen(Qt.PenStyle.NoPen)
        if len(visible) * 2 > self.scene_width(painter):
            bars = raster_bars(self._times, self._colours, x0, x1, mapping)
        else:
            colours = self._colours[visible]
            bars = [(c, *merge_pixels(x0[colours == c], x1[colours == c])) for c in np.unique(colours)]
        for colour, left, right in bars:
            style = Qt.BrushStyle.BDiagPattern if hatched else Qt.BrushStyle.SolidPattern
            painter.setBrush(QBrush(PALETTE[colour], style))
            painter.drawRects([QRectF(a, top, b - a, height) for a, b in zip(left, right, strict=True)])
        if self.selected_id is not None:
            for index, a, b in zip(visible, x0, x1, strict=True):
                if self.segments[index].id == self.selected_id:
                    painter.setPen(QPen(QColor("#ffffff"), 2))
                    painter.setBrush(Qt.BrushStyle.NoBrush)
                    painter.drawRect(QRectF(a, top, b - a, height))
        if self.kind != "expression" or height <= 10:
            return
        painter.setFont(self._font)
        painter.setPen(QColor("#101010"))
        wide = np.flatnonzero(x1 - x0 > 6.0 * self._font.pointSizeF())
        for i in wide[:300]:  # labels only where they fit; past a few hundred the colours say it
            segment = self.segments[visible[i]]
            text = segment.value + (" ✎" if segment.note else "")
            rect = QRectF(x0[i] + 3, top, x1[i] - x0[i] - 4, height)
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter, text)

    @staticmethod
    def scene_width(painter) -> float:
        return float(painter.device().width()) if painter.device() is not None else 2000.0

    def _paint_events(self, painter, visible, x0, top, bottom) -> None:
        painter.setFont(self._font)
        for index, x in zip(visible, x0, strict=True):
            segment = self.segments[index]
            selected = segment.id is not None and segment.id == self.selected_id
            painter.setPen(QPen(QColor("#ffffff" if selected else EVENT_COLOUR), 2 if selected else 1))
            painter.drawLine(QPointF(x, top), QPointF(x, bottom))
            painter.setBrush(QColor(EVENT_COLOUR))
            painter.drawPolygon([QPointF(x - 4, top), QPointF(x + 4, top), QPointF(x, top + 6)])
            if len(visible) < 200:
                painter.setPen(QColor("#e0e0e0"))
                painter.drawText(QPointF(x + 5, bottom - 2), str(segment.value))


PLAYHEAD_PREVIEW = "#ffd54f"


def merge_pixels(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Join bars (sorted by start) that touch or overlap once snapped to whole pixels: at most one bar
    per pixel column is left to draw however many segments the view holds."""
    if len(x0) == 0:
        return x0, x1
    left, right = np.floor(x0), np.maximum(np.ceil(x1), np.floor(x0) + 1)
    reach = np.maximum.accumulate(right)
    starts = np.concatenate([[True], left[1:] > reach[:-1]])
    first = np.flatnonzero(starts)
    last = np.concatenate([first[1:] - 1, [len(left) - 1]])
    return left[first], reach[last]


def raster_bars(times, colours, x0, x1, mapping) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """More segments than pixels: colour each pixel column by the segment at its centre, then one bar per
    run of equal colour (what a screen can show of them, at a cost set by the width, not the count)."""
    scale, shift = mapping
    first, last = int(np.floor(x0.min())), int(np.ceil(x1.max()))
    columns = np.arange(first, last) + 0.5
    seconds = (columns - shift) / scale
    index = np.searchsorted(times[:, 0], seconds, side="right") - 1
    inside = (index >= 0) & (times[np.maximum(index, 0), 1] > seconds)
    colour = np.where(inside, colours[np.maximum(index, 0)], -1)
    change = np.flatnonzero(np.diff(colour)) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(colour)]])
    run_colour = colour[starts]
    out = []
    for c in np.unique(run_colour[run_colour >= 0]):
        pick = run_colour == c
        out.append((int(c), first + starts[pick].astype(float), first + stops[pick].astype(float)))
    return out


def trace_to_band(values: np.ndarray, y0: float, height: float) -> np.ndarray:
    """Valence/arousal in [-1, 1] to y in the band (1 at the top, y grows downward)."""
    return y0 + height * (1.0 - values) / 2.0


def band_to_value(y: float, y0: float, height: float) -> float:
    return float(np.clip(1.0 - 2.0 * (y - y0) / height, -1.0, 1.0))
