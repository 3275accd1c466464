"""Imported overlays (OpenFace, py-feat, generic CSV) drawn read-only beside the model's traces.

Valence/arousal of an overlay are dashed curves on the VA timeline (lighter shades of the model's colours,
listed in its legend); its AU activations are dashed orange marks through the middle of each AU's row of
the AU heat map (the model's activation marks run along the top of the row). Overlays are never edited
here: the project stores them and the session lists them; this only draws what it is given.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from affectstudio.core.annotations.sources import overlay_labels
from affectstudio.core.labels import ACTION_UNITS
from affectstudio.gui.timeline import AROUSAL_COLOUR, VALENCE_COLOUR

OVERLAY_VA = {
    "valence": pg.mkColor(VALENCE_COLOUR).lighter(150),
    "arousal": pg.mkColor(AROUSAL_COLOUR).lighter(140),
}
OVERLAY_AU = ["#ffa726", "#ce93d8", "#80cbc4"]  # one per overlay, in import order
AU_MARK_Y = 0.5  # through the middle of each AU row, level with its label


class OverlayTraces:
    """The overlay items on a `TimelinePanel`; `show` replaces them all."""

    def __init__(self, timeline):
        self.timeline = timeline
        self.items: list[tuple[pg.PlotItem, pg.PlotDataItem]] = []

    def clear(self) -> None:
        legend = self.timeline.va_plot.legend
        for plot, item in self.items:
            if legend is not None and plot is self.timeline.va_plot:
                legend.removeItem(item)
            plot.removeItem(item)
        self.items = []

    def show(self, overlays: dict[str, object], timestamps: np.ndarray) -> None:
        """Draw each overlay (name -> its per-frame table) on the video's `timestamps`."""
        self.clear()
        n = len(timestamps)
        if n == 0:
            return
        times = np.asarray(timestamps, dtype=np.float64)
        for index, (name, table) in enumerate(overlays.items()):
            labels = overlay_labels(table, n, name)
            for va, values in labels.va.items():
                pen = pg.mkPen(OVERLAY_VA[va], width=1.4, style=Qt.PenStyle.DashLine)
                item = pg.PlotDataItem(times, values, pen=pen, connect="finite", name=f"{va} ({name})")
                self._add(self.timeline.va_plot, item)
            if labels.aus:
                xs, ys = [], []
                for au, active in labels.aus.items():
                    row = ACTION_UNITS.index(au)
                    xs += [times, [np.nan]]
                    ys += [np.where(active == 1, row + AU_MARK_Y, np.nan), [np.nan]]
                colour = OVERLAY_AU[index % len(OVERLAY_AU)]
                pen = pg.mkPen(colour, width=2.5, style=Qt.PenStyle.DashLine)
                item = pg.PlotDataItem(np.concatenate(xs), np.concatenate(ys), pen=pen, connect="finite")
                item.setToolTip(f"{name}: AU active")
                self._add(self.timeline.au_plot, item)

    def _add(self, plot: pg.PlotItem, item: pg.PlotDataItem) -> None:
        item.setZValue(50)  # above the heat maps and the model's curves, below the playhead
        plot.addItem(item)
        self.items.append((plot, item))
