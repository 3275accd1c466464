"""Error dialogs: the one-line message up front, the details (traceback, the log's last lines, the log
file's path) behind "Show details", so a bug report has what it needs without frightening anyone.

Every error shown is also written to the log, so the excerpt ends with the error itself.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from affectstudio.core.logs import log_tail

LOG = logging.getLogger("affectstudio.gui")


def error_details(message: str) -> tuple[str, str]:
    """(headline, details): the first paragraph of `message`, and the rest plus the log excerpt and path."""
    headline, _, rest = message.partition("\n\n")
    path, tail = log_tail()
    parts = [rest.strip()] if rest.strip() else []
    if tail:
        parts.append(f"Last lines of the log:\n{tail}")
    parts.append(f"Log file: {path}" if path is not None else "No log file (the data folder is not writable)")
    return headline.strip(), "\n\n".join(parts)


def error_box(parent: QWidget | None, title: str, message: str) -> QMessageBox:
    """A window-modal, non-blocking error dialog (already open; deleted when closed)."""
    LOG.error("%s: %s", title, message)
    headline, details = error_details(message)
    box = QMessageBox(QMessageBox.Icon.Critical, title, headline, parent=parent)
    box.setDetailedText(details)
    box.setStyleSheet("QTextEdit { min-width: 620px; min-height: 240px; }")  # room for a traceback
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
