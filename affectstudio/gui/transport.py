"""Playback controls: buttons for the window's actions, speed, jump size, go-to box, frame/time readout."""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QToolButton, QWidget

from affectstudio.gui.fitting_label import FittingLabel

SPEEDS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 8.0)
_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)\s*s?$")


def format_time(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:06.3f}" if hours else f"{minutes:02d}:{rest:06.3f}"


def parse_position(text: str, timestamps: np.ndarray) -> int | None:
    """'123' or '#123' is a frame; '12.5s', '1:02.5' or '1:00:02' a time (nearest frame at or before)."""
    text = text.strip().lower().lstrip("#")
    if not text or len(timestamps) == 0:
        return None
    if text.isdigit():
        return min(int(text), len(timestamps) - 1)
    match = _TIME.match(text)
    if match is None or ("." not in text and ":" not in text and not text.endswith("s")):
        return None
    parts = [float(p) for p in match.groups() if p is not None]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return frame_at(timestamps, seconds)


def frame_at(timestamps: np.ndarray, seconds: float) -> int:
    """The frame showing at time `seconds`."""
    index = int(np.searchsorted(timestamps, seconds + 1e-9, side="right")) - 1
    return max(0, min(index, len(timestamps) - 1))


class PlaybackBar(QWidget):
    goto_requested = Signal(int)
    speed_changed = Signal(float)

    def __init__(self, actions: list[QAction | None], parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for action in actions:
            if action is None:
                layout.addSpacing(8)
                continue
            button = QToolButton()
            button.setDefaultAction(action)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAutoRaise(True)
            layout.addWidget(button)
        layout.addWidget(QLabel("Jump"))
        self.jump = QSpinBox()
        self.jump.setRange(2, 100000)
        self.jump.setValue(10)
        self.jump.setSuffix(" fr")
        self.jump.setToolTip("Frames jumped by PgUp / PgDown")
        layout.addWidget(self.jump)
        layout.addWidget(QLabel("Speed"))
        self.speed = QComboBox()
        self.speed.addItems([f"{s:g}x" for s in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed.currentIndexChanged.connect(lambda i: self.speed_changed.emit(SPEEDS[i]))
        layout.addWidget(self.speed)
        layout.addWidget(QLabel("Go to"))
        self.goto = QLineEdit()
        self.goto.setPlaceholderText("frame or 1:02.5")
        self.goto.setMinimumWidth(130)
        self.goto.returnPressed.connect(self._goto)
        layout.addWidget(self.goto)
        layout.addStretch(1)
        self.position = FittingLabel("no video")  # where the bar is narrow, a shorter form
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.position.setFont(font)
        self.position.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.position)
        self.timestamps = np.zeros(0)

    @property
    def speed_value(self) -> float:
        return SPEEDS[self.speed.currentIndex()]

    def change_speed(self, steps: int) -> None:
        self.speed.setCurrentIndex(max(0, min(len(SPEEDS) - 1, self.speed.currentIndex() + steps)))

    def show_position(self, frame: int, seconds: float, total: int, duration: float) -> None:
        digits = len(str(total))
        self.position.set_forms(
            [
                f"frame {frame:>{digits}d} / {total - 1}   {format_time(seconds)} / {format_time(duration)}",
                f"{frame:>{digits}d}/{total - 1}  {format_time(seconds)}",
                f"{frame:>{digits}d}  {format_time(seconds)}",
            ]
        )

    def _goto(self) -> None:
        frame = parse_position(self.goto.text(), self.timestamps)
        if frame is None:
            self.goto.setStyleSheet("background: #5c2020")
            return
        self.goto.setStyleSheet("")
        self.goto.clearFocus()
        self.goto_requested.emit(frame)
