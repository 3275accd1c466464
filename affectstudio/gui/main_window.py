"""The review window: a view of a `ReviewSession` (video, VA plane, timelines, lanes around one playhead).

The window holds no review state. Everything it shows comes from `self.session` (core/session.py): it
subscribes to the session's signals and renders; user gestures call session methods (`seek`,
`select_track`, lane edits), exactly as the CLI and the undo stack do. What remains here is what only a
window has: the frame grabber, the playback clock, dialogs, and the analysis controller's status display.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QWidget

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.paths import data_dir
from affectstudio.core.project import ProjectError, ProjectStore
from affectstudio.core.session import ReviewSession
from affectstudio.core.settings import Settings, analysis_key
from affectstudio.gui.analysis_controller import AnalysisController
from affectstudio.gui.analysis_status import AnalysisStatus
from affectstudio.gui.frame_grabber import FrameGrabber
from affectstudio.gui.track_palette import track_icon, track_label
from affectstudio.gui.transport import frame_at
from affectstudio.gui.window_construction import WindowConstruction
from affectstudio.gui.window_lanes import WindowLanes
from affectstudio.gui.window_tracks import WindowTracks
from affectstudio.gui.windows.main_menus import WindowsMenus

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
PLOT_REFRESH_MS = 250
SPLITTERS = ("main_split", "top_split", "side_split", "plot_split")


class MainWindow(WindowsMenus, WindowTracks, WindowConstruction, AnalysisStatus, WindowLanes, QMainWindow):
    frame_changed = Signal(int)
    results_changed = Signal()  # plots were refreshed with new rows
    analysis_finished = Signal(object)  # AnalysisResult, or None when served from the cache

    def __init__(self, settings: Settings | None = None, store: ProjectStore | None = None):
        super().__init__()
        self.setWindowTitle("AffectStudio")
        self.settings = settings or Settings.load()
        store = store or ProjectStore(data_dir() / "project.sqlite3")
        self.session = ReviewSession(store, smoothing=self.settings.display.smoothing)
        self.grabber: FrameGrabber | None = None
        self.errors: list[tuple[str, str]] = []  # every error shown, for the status bar tooltip and tests
        self._dialogs: list[QWidget] = []
        self.controller = AnalysisController(store, self.settings, self)
        self._build_actions()
        self._build_track_actions()
        self._build_ui()
        self._build_windows_actions()
        self._build_menus()
        self._install_windows_ui()
        self._install_tracks_ui()
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
        for problem in self.settings.problems:
            self.status_label.setText(f"Settings: {problem}")
        self.controller.load_model()

    def _connect(self) -> None:
        s = self.session
        s.video_changed.connect(self._video_changed)
        s.frame_changed.connect(self._show_frame)
        s.tracks_changed.connect(self._fill_tracks)
        s.track_changed.connect(self._track_changed)
        s.results_changed.connect(self._schedule_refresh)
        s.thresholds_changed.connect(lambda _: self.refresh_plots())
        s.smoothing_changed.connect(lambda _: self.refresh_plots())
        self.timeline.seek_requested.connect(lambda seconds: self.seek(frame_at(self.timestamps, seconds)))
        self.playback.goto_requested.connect(self.seek)
        self.playback.speed_changed.connect(self._speed_changed)
        self.track_box.currentIndexChanged.connect(self._track_chosen)
        self._connect_controller()
        self._connect_lanes()

    # the session's state, read-only (views and tests read it here) -------------------------------------
    store = property(lambda self: self.session.store)
    data = property(lambda self: self.session.data)
    timestamps = property(lambda self: self.session.timestamps)
    current_frame = property(lambda self: self.session.frame)
    track = property(lambda self: self.session.track)
    track_names = property(lambda self: self.session.track_names)
    thresholds = property(lambda self: self.session.thresholds)
    video_path = property(lambda self: self.session.video.path if self.session.video else None)
    video_hash = property(lambda self: self.session.video.hash if self.session.video else "")

    # opening ------------------------------------------------------------------------------------------
    def choose_video(self) -> None:
        recent = self.settings.recent.files
        start = str(Path(recent[0]).parent) if recent else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", start, VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path) -> bool:
        """Show the video at once; results follow from the cache or a background analysis."""
        self._start_wait()
        self.pause()
        try:
            video = self.session.open_video(path)
        except (AffectStudioError, ProjectError) as error:
            self.show_error("Cannot open video", str(error))
            if not Path(path).exists():
                self._drop_missing_recent([str(Path(path).resolve())])
            return False
        self.settings.add_recent_file(video.path)
        self.settings.save()
        self.controller.open_video(video.path, video.hash)
        if self.controller.loaded is None and self.settings.auto_analyse:
            self._waiting_for_model()
        return True

    def _video_changed(self) -> None:
        """A new video (or none): rebuild what depends on it; the session already holds its state."""
        self.controller.cancel()
        if self.grabber is not None:
            self.grabber.stop()
            self.grabber.deleteLater()
            self.grabber = None
        video = self.session.video
        self.setWindowTitle(f"{video.path.name} — AffectStudio" if video else "AffectStudio")
        self.track_box.clear()
        if video is None:
            return
        if self.controller.loaded is not None:
            self.session.set_untrained(list(self.controller.loaded.config.untrained_tasks))
        self.timeline.set_duration(video.timestamps)
        self.playback.timestamps = video.timestamps
        self.grabber = FrameGrabber(video.path, self)
        self.grabber.frame_ready.connect(self._frame_ready)
        self.grabber.preview_ready.connect(self._preview_ready)
        self.grabber.failed.connect(lambda message: self.show_error("Cannot decode frame", message))
        self.grabber.start()
        if self.settings.display.scrub_proxy:
            self.grabber.make_proxy(video.hash)
        self.video.clear("Decoding…")
        self.refresh_plots()

    def _fill_recent(self) -> None:
        self._drop_missing_recent([item for item in self.settings.recent.files if not Path(item).exists()])
        self.recent_menu.clear()
        for item in self.settings.recent.files:
            self.recent_menu.addAction(item, lambda checked=False, p=item: self.open_video(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _drop_missing_recent(self, missing: list[str]) -> None:
        """Forget recent files that no longer exist, and say so (they would only fail to open)."""
        if not missing:
            return
        self.settings.recent.files = [item for item in self.settings.recent.files if item not in missing]
        self.settings.save()
        names = ", ".join(Path(item).name for item in missing)
        self.status_label.setText(f"Removed from Open recent (file no longer exists): {names}")

    # navigation ---------------------------------------------------------------------------------------
    def seek(self, frame: int) -> None:
        self.session.seek(frame)

    def _show_frame(self, frame: int) -> None:
        seconds = float(self.timestamps[frame])
        if self.grabber is not None:
            self.grabber.request(frame)
        self.timeline.set_playhead(seconds)
        self.timeline.follow(seconds)  # a step, jump or Go to past the view's edge pages the view along
        self.va_plane.show_frame(self.session.track_arrays(), frame)
        self.playback.show_position(frame, seconds, len(self.timestamps), self.timeline.duration)
        self.frame_changed.emit(frame)

    def step(self, frames: int) -> None:
        self.pause()
        self.seek(self.current_frame + frames)

    def step_seconds(self, seconds: float) -> None:
        if len(self.timestamps):
            self.pause()
            self.seek(frame_at(self.timestamps, self.timestamps[self.current_frame] + seconds))

    def _frame_ready(self, index: int, image: QImage, exact: bool = True) -> None:
        self.video.set_frame(index, image, exact)
        self.video.set_faces(self.data.faces_at(index) if self.data else [], self.track_names)

    def _preview_ready(self, index: int, image: QImage) -> None:
        if index == self.current_frame:  # a preview of a frame the playhead has left would flicker
            self._frame_ready(index, image, exact=False)

    def _focus_goto(self) -> None:
        self.playback.goto.setFocus()
        self.playback.goto.selectAll()

    def _toggle_boxes(self) -> None:
        self.video.show_boxes = self.settings.display.show_boxes = self.act_boxes.isChecked()
        self.settings.save()
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
            fps = self.session.video.fps if self.session.video.fps > 0 else 30.0
            self._play_timer.start(max(4, int(1000 / (fps * self.playback.speed_value) / 2)))
            self.act_play.setText("&Pause")
            self.act_play.setIconText("⏸")
            self._start_pass()  # a VA recording pass runs while the video plays

    def pause(self) -> None:
        self._play_timer.stop()
        self.act_play.setText("&Play")
        self.act_play.setIconText("▶")
        self._end_pass()

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
    def _schedule_refresh(self) -> None:
        # Redraw at once when the last redraw is old enough, else once the interval is up: batches can
        # arrive many times a second and each redraw re-reads every frame of the plots.
        since = self._last_refresh.elapsed() if self._last_refresh.isValid() else PLOT_REFRESH_MS
        if since >= PLOT_REFRESH_MS:
            self.refresh_plots()
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start(PLOT_REFRESH_MS - since)

    def refresh_plots(self) -> None:
        """Redraw the timelines and VA panel from the session (rows, track, smoothing, thresholds)."""
        self._last_refresh.start()
        arrays = self.session.track_arrays()
        untrained = self.data.untrained_tasks if self.data else []
        self.timeline.set_track(arrays, self.session.smoothing, self.thresholds, untrained)
        self.va_plane.untrained = untrained
        self.va_plane.thresholds = self.thresholds
        self.va_plane.show_frame(arrays, self.current_frame)
        if self.data is not None and self.grabber is not None:
            self.video.set_faces(self.data.faces_at(self.video.index), self.track_names)
        self.results_changed.emit()

    # tracks -------------------------------------------------------------------------------------------
    def _fill_tracks(self) -> None:
        self.track_box.blockSignals(True)
        self.track_box.clear()
        ids = self.data.track_ids() if self.data else []
        for track in ids:
            self.track_box.addItem(track_icon(track), track_label(track, self.track_names), track)
        if self.track in ids:
            self.track_box.setCurrentIndex(ids.index(self.track))
        self.track_box.blockSignals(False)
        if self.data is not None and self.grabber is not None:
            self.video.set_faces(self.data.faces_at(self.video.index), self.track_names)

    def _track_chosen(self, index: int) -> None:
        if index >= 0:
            self.session.select_track(self.track_box.itemData(index))

    def _track_changed(self, track) -> None:
        ids = self.data.track_ids() if self.data else []
        if track in ids and self.track_box.currentIndex() != ids.index(track):
            self.track_box.setCurrentIndex(ids.index(track))
        self.video.selected_track = track
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
        self.session.rename_track(self.track, name)

    # dialogs ------------------------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """A window-modal message that does not block the event loop; details (traceback, log) on request."""
        from affectstudio.gui.errors import error_box

        self.errors.append((title, message))
        self.error_box = error_box(self, title, message)

    def settings_dialog(self):
        """A Settings dialog on the session and settings, wired to apply here."""
        from affectstudio.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.session, self.controller.loaded, self)
        dialog.applied.connect(self.apply_settings)
        dialog.error.connect(self.show_error)
        dialog.models_requested.connect(self.show_models)
        return dialog

    def show_settings(self) -> None:
        self._open_dialog(self.settings_dialog())

    def show_export(self) -> None:
        from affectstudio.gui.export_dialog import ExportDialog

        if self.data is None or not len(self.data.rows()):
            self.show_error("Nothing to export", "Open a video and let the analysis produce results first.")
            return
        self._open_dialog(ExportDialog(self.session, self.timeline, self.controller.loaded, self))

    def show_shortcuts(self) -> None:
        from affectstudio.gui.shortcuts_sheet import ShortcutsSheet

        self._open_dialog(ShortcutsSheet(self.actions(), self))

    def _open_dialog(self, dialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialogs.append(dialog)  # the open dialogs (tests reach them here)
        dialog.destroyed.connect(lambda: self._dialogs.remove(dialog))
        dialog.finished.connect(lambda _result: self._take_back_focus())
        dialog.open()

    def _take_back_focus(self) -> None:
        """After a dialog: this window active and the video focused, so the arrow keys step frames again
        (left to Qt, focus went to the first focusable widget: the Jump box, which eats the arrows)."""
        self.activateWindow()
        self.video.setFocus(Qt.FocusReason.OtherFocusReason)

    def apply_settings(self, new: Settings, thresholds: list[float]) -> None:
        """Take the dialog's settings; re-load the model or re-run only when what they change needs it."""
        old = self.settings.analysis
        self.settings.analysis, self.settings.auto_analyse = new.analysis, new.auto_analyse
        self.settings.display.smoothing = new.display.smoothing
        self.settings.display.scrub_proxy = new.display.scrub_proxy  # from the next video opened
        self.settings.coding_keys = new.coding_keys
        self.set_coding_keys()
        loaded = self.controller.loaded
        if loaded is not None:
            own = list(loaded.config.au_thresholds)
            self.settings.set_thresholds_for(loaded.digest, None if thresholds == own else thresholds)
        self.settings.save()
        self.session.set_thresholds(thresholds)
        self.session.set_smoothing(new.display.smoothing)
        if new.analysis.model != old.model or new.analysis.device != old.device:
            self.session.reset_results([])
            self.controller.load_model()
        elif analysis_key(new.analysis) != analysis_key(old) and self.session.video is not None:
            self.session.reset_results()
            self.controller.open_video(self.video_path, self.video_hash)
        self.refresh_plots()

    # persistence --------------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        state = self.settings.layout_state("geometry")
        if state is None or not self.restoreGeometry(QByteArray(state)):
            screen = self.screen().availableGeometry()
            self.resize(min(1400, screen.width()), min(1000, screen.height()))
        for key in SPLITTERS:
            state = self.settings.layout_state(key)
            if state is not None:
                getattr(self, key).restoreState(QByteArray(state))
        state = self.settings.layout_state("window_state")
        if state is not None:
            self.restoreState(QByteArray(state))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.pause()
        self.session.finish_coding()
        self.settings.set_layout_state("geometry", self.saveGeometry().data())
        self.settings.set_layout_state("window_state", self.saveState().data())
        for key in SPLITTERS:
            self.settings.set_layout_state(key, getattr(self, key).saveState().data())
        self.settings.save()
        self.session.close_video()
        self._close_windows()
        self.controller.shutdown()
        self.store.close()
        super().closeEvent(event)
