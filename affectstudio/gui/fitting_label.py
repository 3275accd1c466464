"""A one-line label that never widens its window: it shows the longest of its forms that fits its width.

A plain QLabel asks for its whole text as its minimum width, so a long status message, a deep project path
or the playback readout could push the main window past the screen (a 1400-px screen, issue: the window
grew to 1592 px on opening a project). `FittingLabel` asks only for its shortest form (or `min_chars`
characters) and paints the longest form that fits, eliding the last one; its size hint is still the whole
text, so with room it reads as before. `text()` stays the full text, and the tooltip shows it while it is
cut (before the label's own tooltip, if it has one).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QToolTip


class FittingLabel(QLabel):
    def __init__(
        self,
        text: str = "",
        parent=None,
        min_chars: int = 12,
        elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ):
        super().__init__(text, parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.min_chars = min_chars
        self.elide = elide
        self._forms: list[str] = []

    def set_forms(self, forms: list[str]) -> None:
        """Show `forms[0]` (the full text) or, when the label is narrower, the first later form that fits."""
        super().setText(forms[0])  # text() is always the full form
        self._forms = list(forms[1:])
        self.updateGeometry()

    def setText(self, text: str) -> None:
        self._forms = []  # a plain setText drops the shorter forms of the previous text
        super().setText(text)

    def forms(self) -> list[str]:
        return [self.text(), *self._forms]

    def shown_text(self) -> str:
        """What the label paints at its present width."""
        metrics, room = self.fontMetrics(), self.contentsRect().width()
        for form in self.forms():
            if metrics.horizontalAdvance(form) <= room:
                return form
        return metrics.elidedText(self.forms()[-1], self.elide, room)

    def is_cut(self) -> bool:
        return self.shown_text() != self.text()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        shortest = min((metrics.horizontalAdvance(f) for f in self._forms), default=None)
        floor = metrics.averageCharWidth() * self.min_chars
        width = min(shortest if shortest is not None else floor, super().sizeHint().width())
        margins = self.contentsMargins()
        return QSize(width + margins.left() + margins.right(), hint.height())

    def paintEvent(self, event) -> None:
        if not self.is_cut():  # all of it shows: QLabel paints it (and a selection in it)
            super().paintEvent(event)
            return
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            self.foregroundRole(),
        )

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.is_cut():
            own = self.toolTip()
            QToolTip.showText(event.globalPos(), self.text() + (f"\n{own}" if own else ""), self)
            return True
        return super().event(event)
