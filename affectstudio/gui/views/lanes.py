"""The lanes editor: the session's annotation lanes under the plots, on the same time axis.

One row per lane, grouped per annotator: expression segments (coloured by class, labelled), one on/off
row per AU, valence and arousal as traces, events as markers with text, exclusions hatched. It is a view
of the `ReviewSession`: it redraws the lane a `lanes_changed(key)` names and edits only through session
methods (each an undoable command), so undo, the CLI and this view can never disagree.

Mouse, as in ELAN: drag on an empty stretch of a segment lane creates a segment, drag a segment's edge to
resize it, click to select (and seek), double-click to edit; drag on a valence/arousal row draws the trace.
Shift or middle drag pans, the wheel zooms; the x axis is linked to the timelines.

A face's review shows the annotator's "any face" lanes too (track -1: imported without a track, or coded
before a face was found; `ReviewSession.shown_lanes`), labelled "any" with a tooltip saying so; an edit on
such a row stays any-face.

Rows never get thinner than one label (`MIN_UNIT_PX`): when the view is too short for all of them (17 a
coder, more with several coders), it shows as many as fit and a scroll bar, in the column beside the plot
that the timelines use for their legends, scrolls through the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QScrollBar, QStyle

from affectstudio.core.annotations.lanes import ANY_TRACK, LaneKey, Segment
from affectstudio.core.errors import AffectStudioError
from affectstudio.gui.plot_legends import reserve_right_column
from affectstudio.gui.timeline import AROUSAL_COLOUR, AXIS_WIDTH, PLAYHEAD_COLOUR, VALENCE_COLOUR, TimeAxis
from affectstudio.gui.transport import frame_at
from affectstudio.gui.views.lane_items import SegmentsItem, band_to_value, trace_to_band

ROW_HEIGHT = {"expression": 1.6, "au": 0.6, "continuous": 1.6, "event": 1.0, "exclusion": 0.7}
EDGE_PX = 5  # how near an edge a press must be to resize rather than create
MIN_UNIT_PX = 18  # px per unit of ROW_HEIGHT at least: an AU row (0.6) stays one 7-pt label (~11 px) tall
SCROLL_STEPS = 100  # scroll bar steps per unit of ROW_HEIGHT


@dataclass
class Row:
    key: LaneKey
    y0: float
    height: float
    item: object  # SegmentsItem, or the PlotDataItem of a trace
    preview: object = None  # continuous rows: the VA recording / drawing in progress


class LaneViewBox(pg.ViewBox):
    def __init__(self, view: LanesView):
        super().__init__(invertY=True, enableMenu=False)
        self.view = view
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.view._click(self.mapSceneToView(ev.scenePos()), ev.double())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        edit = ev.button() == Qt.MouseButton.LeftButton and not (
            ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        if edit:
            ev.accept()
            self.view._drag(ev)
        elif ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            ev.accept()
            delta = self.mapSceneToView(ev.lastScenePos()).x() - self.mapSceneToView(ev.scenePos()).x()
            self.translateBy(x=delta)
        else:
            super().mouseDragEvent(ev, axis)


class LanesView(pg.GraphicsLayoutWidget):
    seek_requested = Signal(float)  # seconds
    create_requested = Signal(object, int, int)  # LaneKey, first, last frame: ask for a value, then add
    edit_requested = Signal(object, object)  # LaneKey, Segment: double-click
    edit_failed = Signal(str, str)  # title, message

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setBackground("#1e1e1e")
        axes = {"bottom": TimeAxis("bottom")}  # the lowest plot: the time axis lives here
        self.plot = self.addPlot(row=0, col=0, viewBox=LaneViewBox(self), axisItems=axes)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        axis = self.plot.getAxis("left")
        axis.setWidth(AXIS_WIDTH)
        font = QFont()
        font.setPointSizeF(7)
        axis.setStyle(tickFont=font, tickTextOffset=3)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # 17+ labels, redrawn only on resize
        self.playhead = pg.InfiniteLine(0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD_COLOUR, width=1.5))
        self.playhead.setZValue(100)
        reserve_right_column(self)
        self.scrollbar = QScrollBar(Qt.Orientation.Vertical, self)
        self.scrollbar.setSingleStep(round(ROW_HEIGHT["au"] * SCROLL_STEPS))
        self.scrollbar.hide()
        self.scrollbar.valueChanged.connect(self._scrolled)
        self._rows_height = 1.0  # all rows together, in ROW_HEIGHT units
        self.plot.vb.sigResized.connect(lambda _: self._fit_rows())
        self.rows: list[Row] = []
        self.selected: tuple[LaneKey, int] | None = None
        self._drag_state = None
        self._step = 1 / 30
        session.video_changed.connect(self.rebuild)
        session.track_changed.connect(lambda _: self.rebuild())
        session.lanes_changed.connect(self._lane_changed)
        session.frame_changed.connect(self._frame_changed)
        session.coding_changed.connect(self._show_pending)
        self.rebuild()

    # layout -------------------------------------------------------------------------------------------
    @property
    def track(self) -> int:
        return self.session.track if self.session.track is not None else ANY_TRACK

    def link_to(self, plot: pg.PlotItem) -> None:
        """Share the x axis (time) with the timelines."""
        self.plot.setXLink(plot)

    def rebuild(self) -> None:
        """One row per lane of each annotator, for the shown face track."""
        self.plot.clear()
        self.plot.addItem(self.playhead, ignoreBounds=True)
        self.rows, self.selected = [], None
        stamps = self.session.timestamps
        self._step = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 1 / 30
        duration = float(stamps[-1]) + self._step if len(stamps) else 1.0
        y, ticks = 0.0, []
        for annotator in self.session.annotators():
            for key in self.session.shown_lanes(annotator, self.track):
                name = key.name
                height = ROW_HEIGHT[key.kind]
                if key.kind == "continuous":
                    colour = VALENCE_COLOUR if name == "valence" else AROUSAL_COLOUR
                    item = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.4), connect="finite")
                    item.opts["autoDownsampleFactor"] = 1.5
                    item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                    preview = pg.PlotDataItem(pen=pg.mkPen("#ffffff", width=1.2), connect="finite")
                    self.plot.addItem(item)
                    self.plot.addItem(preview)
                    zero = pg.InfiniteLine(y + height / 2, angle=0, pen=pg.mkPen("#3a3a3a"))
                    self.plot.addItem(zero, ignoreBounds=True)
                    row = Row(key, y, height, item, preview)
                else:
                    item = SegmentsItem(key.kind, y, height)
                    self.plot.addItem(item)
                    row = Row(key, y, height, item)
                self.rows.append(row)
                label = name if key.kind == "au" else f"{annotator} · {name}"
                if self.any_face(key):  # the axis is narrow: "any" (and a tooltip) marks it
                    label = f"{name} · any" if height < 1 else f"{label}\nany face"
                ticks.append((y + height / 2, label))
                y += height
            separator = pg.InfiniteLine(y, angle=0, pen=pg.mkPen("#5a5a5a"))
            self.plot.addItem(separator, ignoreBounds=True)
            y += 0.2
        self.plot.getAxis("left").setTicks([ticks, []])
        self.plot.vb.setLimits(xMin=0, xMax=duration, yMin=0, yMax=y)
        self.plot.vb.disableAutoRange()  # fixed rows; auto-ranging would scan every item on each paint
        self._rows_height = y
        self._fit_rows()
        for row in self.rows:
            self._draw(row)
        self._show_pending()

    def rows_shown(self) -> float:
        """How many ROW_HEIGHT units fit in the plot at MIN_UNIT_PX each."""
        return self.plot.vb.height() / MIN_UNIT_PX

    def _fit_rows(self) -> None:
        """All rows when they fit at MIN_UNIT_PX, else as many as fit and the scroll bar for the rest."""
        total, shown = self._rows_height, self.rows_shown()
        bar = self.scrollbar
        if shown <= 0 or shown >= total:
            bar.hide()
            self.plot.setYRange(0, total, padding=0)
            return
        bar.blockSignals(True)
        bar.setRange(0, round((total - shown) * SCROLL_STEPS))
        bar.setPageStep(round(shown * SCROLL_STEPS))
        bar.blockSignals(False)
        area = self.mapFromScene(self.plot.vb.sceneBoundingRect()).boundingRect()
        width = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        bar.setGeometry(QRect(area.right() + 4, area.top(), width, area.height()))
        bar.show()
        self._scrolled(bar.value())

    def _scrolled(self, value: int) -> None:
        top = value / SCROLL_STEPS
        self.plot.setYRange(top, top + self.rows_shown(), padding=0)

    def any_face(self, key: LaneKey) -> bool:
        """An any-face lane shown among a face's lanes."""
        return key.track_id == ANY_TRACK != self.track

    def row_tooltip(self, row: Row | None) -> str:
        if row is None or not self.any_face(row.key):
            return ""
        key = row.key
        return (
            f"{key.annotator}'s {key.name} for any face (not tied to one face track, e.g. imported without "
            f"a track): shown for every face; edits here stay any-face"
        )

    def mouseMoveEvent(self, ev):
        y = self.plot.vb.mapSceneToView(self.mapToScene(ev.position().toPoint())).y()
        tip = self.row_tooltip(self.row_at(y))
        if tip != self.toolTip():
            self.setToolTip(tip)
        super().mouseMoveEvent(ev)

    def _lane_changed(self, key: LaneKey | None) -> None:
        if key is None or key.annotator not in self.session.annotators():
            self.rebuild()
            return
        for row in self.rows:
            if row.key == key:
                self._draw(row)
                return
        if key.track_id in (self.track, ANY_TRACK):
            self.rebuild()  # a new annotator's first lane, or a lane shown beside an any-face one

    def _draw(self, row: Row) -> None:
        lane = self.session.lane(row.key)
        stamps = self.session.timestamps
        if row.key.kind == "continuous":
            trace = lane.trace if lane.trace is not None else np.zeros(0, dtype=np.float32)
            n = min(len(trace), len(stamps))
            row.item.setData(stamps[:n], trace_to_band(trace[:n], row.y0, row.height))
        else:
            row.item.set_lane(lane, stamps, self._step)

    # session state ------------------------------------------------------------------------------------
    def _frame_changed(self, frame: int) -> None:
        stamps = self.session.timestamps
        if len(stamps):
            self.playhead.setValue(float(stamps[frame]))
        if self.session.coding:
            self._show_pending()

    def _show_pending(self) -> None:
        """Key-coded segments still open, drawn from their start to the playhead."""
        stamps = self.session.timestamps
        open_ = {o.key: o for o in self.session.coding.values()}
        shown, annotators = {row.key for row in self.rows}, self.session.annotators()
        if any(k not in shown and k.track_id == self.track and k.annotator in annotators for k in open_):
            self.rebuild()  # opened on the face's lane while its any-face lane was shown in that row
            return
        for row in self.rows:
            if isinstance(row.item, SegmentsItem):
                pending = open_.get(row.key)
                if pending is None or not len(stamps):
                    span = None
                else:
                    first, last = sorted((pending.start, self.session.frame))
                    span = (float(stamps[first]), float(stamps[last]) + self._step, pending.value)
                if span != row.item.pending:
                    row.item.pending = span
                    row.item.update()

    def show_recording(self, samples: dict[int, tuple[float, float]] | None) -> None:
        """The VA recording in progress, drawn over the valence and arousal rows of the current annotator."""
        stamps = self.session.timestamps
        frames = np.array(sorted(samples or {}), dtype=np.int64)
        for row in self.rows:
            if row.preview is None:
                continue
            mine = row.key.annotator == self.session.annotator
            if not mine or not len(frames):
                row.preview.clear()
                continue
            column = 0 if row.key.name == "valence" else 1
            values = np.array([samples[f][column] for f in frames], dtype=np.float32)
            row.preview.setData(stamps[frames], trace_to_band(values, row.y0, row.height))

    # hit testing --------------------------------------------------------------------------------------
    def row_at(self, y: float) -> Row | None:
        for row in self.rows:
            if row.y0 <= y < row.y0 + row.height:
                return row
        return None

    def frame_at(self, seconds: float) -> int:
        return frame_at(self.session.timestamps, seconds)

    def _pixels(self, seconds: float) -> float:
        return self.plot.vb.mapViewToScene(pg.Point(seconds, 0)).x()

    def _hit(self, row: Row, seconds: float) -> tuple[Segment | None, str | None]:
        """The segment under `seconds` and whether the press is on its 'start' or 'stop' edge."""
        stamps = self.session.timestamps
        x = self._pixels(seconds)
        for segment in self.session.lane(row.key).segments:
            a = self._pixels(float(stamps[segment.start]))
            b = self._pixels(float(stamps[segment.stop]) + self._step)
            if row.key.kind == "event":
                if abs(x - a) <= EDGE_PX:
                    return segment, None
                continue
            if abs(x - a) <= EDGE_PX:
                return segment, "start"
            if abs(x - b) <= EDGE_PX:
                return segment, "stop"
            if a < x < b:
                return segment, None
        return None, None

    def select(self, key: LaneKey | None, segment_id: int | None = None) -> None:
        self.selected = None if key is None else (key, segment_id)
        for row in self.rows:
            if isinstance(row.item, SegmentsItem):
                row.item.selected_id = segment_id if row.key == key else None
                row.item.update()

    def selected_segment(self) -> tuple[LaneKey, Segment] | None:
        if self.selected is None:
            return None
        key, segment_id = self.selected
        for segment in self.session.lane(key).segments:
            if segment.id == segment_id:
                return key, segment
        return None

    # gestures -----------------------------------------------------------------------------------------
    def _click(self, point, double: bool) -> None:
        row = self.row_at(point.y())
        seconds = max(0.0, point.x())
        if row is None or row.key.kind == "continuous":
            self.seek_requested.emit(seconds)
            return
        segment, _ = self._hit(row, seconds)
        if segment is None:
            self.select(None)
            if row.key.kind == "event" and double:
                frame = self.frame_at(seconds)
                self.create_requested.emit(row.key, frame, frame)
            else:
                self.seek_requested.emit(seconds)
            return
        self.select(row.key, segment.id)
        if double:
            self.edit_requested.emit(row.key, segment)
        else:
            self.seek_requested.emit(seconds)

    def _drag(self, ev) -> None:
        if ev.isStart():
            self._drag_state = self._begin(self.plot.vb.mapSceneToView(ev.buttonDownScenePos()))
        state = self._drag_state
        if state is None:
            return
        point = self.plot.vb.mapSceneToView(ev.scenePos())
        frame = self.frame_at(max(0.0, point.x()))
        mode, row = state["mode"], state["row"]
        if mode == "draw":
            value = band_to_value(point.y(), row.y0, row.height)
            last = state["last"]
            for f in range(min(last, frame), max(last, frame) + 1):  # fast moves skip frames: fill them
                state["values"][f] = value
            state["last"] = frame
            stamps = self.session.timestamps
            frames = np.array(sorted(state["values"]))
            values = np.array([state["values"][f] for f in frames], dtype=np.float32)
            row.preview.setData(stamps[frames], trace_to_band(values, row.y0, row.height))
        else:
            state["frame"] = frame
            first, last = self._span(state)
            stamps = self.session.timestamps
            row.item.preview = (float(stamps[first]), float(stamps[last]) + self._step)
            row.item.update()
        if ev.isFinish():
            self._drag_state = None
            if mode != "draw":
                row.item.preview = None
                row.item.update()
            self._finish(state)

    def _begin(self, point) -> dict | None:
        row = self.row_at(point.y())
        if row is None or self.session.video is None:
            return None
        frame = self.frame_at(max(0.0, point.x()))
        if row.key.kind == "continuous":
            return {"mode": "draw", "row": row, "values": {}, "last": frame}
        if row.key.kind == "event":
            return None
        segment, edge = self._hit(row, point.x())
        if segment is not None and edge is not None:
            self.select(row.key, segment.id)
            return {"mode": "resize", "row": row, "segment": segment, "edge": edge, "frame": frame}
        if segment is not None:
            return None
        return {"mode": "create", "row": row, "anchor": frame, "frame": frame}

    def _span(self, state) -> tuple[int, int]:
        if state["mode"] == "resize":
            segment = state["segment"]
            other = segment.stop if state["edge"] == "start" else segment.start
            return tuple(sorted((other, state["frame"])))
        return tuple(sorted((state["anchor"], state["frame"])))

    def _finish(self, state) -> None:
        row, key = state["row"], state["row"].key
        try:
            if state["mode"] == "draw":
                self._write_drawing(row, state["values"])
            elif state["mode"] == "resize":
                first, last = self._span(state)
                self.session.change_segment(key, state["segment"].id, start=first, stop=last)
            elif key.kind in ("au", "exclusion"):
                first, last = self._span(state)
                value = 1 if key.kind == "au" else None
                self.select(key, self.session.add_segment(key, Segment(first, last, value)).id)
            else:
                self.create_requested.emit(key, *self._span(state))
        except AffectStudioError as error:
            self.edit_failed.emit("Cannot edit the lane", str(error))

    def _write_drawing(self, row: Row, values: dict[int, float]) -> None:
        """A drawn stretch of one trace; the other trace must already be labelled there (they go together)."""
        row.preview.clear()
        if not values:
            return
        frames = np.array(sorted(values))
        start, stop = int(frames[0]), int(frames[-1])
        drawn = np.array([values[f] for f in range(start, stop + 1)], dtype=np.float32)
        self.session.set_trace(row.key, start, drawn)
