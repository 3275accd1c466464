"""The Settings dialog's Training page: configure a run, launch it as a separate process, follow it live.

Training runs in its own process (`python -m training CONFIG --progress json`), so a crash or a long run
never freezes or takes down the app, and the run can be resumed from the command line. The process prints
one JSON event per line; the page draws the training loss per step and the validation P per epoch, and
when the run ends the new model is in the registry (`model_installed` carries its name).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QProcess, QProcessEnvironment, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
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
from training.config import STOCK_INIT, TrainConfig, paper_stages, registry_name
from training.data import is_affwild_folder

# The folder holding the `training` package, put on the child's PYTHONPATH.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
STAGE1_CHOICES = {
    "classifier + attention heads + GDConv (authors)": "authors",
    "classifier only": "classifier",
}
CANCEL_GRACE_MS = 30_000


def _lr_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(7)
    box.setRange(1e-7, 1.0)
    box.setSingleStep(1e-5)
    box.setValue(value)
    return box


class TrainingPage(QWidget):
    """Dataset, curation, recipe (paper defaults), device; start/cancel; live loss and validation-P curves."""

    model_installed = Signal(str)  # registry name of the newly trained model
    event_received = Signal(dict)  # every progress event of the running process
    run_finished = Signal(str)  # "done", "stopped" or "failed"

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self.run_dir: Path | None = None
        self._buffer = b""
        self._outcome = ""
        self._loss: tuple[list[float], list[float]] = ([], [])
        self._val_p: tuple[list[float], list[float]] = ([], [])
        self._build()

    # --- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        defaults = TrainConfig()
        form = QFormLayout()
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setPlaceholderText(
            "s-Aff-Wild2 folder, or exported annotations (train.csv, validation.csv)"
        )
        self.dataset_edit.textChanged.connect(self._describe_dataset)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.dataset_edit, 1)
        row.addWidget(browse)
        form.addRow("Dataset folder", row)
        self.dataset_kind = QLabel("")
        form.addRow("", self.dataset_kind)
        self.curation = QComboBox()
        self.curation.addItems(["strict", "masked"])
        self.curation.setToolTip(
            "strict: the paper's rule (drop frames with any invalid label); masked: keep all"
        )
        form.addRow("Curation", self.curation)
        tasks_row = QHBoxLayout()
        self.task_boxes = {task: QCheckBox(task) for task in TASKS}
        for box in self.task_boxes.values():
            box.setChecked(True)
            tasks_row.addWidget(box)
        form.addRow("Tasks", tasks_row)
        self.init_model = QComboBox()
        self.init_model.setEditable(True)
        self.init_model.addItems([STOCK_INIT, "none", *self._installed_models()])
        form.addRow("Start from", self.init_model)
        self.stage1 = QComboBox()
        self.stage1.addItems(list(STAGE1_CHOICES))
        form.addRow("Stage 1 trains", self.stage1)
        stages = paper_stages()
        self.epochs = [QSpinBox(), QSpinBox()]
        self.lrs = [_lr_box(stages[0].lr), _lr_box(stages[1].lr)]
        for box, stage in zip(self.epochs, stages, strict=True):
            box.setRange(0, 1000)
            box.setValue(stage.epochs)
        grid = QGridLayout()
        for column, text in enumerate(("", "epochs", "learning rate")):
            grid.addWidget(QLabel(text), 0, column)
        for i, text in enumerate(("Stage 1 (backbone frozen)", "Stage 2 (all layers)")):
            grid.addWidget(QLabel(text), i + 1, 0)
            grid.addWidget(self.epochs[i], i + 1, 1)
            grid.addWidget(self.lrs[i], i + 1, 2)
        form.addRow("Recipe", grid)
        self.attention_weight = QDoubleSpinBox()
        self.attention_weight.setRange(0.0, 10.0)
        self.attention_weight.setSingleStep(0.05)
        self.attention_weight.setValue(stages[1].attention_weight)
        form.addRow("Stage 2 attention-loss weight", self.attention_weight)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(2, 1024)
        self.batch_size.setValue(defaults.batch_size)
        form.addRow("Batch size", self.batch_size)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        form.addRow("Device", self.device)
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("name in the model list (default: from the date)")
        form.addRow("Model name", self.model_name)

        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start)
        if frozen():  # the desktop bundle cannot train: say so up front (affectstudio/core/bundle.py)
            self.start_button.setEnabled(False)
            self.start_button.setToolTip(NO_TRAINING)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        self.progress = QProgressBar()
        self.status = QLabel(NO_TRAINING if frozen() else "Not running.")
        self.status.setWordWrap(True)

        self.loss_plot = pg.PlotWidget(title="training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#1f77b4", width=1))
        self.p_plot = pg.PlotWidget(title="validation P")
        self.p_plot.setLabel("bottom", "epoch")
        self.p_curve = self.p_plot.plot(pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=6)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.p_plot)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setMaximumHeight(120)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(plots, 1)
        layout.addWidget(self.log)

    @staticmethod
    def _installed_models() -> list[str]:
        """Installed models one can fine-tune further (a broken registry must not break the page)."""
        try:
            return [entry.name for entry in ModelRegistry().list() if entry.name != STOCK_INIT]
        except AffectStudioError:
            return []

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dataset folder", self.dataset_edit.text())
        if folder:
            self.dataset_edit.setText(folder)

    def _describe_dataset(self, text: str) -> None:
        folder = Path(text)
        if not text or not folder.is_dir():
            self.dataset_kind.setText("folder not found" if text else "")
        elif is_affwild_folder(folder):
            self.dataset_kind.setText("s-Aff-Wild2 layout (annotation files + cropped_aligned/)")
        elif (folder / "train.csv").is_file():
            self.dataset_kind.setText("exported annotations (train.csv / validation.csv)")
        else:
            self.dataset_kind.setText("no s-Aff-Wild2 annotation files or train.csv in this folder")

    # --- config and process ------------------------------------------------------------------------
    def build_config(self, run_dir: Path) -> dict:
        """The run's config from the widgets: the paper's recipe with the user's edits."""
        config = TrainConfig(stages=paper_stages(STAGE1_CHOICES[self.stage1.currentText()]))
        config.tasks = [task for task, box in self.task_boxes.items() if box.isChecked()]
        config.data.root = self.dataset_edit.text().strip()
        config.data.curation = self.curation.currentText()
        config.init = self.init_model.currentText().strip() or "none"
        config.batch_size = self.batch_size.value()
        config.device = self.device.currentText()
        config.output = str(run_dir)
        config.name = self.model_name.text().strip() or run_dir.name
        for stage, epochs, lr in zip(config.stages, self.epochs, self.lrs, strict=True):
            stage.epochs, stage.lr = epochs.value(), lr.value()
        config.stages[1].attention_weight = self.attention_weight.value()
        return config.to_dict()

    def start(self, overrides: dict | None = None) -> None:
        """Write the config into a new run folder and launch `python -m training` on it."""
        if self.is_running() or frozen():
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = registry_name(self.model_name.text().strip() or f"trained-{stamp}")
        self.run_dir = data_dir() / "training-runs" / f"{name}-{stamp}"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config = self.build_config(self.run_dir)
        config["name"] = name
        config.update(overrides or {})
        config_path = self.run_dir / "config.json"
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        self._reset_plots()
        self._outcome = ""
        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        for key, value in os.environ.items():  # including changes made after start-up
            env.insert(key, value)
        env.insert(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        )
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.setWorkingDirectory(str(self.run_dir))
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.start(sys.executable, ["-m", "training", str(config_path), "--progress", "json"])
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(f"Starting… (run folder {self.run_dir})")

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Ask the run to stop at the next step (it saves its state; resumable with --resume)."""
        if not self.is_running():
            return
        self.status.setText("Stopping after the current step…")
        self.process.terminate()
        # The process is the timer's context: if it is deleted first (page closed), the timer dies with it.
        QTimer.singleShot(CANCEL_GRACE_MS, self.process, self.process.kill)

    def shutdown(self) -> None:
        """Stop a running process (the dialog or app is closing)."""
        if self.is_running():
            self.process.terminate()
            if not self.process.waitForFinished(5000):
                self.process.kill()
                self.process.waitForFinished(2000)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    # --- events ------------------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if isinstance(event, dict) and "event" in event:
                self._handle(event)
            elif line:
                self.log.appendPlainText(line)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").rstrip()
        if text:
            self.log.appendPlainText(text)

    def _handle(self, event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            self.progress.setRange(0, max(event["total_steps"], 1))
            self.progress.setValue(event["resumed_at_step"])
            self.status.setText(
                f"Training on {event['device']}: {event['train_frames']} frames, "
                f"{event['validation_frames']} for validation"
            )
        elif kind == "step":
            self._loss[0].append(event["global_step"])
            self._loss[1].append(event["loss"])
            self.loss_curve.setData(*self._loss)
            self.progress.setValue(event["global_step"])
            eta = dt.timedelta(seconds=int(event["eta_s"]))
            self.status.setText(
                f"{event['stage']}: epoch {event['epoch']}, step {event['step']}/{event['steps']} · "
                f"loss {event['loss']:.3f} · {event['images_per_s']:.1f} images/s · ETA {eta}"
            )
        elif kind == "epoch":
            self._val_p[0].append(event["epoch"])
            self._val_p[1].append(event["val_P"])
            self.p_curve.setData(*self._val_p)
            self.log.appendPlainText(f"epoch {event['epoch']}: validation P {event['val_P']:.4f}")
        elif kind == "done":
            self._outcome = "done"
            metrics = event["metrics"]
            self.status.setText(
                f"Done: validation P {metrics['threshold_0.5']['P']:.3f} (AU thresholds 0.5), "
                f"{metrics['threshold_tuned']['P']:.3f} (tuned). Installed as {event['model_name']}."
            )
            if event.get("model_name"):
                self.model_installed.emit(event["model_name"])
        elif kind == "stopped":
            self._outcome = "stopped"
            self.status.setText(
                f"Stopped; resume with: python -m training {self.run_dir / 'config.json'} --resume"
            )
        elif kind == "error":
            self._outcome = "failed"
            self.status.setText(f"Error: {event['message']}")
        self.event_received.emit(event)

    def _finished(self, exit_code: int, _status) -> None:
        self._read_stdout()
        outcome = self._outcome or "failed"
        if outcome == "failed" and not self.status.text().startswith("Error"):
            self.status.setText(f"Training failed (exit code {exit_code}); see the log below.")
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.run_finished.emit(outcome)

    def _reset_plots(self) -> None:
        self._loss = ([], [])
        self._val_p = ([], [])
        self.loss_curve.setData([], [])
        self.p_curve.setData([], [])
        self.log.clear()
        self.progress.setValue(0)
