"""Edit one segment's value, frames and note (double-click on a lane, or after drag-creating one).

OK stays disabled until the value is valid for the lane (an expression class chosen, an event's text
typed), so Enter can never store an empty annotation.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
)

from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.labels import EXPRESSIONS

CHOOSE = "(choose)"


class SegmentDialog(QDialog):
    def __init__(self, key: LaneKey, segment: Segment, frame_count: int, parent=None):
        super().__init__(parent)
        self.key, self.segment = key, segment
        new = segment.id is None
        self.setWindowTitle(f"{'New' if new else 'Edit'} {key.name} segment ({key.annotator})")
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, value in ((self.first, segment.start), (self.last, segment.stop)):
            box.setRange(0, max(0, frame_count - 1))
            box.setValue(value)
        span = QHBoxLayout()
        span.addWidget(self.first)
        span.addWidget(QLabel("to"))
        span.addWidget(self.last)
        form = QFormLayout()
        form.addRow("Frames", span)
        self.value = None
        if key.kind == "expression":
            self.value = QComboBox()
            self.value.addItems([CHOOSE, *EXPRESSIONS])
            self.value.setCurrentText(segment.value if segment.value in EXPRESSIONS else CHOOSE)
            self.value.currentTextChanged.connect(self._check)
            form.addRow("Expression", self.value)
        elif key.kind == "au":
            self.value = QComboBox()
            self.value.addItems(["on", "off"])
            self.value.setCurrentIndex(0 if segment.value in (None, 1) else 1)
            form.addRow(key.name, self.value)
        elif key.kind == "event":
            self.value = QLineEdit(str(segment.value or ""))
            self.value.setPlaceholderText("what happens here")
            self.value.textChanged.connect(self._check)
            form.addRow("Event", self.value)
            self.last.setEnabled(False)
            self.first.valueChanged.connect(self.last.setValue)
        self.note = QLineEdit(segment.note)
        form.addRow("Note", self.note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._check()

    def _value(self):
        if self.key.kind == "expression":
            text = self.value.currentText()
            return None if text == CHOOSE else text
        if self.key.kind == "au":
            return 1 if self.value.currentIndex() == 0 else 0
        if self.key.kind == "event":
            return self.value.text().strip() or None
        return None

    def valid(self) -> bool:
        return self.key.kind == "exclusion" or self._value() is not None

    def _check(self, *_) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.valid())

    def accept(self) -> None:
        if self.valid():  # Enter on a disabled OK must not store an empty label either
            super().accept()

    def result_segment(self) -> Segment:
        first, last = sorted((self.first.value(), self.last.value()))
        return Segment(first, last, self._value(), self.note.text().strip(), self.segment.id)
