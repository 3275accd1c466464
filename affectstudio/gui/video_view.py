"""The video frame with face boxes and track ids painted over it; a click on a box selects its track.

A plain QWidget that paints a QImage scaled to fit (aspect kept): cheaper than a QGraphicsView for one image
and a handful of rectangles, and it lets us report exactly when a frame has been painted (`frame_shown`),
which the seek-latency benchmark measures.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from affectstudio.gui.track_palette import track_colour


class VideoView(QWidget):
    frame_shown = Signal(int)  # emitted after a newly set frame has been painted
    face_clicked = Signal(int)  # a left click on a face box: its track id
    face_menu_requested = Signal(int, QPoint)  # a right click on a face box: track id, global position

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 160)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # keeps keyboard focus off the text boxes
        self._image: QImage | None = None
        self._index = -1
        self._painted = -1
        self._faces: list[tuple[int, np.ndarray]] = []
        self._names: dict[int, str] = {}
        self.selected_track: int | None = None
        self.show_boxes = True
        self.message = "Open a video (Ctrl+O)"

    @property
    def index(self) -> int:
        return self._index

    def set_frame(self, index: int, image: QImage) -> None:
        self._index, self._image = index, image
        self.update()

    def set_faces(self, faces: list[tuple[int, np.ndarray]], names: dict[int, str] | None = None) -> None:
        self._faces = faces
        if names is not None:
            self._names = names
        self.update()

    def clear(self, message: str) -> None:
        self._image, self._index, self._painted, self._faces, self.message = None, -1, -1, [], message
        self.update()

    def image_rect(self) -> QRectF:
        """Where the frame is drawn inside the widget (letterboxed, aspect kept)."""
        if self._image is None:
            return QRectF()
        scale = min(self.width() / self._image.width(), self.height() / self._image.height())
        width, height = self._image.width() * scale, self._image.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def box_rect(self, box: np.ndarray) -> QRectF:
        """Where a face box (x0 y0 x1 y1 in video pixels) is drawn in the widget."""
        target = self.image_rect()
        scale = target.width() / self._image.width()
        x0, y0, x1, y1 = (float(v) for v in box)
        return QRectF(target.x() + x0 * scale, target.y() + y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale)

    def face_at(self, point: QPointF) -> int | None:
        """The track whose box is under `point` (the smallest, where boxes nest), or None."""
        if self._image is None or not self.show_boxes:
            return None
        hits = [(self.box_rect(box), track) for track, box in self._faces]
        hits = [(rect.width() * rect.height(), track) for rect, track in hits if rect.contains(point)]
        return min(hits)[1] if hits else None

    def mousePressEvent(self, event) -> None:
        track = self.face_at(event.position())
        if track is None:
            super().mousePressEvent(event)
            return
        event.accept()
        if event.button() == Qt.MouseButton.LeftButton:
            self.face_clicked.emit(track)
        elif event.button() == Qt.MouseButton.RightButton:
            self.face_menu_requested.emit(track, event.globalPosition().toPoint())

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#101010"))
        if self._image is None:
            painter.setPen(QColor("#9e9e9e"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        target = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, self._image)
        if self.show_boxes and self._faces:
            self._paint_faces(painter, target)
        painter.end()
        if self._painted != self._index:
            self._painted = self._index
            self.frame_shown.emit(self._index)

    def _paint_faces(self, painter: QPainter, target: QRectF) -> None:
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for track, box in self._faces:
            rect = self.box_rect(box)
            colour = track_colour(track)
            selected = track == self.selected_track
            painter.setPen(QPen(colour, 3 if selected else 1.5, Qt.PenStyle.SolidLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            label = self._names.get(track, f"#{track}")
            metrics = painter.fontMetrics()
            tag = QRectF(
                rect.x(),
                rect.y() - metrics.height() - 2,
                metrics.horizontalAdvance(label) + 8,
                metrics.height() + 2,
            )
            if tag.y() < target.y():
                tag.moveTop(rect.y())
            painter.fillRect(tag, colour)
            painter.setPen(QColor("#000000"))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)
