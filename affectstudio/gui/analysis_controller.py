"""Gets results for the open video: from the project cache when it has them, else by running the analysis.

Sequence for one video: load the model (once, in a thread: this is also where torch first gets imported,
so the window never waits for it) -> look up the cache under (video fingerprint, cache key) -> emit the
cached rows, or start `analyze` in a thread whose batches of rows stream out as they finish. The first
analysis makes the inference engine (in its thread): it runs plain PyTorch at once while its fast path
compiles in the background, and then serves every later video of the session, so the fast path is built
once (a window that never analyses builds none). Starting a new job cancels the old one (DESIGN
convention 2); `shutdown()` stops everything and waits.

The cache key is the model's weight digest plus the options that change which faces are found, so a
different detection stride or confidence is never served stale results.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from affectstudio.core.jobs import JobState
from affectstudio.core.options import AnalysisOptions
from affectstudio.core.project import ProjectStore, results_key
from affectstudio.core.settings import Settings
from affectstudio.gui.tasks import TaskThread


@dataclass(frozen=True)
class VideoJob:
    path: Path
    video_hash: str


# Models loaded in this process, by the file they came from as it was then (path, size, modification time;
# `ModelRegistry.identity`): a window (or a second one) reuses them instead of reading and building the
# network again, and a model installed, replaced or made the default since, also by the CLI, is loaded anew.
# `forget_loaded_models` drops them (memory) after the registry changes.
_LOADED: dict[str, object] = {}


def forget_loaded_models() -> None:
    _LOADED.clear()


def cache_key(model_digest: str, options: AnalysisOptions) -> str:
    return results_key(model_digest, options)  # the CLI's `project analyze` caches under the same key


class AnalysisController(QObject):
    model_ready = Signal(object)  # LoadedModel
    model_failed = Signal(str)
    started = Signal()
    progress = Signal(object)  # Progress
    serving = Signal(str)  # the results key of the rows that follow (the analysis their track edits name)
    rows = Signal(object)  # pd.DataFrame, a batch of result rows (cached results arrive as one batch)
    finished = Signal(object)  # AnalysisResult, or None for results served from the cache
    failed = Signal(str)
    not_analysed = Signal()  # nothing cached and automatic analysis is off

    def __init__(self, store: ProjectStore, settings: Settings, parent=None):
        super().__init__(parent)
        self.store = store
        self.loaded = None  # LoadedModel once ready
        self.engine = None  # the InferenceEngine of the first analysis, for the model and options of then
        self._engine_key: tuple | None = None
        self._old_engines: list = []  # replaced engines, asked to stop their build; waited for at shutdown
        self._engine_lock = threading.Lock()  # analysis threads make the engine, the UI thread retires it
        self.settings = settings  # shared with the window: read at each use, so changes apply at once
        self._model_thread: TaskThread | None = None
        self._analysis: TaskThread | None = None
        self._job: VideoJob | None = None
        self._old_threads: list[TaskThread] = []

    @property
    def running(self) -> bool:
        return self._analysis is not None and self._analysis.isRunning()

    # model --------------------------------------------------------------------------------------------
    def load_model(self) -> None:
        """Load the model the settings name, in a thread; results are (re)requested once it is ready."""
        self.cancel()
        self.loaded = None
        name = self.settings.analysis.model or None

        def load(state: JobState):
            from affectstudio.core.model.registry import ModelRegistry

            registry = ModelRegistry()
            source = json.dumps(registry.identity(name), sort_keys=True)  # the file as it is now
            if source not in _LOADED:
                from affectstudio.core.face_stream import prepare_in_background

                prepare_in_background(self.settings.analysis)  # the face side, while torch is imported
                _LOADED[source] = registry.load(name)
            return _LOADED[source]

        thread = self._start(TaskThread("model-loader", load, self))
        thread.done.connect(lambda loaded: self._model_loaded(thread, loaded))
        thread.failed.connect(lambda message, _user: self._model_failed(thread, message))
        self._model_thread = thread
        thread.start()

    def _model_failed(self, thread: TaskThread, message: str) -> None:
        if thread is self._model_thread:
            self.model_failed.emit(message)

    def _model_loaded(self, thread: TaskThread, loaded) -> None:
        if thread is not self._model_thread:
            return  # a newer model was asked for meanwhile
        self.loaded = loaded
        self.model_ready.emit(loaded)
        if self._job is not None:
            self._serve(self._job)

    # results ------------------------------------------------------------------------------------------
    def open_video(self, path: Path, video_hash: str) -> None:
        self.cancel()
        self._job = VideoJob(Path(path), video_hash)
        if self.loaded is not None:
            self._serve(self._job)

    def reanalyse(self) -> None:
        """Run the analysis now, even if results are cached or automatic analysis is off."""
        if self._job is not None and self.loaded is not None:
            self.cancel()
            self._start_analysis(self._job)

    def _serve(self, job: VideoJob) -> None:
        key = cache_key(self.loaded.digest, self.settings.analysis)
        cached = self.store.load_results(job.video_hash, key)
        if cached is None and not self.settings.auto_analyse:
            self.not_analysed.emit()
        elif cached is None:
            self._start_analysis(job)
        else:
            self.serving.emit(key)
            self.rows.emit(cached.frame)
            self.finished.emit(None)

    def _start_analysis(self, job: VideoJob) -> None:
        from affectstudio.core.analysis import analyze

        loaded = self.loaded
        options = replace(self.settings.analysis, model=self.settings.analysis.model or None)

        def run(state: JobState):
            engine = self._engine_for(loaded, options)
            return analyze(
                job.path,
                None,
                options,
                progress=state.report,
                cancelled=state.cancelled,
                on_rows=state.partial,
                loaded=loaded,
                keep_table=True,
                engine=engine,
            )

        thread = self._start(TaskThread("analysis", run, self))
        thread.progress.connect(self._progress_arrived)
        thread.partial.connect(self._rows_arrived)
        thread.done.connect(lambda result: self._analysis_done(job, thread, result, options))
        thread.failed.connect(lambda message, _user: self._analysis_failed(thread, message))
        self._analysis = thread
        self.serving.emit(cache_key(loaded.digest, options))
        self.started.emit()
        thread.start()

    def _progress_arrived(self, progress) -> None:
        if self.sender() is self._analysis:  # a cancelled run's queued reports must not revive its status
            self.progress.emit(progress)

    def _rows_arrived(self, frame) -> None:
        if self.sender() is self._analysis:  # a cancelled job's last batch must not leak into the new one
            self.rows.emit(frame)

    def _analysis_done(self, job: VideoJob, thread: TaskThread, result, options: AnalysisOptions) -> None:
        if thread is not self._analysis:
            return
        self._analysis = None
        if not result.cancelled and result.table is not None:
            key = cache_key(self.loaded.digest, options)
            self.store.remember_video(job.video_hash, job.path, result.frames, 0.0)
            self.store.save_results(
                job.video_hash, key, result.model_name, result.table.df, result.untrained_tasks
            )
        self.finished.emit(result)

    def _analysis_failed(self, thread: TaskThread, message: str) -> None:
        if thread is self._analysis:
            self._analysis = None
            self.failed.emit(message)

    # threads ------------------------------------------------------------------------------------------
    def _start(self, thread: TaskThread) -> TaskThread:
        self._old_threads = [old for old in self._old_threads if old.isRunning()]
        self._old_threads.append(thread)
        return thread

    def cancel(self) -> None:
        if self._analysis is not None:
            self._analysis.cancel()
            self._analysis = None

    def _engine_for(self, loaded, options: AnalysisOptions):
        """The session's engine (made on first use, in the analysis thread: on a GPU that takes a while);
        a new one when the model, device, batch size or fast-path setting changed."""
        key = (loaded.digest, options.device, options.batch_size, options.fast)
        with self._engine_lock:
            if self.engine is not None and self._engine_key != key:
                self._retire_engine()
            if self.engine is None:
                from affectstudio.core.engine import InferenceEngine

                self.engine = InferenceEngine(loaded, options.device, options.batch_size, fast=options.fast)
                self._engine_key = key
            return self.engine

    def _retire_engine(self) -> None:
        """Ask the engine's fast-path build to stop, without waiting for it (called holding the lock)."""
        if self.engine is not None:
            self.engine.close(wait=False)
            self._old_engines.append(self.engine)
            self.engine = None

    def shutdown(self) -> None:
        """Stop every thread this controller started and wait for them (window close, tests)."""
        self._job = None
        for thread in self._old_threads:
            thread.stop()
        self._old_threads = []
        self._analysis = None
        with self._engine_lock:
            self._retire_engine()
            engines, self._old_engines = self._old_engines, []
        for engine in engines:  # a conversion under way is finished and saved first
            engine.close()
