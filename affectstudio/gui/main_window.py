"""The review window: video, VA plane and timelines around one playhead; menus, shortcuts, status bar.

Everything that moves the playhead goes through `seek(frame)`: it asks the frame grabber for the frame
(served asynchronously, newest request only), moves the timelines' playhead line and refreshes the VA panel
and the readout. The analysis side lives in `AnalysisController`; this class only turns its signals into
what the user sees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD
from affectstudio.core.paths import data_dir
from affectstudio.core.project import ProjectError, ProjectStore, video_fingerprint
from affectstudio.core.tracking import main_track
from affectstudio.gui.analysis_controller import AnalysisController
from affectstudio.gui.annotations import (
    AnnotationDialog,
    annotation_label,
    write_abaw_annotations,
)
from affectstudio.gui.app_settings import AppSettings
from affectstudio.gui.frame_grabber import FrameGrabber
from affectstudio.gui.review_data import ReviewData
from affectstudio.gui.transport import format_time, frame_at
from affectstudio.gui.window_construction import WindowConstruction

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
PLOT_REFRESH_MS = 250


class MainWindow(WindowConstruction, QMainWindow):
    frame_changed = Signal(int)
    results_changed = Signal()  # plots were refreshed with new rows
    analysis_finished = Signal(object)  # AnalysisResult, or None when served from the cache

    def __init__(self, settings: AppSettings | None = None, store: ProjectStore | None = None):
        super().__init__()
        self.setWindowTitle("AffectStudio")
        self.settings = settings or AppSettings()
        self.store = store or ProjectStore(data_dir() / "project.sqlite3")
        self.analysis_settings = self.settings.analysis()
        self.video_path: Path | None = None
        self.video_hash = ""
        self.timestamps = np.zeros(0)
        self.grabber: FrameGrabber | None = None
        self.data: ReviewData | None = None
        self.current_frame = 0
        self.track: int | None = None
        self.track_names: dict[int, str] = {}
        self.marks: list[int | None] = [None, None]  # in and out points of the span being annotated
        self.thresholds = [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS)
        self.errors: list[tuple[str, str]] = []  # every error shown, for the status bar tooltip and tests
        self._dialogs: list[QWidget] = []

        self.controller = AnalysisController(self.store, self)
        self._build_actions()
        self._build_ui()
        self._build_menus()
        self._connect()
        self._restore_layout()
        self.video.setFocus()
        self._play_clock = QElapsedTimer()
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._play_tick)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh_plots)
        self._last_refresh = QElapsedTimer()
        self.controller.load_model(self.analysis_settings)

    def _connect(self) -> None:
        self.timeline.seek_requested.connect(lambda seconds: self.seek(frame_at(self.timestamps, seconds)))
        self.playback.goto_requested.connect(self.seek)
        self.playback.speed_changed.connect(self._speed_changed)
        self.track_box.currentIndexChanged.connect(self._track_chosen)
        c = self.controller
        c.model_ready.connect(self._model_ready)
        c.model_failed.connect(self._model_failed)
        c.started.connect(self._analysis_started)
        c.progress.connect(self._analysis_progress)
        c.rows.connect(self._rows_arrived)
        c.finished.connect(self._analysis_finished)
        c.failed.connect(self._analysis_failed)
        c.not_analysed.connect(
            lambda: self.status_label.setText("Not analysed yet: Analysis > Analyse (Ctrl+R)")
        )

    # opening ------------------------------------------------------------------------------------------
    def choose_video(self) -> None:
        start = str(Path(self.settings.recent_files()[0]).parent) if self.settings.recent_files() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", start, VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path) -> bool:
        """Show the video at once; results follow from the cache or a background analysis."""
        from affectstudio.core.video import VideoReader

        path = Path(path)
        try:
            with VideoReader(path) as reader:
                info, timestamps = reader.info, np.asarray(reader.timestamps, dtype=np.float64)
            video_hash = video_fingerprint(path)
        except (AffectStudioError, ProjectError) as error:
            self.show_error("Cannot open video", str(error))
            return False
        self.pause()
        self._close_video()
        self.video_path, self.video_hash, self.timestamps = path, video_hash, timestamps
        self.info = info
        self.store.remember_video(video_hash, path, info.frame_count, info.fps)
        self.settings.add_recent(path)
        self.setWindowTitle(f"{path.name} — AffectStudio")
        self.data = ReviewData(timestamps)
        if self.controller.loaded is not None:
            self.data.untrained_tasks = list(self.controller.loaded.config.untrained_tasks)
        self.track = None
        self.track_names = self.store.track_names(video_hash)
        self.track_box.clear()
        self.timeline.set_duration(timestamps)
        self.playback.timestamps = timestamps
        self.grabber = FrameGrabber(path, self)
        self.grabber.frame_ready.connect(self._frame_ready)
        self.grabber.failed.connect(lambda message: self.show_error("Cannot decode frame", message))
        self.grabber.start()
        self.video.clear("Decoding…")
        self.marks = [None, None]
        self.refresh_plots()
        self.refresh_annotations()
        self.seek(0)
        self.controller.open_video(path, video_hash)
        return True

    def _close_video(self) -> None:
        self.controller.cancel()
        if self.grabber is not None:
            self.grabber.stop()
            self.grabber.deleteLater()
            self.grabber = None

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for item in self.settings.recent_files():
            self.recent_menu.addAction(item, lambda checked=False, p=item: self.open_video(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # navigation ---------------------------------------------------------------------------------------
    def seek(self, frame: int) -> None:
        if len(self.timestamps) == 0:
            return
        frame = max(0, min(int(frame), len(self.timestamps) - 1))
        self.current_frame = frame
        seconds = float(self.timestamps[frame])
        if self.grabber is not None:
            self.grabber.request(frame)
        self.timeline.set_playhead(seconds)
        self.va_plane.show_frame(self._track_arrays(), frame)
        self.playback.show_position(frame, seconds, len(self.timestamps), self.timeline.duration)
        self.frame_changed.emit(frame)

    def step(self, frames: int) -> None:
        self.pause()
        self.seek(self.current_frame + frames)

    def step_seconds(self, seconds: float) -> None:
        if len(self.timestamps):
            self.pause()
            self.seek(frame_at(self.timestamps, self.timestamps[self.current_frame] + seconds))

    def _frame_ready(self, index: int, image: QImage) -> None:
        self.video.set_frame(index, image)
        self.video.set_faces(self.data.faces_at(index) if self.data else [], self.track_names)

    def _focus_goto(self) -> None:
        self.playback.goto.setFocus()
        self.playback.goto.selectAll()

    def _toggle_boxes(self) -> None:
        self.video.show_boxes = self.act_boxes.isChecked()
        self.settings.set_flag("show_boxes", self.video.show_boxes)
        self.video.update()

    # playback -----------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        elif len(self.timestamps):
            if self.current_frame >= len(self.timestamps) - 1:
                self.seek(0)
            self._play_origin = (self.current_frame, float(self.timestamps[self.current_frame]))
            self._play_clock.start()
            fps = self.info.fps if self.info.fps > 0 else 30.0
            self._play_timer.start(max(4, int(1000 / (fps * self.playback.speed_value) / 2)))
            self.act_play.setText("⏸")

    def pause(self) -> None:
        self._play_timer.stop()
        self.act_play.setText("▶")

    def _speed_changed(self, speed: float) -> None:
        if self.playing:  # restart the clock from here so the speed change does not jump
            self.pause()
            self.toggle_play()

    def _play_tick(self) -> None:
        _, start_time = self._play_origin
        seconds = start_time + self._play_clock.elapsed() / 1000 * self.playback.speed_value
        frame = frame_at(self.timestamps, seconds)
        if frame != self.current_frame:
            self.seek(frame)
            self.timeline.follow(float(self.timestamps[frame]))
        if frame >= len(self.timestamps) - 1:
            self.pause()

    # results ------------------------------------------------------------------------------------------
    def _track_arrays(self):
        if self.data is None or self.track is None:
            return None
        return self.data.tracks.get(self.track)

    def _model_ready(self, loaded) -> None:
        untrained = loaded.config.describe_untrained()
        heads = loaded.config.untrained_tasks
        state = (
            ""
            if not heads
            else "  (untrained)"
            if len(heads) == len(loaded.config.tasks)
            else "  (partly untrained)"
        )
        self.model_label.setText(f"Model: {loaded.name}{state}")
        self.model_label.setToolTip(untrained or "all heads trained")
        self.thresholds = self.settings.au_thresholds(loaded.digest) or list(loaded.config.au_thresholds)
        self.va_plane.thresholds = self.thresholds
        if self.data is not None:
            self.data.untrained_tasks = list(loaded.config.untrained_tasks)
            self.refresh_plots()

    def _model_failed(self, message: str) -> None:
        self.model_label.setText("No model")
        self.show_error("Cannot load the model", message)

    def _analysis_started(self) -> None:
        self._set_busy(True)
        self.status_label.setText("Analysing… (preparing the network and the face detector)")
        self.progress.setRange(0, 0)

    def _analysis_progress(self, progress) -> None:
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        eta = format_time(progress.eta_s)[:-4] if np.isfinite(progress.eta_s) else "?"
        self.status_label.setText(
            f"Analysing: {progress.done}/{progress.total} frames · {progress.fps:.1f} frames/s · {eta} left"
        )

    def _rows_arrived(self, rows) -> None:
        if self.data is None:
            return
        if self.data.add_rows(rows):
            self._fill_tracks()
        # Redraw at once when the last redraw is old enough, else once the interval is up: batches can
        # arrive many times a second and each redraw re-reads every frame of the plots.
        since = self._last_refresh.elapsed() if self._last_refresh.isValid() else PLOT_REFRESH_MS
        if since >= PLOT_REFRESH_MS:
            self.refresh_plots()
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start(PLOT_REFRESH_MS - since)

    def _analysis_finished(self, result) -> None:
        self._set_busy(False)
        if result is None:
            self.status_label.setText("Results loaded from the project cache")
        elif result.cancelled:
            self.status_label.setText(
                f"Analysis cancelled after {result.frames} frames (partial results shown)"
            )
        else:
            self.status_label.setText(
                f"Analysed {result.frames} frames in {result.seconds:.1f} s "
                f"({result.frames_with_face} with a face) on {result.device}"
            )
        self._refresh_timer.stop()
        self.refresh_plots()
        self.analysis_finished.emit(result)

    def _analysis_failed(self, message: str) -> None:
        self._set_busy(False)
        self.status_label.setText("Analysis failed")
        self.show_error("Analysis failed", message)

    def cancel_analysis(self) -> None:
        if self.controller.running:
            self.controller.cancel()
            self._set_busy(False)
            self.status_label.setText("Analysis cancelled (partial results shown)")

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.act_cancel.setEnabled(busy)

    def refresh_plots(self) -> None:
        """Redraw the timelines and VA panel from the current data (rows, track, smoothing, thresholds)."""
        self._last_refresh.start()
        arrays = self._track_arrays()
        untrained = self.data.untrained_tasks if self.data else []
        self.timeline.set_track(arrays, self.analysis_settings.smoothing, self.thresholds, untrained)
        self.va_plane.untrained = untrained
        self.va_plane.thresholds = self.thresholds
        self.va_plane.show_frame(arrays, self.current_frame)
        if self.data is not None and self.grabber is not None:
            self.video.set_faces(self.data.faces_at(self.video.index), self.track_names)
        self.results_changed.emit()

    # tracks -------------------------------------------------------------------------------------------
    def _fill_tracks(self) -> None:
        names = self.track_names = self.store.track_names(self.video_hash)
        keep = self.track
        self.track_box.blockSignals(True)
        self.track_box.clear()
        for track in self.data.track_ids():
            self.track_box.addItem(names.get(track, f"Face #{track}"), track)
        self.track_box.blockSignals(False)
        ids = self.data.track_ids()
        counts = {track: int(np.isfinite(self.data.tracks[track].score).sum()) for track in ids}
        self.track = keep if keep in ids else main_track(counts)
        if self.track is not None:
            self.track_box.setCurrentIndex(ids.index(self.track))
        self.video.selected_track = self.track

    def _track_chosen(self, index: int) -> None:
        if index >= 0:
            self.track = self.track_box.itemData(index)
            self.video.selected_track = self.track
            self.refresh_plots()

    def rename_track(self, name: str | None = None) -> None:
        if self.track is None:
            return
        if not isinstance(name, str):
            current = self.track_box.currentText()
            name, ok = QInputDialog.getText(
                self, "Rename track", f"Name for face track #{self.track}:", text=current
            )
            if not ok:
                return
        self.store.rename_track(self.video_hash, self.track, name)
        self._fill_tracks()
        self.refresh_plots()

    # annotation -------------------------------------------------------------------------------------
    def mark_in(self) -> None:
        self._set_marks(self.current_frame, self.marks[1])

    def mark_out(self) -> None:
        self._set_marks(
            self.marks[0] if self.marks[0] is not None else self.current_frame, self.current_frame
        )

    def _set_marks(self, first: int | None, last: int | None) -> None:
        if self.video_path is None:
            return
        if first is not None and last is not None and last < first:
            first, last = last, first
        self.marks = [first, last]
        stamps = self.timestamps
        self.timeline.set_selection(
            None if first is None else float(stamps[first]), None if last is None else float(stamps[last])
        )

    def annotate(self, values: dict | None = None) -> None:
        """Label the marked span (or the current frame); `values` skips the dialog (scripts, tests)."""
        if self.video_path is None:
            return
        if not isinstance(values, dict):
            first = self.marks[0] if self.marks[0] is not None else self.current_frame
            last = self.marks[1] if self.marks[1] is not None else first
            dialog = AnnotationDialog(first, last, len(self.timestamps), self)
            dialog.accepted.connect(lambda: self.annotate(dialog.values()))
            self._open_dialog(dialog)
            return
        track = self.track if self.track is not None else -1
        self.store.add_annotation(self.video_hash, track, **values)
        self._set_marks(None, None)
        self.refresh_annotations()

    def remove_annotation(self, annotation_id: int) -> None:
        self.store.remove_annotation(annotation_id)
        self.refresh_annotations()

    def refresh_annotations(self) -> None:
        annotations = self.store.annotations(self.video_hash) if self.video_path else []
        stamps = self.timestamps
        step = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 0.0
        self.timeline.set_annotations(
            [
                (float(stamps[a.start_frame]), float(stamps[a.stop_frame]) + step, annotation_label(a))
                for a in annotations
            ]
        )
        self.annotation_list.show_annotations(annotations, stamps)

    def export_annotations(self, path: str | Path | None = None) -> Path | None:
        if self.video_path is None or not self.store.annotations(self.video_hash):
            self.show_error("Nothing to export", "Annotate a span first: [ and ] mark it, A labels it.")
            return None
        if not isinstance(path, (str, Path)):
            start = self.video_path.with_name(f"{self.video_path.stem}_annotations.txt")
            path, _ = QFileDialog.getSaveFileName(self, "Export annotations", str(start), "Text (*.txt)")
            if not path:
                return None
        written = write_abaw_annotations(path, self.video_path.stem, self.store.annotations(self.video_hash))
        self.status_label.setText(f"Wrote annotations to {written}")
        return written

    def export_training_set(self, folder: str | Path | None = None):
        """Crops of the annotated frames plus train/validation CSVs, ready for Settings > Training."""
        from affectstudio.core.dataset_export import export_training_set
        from affectstudio.core.errors import AffectStudioError

        annotations = self.store.annotations(self.video_hash) if self.video_path else []
        if not annotations or self.data is None:
            self.show_error("Nothing to export", "Analyse the video and annotate a span first ([, ], A).")
            return None
        if not isinstance(folder, (str, Path)):
            start = self.video_path.with_name(f"{self.video_path.stem}_training_set")
            folder = QFileDialog.getExistingDirectory(
                self, "Export training set into a new folder", str(start)
            )
            if not folder:
                return None
        boxes = {track: arrays.boxes for track, arrays in self.data.tracks.items()}
        try:
            summary = export_training_set(self.video_path, annotations, boxes, folder)
        except AffectStudioError as error:
            self.show_error("Cannot export the training set", str(error))
            return None
        self.status_label.setText(
            f"Training set in {summary.folder}: {summary.train_frames} train, {summary.validation_frames} "
            f"validation frames ({summary.skipped_no_face} annotated frames without a face skipped)"
        )
        return summary

    # dialogs ------------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """A window-modal message that does not block the event loop (the app keeps running)."""
        self.errors.append((title, message))
        box = QMessageBox(QMessageBox.Icon.Critical, title, message.split("\n\n")[0], parent=self)
        if "\n\n" in message:
            box.setDetailedText(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_settings(self) -> None:
        from affectstudio.gui.settings_dialog import SettingsDialog

        self._open_dialog(SettingsDialog(self))

    def show_export(self) -> None:
        from affectstudio.gui.export_dialog import ExportDialog

        if self.data is None or not len(self.data.rows()):
            self.show_error("Nothing to export", "Open a video and let the analysis produce results first.")
            return
        self._open_dialog(ExportDialog(self))

    def show_shortcuts(self) -> None:
        from affectstudio.gui.shortcuts_sheet import ShortcutsSheet

        self._open_dialog(ShortcutsSheet(self.actions(), self))

    def _open_dialog(self, dialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialogs.append(dialog)  # the open dialogs (tests reach them here)
        dialog.destroyed.connect(lambda: self._dialogs.remove(dialog))
        dialog.open()

    def apply_settings(self, new, thresholds: list[float]) -> None:
        """Re-derive what depends on the changes: re-load the model or re-run only when needed."""
        old = self.analysis_settings
        self.analysis_settings = new
        self.settings.set_analysis(new)
        loaded = self.controller.loaded
        if loaded is not None:
            own = list(loaded.config.au_thresholds)
            self.settings.set_au_thresholds(loaded.digest, None if thresholds == own else thresholds)
        self.thresholds = thresholds
        if new.model != old.model or new.device != old.device:
            if self.data is not None:
                self.data = ReviewData(self.timestamps)
                self.track = None
                self.track_box.clear()
            self.controller.load_model(new)
        elif new.analysis_key() != old.analysis_key() and self.video_path is not None:
            self.data = ReviewData(self.timestamps, untrained_tasks=self.data.untrained_tasks)
            self.controller.settings = new
            self.controller.open_video(self.video_path, self.video_hash)
        else:
            self.controller.settings = new
        self.refresh_plots()

    # persistence --------------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.layout("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 820)
        for key, splitter in (
            ("main_split", self.main_split),
            ("top_split", self.top_split),
            ("side_split", self.side_split),
        ):
            state = self.settings.layout(key)
            if state is not None:
                splitter.restoreState(state)
        state = self.settings.layout("window_state")
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.pause()
        self.settings.set_layout("geometry", self.saveGeometry())
        self.settings.set_layout("window_state", self.saveState())
        self.settings.set_layout("main_split", self.main_split.saveState())
        self.settings.set_layout("top_split", self.top_split.saveState())
        self.settings.set_layout("side_split", self.side_split.saveState())
        self.settings.sync()
        self._close_video()
        self.controller.shutdown()
        self.store.close()
        super().closeEvent(event)
