"""Projects in the review window: File > New / Open / Save as / Open recent project, the project
browser dock, and the analysis of all the project's videos (`analyse_project_videos`: the study runner in
a background job, `core/study/project.py`, as `affectstudio project analyze` runs it). Without a chosen
project the app works in the implicit default project in the data directory, as before; switching
projects closes the open video and hands the session the new store.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QStyle

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.project import SUFFIX, ProjectStore
from affectstudio.gui.windows.project_browser import MIN_WIDTH, OPEN_WIDTH, ProjectBrowser

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
        self.project_browser.analyse_requested.connect(lambda: self.analyse_project_videos())
        self.project_browser.stop_requested.connect(self.stop_project_analysis)
        self._project_job = None
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

    # analysing every video ----------------------------------------------------------------------------------
    def analyse_project_videos(self, options=None, skip=()) -> bool:
        """Analyse the project's videos not yet analysed with `options` (default: the settings') in the
        background; the browser shows each video's state, the results wait in the project."""
        from affectstudio.core.study.project import ProjectJob, analyse_project
        from affectstudio.gui.tasks import TaskThread

        if self._project_job is not None and self._project_job.isRunning():
            return False
        options = replace(options or self.settings.analysis)
        options.model = options.model or None
        job = ProjectJob(self.store.path, options, skip=tuple(skip))  # the job loads the model itself
        thread = TaskThread("project-analysis", lambda state: analyse_project(state, job), self)
        thread.progress.connect(self._project_progress)
        thread.done.connect(self._project_analysed)
        thread.failed.connect(lambda message, _user: self._project_failed(message))
        self._project_job = thread
        self.project_browser.job_started()
        self.show_project_browser()
        thread.start()
        return True

    def stop_project_analysis(self) -> None:
        if self._project_job is not None and self._project_job.isRunning():
            self._project_job.cancel()
            self.status_label.setText("Project: stopping after the current batch…")

    def _project_progress(self, progress) -> None:
        if self.sender() is not self._project_job:
            return
        self.project_browser.job_progress(progress)
        detail = progress.detail
        if detail is not None:
            self.status_label.setText(
                f"Project: {detail.videos_done}/{detail.videos_total} videos · {detail.frames_per_s:.1f} "
                "frames/s" + (f" · {detail.failed} failed" if detail.failed else "")
            )

    def _project_analysed(self, report) -> None:
        self._project_job = None
        self.project_browser.job_finished()
        if report is None:
            return
        text = f"Project: {report.done} analysed, {report.skipped} already done, {len(report.failed)} failed"
        if report.cancelled:
            text += f", {report.cancelled} stopped (Analyse all again to finish)"
        self.status_label.setText(text)

    def _project_failed(self, message: str) -> None:
        self._project_job = None
        self.project_browser.job_finished()
        self.show_error("Project analysis failed", message)

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

    def open_path(self, path: str | Path) -> bool:
        """Open what the command line named: a project file (*.affectproj) as File > Open project does,
        anything else as a video."""
        if Path(path).suffix.lower() == SUFFIX:
            return self.open_project(path)
        return self.open_video(path)

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
        self.stop_project_analysis()  # its events name the old project's videos
        old = self.store
        self.session.use_store(store)
        self.controller.store = store
        old.close()
        self.video.clear("Open a video of the project (double-click it in the project browser)")
        self.settings.add_recent_project(store.path)
        self.settings.save()
        self.setWindowTitle(f"{store.path.stem} — AffectStudio")
        self.project_browser.set_store(store)
        self.show_project_browser()

    def show_project_browser(self) -> None:
        """Show the browser as wide as its columns want (OPEN_WIDTH) but at most a third of the window, and
        less where the review window's own minimum needs the room: opening a project never widens it."""
        browser = self.project_browser
        placed = browser.isVisible() or browser.isFloating()  # where the user has put it, it stays
        browser.show()
        if placed:
            return
        central = self.centralWidget().minimumSizeHint().width()
        separator = self.style().pixelMetric(QStyle.PixelMetric.PM_DockWidgetSeparatorExtent)
        width = max(MIN_WIDTH, min(OPEN_WIDTH, self.width() // 3, self.width() - central - separator))
        self.resizeDocks([browser], [width], Qt.Orientation.Horizontal)

    def _fill_recent_projects(self) -> None:
        self.recent_projects_menu.clear()
        for item in self.settings.recent.projects:
            self.recent_projects_menu.addAction(item, lambda checked=False, p=item: self.open_project(p))
        if self.recent_projects_menu.isEmpty():
            self.recent_projects_menu.addAction("(none)").setEnabled(False)
