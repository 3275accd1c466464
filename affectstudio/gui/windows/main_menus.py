"""The review window's entries into the windows of this package, in one place: actions and docks are
built before the menus (`_build_windows_actions`), entries go into `menu_layout`, and the wiring that needs
the menus follows (`_install_windows_ui`). The commands live in projects.py, comparison_commands.py and
training_commands.py.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QToolBar

from affectstudio.gui.windows.comparison_commands import ComparisonCommands
from affectstudio.gui.windows.help import UsageDialog, about_box, open_log_folder
from affectstudio.gui.windows.projects import ProjectCommands
from affectstudio.gui.windows.training_commands import TrainingCommands


class WindowsMenus(ProjectCommands, ComparisonCommands, TrainingCommands):
    models_window = None

    def _build_windows_actions(self) -> None:
        self._build_project_actions()
        self._build_comparison_actions()
        self.act_training = self._action(
            "&Training…", self.show_training, "Ctrl+T", "Train a model on the project's annotations"
        )
        self.act_models = self._action(
            "&Models…", self.show_models, "Ctrl+Shift+M", "Installed and downloadable models"
        )
        self.act_import_model = self._action(
            "&Import checkpoint…", lambda: self.show_models().import_checkpoint(), None, "Install a file"
        )
        self.act_get_weights = self._action(
            "Get trained weights…", self.show_models, None, "Download or import a trained model"
        )
        self.act_about = self._action("&About AffectStudio", self.show_about, None, "Versions")
        self.act_usage = self._action("&Usage", self.show_usage, None, "How to use AffectStudio")
        self.act_log_folder = self._action("Open &log folder", open_log_folder, None, "The app's log files")

    def menu_layout(self) -> list[tuple[str, list]]:
        layout = dict(super().menu_layout())
        order = [title for title, _ in super().menu_layout()]
        file_entries = layout["&File"]
        file_entries[0:0] = [
            self.act_new_project,
            self.act_open_project,
            ("Open recent pro&ject", self._fill_recent_projects),
            self.act_save_project_as,
            None,
        ]
        file_entries.insert(file_entries.index(self.act_export), self.act_import_overlay)
        layout["&View"] += [None, self.act_project_browser, self.act_agreement, self.act_statistics]
        layout["A&nnotate"] += [
            None,
            self.act_mark_in,
            self.act_mark_out,
            self.act_clear_marks,
            self.act_fill,
            self.act_statistics,
            self.act_agreement,
        ]
        layout["&Training"] = [self.act_training]
        order.insert(order.index("&Help"), "&Training")
        layout["&Models"] = [self.act_models, self.act_import_model]
        order.insert(order.index("&Training"), "&Models")
        layout["&Help"] = [self.act_usage, *layout["&Help"], None, self.act_log_folder, self.act_about]
        return [(title, layout[title]) for title in order]

    def _install_windows_ui(self) -> None:
        self._install_projects()
        self._install_comparison()
        self._toolbar().addAction(self.act_training)
        self.get_weights_button = QPushButton("Get trained weights…")
        self.get_weights_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.get_weights_button.clicked.connect(self.show_models)
        self.get_weights_button.hide()
        self.statusBar().addPermanentWidget(self.get_weights_button)
        self.timeline.weights_requested.connect(self.show_models)
        self.va_plane.weights_requested.connect(self.show_models)

    # models and help ----------------------------------------------------------------------------------
    def show_models(self):
        """Open (or raise) the Models window; a change there re-loads the default model here."""
        from affectstudio.gui.windows.models import ModelsWindow

        if self.models_window is None:
            self.models_window = ModelsWindow(self)
            self.models_window.models_changed.connect(self._models_changed)
        self.models_window.show()
        self.models_window.raise_()
        self.models_window.activateWindow()
        return self.models_window

    def _models_changed(self) -> None:
        from affectstudio.gui.analysis_controller import forget_loaded_models

        forget_loaded_models()
        if not self.settings.analysis.model:  # the window uses the registry's default: it may have changed
            self.session.reset_results([])
            self.controller.load_model()

    def _close_windows(self) -> None:
        super()._close_windows()
        if self.models_window is not None:
            self.models_window.close()

    def show_about(self) -> None:
        self._open_dialog(about_box(self))

    def show_usage(self) -> None:
        self._open_dialog(UsageDialog(self))

    def _toolbar(self) -> QToolBar:
        """The review window's toolbar (beside Export and Settings)."""
        bars = [bar for bar in self.findChildren(QToolBar) if bar.objectName() == "tracks"]
        return bars[0] if bars else self.addToolBar("Windows")
