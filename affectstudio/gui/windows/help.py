"""Help menu entries beyond the shortcuts sheet: About (versions for bug reports), Usage (the README's
usage section) and Open log folder (the rotating log of core/logs.py, in the system's file manager)."""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout

from affectstudio.core.about import usage_markdown, versions
from affectstudio.core.logs import log_dir


def about_text() -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>&nbsp;&nbsp;{html.escape(version)}</td></tr>"
        for name, version in versions(qVersion())
    )
    return (
        "<h3>AffectStudio</h3><p>Review facial affect in video: valence/arousal, expressions and action "
        f"units per frame, annotation and retraining.</p><table>{rows}</table>"
        f"<p>Log folder: {html.escape(str(log_dir()))}</p>"
    )


def about_box(parent) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "About AffectStudio", about_text(), parent=parent)
    box.setTextFormat(box.textFormat().RichText)
    return box


class UsageDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Using AffectStudio")
        self.text = QTextBrowser()
        self.text.setMarkdown(usage_markdown())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(900, 640)


def open_log_folder() -> QUrl:
    """Show the log folder in the file manager; returns the URL asked for (tests check it)."""
    url = QUrl.fromLocalFile(str(log_dir()))
    QDesktopServices.openUrl(url)
    return url
