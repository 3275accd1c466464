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
from PySide6.QtGui import QAction, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD
from affectstudio.core.paths import data_dir
from affectstudio.core.project import ProjectError, ProjectStore, video_fingerprint
from affectstudio.gui.analysis_controller import AnalysisController
from affectstudio.gui.annotations import (
    AnnotationDialog,
    AnnotationList,
    annotation_label,
    write_abaw_annotations,
)
from affectstudio.gui.app_settings import AppSettings
from affectstudio.gui.frame_grabber import FrameGrabber
from affectstudio.gui.review_data import ReviewData
from affectstudio.gui.timeline import TimelinePanel
from affectstudio.gui.transport import PlaybackBar, format_time, frame_at
from affectstudio.gui.va_plane import VAPlane
from affectstudio.gui.video_view import VideoView

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
PLOT_REFRESH_MS = 250


class MainWindow(QMainWindow):
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

    # construction -------------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(
            f"{tip or text} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        )
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        step = self.step
        self.act_open = self._action("&Open video…", self.choose_video, QKeySequence.StandardKey.Open)
        self.act_export = self._action("&Export…", self.show_export, "Ctrl+E")
        self.act_settings = self._action("&Settings…", self.show_settings, "Ctrl+,")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_play = self._action("▶", self.toggle_play, "Space", "Play / pause")
        self.act_back = self._action("◀|", lambda: step(-1), "Left", "One frame back")
        self.act_forward = self._action("|▶", lambda: step(1), "Right", "One frame forward")
        self.act_back_s = self._action(
            "◀◀ 1s", lambda: self.step_seconds(-1), "Shift+Left", "One second back"
        )
        self.act_forward_s = self._action(
            "1s ▶▶", lambda: self.step_seconds(1), "Shift+Right", "One second on"
        )
        self.act_jump_back = self._action(
            "−N", lambda: step(-self.playback.jump.value()), "PgUp", "Jump back"
        )
        self.act_jump = self._action("+N", lambda: step(self.playback.jump.value()), "PgDown", "Jump forward")
        self.act_home = self._action("First frame", lambda: self.seek(0), "Home")
        self.act_end = self._action("Last frame", lambda: self.seek(len(self.timestamps) - 1), "End")
        self.act_faster = self._action("Faster", lambda: self.playback.change_speed(1), "Up")
        self.act_slower = self._action("Slower", lambda: self.playback.change_speed(-1), "Down")
        self.act_goto = self._action("Go to frame/time…", self._focus_goto, "Ctrl+G")
        self.act_zoom_in = self._action("Zoom in", lambda: self.timeline.zoom(0.5), ["Ctrl+=", "Ctrl++"])
        self.act_zoom_out = self._action("Zoom out", lambda: self.timeline.zoom(2.0), "Ctrl+-")
        self.act_zoom_all = self._action("Show whole video", lambda: self.timeline.show_all(), "Ctrl+0")
        self.act_pan_left = self._action("Pan left", lambda: self.timeline.pan(-0.25), "Alt+Left")
        self.act_pan_right = self._action("Pan right", lambda: self.timeline.pan(0.25), "Alt+Right")
        self.act_boxes = self._action("Face boxes", self._toggle_boxes, "B")
        self.act_boxes.setCheckable(True)
        self.act_boxes.setChecked(self.settings.flag("show_boxes", True))
        self.act_reanalyse = self._action("Analyse", self.controller.reanalyse, "Ctrl+R")
        self.act_cancel = self._action("Cancel analysis", self.cancel_analysis, "Esc")
        self.act_shortcuts = self._action("Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_rename = self._action("Rename track…", self.rename_track, "F2")
        self.act_mark_in = self._action("Mark in point", self.mark_in, "[", "Start of the span to annotate")
        self.act_mark_out = self._action("Mark out point", self.mark_out, "]", "End of the span to annotate")
        self.act_annotate = self._action("Annotate span…", self.annotate, "A", "Label the marked span")
        self.act_export_annotations = self._action("Export annotations (ABAW)…", self.export_annotations)

    def _build_ui(self) -> None:
        self.video = VideoView()
        self.video.show_boxes = self.act_boxes.isChecked()
        self.va_plane = VAPlane()
        self.annotation_list = AnnotationList()
        self.annotation_list.seek_requested.connect(self.seek)
        self.annotation_list.remove_requested.connect(self.remove_annotation)
        self.side_split = QSplitter(Qt.Orientation.Vertical)
        self.side_split.addWidget(self.va_plane)
        self.side_split.addWidget(self.annotation_list)
        self.side_split.setStretchFactor(0, 3)
        self.side_split.setStretchFactor(1, 2)
        self.side_split.setSizes([300, 160])
        self.annotation_list.list.setMinimumHeight(60)
        self.timeline = TimelinePanel()
        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(self.video)
        self.top_split.addWidget(self.side_split)
        self.top_split.setStretchFactor(0, 3)
        self.top_split.setStretchFactor(1, 1)
        self.main_split = QSplitter(Qt.Orientation.Vertical)
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.timeline)
        self.main_split.setStretchFactor(0, 1)
        self.main_split.setStretchFactor(1, 1)
        self.main_split.setSizes([380, 420])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        self.playback = PlaybackBar(
            [
                self.act_play,
                None,
                self.act_jump_back,
                self.act_back_s,
                self.act_back,
                self.act_forward,
                self.act_forward_s,
                self.act_jump,
            ]
        )
        layout.addWidget(self.playback)
        layout.addWidget(self.main_split, 1)
        self.setCentralWidget(central)

        toolbar = QToolBar("Tracks")
        toolbar.setObjectName("tracks")
        toolbar.addWidget(QLabel(" Face track "))
        self.track_box = QComboBox()
        self.track_box.setMinimumWidth(140)
        self.track_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        toolbar.addWidget(self.track_box)
        toolbar.addAction(self.act_rename)
        toolbar.addSeparator()
        toolbar.addAction(self.act_boxes)
        toolbar.addSeparator()
        toolbar.addAction(self.act_export)
        toolbar.addAction(self.act_settings)
        self.addToolBar(toolbar)

        status = self.statusBar()
        self.model_label = QLabel("Loading model…")
        self.status_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        status.addWidget(self.status_label, 1)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        status.addPermanentWidget(self.model_label)
        self._set_busy(False)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addAction(self.act_export)
        file_menu.addAction(self.act_export_annotations)
        file_menu.addSeparator()
        file_menu.addAction(self.act_settings)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        play = menu.addMenu("&Playback")
        for action in (
            self.act_play,
            self.act_back,
            self.act_forward,
            self.act_back_s,
            self.act_forward_s,
            self.act_jump_back,
            self.act_jump,
            self.act_home,
            self.act_end,
            self.act_faster,
            self.act_slower,
            self.act_goto,
        ):
            play.addAction(action)
        view = menu.addMenu("&View")
        for action in (
            self.act_boxes,
            self.act_rename,
            self.act_zoom_in,
            self.act_zoom_out,
            self.act_zoom_all,
            self.act_pan_left,
            self.act_pan_right,
        ):
            view.addAction(action)
        annotate = menu.addMenu("A&nnotate")
        for action in (self.act_mark_in, self.act_mark_out, self.act_annotate, self.act_export_annotations):
            annotate.addAction(action)
        analysis = menu.addMenu("&Analysis")
        analysis.addAction(self.act_reanalyse)
        analysis.addAction(self.act_cancel)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)

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
        self.model_label.setText(f"Model: {loaded.name}" + ("  (partly untrained)" if untrained else ""))
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
        self.status_label.setText("Analysing… (loading face detector)")
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
        self.track = keep if keep in ids else (ids[0] if ids else None)
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
