"""The review window's entries into the windows of this package: Training menu and window, projects, docks.

`MainWindow` inherits this mixin and calls `_install_windows_ui()` once its own menus exist, so the review
window's construction stays where it is and these windows plug in beside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QMenu, QToolBar

from affectstudio.core.paths import data_dir


class WindowsMenus:
    training_window = None

    def _install_windows_ui(self) -> None:
        self.act_training = self._action(
            "&Training…", self.show_training, "Ctrl+T", "Train a model on the project's annotations"
        )
        menu = self.menuBar()
        help_action = menu.actions()[-1]  # Help stays last
        training = QMenu("&Training", self)
        training.addAction(self.act_training)
        menu.insertMenu(help_action, training)
        self._toolbar().addAction(self.act_training)

    def _toolbar(self) -> QToolBar:
        """The review window's toolbar (beside Export and Settings)."""
        bars = [bar for bar in self.findChildren(QToolBar) if bar.objectName() == "tracks"]
        return bars[0] if bars else self.addToolBar("Windows")

    # training -----------------------------------------------------------------------------------------
    def show_training(self):
        """Open (or raise) the Training window; it trains on the project's annotations or any dataset."""
        from affectstudio.gui.windows.training import TrainingWindow

        if self.training_window is None:
            self.training_window = TrainingWindow(self._export_for_training, self)
            self.training_window.model_installed.connect(self._model_trained)
            self.training_window.reanalyse_requested.connect(self.reanalyse_with)
        self.training_window.show()
        self.training_window.raise_()
        self.training_window.activateWindow()
        return self.training_window

    def _export_for_training(self) -> Path | None:
        """The annotated frames of the open video as a new dataset folder under the data directory."""
        stem = self.video_path.stem if self.video_path else "project"
        folder = data_dir() / "datasets" / f"{stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        summary = self.export_training_set(folder)
        return summary.folder if summary is not None else None

    def _model_trained(self, name: str) -> None:
        from affectstudio.gui.analysis_controller import forget_loaded_models

        forget_loaded_models()
        self.status_label.setText(f"New model installed: {name}")

    def reanalyse_with(self, name: str) -> None:
        """Make `name` the analysis model and analyse the open video with it (a new model: no cache)."""
        settings = replace(self.analysis_settings, model=name)
        self.apply_settings(settings, list(self.thresholds))
        if not settings.auto_analyse:  # the cache lookup would stop at "not analysed"
            self.controller.model_ready.connect(self._reanalyse_once)

    def _reanalyse_once(self, _loaded) -> None:
        self.controller.model_ready.disconnect(self._reanalyse_once)
        self.controller.reanalyse()

    def _close_windows(self) -> None:
        if self.training_window is not None:
            self.training_window.shutdown()
            self.training_window.close()
