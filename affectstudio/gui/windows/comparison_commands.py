"""Comparing and filling in the review window: in/out marks ([ and ]), Fill lanes from model, the
Statistics of selection and Agreement docks, and imported overlays (File > Import overlay) drawn beside
the model's traces. The numbers and edits are core's (predictions, stats, agreement, overlays); these
methods choose the range and the sources and hand the results to the views.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.wording import plural
from affectstudio.gui.windows.agreement import AgreementPanel
from affectstudio.gui.windows.overlays import OverlayTraces
from affectstudio.gui.windows.statistics import StatisticsPanel

OVERLAY_FILTER = "Per-frame CSV or tab-separated (*.csv *.tsv *.txt);;All files (*)"
PANELS_DELAY_MS = 300


class ComparisonCommands:
    marks: list[int | None]  # in and out points of the range to fill or measure

    def _build_comparison_actions(self) -> None:
        act = self._action
        self.marks = [None, None]
        self.act_mark_in = act("Mark in point", self.mark_in, "[", "Start of the range to fill or measure")
        self.act_mark_out = act("Mark out point", self.mark_out, "]", "End of the range to fill or measure")
        self.act_clear_marks = act("Clear marks", lambda: self._set_marks(None, None), "Ctrl+[")
        self.act_fill = act(
            "&Fill lanes from model…", lambda: self.fill_from_model(), "Ctrl+Shift+F", "Over the marked range"
        )
        self.act_import_overlay = act(
            "Import &overlay…", lambda: self.import_overlay(), None, "OpenFace, py-feat or any frame/time CSV"
        )
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

    def _install_comparison(self) -> None:
        self._panels_timer = QTimer(self)
        self._panels_timer.setSingleShot(True)
        self._panels_timer.timeout.connect(self._refresh_panels)
        session = self.session
        for signal in (
            session.lanes_changed,
            session.results_changed,
            session.overlays_changed,
            session.track_changed,
            session.thresholds_changed,
        ):
            signal.connect(self._schedule_panels)
        session.video_changed.connect(lambda: self._set_marks(None, None))
        self.overlay_traces = OverlayTraces(self.timeline)
        session.video_changed.connect(self._load_overlays)
        session.overlays_changed.connect(self._draw_overlays)

    # marks --------------------------------------------------------------------------------------------
    def mark_in(self) -> None:
        self._set_marks(self.current_frame, self.marks[1])

    def mark_out(self) -> None:
        first = self.marks[0] if self.marks[0] is not None else self.current_frame
        self._set_marks(first, self.current_frame)

    def _set_marks(self, first: int | None, last: int | None) -> None:
        """The range Fill and Statistics work on, shown as the timeline's selection."""
        if self.session.video is None:
            first = last = None
        if first is not None and last is not None and last < first:
            first, last = last, first
        self.marks = [first, last]
        stamps = self.timestamps
        self.timeline.set_selection(
            None if first is None else float(stamps[first]), None if last is None else float(stamps[last])
        )
        self._schedule_panels()

    # panels -------------------------------------------------------------------------------------------
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
        self.status_label.setText(
            f"Filled {plural(len(lanes), 'lane')} over frames {start}–{stop} from the model"
        )
        return True

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
            f"{plural(len(overlay.frame), 'row')}" + (f"; dropped {dropped}" if dropped else "")
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
