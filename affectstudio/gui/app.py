"""Start the app: window first, heavy imports after.

The window must be up in under 2 s. Qt and pyqtgraph are all it needs to draw; torch and MediaPipe (several
seconds to import on a small machine) are first imported by the model-loader thread that the window starts,
so the user can already open a file and scrub frames while they load.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from affectstudio import __version__
from affectstudio.gui.resources import icon_path


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("AffectStudio")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("AffectStudio")
    app.setWindowIcon(QIcon(str(icon_path())))
    return app


def run_app(video: str | None = None) -> int:
    """Open the main window (on `video` if given) and run until it closes; returns the exit status."""
    import pyqtgraph as pg

    app = make_app()
    pg.setConfigOptions(antialias=False, imageAxisOrder="col-major")
    from affectstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    if video:
        QTimer.singleShot(0, lambda: window.open_video(video))
    return app.exec()
