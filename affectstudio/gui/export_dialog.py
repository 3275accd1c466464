"""Export: per-frame CSV (tracks, raw/smoothed, frame or time range), the plots as PNG/SVG, a summary PDF.

Every `export_*` method takes an optional path (the dialog asks for one when it is not given), writes
through `core.paths.atomic_path` (all or nothing) and returns the path written.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
)

from affectstudio.core.figures import figure_title
from affectstudio.core.paths import atomic_path
from affectstudio.core.report import figure_png, trace_figure
from affectstudio.core.results import smooth
from affectstudio.core.wording import plural
from affectstudio.gui.export_data import export_table, summarize, summary_html, trace_page_html
from affectstudio.gui.figure_export import showing, write_png, write_svg
from affectstudio.gui.transport import frame_at

TRACES_IMAGE = "traces.png"


class ExportDialog(QDialog):
    """Exports of the session's results; `timeline` is the plot panel rendered by `export_plots`."""

    def __init__(self, session, timeline, loaded=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.session, self.timeline, self.loaded = session, timeline, loaded
        window = session
        frames = len(session.timestamps)
        self.stem = session.video.path.stem if session.video else "affect"

        csv_box = QGroupBox("Per-frame CSV")
        grid = QGridLayout(csv_box)
        self.all_tracks = QRadioButton("All face tracks")
        self.selected_track = QRadioButton(f"Selected track only ({self._track_name() or 'none'})")
        self.selected_track.setEnabled(window.track is not None)
        self.all_tracks.setChecked(True)
        self._group(self.all_tracks, self.selected_track)
        grid.addWidget(self.all_tracks, 0, 0)
        grid.addWidget(self.selected_track, 0, 1, 1, 3)
        self.raw = QRadioButton("Raw values")
        self.smoothed = QRadioButton(f"Smoothed ({plural(window.smoothing, 'frame')})")
        self.raw.setChecked(True)
        self._group(self.raw, self.smoothed)
        grid.addWidget(self.raw, 1, 0)
        grid.addWidget(self.smoothed, 1, 1, 1, 3)
        self.by_frame = QRadioButton("Frames")
        self.by_time = QRadioButton("Time (s)")
        self.by_frame.setChecked(True)
        self._group(self.by_frame, self.by_time)
        self.first_frame, self.last_frame = QSpinBox(), QSpinBox()
        for box, value in ((self.first_frame, 0), (self.last_frame, frames - 1)):
            box.setRange(0, max(0, frames - 1))
            box.setValue(value)
        duration = timeline.duration
        self.first_time, self.last_time = QDoubleSpinBox(), QDoubleSpinBox()
        for box, value in ((self.first_time, 0.0), (self.last_time, duration)):
            box.setRange(0.0, duration)
            box.setDecimals(3)
            box.setValue(value)
        grid.addWidget(self.by_frame, 2, 0)
        grid.addWidget(self.first_frame, 2, 1)
        grid.addWidget(QLabel("to"), 2, 2)
        grid.addWidget(self.last_frame, 2, 3)
        grid.addWidget(self.by_time, 3, 0)
        grid.addWidget(self.first_time, 3, 1)
        grid.addWidget(QLabel("to"), 3, 2)
        grid.addWidget(self.last_time, 3, 3)
        for box in (self.first_time, self.last_time):
            box.setEnabled(False)
        self.by_time.toggled.connect(self._range_kind_changed)
        csv_button = QPushButton("Export CSV…")
        csv_button.clicked.connect(lambda: self.export_csv())
        grid.addWidget(csv_button, 4, 3)

        plots_box = QGroupBox("Plots and summary")
        row = QHBoxLayout(plots_box)
        for text, slot in (
            ("Timelines as PNG…", lambda: self.export_plots(suffix=".png")),
            ("Timelines as SVG…", lambda: self.export_plots(suffix=".svg")),
            ("One-page summary (PDF)…", lambda: self.export_summary()),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            row.addWidget(button)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(csv_box)
        layout.addWidget(plots_box)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _range_kind_changed(self, by_time: bool) -> None:
        for box in (self.first_time, self.last_time):
            box.setEnabled(by_time)
        for box in (self.first_frame, self.last_frame):
            box.setEnabled(not by_time)

    def _group(self, *buttons: QRadioButton) -> None:
        group = QButtonGroup(self)
        for button in buttons:
            group.addButton(button)

    def _ask(self, title: str, suffix: str, filter_: str) -> Path | None:
        start = (
            self.session.video.path.parent if self.session.video else Path.home()
        ) / f"{self.stem}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, title, str(start), filter_)
        return Path(path) if path else None

    def frame_range(self) -> tuple[int, int]:
        if self.by_frame.isChecked():
            first, last = self.first_frame.value(), self.last_frame.value()
        else:
            stamps = self.session.timestamps
            first, last = frame_at(stamps, self.first_time.value()), frame_at(stamps, self.last_time.value())
        return min(first, last), max(first, last)

    def _track_name(self) -> str:
        track = self.session.track
        return "" if track is None else self.session.track_names.get(track, f"Face #{track}")

    def _metadata(self) -> dict:
        window = self.session
        loaded = self.loaded
        return {
            "video": str(window.video.path) if window.video else None,
            "model": loaded.name if loaded else None,
            "model_digest": loaded.digest if loaded else None,
            "untrained_tasks": list(window.data.untrained_tasks),
            "au_thresholds": list(window.thresholds),
            "exported_by": "affectstudio gui",
        }

    # exports ------------------------------------------------------------------------------------------
    def export_csv(self, path: str | Path | None = None) -> Path | None:
        path = Path(path) if path else self._ask("Export CSV", ".csv", "CSV (*.csv)")
        if path is None:
            return None
        window = self.session
        first, last = self.frame_range()
        table = export_table(
            window.data.rows(),
            window.thresholds,
            track=window.track if self.selected_track.isChecked() else None,
            first=first,
            last=last,
            smoothing=window.smoothing if self.smoothed.isChecked() else 1,
            metadata=self._metadata(),
        )
        table.to_csv(path)  # atomic inside ResultTable
        self.message.setText(f"Wrote {plural(len(table), 'row')} to {path}")
        return path

    def plot_title(self, start: float, stop: float) -> str:
        """The title line of an exported figure (video, track, model, time range, untrained heads)."""
        window = self.session
        return figure_title(
            window.video.path if window.video else None,
            self._track_name() or None,
            self.loaded.name if self.loaded else None,
            start,
            stop,
            list(window.data.untrained_tasks),
        )

    def time_range(self) -> tuple[float, float]:
        """The seconds that `frame_range` covers: from its first frame's start to its last frame's end."""
        first, last = self.frame_range()
        stamps = self.session.timestamps
        stop = float(stamps[last + 1]) if last + 1 < len(stamps) else self.timeline.duration
        return float(stamps[first]), stop

    def export_plots(self, path: str | Path | None = None, suffix: str = ".png") -> Path | None:
        """The timelines over the dialog's range (as the PDF and CSV), with a title line and no playhead."""
        if path is None:
            kind = suffix.lstrip(".").upper()
            path = self._ask(f"Export timelines as {kind}", suffix, f"{kind} (*{suffix})")
            if path is None:
                return None
        path = Path(path)
        with showing(self.timeline, *self.time_range()) as (start, stop), atomic_path(path) as partial:
            title = self.plot_title(max(0.0, start), min(self.timeline.duration, stop))
            if path.suffix.lower() == ".svg":
                write_svg(self.timeline, title, partial)
            else:
                write_png(self.timeline, title, partial)
        self.message.setText(f"Wrote {path}")
        return path

    def export_summary(self, path: str | Path | None = None) -> Path | None:
        """Page 1: the figures (time shares, means, rates); page 2: the traces over time (core.report)."""
        path = Path(path) if path else self._ask("Export summary", "-summary.pdf", "PDF (*.pdf)")
        if path is None:
            return None
        window = self.session
        arrays = window.data.tracks.get(window.track)
        if arrays is None:
            self.message.setText("No face track to summarise.")
            return None
        first, last = self.frame_range()
        span = slice(first, last + 1)
        stamps = window.timestamps
        seconds = float(stamps[last] - stamps[first]) if last > first else 0.0
        summary = summarize(arrays.va[span], arrays.expr[span], arrays.au[span], window.thresholds, seconds)
        title = self.plot_title(float(stamps[first]), float(stamps[last])) + f" · frames {first}–{last}"
        untrained = list(window.data.untrained_tasks)
        va = smooth(arrays.va[span], window.smoothing)
        figure = trace_figure(
            stamps[span], va, arrays.expr[span], arrays.au[span], title, untrained, size=(7.5, 9.0)
        )
        traces = QImage.fromData(figure_png(figure, dpi=150), "PNG")
        with atomic_path(path) as partial:
            writer = QPdfWriter(str(partial))
            writer.setPageLayout(
                QPageLayout(
                    QPageSize(QPageSize.PageSizeId.A4),
                    QPageLayout.Orientation.Portrait,
                    QMarginsF(15, 15, 15, 15),
                )
            )
            document = QTextDocument()
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(TRACES_IMAGE), traces)
            note = (
                f"Valence/arousal smoothed over {plural(window.smoothing, 'frame')}."
                if window.smoothing > 1
                else ""
            )
            html = summary_html(summary, title, untrained, window.data.summary().text())
            document.setHtml(html + trace_page_html(TRACES_IMAGE, note))
            document.print_(writer)
            del writer  # finishes the file
        self.message.setText(f"Wrote {path}")
        return path
