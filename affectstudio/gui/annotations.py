"""Manual annotation: mark a frame range with an expression and/or valence-arousal values.

The workflow is ELAN's: set an in point ([) and an out point (]) while reviewing, press A, choose the label.
Annotations live in the project store next to the results, show as shaded spans on the timeline, and export
in the s-Aff-Wild2 annotation layout that the `training` package reads (invalid = -5 for VA, -1 otherwise),
so a researcher's corrections can go straight into retraining.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS, INVALID_AU, INVALID_EXPR, INVALID_VA
from affectstudio.core.project import Annotation

NO_EXPRESSION = "(none)"


def annotation_label(annotation: Annotation) -> str:
    parts = [annotation.expression] if annotation.expression else []
    if annotation.valence is not None:
        parts.append(f"V {annotation.valence:+.2f} A {annotation.arousal:+.2f}")
    if annotation.note:
        parts.append(f"“{annotation.note}”")
    return " · ".join(parts) or "(empty)"


def write_abaw_annotations(path: str | Path, video_name: str, annotations: list[Annotation]) -> Path:
    """One row per annotated frame: `video/00001.jpg,valence,arousal,expression,AU1..AU26`.

    Frames are numbered from 1 as in s-Aff-Wild2's cropped_aligned folders. Where spans overlap, the later
    annotation wins. AUs are not annotated here, so they are written as invalid (-1).
    """
    frames: dict[int, list] = {}
    for annotation in sorted(annotations, key=lambda a: a.id):
        for frame in range(annotation.start_frame, annotation.stop_frame + 1):
            row = frames.setdefault(frame, [INVALID_VA, INVALID_VA, INVALID_EXPR])
            if annotation.valence is not None:
                row[0], row[1] = annotation.valence, annotation.arousal
            if annotation.expression:
                row[2] = EXPRESSIONS.index(annotation.expression)
    header = ",".join(["image", "valence", "arousal", "expression", *ACTION_UNITS])
    invalid_aus = ",".join([str(INVALID_AU)] * len(ACTION_UNITS))
    lines = [header] + [
        f"{video_name}/{frame + 1:05d}.jpg,{v:g},{a:g},{e},{invalid_aus}"
        for frame, (v, a, e) in sorted(frames.items())
    ]
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


class AnnotationDialog(QDialog):
    """Label one frame range: an expression, valence/arousal, or both, and a free note."""

    def __init__(self, first: int, last: int, frame_count: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Annotate frames")
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, value in ((self.first, first), (self.last, last)):
            box.setRange(0, max(0, frame_count - 1))
            box.setValue(value)
        span = QHBoxLayout()
        span.addWidget(self.first)
        span.addWidget(QLabel("to"))
        span.addWidget(self.last)
        self.expression = QComboBox()
        self.expression.addItems([NO_EXPRESSION, *EXPRESSIONS])
        self.with_va = QCheckBox("Valence / arousal")
        self.valence, self.arousal = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.valence, self.arousal):
            box.setRange(-1.0, 1.0)
            box.setSingleStep(0.1)
            box.setDecimals(2)
            box.setEnabled(False)
            self.with_va.toggled.connect(box.setEnabled)
        va = QHBoxLayout()
        va.addWidget(self.with_va)
        va.addWidget(self.valence)
        va.addWidget(self.arousal)
        self.note = QLineEdit()
        form = QFormLayout()
        form.addRow("Frames", span)
        form.addRow("Expression", self.expression)
        form.addRow("", va)
        form.addRow("Note", self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> dict:
        expression = self.expression.currentText()
        with_va = self.with_va.isChecked()
        return {
            "start_frame": self.first.value(),
            "stop_frame": self.last.value(),
            "expression": None if expression == NO_EXPRESSION else expression,
            "valence": self.valence.value() if with_va else None,
            "arousal": self.arousal.value() if with_va else None,
            "note": self.note.text().strip(),
        }


class AnnotationList(QWidget):
    """The video's annotations; double-click seeks to one, Delete removes it."""

    seek_requested = Signal(int)
    remove_requested = Signal(int)  # annotation id

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(
            lambda item: self.seek_requested.emit(item.data(Qt.ItemDataRole.UserRole + 1))
        )
        remove = QPushButton("Delete")
        remove.clicked.connect(self._remove)
        header = QHBoxLayout()
        header.addWidget(QLabel("Annotations  ([ in, ] out, A annotate)"))
        header.addStretch(1)
        header.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.list)

    def show_annotations(self, annotations: list[Annotation], timestamps) -> None:
        self.list.clear()
        for annotation in annotations:
            start = float(timestamps[annotation.start_frame]) if len(timestamps) else 0.0
            span = f"{annotation.start_frame}–{annotation.stop_frame} ({start:.2f} s)"
            item = QListWidgetItem(f"{span}  {annotation_label(annotation)}")
            item.setData(Qt.ItemDataRole.UserRole, annotation.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, annotation.start_frame)
            self.list.addItem(item)

    def _remove(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.remove_requested.emit(item.data(Qt.ItemDataRole.UserRole))
