"""Statistics of the selection: time share per expression, mean/sd of valence and arousal, AU activation
rates, for the model and for each annotator's lanes (like ELAN's time-series viewer), over the in/out
marks or the whole video. The numbers come from `core.annotations.stats.range_stats`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.annotations.stats import range_stats
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.paths import write_text_atomic
from affectstudio.core.wording import plural
from affectstudio.gui.windows.agreement import fill_table
from affectstudio.gui.windows.comparison import source_labels, source_names

COLUMNS = ["source", "statistic", "name", "value", "unit"]


class StatisticsPanel(QDockWidget):
    def __init__(self, session, parent: QWidget | None = None):
        super().__init__("Statistics of selection", parent)
        self.setObjectName("statistics_panel")
        self.session = session
        self.range: tuple[int, int] | None = None  # inclusive frames; None = the whole video
        self.result: pd.DataFrame | None = None
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Every source's statistics in one CSV")
        self.export_button.clicked.connect(lambda: self.export_csv())
        self.source = QComboBox()
        self.source.currentTextChanged.connect(lambda _text: self._show_source())
        row = QHBoxLayout()
        row.addWidget(QLabel("Source"))
        row.addWidget(self.source, 1)
        row.addWidget(self.export_button)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        self.setMinimumWidth(420)

    def set_range(self, first: int | None, last: int | None) -> None:
        self.range = None if first is None else (first, last if last is not None else first)
        self.refresh()

    def refresh(self) -> pd.DataFrame | None:
        session = self.session
        self.result = None
        self.table.setRowCount(0)
        self.export_button.setEnabled(False)
        if session.video is None or session.frame_count == 0:
            self.title.setText("Open a video.")
            return None
        start, stop = self.range or (0, session.frame_count - 1)
        stop = min(stop, session.frame_count - 1)
        times = session.timestamps
        where = "whole video" if self.range is None else f"frames {start}–{stop}"
        frames = []
        try:
            for name in source_names(session):
                labels = source_labels(session, name)
                if labels is not None:
                    table = range_stats(labels, times, start, stop).to_frame()
                    frames.append(table.assign(source=name))
        except AffectStudioError as error:
            self.title.setText(str(error))
            return None
        seconds = float(times[stop] - times[start]) if stop > start else 0.0
        self.title.setText(f"{where} ({seconds:.2f} s): {plural(len(frames), 'source')}")
        if not frames:
            return None
        self.result = pd.concat(frames, ignore_index=True)[COLUMNS]
        keep = self.source.currentText()
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItems(list(dict.fromkeys(self.result.source)))
        if keep in set(self.result.source):
            self.source.setCurrentText(keep)
        self.source.blockSignals(False)
        self._show_source()
        self.export_button.setEnabled(True)
        return self.result

    def _show_source(self) -> None:
        """The chosen source's rows (the CSV holds every source)."""
        if self.result is None:
            return
        rows = self.result[self.result.source == self.source.currentText()]
        fill_table(self.table, rows, COLUMNS[1:])

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        if self.result is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export statistics", "statistics.csv", "CSV (*.csv)")
            if not path:
                return None
        return write_text_atomic(path, self.result.to_csv(index=False))
