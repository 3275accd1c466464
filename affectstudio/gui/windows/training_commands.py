"""The review window's side of the Training window: opening it, exporting the project's annotations
for it (in a thread), and re-analysing with the model it trained."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import replace

from affectstudio.core.paths import data_dir
from affectstudio.core.project import ProjectStore


class TrainingCommands:
    training_window = None

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
        """Make `name` the analysis model: the open video is analysed again through the controller (as
        on Ctrl+R), the project's other videos in a background job whose results wait in the project."""
        settings = copy.deepcopy(self.settings)
        settings.analysis = replace(settings.analysis, model=name)
        self.apply_settings(settings, list(self.thresholds))
        if self.session.video is not None and not settings.auto_analyse:  # the cache lookup stops there
            self.controller.model_ready.connect(self._reanalyse_once)
        self._reanalyse_other_videos(settings.analysis)

    def _reanalyse_other_videos(self, options) -> None:
        """The project's other videos through the project's analysis job (the browser shows them)."""
        skip = [self.video_hash] if self.session.video is not None else []
        if [v for v in self.store.videos() if v.hash not in skip]:
            self.analyse_project_videos(options, skip)

    def _reanalyse_once(self, _loaded) -> None:
        self.controller.model_ready.disconnect(self._reanalyse_once)
        self.controller.reanalyse()

    def _close_windows(self) -> None:
        if getattr(self, "_project_job", None) is not None:
            self._project_job.stop()
        if getattr(self, "_export_thread", None) is not None:
            self._export_thread.stop()
        if self.training_window is not None:
            self.training_window.shutdown()
            self.training_window.close()
