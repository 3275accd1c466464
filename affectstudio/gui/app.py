"""Start the app: window first, heavy imports after.

The window must be up in under 2 s. Qt and pyqtgraph are all it needs to draw; torch and MediaPipe (several
seconds to import on a small machine) are first imported by the model-loader thread that the window starts,
so the user can already open a file and scrub frames while they load.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from affectstudio import __version__
from affectstudio.gui.resources import icon_path


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("AffectStudio")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("AffectStudio")
    app.setWindowIcon(QIcon(str(icon_path())))
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    return app


def dark_palette() -> QPalette:
    """A dark Fusion palette, so the window chrome matches the dark plots and the video."""
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e0e0e0",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#e0e0e0",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e0e0e0",
        QPalette.ColorRole.Highlight: "#2f6ea5",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#3c3c3c",
        QPalette.ColorRole.ToolTipText: "#e0e0e0",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
        QPalette.ColorRole.Link: "#64b5f6",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#777777"))
    return palette


def run_app(path: str | None = None) -> int:
    """Open the main window (on `path` if given: a video, or a project file) and run until it closes;
    returns the exit status."""
    app = make_app()
    window = show_window(path)
    from affectstudio.gui import smoke

    if smoke.requested():  # the packaging smoke test: close once a frame and results are shown
        return smoke.run(window)
    return app.exec()


def show_window(path: str | None = None):
    """Show the main window; once the event loop runs it opens `path` (a video, or a *.affectproj project
    as File > Open project does)."""
    from affectstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if path:
        QTimer.singleShot(0, lambda: window.open_path(path))
    return window
