"""Settings: model (choose, import through the registry), analysis options, display, AU thresholds.

Training has a window of its own (Training menu, gui/windows/training.py).

Nothing takes effect until OK/Apply; then `applied(settings, thresholds)` lets the window decide what must be
redone (a new model re-loads and re-analyses; new thresholds only re-derive activations; smoothing only
redraws).
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.labels import ACTION_UNITS, DEFAULT_AU_THRESHOLD, EXPRESSIONS
from affectstudio.core.settings import RESERVED_KEYS, CodingKeys, Settings, coding_keys_problem
from affectstudio.gui.analysis_controller import forget_loaded_models

DEVICES = ("auto", "cpu", "cuda", "mps")
CHECKPOINT_FILTER = "Checkpoints (*.pt *.pth *.pth.tar *.ckpt);;All files (*)"


def _default_name() -> str:
    from affectstudio.core.model.registry import ModelRegistry

    try:
        return ModelRegistry().default_name() or "untrained"
    except AffectStudioError:
        return "unreadable registry settings"


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `applied(settings, thresholds)` hands it over on OK/Apply."""

    applied = Signal(object, list)  # Settings, AU thresholds
    error = Signal(str, str)  # title, message
    models_requested = Signal()  # open the Models window (download, remove, set default)

    def __init__(self, settings: Settings, session, loaded=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.loaded = loaded
        self.pages = QListWidget()
        self.pages.setMaximumWidth(150)
        self.pages.setSpacing(3)
        self.stack = QStackedWidget()
        self.pages.currentRowChanged.connect(self.stack.setCurrentIndex)
        self._add_page("Model", self._model_page(settings.analysis.model or ""))
        self._add_page("Analysis", self._analysis_page(settings))
        self._add_page("Display", self._display_page(settings))
        self._add_page("AU thresholds", self._thresholds_page(session.thresholds))
        self._add_page("Coding keys", self._keys_page(settings))
        self.pages.setCurrentRow(0)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        body = QHBoxLayout()
        body.addWidget(self.pages)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(buttons)
        self.resize(760, 560)

    def _add_page(self, title: str, page: QWidget) -> None:
        self.pages.addItem(QListWidgetItem(title))
        self.stack.addWidget(page)

    # pages --------------------------------------------------------------------------------------------
    def _model_page(self, model: str) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Installed models (the selected one is used for analysis):"))
        self.models = QListWidget()
        self.models.currentItemChanged.connect(self._describe_model)
        layout.addWidget(self.models, 1)
        self.model_info = QLabel()
        self.model_info.setWordWrap(True)
        self.model_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.model_info)
        row = QHBoxLayout()
        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.clicked.connect(self.import_model)
        row.addWidget(self.import_button)
        self.weights_button = QPushButton("Get trained weights… (Models window)")
        self.weights_button.clicked.connect(self.models_requested)
        row.addWidget(self.weights_button)
        row.addStretch(1)
        layout.addLayout(row)
        self._entries: dict[str, object] = {}
        self._fill_models(model)
        return page

    def _fill_models(self, select: str) -> None:
        from affectstudio.core.model.registry import ModelRegistry

        self.models.clear()
        self._entries = {"": None}
        self.models.addItem(QListWidgetItem(f"(default model: {_default_name()})"))
        try:
            entries = ModelRegistry().list()
        except AffectStudioError as error:
            entries = []
            self.model_info.setText(f"Cannot list models: {error}")
        for entry in entries:
            self._entries[entry.name] = entry
            self.models.addItem(QListWidgetItem(entry.name))
        names = list(self._entries)
        self.models.setCurrentRow(names.index(select) if select in names else 0)

    def _describe_model(self, item) -> None:
        if item is None:
            return
        entry = self._entries.get(item.text())
        if entry is None:
            current = self.loaded
            if current is None:
                self.model_info.setText("The registry's default model (loading…)")
                return
            config, name = current.config, f"{current.name} (currently loaded)"
        else:
            config, name = entry.config, entry.name
        trained = ", ".join(
            f"{task}: {'trained' if ok else 'UNTRAINED'}" for task, ok in config.heads_trained.items()
        )
        source = config.provenance.get("source", "unknown source")
        self.model_info.setText(f"<b>{name}</b><br>heads: {trained}<br>source: {source}")

    def import_model(self, path: str | None = None) -> None:
        if not isinstance(path, str):
            path, _ = QFileDialog.getOpenFileName(self, "Import checkpoint", "", CHECKPOINT_FILTER)
            if not path:
                return
        from affectstudio.core.model.registry import ModelRegistry

        try:
            entry = ModelRegistry().import_file(path)
        except AffectStudioError as error:
            self.error.emit("Cannot import the model", str(error))
            return
        forget_loaded_models()
        self._fill_models(entry.name)

    def _analysis_page(self, settings: Settings) -> QWidget:
        options = settings.analysis
        page = QWidget()
        form = QFormLayout(page)
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(options.device)
        form.addRow("Device", self.device)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 512)
        self.batch_size.setValue(options.batch_size)
        form.addRow("Batch size", self.batch_size)
        self.detect_every = QSpinBox()
        self.detect_every.setRange(1, 60)
        self.detect_every.setValue(options.detect_every)
        self.detect_every.setPrefix("every ")
        self.detect_every.setSuffix(" frames")
        self.detect_every.setSpecialValueText("every frame")
        self.detect_every.setToolTip(
            "Run the face detector every N frames; the tracker carries boxes between"
        )
        form.addRow("Detect faces", self.detect_every)
        self.min_confidence = QDoubleSpinBox()
        self.min_confidence.setRange(0.05, 0.99)
        self.min_confidence.setSingleStep(0.05)
        self.min_confidence.setValue(options.min_confidence)
        form.addRow("Detection confidence", self.min_confidence)
        self.face_range = QComboBox()
        self.face_range.addItems(["full", "short"])
        self.face_range.setCurrentText(options.face_range)
        self.face_range.setToolTip("full: faces up to 5 m away; short: close-up faces within 2 m")
        form.addRow("Detector range", self.face_range)
        self.faces = QComboBox()
        self.faces.addItems(["main", "largest", "all"])
        self.faces.setCurrentText(options.faces)
        form.addRow("Faces to analyse", self.faces)
        self.auto_analyse = QCheckBox("Analyse a video when it is opened (if no results are cached)")
        self.auto_analyse.setChecked(settings.auto_analyse)
        form.addRow("", self.auto_analyse)
        return page

    def _display_page(self, settings: Settings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.smoothing = QSpinBox()
        self.smoothing.setRange(1, 301)
        self.smoothing.setValue(settings.display.smoothing)
        self.smoothing.setSuffix(" frames")
        self.smoothing.setSpecialValueText("off")
        self.smoothing.setToolTip(
            "Centred moving average of the VA traces; the raw trace stays visible, faint"
        )
        form.addRow("VA smoothing window", self.smoothing)
        self.scrub_proxy = QCheckBox("Make a small scrubbing copy of videos that seek slowly")
        self.scrub_proxy.setChecked(settings.display.scrub_proxy)
        self.scrub_proxy.setToolTip(
            "Videos with keyframes far apart (screen recordings, some cameras) get a 360-line copy with\n"
            "every frame a keyframe, made in the background and kept in the cache folder: dragging the\n"
            "playhead shows its frames at once, then the exact frame"
        )
        form.addRow("", self.scrub_proxy)
        return page

    def _keys_page(self, settings: Settings) -> QWidget:
        """One key per expression and per AU, pressed during playback to code at the playhead."""
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel(f"One key each; not {', '.join(sorted(RESERVED_KEYS))} (the window's own)."))
        grid = QGridLayout()
        self.key_boxes = []
        names = [*EXPRESSIONS, *ACTION_UNITS]
        keys = [*settings.coding_keys.expression, *settings.coding_keys.au]
        for i, (name, key) in enumerate(zip(names, keys, strict=True)):
            box = QLineEdit(key)
            box.setMaxLength(1)
            box.setMaximumWidth(40)
            grid.addWidget(QLabel(name), i % 10, 2 * (i // 10))
            grid.addWidget(box, i % 10, 2 * (i // 10) + 1)
            self.key_boxes.append(box)
        layout.addLayout(grid)
        layout.addStretch(1)
        return page

    def _thresholds_page(self, thresholds: list[float]) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("An AU counts as active when its probability reaches its threshold."))
        grid = QGridLayout()
        self.threshold_boxes = []
        for i, (name, value) in enumerate(zip(ACTION_UNITS, thresholds, strict=True)):
            box = QDoubleSpinBox()
            box.setRange(0.0, 1.0)
            box.setDecimals(2)
            box.setSingleStep(0.05)
            box.setValue(value)
            grid.addWidget(QLabel(name), i % 6, 2 * (i // 6))
            grid.addWidget(box, i % 6, 2 * (i // 6) + 1)
            self.threshold_boxes.append(box)
        layout.addLayout(grid)
        reset = QPushButton("Reset to the checkpoint's thresholds")
        reset.clicked.connect(self.reset_thresholds)
        layout.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        return page

    def reset_thresholds(self) -> None:
        own = (
            list(self.loaded.config.au_thresholds)
            if self.loaded
            else [DEFAULT_AU_THRESHOLD] * len(ACTION_UNITS)
        )
        for box, value in zip(self.threshold_boxes, own, strict=True):
            box.setValue(value)

    # result -------------------------------------------------------------------------------------------
    def _chosen_model(self) -> str:
        item = self.models.currentItem()
        return "" if item is None or self.models.currentRow() == 0 else item.text()

    def chosen(self) -> tuple[Settings, list[float]]:
        settings = copy.deepcopy(self.settings)
        options = settings.analysis
        options.model = self._chosen_model() or None
        options.device = self.device.currentText()
        options.batch_size = self.batch_size.value()
        options.detect_every = self.detect_every.value()
        options.min_confidence = round(self.min_confidence.value(), 2)
        options.face_range = self.face_range.currentText()
        options.faces = self.faces.currentText()
        settings.display.smoothing = self.smoothing.value()
        settings.display.scrub_proxy = self.scrub_proxy.isChecked()
        settings.auto_analyse = self.auto_analyse.isChecked()
        keys = [box.text().strip().upper() for box in self.key_boxes]
        chosen = CodingKeys(keys[: len(EXPRESSIONS)], keys[len(EXPRESSIONS) :])
        if coding_keys_problem(chosen) is None:
            settings.coding_keys = chosen
        return settings, [round(box.value(), 2) for box in self.threshold_boxes]

    def apply(self) -> None:
        settings, thresholds = self.chosen()
        keys = [box.text().strip().upper() for box in self.key_boxes]
        problem = coding_keys_problem(CodingKeys(keys[: len(EXPRESSIONS)], keys[len(EXPRESSIONS) :]))
        if problem is not None:
            self.error.emit("Coding keys not changed", problem)
        self.applied.emit(settings, thresholds)

    def accept(self) -> None:
        self.apply()
        super().accept()
