"""The main window's side of the analysis: model and progress in the status bar, rows into the session.

`AnalysisController` finds results (cache or a background run); this mixin only shows what it reports
and hands the rows to the session, whose `results_changed` makes the views redraw.
"""

from __future__ import annotations

import time

import numpy as np

from affectstudio.core.wording import plural
from affectstudio.gui.transport import format_time


class AnalysisStatus:
    def _connect_controller(self) -> None:
        c = self.controller
        c.model_ready.connect(self._model_ready)
        c.model_failed.connect(self._model_failed)
        c.started.connect(self._analysis_started)
        c.progress.connect(self._analysis_progress)
        c.serving.connect(self.session.use_analysis)
        c.rows.connect(self.session.add_rows)
        c.finished.connect(self._analysis_finished)
        c.failed.connect(self._analysis_failed)
        c.not_analysed.connect(
            lambda: self.status_label.setText("Not analysed yet: Analysis > Analyse (Ctrl+R)")
        )

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
        self.get_weights_button.setVisible(bool(heads))
        own = list(loaded.config.au_thresholds)
        self.session.set_thresholds(self.settings.thresholds_for(loaded.digest) or own)
        self.session.set_untrained(list(loaded.config.untrained_tasks))
        self.refresh_plots()

    def _model_failed(self, message: str) -> None:
        self.model_label.setText("No model")
        if not self.controller.running:
            self._set_busy(False)
            self.status_label.setText("No model: nothing can be analysed")
        self.show_error("Cannot load the model", message)

    _wait_started: float | None = None  # when the user started waiting for results (Open, Analyse)

    def _start_wait(self) -> None:
        self._wait_started = time.monotonic()

    def _analysis_started(self) -> None:
        if self._wait_started is None:  # Analyse (Ctrl+R) on an open video: the wait starts now
            self._start_wait()
        self._set_busy(True)
        self.status_label.setText("Analysing… preparing: video, face detector")
        self.progress.setRange(0, 0)

    def _waiting_for_model(self) -> None:
        """A video is open but the network is not loaded yet (the first start imports PyTorch)."""
        self._set_busy(True)
        self.progress.setRange(0, 0)
        self.status_label.setText("Preparing: the network (loading PyTorch and the model)…")

    def _analysis_progress(self, progress) -> None:
        if progress.done == 0:  # the video is open; the first frames' faces are on their way
            self.status_label.setText(f"Analysing… preparing: {progress.preparing}")
            return
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        eta = format_time(progress.eta_s)[:-4] if np.isfinite(progress.eta_s) else "?"
        background = f" · preparing: {progress.preparing}" if progress.preparing else ""
        self.status_label.setText(
            f"Analysing: {progress.done}/{plural(progress.total, 'frame')} · {progress.fps:.1f} frames/s · "
            f"{eta} left{background}"
        )

    def _analysis_finished(self, result) -> None:
        self._set_busy(False)
        if result is None:
            self.status_label.setText("Results loaded from the project cache")
        elif result.cancelled:
            self.status_label.setText(
                f"Analysis cancelled after {plural(result.frames, 'frame')} (partial results shown)"
            )
        else:
            # The whole wait the user saw (opening, loading the model and detector, analysing), not only
            # the analysis loop's time, which can be a third of it on a first run.
            started = self._wait_started
            waited = max(result.seconds, time.monotonic() - started) if started else result.seconds
            self.status_label.setText(
                f"Analysed {plural(result.frames, 'frame')} in {waited:.1f} s "
                f"(analysis {result.seconds:.1f} s, preparation {waited - result.seconds:.1f} s; "
                f"{result.frames_with_face} with a face) "
                f"on {result.device}, {result.backend}"
            )
        self._wait_started = None
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
            self._wait_started = None
            self._set_busy(False)
            self.status_label.setText("Analysis cancelled (partial results shown)")

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.act_cancel.setEnabled(busy)
