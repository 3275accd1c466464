"""The Training window: from the project's annotations (or any dataset folder) to a registered model.

A window of its own (Training menu), not a page of the Settings dialog, so that a run can be followed while
reviewing. Choosing a dataset asks `training.propose` what it allows: only the tasks with labels are ticked
(AU is never proposed without AU labels), and the AU-threshold hold-out follows the number of videos. Start
checks the whole configuration in-process first (`training.propose.check_config`, well under a second),
so a mistake shows at once instead of after a child process has started; then the run goes to a child
process (`TrainingRun`) with live curves. When the model is registered, the window offers to re-analyse
the project's videos with it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.bundle import NO_TRAINING, frozen
from affectstudio.core.errors import AffectStudioError
from affectstudio.core.labels import TASKS
from affectstudio.core.model.registry import ModelRegistry
from affectstudio.core.paths import data_dir
from affectstudio.core.wording import plural
from affectstudio.gui.windows.training_plots import TrainingCurves
from affectstudio.gui.windows.training_run import TrainingRun
from training.config import STOCK_INIT, TrainConfig, paper_stages, registry_name
from training.events import Done, EpochEnd, Error, Started, Step, Stopped
from training.propose import Proposal, check_config, propose

TASK_NAMES = {"va": "valence/arousal", "expr": "expression", "au": "action units"}
STAGE1_CHOICES = {
    "classifier + attention heads + GDConv (authors)": "authors",
    "classifier only": "classifier",
}
ERROR_STYLE = "color: #ff6e6e;"  # readable on the dark palette


def _lr_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(7)
    box.setRange(1e-7, 1.0)
    box.setSingleStep(1e-5)
    box.setValue(value)
    return box


def _installed_models() -> list[str]:
    """Installed models one can start from (a broken registry must not break the window)."""
    try:
        return [entry.name for entry in ModelRegistry().list()]
    except AffectStudioError:
        return []


class TrainingWindow(QWidget):
    model_installed = Signal(str)  # registry name of the newly trained model
    event_received = Signal(object)  # every progress event (training.events) of the running process
    run_finished = Signal(str)  # "done", "stopped" or "failed"
    reanalyse_requested = Signal(str)  # model name: re-analyse the project's videos with it

    def __init__(self, export_project: Callable[[], None] | None = None, parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Training — AffectStudio")
        self.export_project = export_project
        self.proposal: Proposal | None = None
        self.run_dir: Path | None = None
        self.trained_model = ""
        self.run = TrainingRun(self)
        self.run.event.connect(self._handle)
        self.run.output.connect(lambda text: self.log.appendPlainText(text))
        self.run.finished.connect(self._finished)
        self._build()
        self.resize(900, 820)

    # --- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        form = QFormLayout()
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText("exported annotations (train.csv, validation.csv), s-Aff-Wild2")
        self.dataset_edit.editingFinished.connect(lambda: self.set_dataset(self.dataset_edit.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.from_project = QPushButton("Export the project's annotations")
        self.from_project.setToolTip("Write the annotated frames of the project into a new dataset folder")
        self.from_project.setEnabled(self.export_project is not None)
        self.from_project.clicked.connect(self._export_project)
        row = QHBoxLayout()
        row.addWidget(self.dataset_edit, 1)
        row.addWidget(browse)
        row.addWidget(self.from_project)
        form.addRow("Dataset", row)
        self.summary = QLabel("Choose a dataset.")
        self.summary.setWordWrap(True)
        form.addRow("", self.summary)
        tasks_row = QHBoxLayout()
        self.task_boxes = {task: QCheckBox(TASK_NAMES[task]) for task in TASKS}
        for box in self.task_boxes.values():
            tasks_row.addWidget(box)
        tasks_row.addStretch(1)
        form.addRow("Tasks", tasks_row)
        self.curation = QComboBox()
        self.curation.addItems(["strict", "masked"])
        self.curation.setToolTip("strict: the paper's rule (drop frames missing any label); masked: keep all")
        form.addRow("Curation", self.curation)
        self.holdout = QDoubleSpinBox()
        self.holdout.setRange(0.0, 0.5)
        self.holdout.setSingleStep(0.05)
        self.holdout.setToolTip(
            "Share of the training data held out to tune the AU thresholds: whole videos when there are "
            "several, else the last part of the one video. 0: thresholds stay at 0.5."
        )
        form.addRow("AU-threshold hold-out", self.holdout)
        self.init_model = QComboBox()
        self.init_model.setEditable(True)
        installed = _installed_models()
        self.init_model.addItems(list(dict.fromkeys([*installed, STOCK_INIT, "none"])))
        self.init_model.setCurrentText(STOCK_INIT if STOCK_INIT in installed else (installed or ["none"])[0])
        form.addRow("Start from", self.init_model)
        self.stage1 = QComboBox()
        self.stage1.addItems(list(STAGE1_CHOICES))
        form.addRow("Stage 1 trains", self.stage1)
        stages = paper_stages()
        self.epochs = [QSpinBox(), QSpinBox()]
        self.lrs = [_lr_box(stages[0].lr), _lr_box(stages[1].lr)]
        recipe = QHBoxLayout()
        labels = ("Stage 1 (backbone frozen)", "Stage 2 (all)")
        for i, (label, stage) in enumerate(zip(labels, stages, strict=True)):
            self.epochs[i].setRange(0, 1000)
            self.epochs[i].setValue(stage.epochs)
            self.epochs[i].setSuffix(" epochs")
            recipe.addWidget(QLabel(label))
            recipe.addWidget(self.epochs[i])
            recipe.addWidget(self.lrs[i])
        form.addRow("Recipe", recipe)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(2, 1024)
        self.batch_size.setValue(TrainConfig().batch_size)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        row = QHBoxLayout()
        row.addWidget(self.batch_size)
        row.addWidget(QLabel("Device"))
        row.addWidget(self.device)
        row.addStretch(1)
        form.addRow("Batch size", row)
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("name in the model list (default: from the date)")
        form.addRow("Model name", self.model_name)

        self.check_label = QLabel("")
        self.check_label.setWordWrap(True)
        self.check_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(lambda: self.start())
        if frozen():  # the desktop bundle cannot train: say so up front (affectstudio/core/bundle.py)
            self.start_button.setEnabled(False)
            self.start_button.setToolTip(NO_TRAINING)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.reanalyse_button = QPushButton("Re-analyse the project's videos with it")
        self.reanalyse_button.setVisible(False)
        self.reanalyse_button.clicked.connect(lambda: self.reanalyse_requested.emit(self.trained_model))
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.reanalyse_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.progress = QProgressBar()
        self.status = QLabel(NO_TRAINING if frozen() else "Not running.")
        self.status.setWordWrap(True)
        self.curves = TrainingCurves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(110)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.check_label)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.log)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.dataset_edit.text())
        if folder:
            self.set_dataset(folder)

    def _export_project(self) -> None:
        """Ask the review window to export the project; it calls `set_dataset` when the folder is ready."""
        if self.export_project is not None:
            self.export_project()

    # --- dataset and config ------------------------------------------------------------------------
    def set_dataset(self, folder: str | Path) -> Proposal | None:
        """Read the dataset's labels and propose tasks, curation and hold-out (< 1 s, no subprocess)."""
        self.dataset_edit.setText(str(folder))
        self.proposal = None
        self.check_label.setText("")
        try:
            proposal = propose(folder)
        except AffectStudioError as error:
            self.summary.setText(str(error))
            self.summary.setStyleSheet(ERROR_STYLE)
            return None
        self.proposal = proposal
        self.summary.setStyleSheet("")
        lines = [
            f"{split}: {plural(c['frames'], 'frame')} in {plural(proposal.videos[split], 'video')} — "
            "labelled: " + ", ".join(f"{TASK_NAMES[t]} {c[t]}" for t in TASKS)
            for split, c in proposal.counts.items()
        ]
        self.summary.setText(f"{proposal.kind}. " + "; ".join(lines) + ".\n" + "\n".join(proposal.notes))
        for task, box in self.task_boxes.items():
            box.setChecked(task in proposal.tasks)
            box.setEnabled(task in proposal.tasks)
        self.curation.setCurrentText(proposal.curation)
        self.holdout.setValue(proposal.threshold_holdout)
        return proposal

    def build_config(self, run_dir: Path) -> TrainConfig:
        """The run's config from the widgets: the paper's recipe with the proposal and the user's edits."""
        config = TrainConfig(stages=paper_stages(STAGE1_CHOICES[self.stage1.currentText()]))
        config.tasks = [task for task, box in self.task_boxes.items() if box.isChecked()]
        config.data.root = self.dataset_edit.text().strip()
        config.data.curation = self.curation.currentText()
        config.data.threshold_holdout = self.holdout.value()
        config.init = self.init_model.currentText().strip() or "none"
        if config.init == "none":  # random weights: the from-scratch recipe's augmentation and BatchNorm
            scratch = TrainConfig.from_scratch()
            config.augmentation = scratch.augmentation
            config.recalibrate_batchnorm = scratch.recalibrate_batchnorm
        config.batch_size = self.batch_size.value()
        config.device = self.device.currentText()
        config.output = str(run_dir)
        config.name = registry_name(self.model_name.text().strip() or run_dir.name)
        for stage, epochs, lr in zip(config.stages, self.epochs, self.lrs, strict=True):
            stage.epochs, stage.lr = epochs.value(), lr.value()
        return config

    def check(self, overrides: dict | None = None) -> TrainConfig | None:
        """The config if it passes the trainer's own checks, else None with the error shown."""
        root = self.dataset_edit.text().strip()
        if self.proposal is None or str(self.proposal.root) != root:
            self.set_dataset(root)  # a dataset typed but not yet read
        config = self.build_config(Path(data_dir()) / "training-runs" / "unstarted")
        try:
            if self.proposal is None:
                propose(root)  # raises the dataset's own error
            for key, value in (overrides or {}).items():  # top-level entries (scripts, tests)
                setattr(config, key, value)
            check_config(config)
        except AffectStudioError as error:
            self.check_label.setStyleSheet(ERROR_STYLE)
            self.check_label.setText(f"Cannot start: {error}")
            return None
        self.check_label.setStyleSheet("")
        self.check_label.setText("Configuration checked.")
        return config

    # --- running -----------------------------------------------------------------------------------
    def start(self, overrides: dict | None = None) -> bool:
        """Check the config; if it passes, write it into a new run folder and start the child process."""
        if frozen() or self.run.is_running() or self.check(overrides) is None:
            return False
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = registry_name(self.model_name.text().strip() or f"trained-{stamp}")
        self.run_dir = data_dir() / "training-runs" / f"{name}-{stamp}"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        values = {**self.build_config(self.run_dir).to_dict(), "name": name, **(overrides or {})}
        config_path = self.run_dir / "config.json"
        config_path.write_text(json.dumps(values, indent=2), encoding="utf-8")
        self.curves.clear()
        self.log.clear()
        self.progress.setValue(0)
        self.trained_model = ""
        self.reanalyse_button.setVisible(False)
        self.run.start(config_path)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Starting… (run folder {self.run_dir})")
        return True

    def is_running(self) -> bool:
        return self.run.is_running()

    def cancel(self) -> None:
        if self.run.is_running():
            self.status.setText("Stopping after the current step…")
            self.run.cancel()

    def shutdown(self) -> None:
        self.run.kill()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def _handle(self, event) -> None:
        """Show one typed event (training/events.py) of the running child."""
        if isinstance(event, Started):
            self.progress.setRange(0, max(event.total_steps, 1))
            self.progress.setValue(event.resumed_at_step)
            self.status.setText(
                f"Training on {event.device}: {plural(event.train_frames, 'frame')}, "
                f"{event.validation_frames} for validation"
            )
            for warning in event.warnings:
                self.log.appendPlainText(f"warning: {warning}")
        elif isinstance(event, Step):
            self.curves.add_step(event.global_step, event.loss)
            self.progress.setValue(event.global_step)
            eta = dt.timedelta(seconds=int(event.eta_s))
            self.status.setText(
                f"{event.stage}: epoch {event.epoch}, step {event.step}/{event.steps} · "
                f"loss {event.loss:.3f} · {event.images_per_s:.1f} images/s · ETA {eta}"
            )
        elif isinstance(event, EpochEnd):
            self.curves.add_epoch(event.epoch, event.metrics.get("P", float("nan")))
            self.log.appendPlainText(event.to_text())
        elif isinstance(event, Done):
            metrics = event.metrics
            self.trained_model = event.model_name or ""
            self.status.setText(
                f"Done: validation P {metrics['threshold_0.5']['P']:.3f} (AU thresholds 0.5), "
                f"{metrics['threshold_tuned']['P']:.3f} (tuned). Installed as {self.trained_model}; it is "
                "not the default model: re-analyse with it below, or make it the default in Models."
            )
            if self.trained_model:
                self.reanalyse_button.setVisible(True)
                self.model_installed.emit(self.trained_model)
        elif isinstance(event, Stopped):
            self.status.setText(
                f"Stopped; resume with: python -m training {self.run_dir / 'config.json'} --resume"
            )
        elif isinstance(event, Error):
            self.status.setText(f"Error: {event.message}")
        self.event_received.emit(event)

    def _finished(self, outcome: str, exit_code: int) -> None:
        if outcome == "failed" and not self.status.text().startswith("Error"):
            self.status.setText(f"Training failed (exit code {exit_code}); see the log below.")
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.run_finished.emit(outcome)
