"""The review window's entries into the windows of this package, in one place: actions and docks are
built before the menus (`_build_windows_actions`), entries go into `menu_layout`, and the wiring that needs
the menus follows (`_install_windows_ui`). The commands live in projects.py, comparison_commands.py and
training_commands.py.
"""

from __future__ import annotations

from PySide6.QtWidgets import QToolBar

from affectstudio.gui.windows.comparison_commands import ComparisonCommands
from affectstudio.gui.windows.projects import ProjectCommands
from affectstudio.gui.windows.training_commands import TrainingCommands


class WindowsMenus(ProjectCommands, ComparisonCommands, TrainingCommands):
    def _build_windows_actions(self) -> None:
        self._build_project_actions()
        self._build_comparison_actions()
        self.act_training = self._action(
            "&Training…", self.show_training, "Ctrl+T", "Train a model on the project's annotations"
        )

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
        return [(title, layout[title]) for title in order]

    def _install_windows_ui(self) -> None:
        self._install_projects()
        self._install_comparison()
        self._toolbar().addAction(self.act_training)

    def _toolbar(self) -> QToolBar:
        """The review window's toolbar (beside Export and Settings)."""
        bars = [bar for bar in self.findChildren(QToolBar) if bar.objectName() == "tracks"]
        return bars[0] if bars else self.addToolBar("Windows")
