"""Fill lane from model: which lanes to fill over the selected range (ELAN's "fill tier from a recognizer").

The dialog only chooses; the review window pushes the store's undoable `FillFromPredictions` through the
session, so Ctrl+Z takes the whole fill back.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from affectstudio.core.labels import ACTION_UNITS

CHOICES = {
    "expression": ("Expression (most probable class)", ["expression"]),
    "aus": ("Action units (on/off at the model's thresholds)", list(ACTION_UNITS)),
    "va": ("Valence and arousal (the predicted traces)", ["valence"]),
}


class FillFromModelDialog(QDialog):
    def __init__(self, description: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Fill lanes from the model")
        layout = QVBoxLayout(self)
        text = QLabel(
            f"{description}\nWhat the chosen lanes hold in this range is replaced (undo restores it)."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.boxes = {}
        for key, (label, _) in CHOICES.items():
            box = QCheckBox(label)
            box.setChecked(key != "va")
            layout.addWidget(box)
            self.boxes[key] = box
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def lanes(self) -> list[str]:
        return [lane for key, box in self.boxes.items() if box.isChecked() for lane in CHOICES[key][1]]
