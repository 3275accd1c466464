"""The valence-arousal plane: the current frame's point and a fading trail of the recent past.

In Record VA mode it is also the input device (Aff-Wild2's joystick): the pointer's position on the plane,
clipped to [-1, 1], is `pointer`, which the window writes to the frames that play.

Also shows the current values in words (top expression, active AUs) so the numbers behind the plots are
always one glance away.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.results import au_active
from affectstudio.core.review_data import TrackArrays

TRAIL_FRAMES = 30
EXTENT = 1.05  # the plane's axes: [-1, 1] and a small margin for the point's symbol
WEIGHTS_LINK = " <a href='models' style='color:#64b5f6'>get trained weights…</a>"
QUADRANTS = (("excited", 0.66, 0.86), ("calm", 0.66, -0.86), ("tense", -0.66, 0.86), ("sad", -0.66, -0.86))


class VAPlane(QWidget):
    weights_requested = Signal()  # the "get trained weights" link beside an untrained value

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="#1e1e1e")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(False, False)
        # Valence and arousal lie in [-1, 1]: both axes stay there whatever the widget's shape (a locked
        # aspect ratio widened one axis to +-3 in a flat plane); resizeEvent keeps the plot square instead.
        self.plot.setRange(xRange=(-EXTENT, EXTENT), yRange=(-EXTENT, EXTENT), padding=0)
        self.plot.getPlotItem().vb.setLimits(xMin=-EXTENT, xMax=EXTENT, yMin=-EXTENT, yMax=EXTENT)
        self.plot.setLabel("bottom", "valence")
        self.plot.setLabel("left", "arousal")
        for side in ("bottom", "left"):  # -1, 0, 1 only: the plane is ~130 px in the main window
            self.plot.getAxis(side).setTicks([[(v, f"{v:g}") for v in (-1, 0, 1)], []])
        theta = np.linspace(0, 2 * np.pi, 181)
        self.plot.plot(np.cos(theta), np.sin(theta), pen=pg.mkPen("#555555"))
        self.plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#444444")))
        self.plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#444444")))
        small = QFont()
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        for word, x, y in QUADRANTS:
            text = pg.TextItem(word, color="#777777", anchor=(0.5, 0.5))
            text.setFont(small)
            text.setPos(x, y)
            self.plot.addItem(text)
        self.trail = pg.ScatterPlotItem(size=7, pen=None)
        self.point = pg.ScatterPlotItem(
            size=14, pen=pg.mkPen("#ffffff", width=1.5), brush=pg.mkBrush("#ffd54f")
        )
        self.plot.addItem(self.trail)
        self.plot.addItem(self.point)
        self.values = QLabel()
        self.values.setWordWrap(True)
        self.values.linkActivated.connect(lambda _link: self.weights_requested.emit())
        self.values.setMinimumHeight(64)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot.setMinimumHeight(130)  # the main window at 900 px needs it this small
        layout.addWidget(self.plot, 1, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.values)
        self.untrained: list[str] = []
        self.thresholds = None
        self.pointer: tuple[float, float] | None = None  # (valence, arousal) under the mouse, recording only
        self.recording = False
        self.cursor = pg.ScatterPlotItem(size=18, pen=pg.mkPen("#ff5252", width=2), brush=None, symbol="o")
        self.plot.addItem(self.cursor)
        # Inside the plot, between the quadrant words: a title would resize the plane under the mouse.
        self.rec_label = pg.TextItem("● REC", color="#ff5252", anchor=(0.5, 0))
        self.rec_label.setPos(0, 1.04)
        self.rec_label.hide()
        self.plot.addItem(self.rec_label)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)

    def resizeEvent(self, event) -> None:
        """A square plot as large as the space above the values allows, so the unit circle stays round."""
        super().resizeEvent(event)
        spacing = self.layout().spacing()
        side = max(
            self.plot.minimumHeight(), min(self.width(), self.height() - self.values.height() - spacing)
        )
        self.plot.setMaximumSize(side, side)

    def set_recording(self, on: bool) -> None:
        self.recording = on
        self.rec_label.setVisible(on)
        if not on:
            self.pointer = None
            self.cursor.clear()

    def _mouse_moved(self, scene_pos) -> None:
        if not self.recording:
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(scene_pos)
        self.set_pointer(point.x(), point.y())

    def set_pointer(self, valence: float, arousal: float) -> None:
        valence, arousal = float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1))
        self.pointer = (valence, arousal)
        self.cursor.setData([valence], [arousal])

    def show_frame(self, arrays: TrackArrays | None, frame: int) -> None:
        if arrays is None or not 0 <= frame < len(arrays.va):
            self.trail.clear()
            self.point.clear()
            self.values.setText("No face at this frame" if arrays is not None else "No results yet")
            return
        current = arrays.va[frame]
        if np.isnan(current).any():
            # Nothing of the last face may stay: its trail ends in a bright dot where the point was,
            # which reads as the old point left behind. Repaint the whole plane so no symbol's edge
            # outside the items' shrunken bounds survives either.
            self.trail.clear()
            self.point.clear()
            self.plot.viewport().update()
            self.values.setText("No face at this frame")
            return
        start = max(0, frame - TRAIL_FRAMES)
        past = arrays.va[start:frame]
        keep = ~np.isnan(past).any(axis=1)
        ages = np.arange(len(past))[keep]
        brushes = [pg.mkBrush(255, 213, 79, int(20 + 180 * (age + 1) / max(1, len(past)))) for age in ages]
        self.trail.setData(past[keep, 0], past[keep, 1], brush=brushes)
        self.point.setData([current[0]], [current[1]])
        self.values.setText(self._describe(arrays, frame))

    def _describe(self, arrays: TrackArrays, frame: int) -> str:
        lines = []
        va = arrays.va[frame]
        va_text = f"valence {va[0]:+.2f}   arousal {va[1]:+.2f}"
        lines.append(va_text + ("  (untrained)" if "va" in self.untrained else ""))
        expr = arrays.expr[frame]
        if not np.isnan(expr).any():
            top = int(np.argmax(expr))
            suffix = "  (untrained)" if "expr" in self.untrained else ""
            lines.append(f"<b>{EXPRESSIONS[top]}</b> {expr[top]:.2f}{suffix}")
        au = arrays.au[frame]
        if not np.isnan(au).any():
            active = [ACTION_UNITS[i] for i in np.flatnonzero(au_active(au[None], self.thresholds)[0])]
            suffix = "  (untrained)" if "au" in self.untrained else ""
            lines.append("AUs: " + (", ".join(active) if active else "none active") + suffix)
        if self.untrained:
            lines.append(WEIGHTS_LINK.strip())
        return "<br>".join(lines)
