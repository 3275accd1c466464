"""The Models window: from "untrained" to real weights without leaving the app.

Lists what `core.model.overview.model_rows` lists for `affectstudio models list` (installed models with
their trained heads and provenance, then the catalog's downloadable ones with size and licence), and runs
the CLI's verified fetch (`overview.fetch_job`) in a `TaskThread`: progress in the window, Cancel at any
chunk, a verification failure or no network reported in words with the hint to import a file instead.
Set default, remove (after a confirmation) and Import checkpoint… go through the same `ModelRegistry`.
`models_changed` tells the review window to load the (new) default model.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.model.overview import ModelRow, fetch_job, format_size, model_rows
from affectstudio.gui.errors import error_box
from affectstudio.gui.tasks import TaskThread

CHECKPOINT_FILTER = "Checkpoints (*.pt *.pth *.pth.tar *.ckpt);;All files (*)"
INTRO = (
    "With no trained model, AffectStudio runs an untrained network whose plots are not meaningful. "
    "Download a released model (verified against its published checksum) or import a checkpoint file."
)


class ModelsWindow(QWidget):
    models_changed = Signal()  # installed models or the default changed

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Models — AffectStudio")
        self.resize(900, 520)
        self.rows: list[ModelRow] = []
        self.errors: list[tuple[str, str]] = []  # every error shown (tests read them)
        self.thread: TaskThread | None = None
        self.confirmation: QMessageBox | None = None
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Model", "Status", "Heads", "Size", "Provenance"])
        self.table.setRootIsDecorated(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.currentItemChanged.connect(lambda *_: self._selection_changed())
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setMinimumHeight(90)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.download_button = QPushButton("&Download")
        self.cancel_button = QPushButton("&Cancel download")
        self.default_button = QPushButton("Set as &default")
        self.remove_button = QPushButton("&Remove…")
        self.import_button = QPushButton("&Import checkpoint…")
        close = QPushButton("Close")
        self.download_button.clicked.connect(lambda: self.download())
        self.cancel_button.clicked.connect(self.cancel_download)
        self.default_button.clicked.connect(lambda: self.set_default())
        self.remove_button.clicked.connect(lambda: self.remove())
        self.import_button.clicked.connect(lambda: self.import_checkpoint())
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.download_button, self.cancel_button, self.default_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.refresh()

    # the list -----------------------------------------------------------------------------------------
    def _registry(self):
        from affectstudio.core.model.registry import ModelRegistry

        return ModelRegistry()

    def refresh(self, select: str | None = None) -> None:
        """Re-read the registry and the catalog; keep (or move) the selection."""
        select = select or (self.selected.name if self.selected else None)
        try:
            self.rows, problems = model_rows(self._registry())
        except AffectStudioError as error:
            self.rows, problems = [], [error]
        self.table.clear()
        for row in self.rows:
            status = ("default" if row.default else "installed") if row.installed else "available"
            item = QTreeWidgetItem([row.name, status, row.heads, format_size(row.size_bytes), row.provenance])
            item.setToolTip(2, row.heads)
            item.setToolTip(4, row.provenance)
            self.table.addTopLevelItem(item)
            if row.name == select:
                self.table.setCurrentItem(item)
        for column in range(4):
            self.table.resizeColumnToContents(column)
        if self.table.currentItem() is None and self.rows:
            self.table.setCurrentItem(self.table.topLevelItem(0))
        if problems:
            self.status.setText("Unreadable model files: " + "; ".join(str(p) for p in problems))
        self._selection_changed()

    @property
    def selected(self) -> ModelRow | None:
        item = self.table.currentItem()
        index = self.table.indexOfTopLevelItem(item) if item is not None else -1
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def select(self, name: str) -> None:
        for index, row in enumerate(self.rows):
            if row.name == name:
                self.table.setCurrentItem(self.table.topLevelItem(index))

    def _selection_changed(self) -> None:
        row, busy = self.selected, self.busy
        self.download_button.setEnabled(row is not None and not row.installed and not busy)
        self.cancel_button.setEnabled(busy)
        self.default_button.setEnabled(row is not None and row.installed and not row.default and not busy)
        self.remove_button.setEnabled(row is not None and row.installed and not busy)
        self.import_button.setEnabled(not busy)
        self.details.setText(_describe(row) if row else "No models installed or available.")

    # downloading and importing ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.thread is not None

    def download(self, name: str | None = None) -> None:
        name = name or (self.selected.name if self.selected else None)
        if name is None or self.busy:
            return
        self._run(fetch_job(self._registry(), name), f"Downloading {name}…", "Cannot download the model")

    def import_checkpoint(self, path: str | None = None) -> None:
        if not isinstance(path, str):
            path, _ = QFileDialog.getOpenFileName(self, "Import checkpoint", "", CHECKPOINT_FILTER)
            if not path:
                return
        registry = self._registry()
        self._run(lambda state: registry.import_file(path), f"Importing {path}…", "Cannot import the model")

    def _run(self, job, what: str, failure: str) -> None:
        self.thread = thread = TaskThread("models", job, self)
        thread.progress.connect(self._progress)
        thread.done.connect(lambda entry: self._finished(thread, entry))
        thread.failed.connect(lambda message, _user: self._failed(thread, failure, message))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText(what)
        self._selection_changed()
        thread.start()

    def _progress(self, progress) -> None:
        if progress.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * progress.fraction))
        else:
            self.progress.setRange(0, 0)
        self.status.setText(progress.message)

    def cancel_download(self) -> None:
        if self.thread is not None:
            self.thread.cancel()
            self.status.setText("Cancelling…")

    def _finished(self, thread: TaskThread, entry) -> None:
        if thread is not self.thread:
            return
        self._idle()
        if entry is None:
            self.status.setText("Download cancelled; nothing was installed.")
            self.refresh()
            return
        default = " (now the default model)" if entry.default else ""
        self.status.setText(f"Installed '{entry.name}'{default}")
        self.refresh(entry.name)
        self.models_changed.emit()

    def _failed(self, thread: TaskThread, title: str, message: str) -> None:
        if thread is not self.thread:
            return
        self._idle()
        self._report(title, message)

    def _report(self, title: str, message: str) -> None:
        self.status.setText(f"<span style='color:#ef5350'>{html.escape(message.splitlines()[0])}</span>")
        self.errors.append((title, message))
        self.error_box = error_box(self, title, message)
        self.refresh()

    def _idle(self) -> None:
        if self.thread is not None:
            self.thread.wait(5000)
        self.thread = None
        self.progress.hide()

    # default and removal ------------------------------------------------------------------------------
    def set_default(self, name: str | None = None) -> None:
        name = name or (self.selected.name if self.selected else None)
        if name is None:
            return
        try:
            self._registry().set_default(name)
        except AffectStudioError as error:
            self._report("Cannot set the default model", str(error))
            return
        self.status.setText(f"'{name}' is now the default model")
        self.refresh(name)
        self.models_changed.emit()

    def remove(self, name: str | None = None) -> QMessageBox | None:
        """Ask first (a non-blocking question); the model is removed when the user says Yes."""
        name = name or (self.selected.name if self.selected else None)
        if name is None:
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove model",
            f"Remove the model '{name}'? Its file is deleted; results already analysed with it stay.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda: self._remove(name))
        self.confirmation = box
        box.open()
        return box

    def _remove(self, name: str) -> None:
        registry = self._registry()
        try:
            registry.remove(name)
        except AffectStudioError as error:
            self._report("Cannot remove the model", str(error))
            return
        default = registry.default_name()
        now = f"'{default}'" if default not in (None, "untrained") else "the untrained network"
        self.status.setText(f"Removed '{name}'; the default model is now {now}")
        self.refresh()
        self.models_changed.emit()

    def closeEvent(self, event) -> None:
        if self.thread is not None:  # a download in flight stops (its temp file is removed) with the window
            self.thread.stop()
            self.thread = None
        super().closeEvent(event)


def _describe(row: ModelRow) -> str:
    lines = [f"<b>{html.escape(row.name)}</b> — {html.escape(row.heads)}"]
    if row.description:
        lines.append(html.escape(row.description))
    lines.append(html.escape(row.provenance))
    if row.installed:
        lines.append(f"file: {html.escape(str(row.path))} ({format_size(row.size_bytes)})")
    else:
        lines.append(f"download: about {format_size(row.size_bytes)}, verified by its git blob id")
    if row.licence:
        lines.append(f"<i>Licence: {html.escape(row.licence)}</i>")
    return "<br>".join(lines)
