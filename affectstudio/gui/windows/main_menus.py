"""The review window's entries into the windows of this package: projects (File menu and the project
browser dock) and the Training window (Training menu).

`MainWindow` inherits this mixin and calls `_install_windows_ui()` once its own menus exist, so the review
window's construction stays where it is and these windows plug in beside it. Without a chosen project the
app works in the implicit default project in the data directory, as before.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMenu, QToolBar

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.paths import data_dir
from affectstudio.core.project import SUFFIX, ProjectStore
from affectstudio.gui.windows.agreement import AgreementPanel
from affectstudio.gui.windows.overlays import OverlayTraces
from affectstudio.gui.windows.project_browser import ProjectBrowser
from affectstudio.gui.windows.statistics import StatisticsPanel

OVERLAY_FILTER = "Per-frame CSV or tab-separated (*.csv *.tsv *.txt);;All files (*)"
PANELS_DELAY_MS = 300
PROJECT_FILTER = f"AffectStudio projects (*{SUFFIX});;All files (*)"


class WindowsMenus:
    training_window = None

    def _install_windows_ui(self) -> None:
        act = self._action
        self.act_new_project = act("&New project…", lambda: self.new_project(), "Ctrl+Shift+N")
        self.act_open_project = act("Open &project…", lambda: self.open_project(), "Ctrl+Shift+O")
        self.act_save_project_as = act("Save project &as…", lambda: self.save_project_as(), "Ctrl+Shift+S")
        self.act_training = act("&Training…", self.show_training, "Ctrl+T", "Train a model on annotations")
        self.act_fill = act(
            "&Fill lanes from model…", lambda: self.fill_from_model(), "Ctrl+Shift+F", "Over the marked range"
        )
        self.act_import_overlay = act(
            "Import &overlay…", lambda: self.import_overlay(), None, "OpenFace, py-feat or any frame/time CSV"
        )
        self.project_browser = ProjectBrowser(self)
        self.project_browser.open_requested.connect(self.open_video)
        self.project_browser.error.connect(self.show_error)
        self.project_browser.visibilityChanged.connect(lambda shown: shown and self.project_browser.refresh())
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.project_browser)
        self.project_browser.hide()
        self.act_project_browser = self.project_browser.toggleViewAction()
        self.act_project_browser.setShortcut("Ctrl+Shift+P")
        self.addAction(self.act_project_browser)
        menu = self.menuBar()
        file_menu = menu.actions()[0].menu()
        first = file_menu.actions()[0]
        for action in (self.act_new_project, self.act_open_project):
            file_menu.insertAction(first, action)
        self.recent_projects_menu = QMenu("Open recent pro&ject", self)
        self.recent_projects_menu.aboutToShow.connect(self._fill_recent_projects)
        file_menu.insertMenu(first, self.recent_projects_menu)
        file_menu.insertAction(first, self.act_save_project_as)
        file_menu.insertSeparator(first)
        export = next(a for a in file_menu.actions() if a is self.act_export)
        file_menu.insertAction(export, self.act_import_overlay)
        view_menu = next(a.menu() for a in menu.actions() if a.text() == "&View")
        self.agreement_panel = AgreementPanel(self.session, self)
        self.agreement_panel.error.connect(self.show_error)
        self.statistics_panel = StatisticsPanel(self.session, self)
        for dock in (self.agreement_panel, self.statistics_panel):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
            dock.visibilityChanged.connect(lambda shown: shown and self._refresh_panels())
        self.act_agreement = self.agreement_panel.toggleViewAction()
        self.act_statistics = self.statistics_panel.toggleViewAction()
        self.act_statistics.setShortcut("Ctrl+Shift+T")
        self.addAction(self.act_statistics)
        view_menu.addSeparator()
        for action in (self.act_project_browser, self.act_agreement, self.act_statistics):
            view_menu.addAction(action)
        annotate_menu = next(a.menu() for a in menu.actions() if a.text() == "A&nnotate")
        annotate_menu.addSeparator()
        for action in (self.act_fill, self.act_statistics, self.act_agreement):
            annotate_menu.addAction(action)
        self._panels_timer = QTimer(self)
        self._panels_timer.setSingleShot(True)
        self._panels_timer.timeout.connect(self._refresh_panels)
        session = self.session
        for signal in (
            session.video_changed,
            session.lanes_changed,
            session.results_changed,
            session.overlays_changed,
            session.track_changed,
            session.thresholds_changed,
        ):
            signal.connect(self._schedule_panels)
        for action in (self.act_mark_in, self.act_mark_out, self.act_annotate):
            action.triggered.connect(self._schedule_panels)
        help_action = menu.actions()[-1]  # Help stays last
        training = QMenu("&Training", self)
        training.addAction(self.act_training)
        menu.insertMenu(help_action, training)
        self._toolbar().addAction(self.act_training)
        self.analysis_finished.connect(lambda _result: self.project_browser.refresh())
        self.project_browser.set_store(self.store)
        self.overlay_traces = OverlayTraces(self.timeline)
        self.session.video_changed.connect(self._load_overlays)
        self.session.overlays_changed.connect(self._draw_overlays)

    def _toolbar(self) -> QToolBar:
        """The review window's toolbar (beside Export and Settings)."""
        bars = [bar for bar in self.findChildren(QToolBar) if bar.objectName() == "tracks"]
        return bars[0] if bars else self.addToolBar("Windows")

    # projects -----------------------------------------------------------------------------------------
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

    # comparison panels and fill from the model ---------------------------------------------------------
    def _schedule_panels(self, *_args) -> None:
        """Recompute the visible panels once edits, rows or marks settle (they can come many a second)."""
        if self.agreement_panel.isVisible() or self.statistics_panel.isVisible():
            self._panels_timer.start(PANELS_DELAY_MS)

    def _refresh_panels(self) -> None:
        if self.statistics_panel.isVisible():
            first, last = getattr(self, "marks", [None, None])
            self.statistics_panel.set_range(first, last)
        if self.agreement_panel.isVisible():
            self.agreement_panel.refresh()

    def marked_range(self) -> tuple[int, int]:
        """The in/out marks (either alone: that frame), else the whole video."""
        first, last = getattr(self, "marks", [None, None])
        if first is None and last is None:
            return 0, len(self.timestamps) - 1
        first = last if first is None else first
        return first, last if last is not None else first

    def fill_from_model(self, lanes: list[str] | None = None) -> bool:
        """Fill lanes of the current annotator and track over the marked range from the model (undoable)."""
        from affectstudio.core.annotations.lanes import ANY_TRACK
        from affectstudio.core.annotations.predictions import FillFromPredictions
        from affectstudio.gui.dialogs.fill_from_model import FillFromModelDialog

        if self.session.video is None or self.data is None or not len(self.data.rows()):
            self.show_error(
                "Nothing to fill from", "Open a video and let the analysis produce results first."
            )
            return False
        start, stop = self.marked_range()
        if lanes is None:
            track = (
                "any face" if self.track is None else self.track_names.get(self.track, f"face #{self.track}")
            )
            dialog = FillFromModelDialog(
                f"Frames {start}–{stop}, {track}, annotator {self.session.annotator}.", self
            )
            dialog.accepted.connect(lambda: self.fill_from_model(dialog.lanes()))
            self._open_dialog(dialog)
            return False
        if not lanes:
            return False
        track = ANY_TRACK if self.track is None else self.track
        try:
            command = FillFromPredictions(
                self.video_hash,
                self.data.rows(),
                track,
                start,
                stop,
                self.session.annotator,
                lanes,
                list(self.thresholds),
            )
            self.session.push(command)
        except AffectStudioError as error:
            self.show_error("Cannot fill the lanes", str(error))
            return False
        self.status_label.setText(f"Filled {len(lanes)} lane(s) over frames {start}–{stop} from the model")
        return True

    # overlays -----------------------------------------------------------------------------------------
    def import_overlay(self, path: str | Path | None = None) -> bool:
        """Read another tool's per-frame output, keep it in the project and draw it beside the model's."""
        from affectstudio.core.annotations.overlays import read_overlay

        if self.session.video is None:
            self.show_error("No video", "Open the video the file belongs to first.")
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import overlay", str(self.video_path.parent), OVERLAY_FILTER
            )
            if not path:
                return False
        try:
            overlay = read_overlay(path, self.timestamps, Path(path).stem)
            table = overlay.frame.reset_index()  # the store keeps columns, not the index
            self.store.save_overlay(self.video_hash, overlay.name, overlay.fmt, overlay.source, table)
        except AffectStudioError as error:
            self.show_error("Cannot import the overlay", str(error))
            return False
        dropped = ", ".join(f"{rows} {why}" for why, rows in overlay.dropped.items())
        self.status_label.setText(
            f"Overlay {overlay.name} ({overlay.fmt}, aligned by {overlay.aligned_by}): "
            f"{len(overlay.frame)} rows" + (f"; dropped {dropped}" if dropped else "")
        )
        self.session.set_overlay(overlay.name, table)
        return True

    def _load_overlays(self) -> None:
        if self.session.video is not None:
            for listed in self.store.overlays(self.video_hash):
                stored = self.store.load_overlay(self.video_hash, listed.name)
                self.session.overlays[listed.name] = stored.frame
        self._draw_overlays()

    def _draw_overlays(self) -> None:
        self.overlay_traces.show(dict(self.session.overlays), self.timestamps)

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

    def _export_for_training(self) -> None:
        """Export the project's annotated frames into a new dataset folder, in a thread; the Training
        window reads it when done."""
        from affectstudio.core.dataset_export import export_project
        from affectstudio.gui.tasks import TaskThread

        folder = data_dir() / "datasets" / f"{self.store.path.stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        project = self.store.path

        def run(state):
            with ProjectStore(project, create=False) as store:  # one connection per thread
                return export_project(store, folder, fmt="csv", state=state)

        self._export_thread = thread = TaskThread("export-dataset", run, self)
        thread.done.connect(self._dataset_exported)
        thread.failed.connect(lambda message, _user: self.show_error("Cannot export the dataset", message))
        self.training_window.summary.setText("Exporting the project's annotated frames…")
        thread.start()

    def _dataset_exported(self, summary) -> None:
        if summary is not None and self.training_window is not None:
            self.training_window.set_dataset(summary.folder)
            self.status_label.setText(
                f"Dataset {summary.folder}: {summary.train_frames} train, "
                f"{summary.validation_frames} validation frames"
            )

    def _model_trained(self, name: str) -> None:
        from affectstudio.gui.analysis_controller import forget_loaded_models

        forget_loaded_models()
        self.status_label.setText(f"New model installed: {name}")

    def reanalyse_with(self, name: str) -> None:
        """Make `name` the analysis model and analyse the open video with it (a new model: no cache)."""
        settings = copy.deepcopy(self.settings)
        settings.analysis = replace(settings.analysis, model=name)
        self.apply_settings(settings, list(self.thresholds))
        if not settings.auto_analyse:  # the cache lookup would stop at "not analysed"
            self.controller.model_ready.connect(self._reanalyse_once)

    def _reanalyse_once(self, _loaded) -> None:
        self.controller.model_ready.disconnect(self._reanalyse_once)
        self.controller.reanalyse()

    def _close_windows(self) -> None:
        if getattr(self, "_export_thread", None) is not None:
            self._export_thread.stop()
        if self.training_window is not None:
            self.training_window.shutdown()
            self.training_window.close()
