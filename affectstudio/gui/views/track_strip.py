"""The track strip: every face track of the video as one row over time, in the track's colour.

Why a strip and not all tracks' curves overlaid: the heat maps cannot be overlaid at all, and several
valence/arousal traces on one plot soon read as noise. So the timelines show the selected track in full
(its valence/arousal, expressions, AUs) with the other tracks' valence as faint lines in their colours,
and this strip shows where every track has a face: the selected row bright, the others faint. Gaps in a
row are frames without that face (an occlusion, a split), so a track that should be merged or split is
visible at a glance. A click on a row selects that track; the x axis is linked to the timelines.

It is a view of the `ReviewSession` (tracks_changed, track_changed, results_changed, frame_changed).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont

from affectstudio.core.plot_times import frame_columns, on_columns
from affectstudio.gui.plot_legends import reserve_right_column
from affectstudio.gui.timeline import AXIS_WIDTH, PLAYHEAD_COLOUR
from affectstudio.gui.track_palette import track_colour, track_label

FAINT = 80  # alpha of the rows of tracks that are not selected
ROW_PX = 14


class StripViewBox(pg.ViewBox):
    def __init__(self, strip: TrackStrip):
        super().__init__(invertY=True, enableMenu=False)
        self.strip = strip
        self.setMouseEnabled(x=True, y=False)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.strip.click_row(self.mapSceneToView(ev.scenePos()).y())
        else:
            super().mouseClickEvent(ev)


class TrackStrip(pg.GraphicsLayoutWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setBackground("#1e1e1e")
        self.plot = self.addPlot(row=0, col=0, viewBox=StripViewBox(self))
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.getAxis("bottom").setStyle(showValues=False)
        self.plot.getAxis("bottom").setHeight(2)
        axis = self.plot.getAxis("left")
        axis.setWidth(AXIS_WIDTH)
        font = QFont()
        font.setPointSizeF(7.5)
        axis.setStyle(tickFont=font, tickTextOffset=3)
        self.image = pg.ImageItem()
        reserve_right_column(self)
        self.plot.addItem(self.image)
        self.playhead = pg.InfiniteLine(0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD_COLOUR, width=1.5))
        self.plot.addItem(self.playhead, ignoreBounds=True)
        self.tracks: list[int] = []
        self.rgba = np.zeros((0, 0, 4), dtype=np.uint8)  # (frames, tracks, RGBA): what is drawn, per frame
        session.video_changed.connect(self.rebuild)
        session.tracks_changed.connect(self.rebuild)
        session.track_changed.connect(lambda _: self.rebuild())
        session.results_changed.connect(self.rebuild)
        session.frame_changed.connect(self._frame_changed)
        self.rebuild()

    def link_to(self, plot: pg.PlotItem) -> None:
        self.plot.setXLink(plot)

    def rebuild(self) -> None:
        session = self.session
        data = session.data
        self.tracks = data.track_ids() if data is not None else []
        rows = max(1, len(self.tracks))
        self.setFixedHeight(ROW_PX * rows + 12)
        self.plot.setYRange(0, rows, padding=0)
        self.plot.getAxis("left").setTicks(
            [[(i + 0.5, track_label(t, session.track_names)) for i, t in enumerate(self.tracks)]]
        )
        stamps = session.timestamps
        if not self.tracks or not len(stamps):
            self.rgba = np.zeros((0, 0, 4), dtype=np.uint8)
            self.image.clear()
            return
        self.rgba = np.zeros((len(stamps), len(self.tracks), 4), dtype=np.uint8)
        for row, track in enumerate(self.tracks):
            present = ~np.isnan(data.tracks[track].score)
            colour = track_colour(track)
            alpha = 255 if track == session.track else FAINT
            self.rgba[present, row] = (colour.red(), colour.green(), colour.blue(), alpha)
        step = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 1 / 30
        columns, width = frame_columns(stamps, float(stamps[-1]) + step)
        self.image.setImage(on_columns(self.rgba, columns), autoLevels=False, levels=(0, 255))
        self.image.setRect(QRectF(0, 0, len(columns) * width, len(self.tracks)))

    def click_row(self, y: float) -> None:
        row = int(np.floor(y))
        if 0 <= row < len(self.tracks):
            self.session.select_track(self.tracks[row])

    def _frame_changed(self, frame: int) -> None:
        stamps = self.session.timestamps
        if 0 <= frame < len(stamps):
            self.playhead.setValue(float(stamps[frame]))
