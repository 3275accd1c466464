"""One colour per face track, the same in the video's boxes, the timelines, the track strip and the track
selector, so a face on screen and its curves are told apart by colour alone.

Eight colours of similar lightness that stay distinct on the dark background (and for the common colour
vision deficiencies, as far as eight can); a track id picks its colour, so a track keeps its colour when
others are merged, split or rejected.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPixmap

TRACK_COLOURS = ["#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176", "#4db6ac", "#f06292"]


def track_colour(track_id: int) -> QColor:
    return QColor(TRACK_COLOURS[int(track_id) % len(TRACK_COLOURS)])


def track_icon(track_id: int, size: int = 12) -> QIcon:
    """A filled square in the track's colour (track selector, menus)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(track_colour(track_id))
    return QIcon(pixmap)


def track_label(track_id: int, names: dict[int, str]) -> str:
    return names.get(track_id, f"Face #{track_id}")
