"""Span annotation in the main window: in/out marks, the annotation dialog, the list, ABAW export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from affectstudio.core.errors import AffectStudioError
from affectstudio.gui.annotations import AnnotationDialog, annotation_label, write_abaw_annotations


class WindowAnnotation:
    def _connect_annotation(self) -> None:
        self.marks: list[int | None] = [None, None]  # in and out points of the span being annotated
        self.session.video_changed.connect(self._annotation_video_changed)

    def _annotation_video_changed(self) -> None:
        self.marks = [None, None]
        self.timeline.set_selection(None, None)
        self.refresh_annotations()

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
        try:
            self.store.add_annotation(self.video_hash, track, **values)
        except AffectStudioError as error:
            self.show_error("Cannot annotate", str(error))
            return
        self._set_marks(None, None)
        self.refresh_annotations()

    def remove_annotation(self, annotation_id: int) -> None:
        self.store.remove_annotation(annotation_id, self.video_hash)
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
        """Crops of the annotated frames plus train/validation CSVs, ready for the Training window."""
        from affectstudio.core.dataset_export import VideoLabels, export_dataset

        lanes = self.store.lanes(self.video_hash) if self.video_path else []
        if not lanes or self.data is None:
            self.show_error("Nothing to export", "Analyse the video and annotate a span first ([, ], A).")
            return None
        if not isinstance(folder, (str, Path)):
            start = self.video_path.with_name(f"{self.video_path.stem}_training_set")
            folder = QFileDialog.getExistingDirectory(
                self, "Export training set into a new folder", str(start)
            )
            if not folder:
                return None
        video = VideoLabels(
            self.video_hash,
            self.video_path.stem,
            self.video_path,
            lanes,
            self.data.rows(),
            len(self.timestamps),
        )
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
