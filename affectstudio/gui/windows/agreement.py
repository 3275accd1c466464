"""The agreement panel: two sources (an annotator's lanes, the model, an overlay) compared over the frames
both label: CCC for valence/arousal, F1 per expression class and per AU, Cohen's kappa between annotators.

The numbers come from `core.annotations.agreement` (one implementation for the panel, the CLI and the CSV);
this dock only picks the two sides, shows the table and writes it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.annotations.agreement import COLUMNS, agreement, write_agreement_csv
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.wording import plural
from affectstudio.gui.windows.comparison import source_labels, source_names


def format_value(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer():
        return str(int(value))  # counts, and exact 0 or 1
    return f"{value + 0.0:.3f}".replace("-0.000", "0.000")  # no negative zero


def fill_table(table: QTableWidget, frame: pd.DataFrame, columns: list[str]) -> None:
    table.setRowCount(len(frame))
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(columns)
    for row, values in enumerate(frame[columns].itertuples(index=False)):
        for column, value in enumerate(values):
            text = format_value(value) if isinstance(value, float) else str(value)
            item = QTableWidgetItem(text)
            if isinstance(value, (int, float)):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row, column, item)
    table.resizeColumnsToContents()
    table.horizontalHeader().setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)


class AgreementPanel(QDockWidget):
    error = Signal(str, str)

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__("Agreement", parent)
        self.setObjectName("agreement_panel")
        self.session = session
        self.result: pd.DataFrame | None = None
        self.first, self.second = QComboBox(), QComboBox()
        for box in (self.first, self.second):
            box.setMinimumWidth(130)
            box.currentIndexChanged.connect(lambda _i: self.compute())
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(lambda: self.export_csv())
        row = QHBoxLayout()
        row.addWidget(self.first, 1)
        row.addWidget(QLabel("vs"))
        row.addWidget(self.second, 1)
        row.addWidget(self.export_button)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        self.setMinimumWidth(420)
        self.refresh()

    def refresh(self) -> None:
        """Re-list the sources (keeping the choices that still exist) and recompute."""
        names = source_names(self.session) if self.session.video is not None else []
        for index, box in enumerate((self.first, self.second)):
            keep = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            if keep in names:
                box.setCurrentText(keep)
            elif len(names) > index:
                box.setCurrentIndex(index)
            box.blockSignals(False)
        self.compute()

    def choose(self, first: str, second: str) -> pd.DataFrame | None:
        self.first.setCurrentText(first)
        self.second.setCurrentText(second)
        return self.compute()

    def compute(self) -> pd.DataFrame | None:
        a, b = self.first.currentText(), self.second.currentText()
        self.result = None
        self.table.setRowCount(0)
        self.export_button.setEnabled(False)
        if not a or not b or a == b:
            self.summary.setText("Choose two different sources (annotators' lanes, the model, overlays).")
            return None
        session = self.session
        left, right = source_labels(session, a), source_labels(session, b)
        if left is None or right is None:
            self.summary.setText("One of the sources has nothing to compare in this video.")
            return None
        try:
            self.result = agreement(left, right, session.frame_count)
        except AffectStudioError as error:
            self.summary.setText(str(error))
            return None
        fill_table(self.table, self.result, COLUMNS)
        self.export_button.setEnabled(len(self.result) > 0)
        track = (
            ""
            if session.track is None
            else f" · model track {session.track_names.get(session.track, session.track)}"
        )
        self.summary.setText(
            f"{a} vs {b} over the frames both label{track}: {plural(len(self.result), 'measure')}"
        )
        return self.result

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        if self.result is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export agreement", "agreement.csv", "CSV (*.csv)")
            if not path:
                return None
        try:
            return write_agreement_csv(path, self.result)
        except (AffectStudioError, OSError) as error:
            self.error.emit("Cannot write the CSV", str(error))
            return None
