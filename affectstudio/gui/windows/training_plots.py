"""The Training window's live curves: training loss per step and validation score per epoch.

Each plot is at least 200 px tall with its own axis titles, so the numbers stay readable and the bottom
axis title never runs into the tick labels.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

PLOT_HEIGHT = 200


def _plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="#222", size="10pt")
    plot.setMinimumHeight(PLOT_HEIGHT)
    plot.showGrid(x=True, y=True, alpha=0.2)
    for side, text in (("bottom", x_label), ("left", y_label)):
        axis = plot.getPlotItem().getAxis(side)
        axis.setLabel(text, color="#222")
        axis.setTextPen("#222")
        axis.setPen("#888")
        axis.enableAutoSIPrefix(False)  # "251.7 (x0.001)" reads worse than 0.2517
    plot.getPlotItem().getAxis("bottom").setHeight(42)  # tick labels, then the title below them
    return plot


class TrainingCurves(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot = _plot("Training loss", "step", "loss")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=1.5))
        self.score_plot = _plot("Validation score", "epoch", "P (sum of task scores)")
        self.score_curve = self.score_plot.plot(
            pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=7, symbolBrush="#d62728"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.score_plot)
        self.clear()

    def clear(self) -> None:
        self._loss: tuple[list[float], list[float]] = ([], [])
        self._score: tuple[list[float], list[float]] = ([], [])
        self.loss_curve.setData([], [])
        self.score_curve.setData([], [])

    def add_step(self, step: int, loss: float) -> None:
        self._loss[0].append(step)
        self._loss[1].append(loss)
        self.loss_curve.setData(*self._loss)

    def add_epoch(self, epoch: int, score: float) -> None:
        self._score[0].append(epoch)
        self._score[1].append(score)
        self.score_curve.setData(*self._score)
