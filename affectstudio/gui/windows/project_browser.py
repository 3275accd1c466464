"""The project browser: a dock listing the project's videos with their analysis and annotation status.

It is a view of `ProjectStore.video_status()` (which models have cached results, labelled frames per lane)
and of the project's analysis job (`core/study/project.py`): each video's state in the job's manifest
(pending, running with its progress, done, failed with the reason), live while the window runs the job
(`job_progress` takes its progress events), read from the manifest otherwise. Nothing more: adding and
relinking go through the store; opening a video, and starting or stopping the analysis of all videos
(`analyse_requested`, `stop_requested`), are the review window's jobs. Video files dropped on the dock are
added to the project.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.study.project import describe, video_of, video_states
from affectstudio.gui.fitting_label import FittingLabel

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
COLUMNS = ("Video", "Analysis job", "Frames", "Analysed with", "Annotated (frames per lane)")
STATUS, ANNOTATED = COLUMNS.index("Analysis job"), COLUMNS.index("Annotated (frames per lane)")
MISSING = QColor("#e57373")
MIN_WIDTH, OPEN_WIDTH = 300, 560


def _duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def annotation_summary(annotated: dict) -> str:
    """`expression 81 · AU12 30 (rater2)`: labelled frames per lane, the annotator when not the default."""
    from affectstudio.core.annotations.lanes import DEFAULT_ANNOTATOR

    parts = []
    for key, frames in sorted(
        annotated.items(),
        key=lambda item: (item[0].annotator != DEFAULT_ANNOTATOR, item[0].annotator, item[0].name),
    ):
        who = "" if key.annotator == DEFAULT_ANNOTATOR else f" ({key.annotator})"
        parts.append(f"{key.name} {frames}{who}")
    return " · ".join(parts) or "—"


class ProjectBrowser(QDockWidget):
    open_requested = Signal(Path)  # a video of the project to show in the review window
    error = Signal(str, str)  # title, message
    analyse_requested = Signal()  # analyse every video not yet analysed, in the background
    stop_requested = Signal()  # stop that job (what is done is kept)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Project", parent)
        self.setObjectName("project_browser")
        self.store = None
        self.running = False
        self._live: dict = {}  # video fingerprint -> VideoEvent of the job running now
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.title = FittingLabel("", min_chars=20, elide=Qt.TextElideMode.ElideMiddle)  # a deep folder
        self.add_button = QPushButton("Add videos…")
        self.add_button.clicked.connect(lambda: self.add_videos())
        self.relink_button = QPushButton("Relink…")
        self.relink_button.setToolTip("Point a moved video at its new file (its content must match)")
        self.relink_button.clicked.connect(lambda: self.relink())
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(lambda: self._activated(self.tree.currentItem()))
        self.analyse_button = QPushButton("Analyse all")
        self.analyse_button.setToolTip(
            "Analyse every video not yet analysed with the current model and settings, in the background"
        )
        self.analyse_button.clicked.connect(
            lambda: (self.stop_requested if self.running else self.analyse_requested).emit()
        )
        buttons = QHBoxLayout()
        for button in (self.add_button, self.relink_button, self.open_button, self.analyse_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.setAcceptDrops(True)
        # Narrow enough to sit beside the review window's minimum on a 1280-px screen; the window opens it
        # wider (OPEN_WIDTH) where there is room, and the columns scroll sideways when it is narrower.
        self.setMinimumWidth(MIN_WIDTH)
        self._selection_changed()

    def set_store(self, store) -> None:
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        """Re-read the status of every video from the store."""
        self.tree.clear()
        if self.store is None:
            return
        self.title.setText(f"{self.store.path.name} — {self.store.path.parent}")
        self.title.setToolTip(str(self.store.path))
        try:
            statuses = self.store.video_status()
        except AffectStudioError as error:
            self.error.emit("Cannot read the project", str(error))
            return
        states = {**video_states(self.store.path), **self._live}
        for status in statuses:
            video = status.video
            frames = f"{video.frame_count or '?'} ({_duration(video.duration)})"
            models = ", ".join(dict.fromkeys(status.models)) or "not analysed"
            item = QTreeWidgetItem(
                [video.path.name, "", frames, models, annotation_summary(status.annotated)]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, video.hash)
            item.setToolTip(0, str(video.path))
            item.setToolTip(ANNOTATED, annotation_summary(status.annotated).replace(" · ", "\n"))
            if not status.exists:
                item.setText(0, f"{video.path.name} (missing: Relink…)")
                item.setForeground(0, QBrush(MISSING))
            if video.hash in states:
                self._show_state(item, states[video.hash], video.path)
            self.tree.addTopLevelItem(item)
        for column in range(len(COLUMNS) - 1):
            self.tree.resizeColumnToContents(column)
        room = self.tree.fontMetrics().horizontalAdvance("running 100% (99999/99999 frames)") + 12
        self.tree.setColumnWidth(STATUS, room)  # a long reason is elided; its tooltip holds all of it
        self._selection_changed()

    # the analysis job -------------------------------------------------------------------------------------
    def job_started(self) -> None:
        self.running, self._live = True, {}
        self.analyse_button.setText("Stop analysis")

    def job_finished(self) -> None:
        self.running, self._live = False, {}
        self.analyse_button.setText("Analyse all")
        self.refresh()

    def job_progress(self, progress) -> None:
        """A progress report of the job (its detail a StudyProgress): show what changed."""
        detail = progress.detail
        for event in [*(detail.planned or []), *([detail.event] if detail.event else [])]:
            video_hash = video_of(event.output)
            self._live[video_hash] = event
            item = self.item_for(video_hash)
            if item is not None:
                self._show_state(item, event, Path(item.toolTip(0)))

    @staticmethod
    def _show_state(item: QTreeWidgetItem, event, path: Path) -> None:
        item.setText(STATUS, describe(event, path))  # the row names the video: no path in its reason
        item.setToolTip(STATUS, describe(event))
        item.setForeground(STATUS, QBrush(MISSING) if event.state == "failed" else QBrush())

    def item_for(self, video_hash: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == video_hash:
                return item
        return None

    def _selected_hash(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def _selection_changed(self) -> None:
        chosen = self._selected_hash() is not None
        self.relink_button.setEnabled(chosen)
        self.open_button.setEnabled(chosen)

    # actions ------------------------------------------------------------------------------------------
    def add_videos(self, paths: list[str | Path] | None = None) -> list[str]:
        """Add video files (a file dialog when `paths` is None); returns the fingerprints added."""
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Add videos to the project", "", VIDEO_FILTER)
        added, problems = [], []
        for path in paths:
            try:
                added.append(self.store.add_video(path).hash)
            except AffectStudioError as error:
                problems.append(str(error))
        self.refresh()
        if problems:
            self.error.emit("Some videos were not added", "\n".join(problems))
        return added

    def relink(self, new_path: str | Path | None = None) -> bool:
        """Point the selected video at a new file (a file dialog when `new_path` is None)."""
        video_hash = self._selected_hash()
        if video_hash is None:
            return False
        if new_path is None:
            new_path, _ = QFileDialog.getOpenFileName(self, "Where is this video now?", "", VIDEO_FILTER)
            if not new_path:
                return False
        try:
            self.store.relink(video_hash, new_path)
        except AffectStudioError as error:
            self.error.emit("Cannot relink the video", str(error))
            return False
        self.refresh()
        return True

    def _activated(self, item: QTreeWidgetItem | None, _column: int = 0) -> None:
        if item is None or self.store is None:
            return
        path = self.store.video_path(item.data(0, Qt.ItemDataRole.UserRole))
        if path is not None and not path.is_file():
            self.error.emit("Video missing", f"{path}: not found; select it and use Relink… to find it.")
        elif path is not None:
            self.open_requested.emit(path)

    # drag and drop ------------------------------------------------------------------------------------
    @staticmethod
    def _dropped_videos(event) -> list[Path]:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        return [path for path in paths if path.suffix.lower() in VIDEO_SUFFIXES]

    def dragEnterEvent(self, event) -> None:
        if self.store is not None and self._dropped_videos(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = self._dropped_videos(event)
        if paths:
            self.add_videos(paths)
            event.acceptProposedAction()
