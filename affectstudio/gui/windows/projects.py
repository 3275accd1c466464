"""Projects in the review window: File > New / Open / Save as / Open recent project, and the project
browser dock. Without a chosen project the app works in the implicit default project in the data
directory, as before; switching projects closes the open video and hands the session the new store.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.project import SUFFIX, ProjectStore
from affectstudio.gui.windows.project_browser import ProjectBrowser

PROJECT_FILTER = f"AffectStudio projects (*{SUFFIX});;All files (*)"


class ProjectCommands:
    def _build_project_actions(self) -> None:
        act = self._action
        self.act_new_project = act("&New project…", lambda: self.new_project(), "Ctrl+Shift+N")
        self.act_open_project = act("Open &project…", lambda: self.open_project(), "Ctrl+Shift+O")
        self.act_save_project_as = act("Save project &as…", lambda: self.save_project_as(), "Ctrl+Shift+S")
        self.project_browser = ProjectBrowser(self)
        self.project_browser.open_requested.connect(self.open_video)
        self.project_browser.error.connect(self.show_error)
        self.project_browser.visibilityChanged.connect(lambda shown: shown and self.project_browser.refresh())
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.project_browser)
        self.project_browser.hide()
        self.act_project_browser = self.project_browser.toggleViewAction()
        self.act_project_browser.setShortcut("Ctrl+Shift+P")
        self.addAction(self.act_project_browser)

    def _install_projects(self) -> None:
        self.recent_projects_menu = self.menus["Open recent project"]
        self.analysis_finished.connect(lambda _result: self.project_browser.refresh())
        self.session.lanes_changed.connect(
            lambda _key: self.project_browser.isVisible() and self.project_browser.refresh()
        )
        self.project_browser.set_store(self.store)

    def _project_start_folder(self) -> str:
        recent = self.settings.recent.projects
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def new_project(self, path: str | Path | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "New project", self._project_start_folder(), PROJECT_FILTER
            )
            if not path:
                return False
        path = Path(path)
        path = path if path.suffix else path.with_suffix(SUFFIX)
        try:
            if path.exists():  # the dialog asked whether to replace it: start that file afresh
                path.unlink()
            store = ProjectStore.create(path)
        except (AffectStudioError, OSError) as error:
            self.show_error("Cannot create the project", str(error))
            return False
        self.switch_project(store)
        return True

    def open_project(self, path: str | Path | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open project", self._project_start_folder(), PROJECT_FILTER
            )
            if not path:
                return False
        try:
            store = ProjectStore(path, create=False)
        except AffectStudioError as error:
            self.show_error("Cannot open the project", str(error))
            return False
        self.switch_project(store)
        return True

    def save_project_as(self, path: str | Path | None = None) -> bool:
        """Copy the project (SQLite backup API) to a new file and continue in the copy."""
        from affectstudio.core.project.backup import save_project_as

        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Save project as", self._project_start_folder(), PROJECT_FILTER
            )
            if not path:
                return False
        try:
            copy = save_project_as(self.store.path, path)
            store = ProjectStore(copy, create=False)
        except AffectStudioError as error:
            self.show_error("Cannot save the project", str(error))
            return False
        self.switch_project(store)
        return True

    def switch_project(self, store: ProjectStore) -> None:
        """Work in `store` from now on: the open video closes, the browser shows the new project."""
        self.pause()
        old = self.store
        self.session.use_store(store)
        self.controller.store = store
        old.close()
        self.video.clear("Open a video of the project (double-click it in the project browser)")
        self.settings.add_recent_project(store.path)
        self.settings.save()
        self.setWindowTitle(f"{store.path.stem} — AffectStudio")
        self.project_browser.set_store(store)
        self.project_browser.show()

    def _fill_recent_projects(self) -> None:
        self.recent_projects_menu.clear()
        for item in self.settings.recent.projects:
            self.recent_projects_menu.addAction(item, lambda checked=False, p=item: self.open_project(p))
        if self.recent_projects_menu.isEmpty():
            self.recent_projects_menu.addAction("(none)").setEnabled(False)
