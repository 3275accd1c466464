"""The main window's annotation commands: key coding, segment edits, undo/redo, VA recording.

Each is a QAction (so it has a shortcut, a menu entry and a line in the F1 sheet) calling a session method;
the lanes view redraws from the session's `lanes_changed`. Labels belong to a face track: the session picks
the face present at the playhead, and when it cannot tell (several faces, none selected) the window asks.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from affectstudio.core.annotations.abaw import write_abaw_annotations
from affectstudio.core.annotations.lanes import LaneKey, Segment
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.core.session import AmbiguousTrack
from affectstudio.gui.views.segment_dialog import SegmentDialog


class WindowLanes:
    def _build_lane_actions(self) -> None:
        keys = self.settings.coding_keys
        self.coding_actions = []
        for key, expression in zip(keys.expression, EXPRESSIONS, strict=True):
            self.coding_actions.append(
                self._action(
                    f"Code {expression}",
                    lambda checked=False, e=expression: self.code_expression(e),
                    key,
                    f"{expression} from the playhead (closes the open expression segment)",
                )
            )
        for key, au in zip(keys.au, ACTION_UNITS, strict=True):
            self.coding_actions.append(
                self._action(
                    f"Toggle {au}", lambda checked=False, a=au: self.toggle_au(a), key, f"{au} on/off"
                )
            )
        self.act_finish = self._action("Close open segments", self.finish_coding, "C", "End key coding here")
        self.act_undo = self._action("Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.act_redo = self._action("Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.act_split = self._action("Split segment at playhead", self.split_at_playhead, "S")
        self.act_merge = self._action("Merge with next segment", self.merge_selected, "M")
        self.act_delete = self._action("Delete segment…", self.delete_selected, "Del")
        self.act_edit = self._action("Edit segment…", self.edit_selected, "Ctrl+Return")
        self.act_record_va = self._action(
            "Record VA", self._record_toggled, "V", "Record valence/arousal from the mouse on the VA plane"
        )
        self.act_record_va.setCheckable(True)
        self.act_annotator = self._action("Annotator name…", self.choose_annotator)
        self.act_export_annotations = self._action("Export annotations (ABAW)…", self.export_annotations)
        self.act_export_training_set = self._action(
            "Export training set…",
            self.export_training_set,
            None,
            "Face crops + labels for the Training page",
        )
        for action in (self.act_undo, self.act_redo):
            action.setEnabled(False)

    def set_coding_keys(self) -> None:
        """Re-bind the coding actions to the settings' keys (after the Settings dialog changed them)."""
        keys = [*self.settings.coding_keys.expression, *self.settings.coding_keys.au]
        for action, key in zip(self.coding_actions, keys, strict=True):
            action.setShortcut(QKeySequence(key))
        self.coding_help.setText(self._coding_help())

    def _connect_lanes(self) -> None:
        self.lanes.seek_requested.connect(lambda seconds: self.seek(self.lanes.frame_at(seconds)))
        self.lanes.create_requested.connect(lambda key, a, b: self.edit_segment(key, Segment(a, b)))
        self.lanes.edit_requested.connect(self.edit_segment)
        self.lanes.edit_failed.connect(self.show_error)
        self.session.undo_changed.connect(self._undo_changed)
        self.session.frame_changed.connect(self._record_frame)

    # key coding ---------------------------------------------------------------------------------------
    def code_expression(self, value: str) -> None:
        self._code(lambda track: self.session.code_expression(value, track))

    def toggle_au(self, name: str) -> None:
        self._code(lambda track: self.session.toggle_au(name, track))

    def finish_coding(self) -> None:
        self._edit(self.session.finish_coding)

    def _code(self, do) -> None:
        if self.session.video is None:
            return
        try:
            do(None)
        except AmbiguousTrack as ambiguous:
            track = self.ask_track(ambiguous)
            if track is not None:
                self._edit(lambda: do(track))
        except AffectStudioError as error:
            self.show_error("Cannot code", str(error))

    def ask_track(self, ambiguous: AmbiguousTrack) -> int | None:
        """Which face a label is for, when the session cannot tell (never guessed)."""
        names = [self.track_names.get(t, f"Face #{t}") for t in ambiguous.tracks]
        name, ok = QInputDialog.getItem(
            self,
            "Which face?",
            f"Several faces at frame {ambiguous.frame}: label which one?",
            names,
            0,
            False,
        )
        return ambiguous.tracks[names.index(name)] if ok else None

    def choose_annotator(self, name: str | None = None) -> None:
        if not isinstance(name, str):
            name, ok = QInputDialog.getText(self, "Annotator", "Code as:", text=self.session.annotator)
            if not ok:
                return
        if name.strip():
            self.session.finish_coding()
            self.session.annotator = name.strip()
            self.lanes.rebuild()

    # segment edits ------------------------------------------------------------------------------------
    def _edit(self, do) -> bool:
        try:
            do()
        except AffectStudioError as error:
            self.show_error("Cannot edit the lane", str(error))
            return False
        return True

    def undo(self) -> None:
        self.session.finish_coding()
        self._edit(self.session.undo.undo)

    def redo(self) -> None:
        self._edit(self.session.undo.redo)

    def _undo_changed(self) -> None:
        stack = self.session.undo
        self.act_undo.setEnabled(stack.can_undo)
        self.act_redo.setEnabled(stack.can_redo)
        self.act_undo.setText(f"Undo {stack.undo_label()}" if stack.can_undo else "Undo")
        self.act_redo.setText(f"Redo {stack.redo_label()}" if stack.can_redo else "Redo")

    def _target_lane(self) -> LaneKey:
        """The selected segment's lane, else the current annotator's expression row at the playhead for the
        shown face (its any-face lane when that is the one with a segment there)."""
        chosen = self.lanes.selected_segment()
        if chosen:
            return chosen[0]
        return self.session.shown_lane_at("expression", self.lanes.track, self.current_frame)

    def split_at_playhead(self) -> None:
        if self.session.video is not None:
            self._edit(lambda: self.session.split_segment(self._target_lane(), self.current_frame))

    def merge_selected(self) -> None:
        chosen = self.lanes.selected_segment()
        if chosen is None:
            self.status_label.setText("Select a segment first (click it), then M merges it with the next")
            return
        self._edit(lambda: self.session.merge_with_next(chosen[0], chosen[1].id))

    def delete_selected(self) -> None:
        chosen = self.lanes.selected_segment()
        if chosen is None:
            return
        key, segment = chosen
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete segment",
            f"Delete the {key.name} segment {segment.start}–{segment.stop} ({segment.value or ''})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(_result) -> None:
            yes = box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)
            if yes and self._edit(lambda: self.session.remove_segment(key, segment.id)):
                self.lanes.select(None)

        box.finished.connect(answered)
        self._open_dialog(box)

    def edit_selected(self) -> None:
        chosen = self.lanes.selected_segment()
        if chosen is not None:
            self.edit_segment(*chosen)

    def edit_segment(self, key: LaneKey, segment: Segment) -> None:
        """The segment dialog; a segment without id is new (drag-created or an event double-click)."""
        dialog = SegmentDialog(key, segment, len(self.timestamps), self)

        def accepted() -> None:
            new = dialog.result_segment()
            if segment.id is None:
                self._edit(lambda: self.lanes.select(key, self.session.add_segment(key, new).id))
            else:
                fields = {f: getattr(new, f) for f in ("start", "stop", "value", "note")}
                self._edit(lambda: self.session.change_segment(key, segment.id, **fields))

        dialog.accepted.connect(accepted)
        self._open_dialog(dialog)

    # VA recording -------------------------------------------------------------------------------------
    def _record_toggled(self) -> None:
        on = self.act_record_va.isChecked()
        self.va_plane.set_recording(on)
        if on and self.playing:
            self._start_pass()
        elif not on:
            self._end_pass()
        self.status_label.setText(
            "Recording VA: play the video and move the mouse on the VA plane" if on else ""
        )

    def _start_pass(self) -> None:
        if self.act_record_va.isChecked() and self.session.recording is None:
            self._code(lambda track: self.session.start_va_recording(track))

    def _end_pass(self) -> None:
        if self.session.recording is not None:
            self._edit(self.session.stop_va_recording)
            self.lanes.show_recording(None)

    def _record_frame(self, frame: int) -> None:
        if self.session.recording is not None and self.playing and self.va_plane.pointer is not None:
            self.session.record_va(*self.va_plane.pointer, frame)
            self.lanes.show_recording(self.session.recording)

    # export (the store's span view of the lanes) ------------------------------------------------------
    def export_annotations(self, path: str | Path | None = None) -> Path | None:
        if self.video_path is None or not self.store.annotations(self.video_hash):
            self.show_error("Nothing to export", "Code an expression or valence/arousal in the lanes first.")
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
        """Crops of the labelled frames of this video's lanes plus train/validation CSVs, for Training."""
        from affectstudio.core.dataset_export import VideoLabels, export_dataset

        lanes = self.store.lanes(self.video_hash) if self.video_path else []
        if not lanes or self.data is None:
            self.show_error("Nothing to export", "Analyse the video and code some frames in the lanes first.")
            return None
        if not isinstance(folder, (str, Path)):
            start = self.video_path.with_name(f"{self.video_path.stem}_training_set")
            folder = QFileDialog.getExistingDirectory(
                self, "Export training set into a new folder", str(start)
            )
            if not folder:
                return None
        rows, frames = self.data.rows(), len(self.timestamps)
        video = VideoLabels(self.video_hash, self.video_path.stem, self.video_path, lanes, rows, frames)
        try:
            summary = export_dataset(folder, [video], fmt="csv")
        except AffectStudioError as error:
            self.show_error("Cannot export the training set", str(error))
            return None
        self.status_label.setText(
            f"Training set in {summary.folder}: {summary.train_frames} train, {summary.validation_frames} "
            f"validation frames ({summary.skipped_no_face} annotated frames without a face skipped)"
        )
        return summary
