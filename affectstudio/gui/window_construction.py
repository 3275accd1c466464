"""Building the main window's actions, widgets and menus (the window's `setupUi`), kept apart from behaviour.

`MainWindow` inherits these methods; they only create and arrange things and wire each action to the
window method that does the work, so `main_window.py` reads as what the app does.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from affectstudio.core.labels import ACTION_UNITS, EXPRESSIONS
from affectstudio.gui.fitting_label import FittingLabel
from affectstudio.gui.timeline import TimelinePanel
from affectstudio.gui.transport import PlaybackBar
from affectstudio.gui.va_plane import VAPlane
from affectstudio.gui.video_view import VideoView
from affectstudio.gui.views.lanes import LanesView


class WindowConstruction:
    # construction -------------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(
            f"{tip or text} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        )
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        step = self.step
        self.act_open = self._action("&Open video…", self.choose_video, QKeySequence.StandardKey.Open)
        self.act_export = self._action("&Export…", self.show_export, "Ctrl+E")
        self.act_settings = self._action("&Settings…", self.show_settings, "Ctrl+,")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        # Menus show words (text), the playback bar's buttons show symbols (iconText).
        self.act_play = self._action("&Play", self.toggle_play, "Space", "Play / pause")
        self.act_back = self._action("Frame &back", lambda: step(-1), "Left", "One frame back")
        self.act_forward = self._action("Frame &forward", lambda: step(1), "Right", "One frame forward")
        self.act_back_s = self._action(
            "One second back", lambda: self.step_seconds(-1), "Shift+Left", "One second back"
        )
        self.act_forward_s = self._action(
            "One second forward", lambda: self.step_seconds(1), "Shift+Right", "One second on"
        )
        self.act_jump_back = self._action(
            "&Jump back N frames", lambda: step(-self.playback.jump.value()), "PgUp", "Jump back"
        )
        self.act_jump = self._action(
            "Jump forward &N frames", lambda: step(self.playback.jump.value()), "PgDown", "Jump forward"
        )
        for action, symbol in (
            (self.act_play, "▶"),
            (self.act_back, "◀|"),
            (self.act_forward, "|▶"),
            (self.act_back_s, "◀◀ 1s"),
            (self.act_forward_s, "1s ▶▶"),
            (self.act_jump_back, "−N"),
            (self.act_jump, "+N"),
        ):
            action.setIconText(symbol)
        self.act_home = self._action("First frame", lambda: self.seek(0), "Home")
        self.act_end = self._action("Last frame", lambda: self.seek(len(self.timestamps) - 1), "End")
        self.act_faster = self._action("Faster", lambda: self.playback.change_speed(1), "Up")
        self.act_slower = self._action("Slower", lambda: self.playback.change_speed(-1), "Down")
        self.act_goto = self._action("Go to frame/time…", self._focus_goto, "Ctrl+G")
        self.act_zoom_in = self._action("Zoom in", lambda: self.timeline.zoom(0.5), ["Ctrl+=", "Ctrl++"])
        self.act_zoom_out = self._action("Zoom out", lambda: self.timeline.zoom(2.0), "Ctrl+-")
        self.act_zoom_all = self._action("Show whole video", lambda: self.timeline.show_all(), "Ctrl+0")
        self.act_pan_left = self._action("Pan left", lambda: self.timeline.pan(-0.25), "Alt+Left")
        self.act_pan_right = self._action("Pan right", lambda: self.timeline.pan(0.25), "Alt+Right")
        self.act_boxes = self._action("Face boxes", self._toggle_boxes, "B")
        self.act_boxes.setCheckable(True)
        self.act_boxes.setChecked(self.settings.display.show_boxes)
        self.act_reanalyse = self._action("Analyse", self.controller.reanalyse, "Ctrl+R")
        self.act_cancel = self._action("Cancel analysis", self.cancel_analysis, "Esc")
        self.act_shortcuts = self._action("Keyboard shortcuts", self.show_shortcuts, "F1")
        self.act_rename = self._action("Rename track…", self.rename_track, "F2")
        self._build_lane_actions()

    def _build_ui(self) -> None:
        self.video = VideoView()
        self.video.show_boxes = self.act_boxes.isChecked()
        self.va_plane = VAPlane()
        self.coding_help = QLabel(self._coding_help())
        self.coding_help.setWordWrap(True)
        self.coding_help.setStyleSheet("color: #9e9e9e; font-size: 8pt")
        self.side_split = QSplitter(Qt.Orientation.Vertical)
        self.side_split.addWidget(self.va_plane)
        self.side_split.addWidget(self.coding_help)
        self.side_split.setStretchFactor(0, 4)
        self.side_split.setStretchFactor(1, 1)
        self.side_split.setSizes([300, 110])
        self.side_split.setMinimumWidth(200)  # the VA circle and the readout under it stay readable
        self.timeline = TimelinePanel()
        self.lanes = LanesView(self.session)
        self.lanes.link_to(self.timeline.va_plot)
        self.plot_split = QSplitter(Qt.Orientation.Vertical)
        self.plot_split.addWidget(self.timeline)
        self.plot_split.addWidget(self.lanes)
        # The timelines set their own minimum height (the VA traces, 8 expression rows, 12 AU rows, the time
        # axis and the caption: ~390 px); the lanes scroll their rows when short (17 per annotator). On a
        # 900-px screen the video and VA plane give way to them, and the window still fits (test_gui_layout).
        self.lanes.setMinimumHeight(120)
        self.plot_split.setStretchFactor(0, 2)
        self.plot_split.setStretchFactor(1, 1)
        self.plot_split.setSizes([420, 200])
        self.top_split = QSplitter(Qt.Orientation.Horizontal)
        self.top_split.addWidget(self.video)
        self.top_split.addWidget(self.side_split)
        self.top_split.setStretchFactor(0, 3)
        self.top_split.setStretchFactor(1, 1)
        self.main_split = QSplitter(Qt.Orientation.Vertical)
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.plot_split)
        self.main_split.setStretchFactor(0, 1)
        self.main_split.setStretchFactor(1, 2)
        self.main_split.setSizes([280, 560])  # at 900 px: the timelines and lanes at their minimum
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        self.playback = PlaybackBar(
            [
                self.act_play,
                None,
                self.act_jump_back,
                self.act_back_s,
                self.act_back,
                self.act_forward,
                self.act_forward_s,
                self.act_jump,
            ]
        )
        layout.addWidget(self.playback)
        layout.addWidget(self.main_split, 1)
        self.setCentralWidget(central)

        toolbar = QToolBar("Tracks")
        toolbar.setObjectName("tracks")
        toolbar.addWidget(QLabel(" Face track "))
        self.track_box = QComboBox()
        self.track_box.setMinimumWidth(140)
        self.track_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        toolbar.addWidget(self.track_box)
        toolbar.addAction(self.act_rename)
        toolbar.addSeparator()
        toolbar.addAction(self.act_boxes)
        toolbar.addSeparator()
        toolbar.addAction(self.act_export)
        toolbar.addAction(self.act_settings)
        self.addToolBar(toolbar)

        status = self.statusBar()
        # Long messages and model names are cut to the room there is, not let to widen the window.
        self.model_label = FittingLabel("Loading model…", min_chars=14)
        self.status_label = FittingLabel("", min_chars=16)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        status.addWidget(self.status_label, 1)
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        status.addPermanentWidget(self.model_label)
        self._set_busy(False)

    def menu_layout(self) -> list[tuple[str, list]]:
        """Every menu and its entries, in order: an action, None (a separator) or (title, filler) for a
        submenu filled when it opens. Other windows' entries are added here, in one place."""
        return [
            (
                "&File",
                [
                    self.act_open,
                    ("Open &recent", self._fill_recent),
                    self.act_export,
                    self.act_export_annotations,
                    self.act_export_training_set,
                    None,
                    self.act_settings,
                    None,
                    self.act_quit,
                ],
            ),
            (
                "&Playback",
                [
                    self.act_play,
                    self.act_back,
                    self.act_forward,
                    self.act_back_s,
                    self.act_forward_s,
                    self.act_jump_back,
                    self.act_jump,
                    self.act_home,
                    self.act_end,
                    self.act_faster,
                    self.act_slower,
                    self.act_goto,
                ],
            ),
            (
                "&View",
                [
                    self.act_boxes,
                    self.act_rename,
                    self.act_zoom_in,
                    self.act_zoom_out,
                    self.act_zoom_all,
                    self.act_pan_left,
                    self.act_pan_right,
                ],
            ),
            ("&Edit", [self.act_undo, self.act_redo]),
            (
                "A&nnotate",
                [
                    ("&Coding keys", self._fill_coding_menu),
                    self.act_finish,
                    None,
                    self.act_split,
                    self.act_merge,
                    self.act_edit,
                    self.act_delete,
                    None,
                    self.act_record_va,
                    self.act_annotator,
                    None,
                    self.act_export_annotations,
                    self.act_export_training_set,
                ],
            ),
            ("&Analysis", [self.act_reanalyse, self.act_cancel]),
            ("&Help", [self.act_shortcuts]),
        ]

    def _fill_coding_menu(self) -> None:
        menu = self.menus["Coding keys"]
        if menu.isEmpty():
            for action in self.coding_actions:
                menu.addAction(action)

    def _coding_help(self) -> str:
        keys = self.settings.coding_keys
        expressions = "  ".join(
            f"<b>{k}</b> {e[:4]}" for k, e in zip(keys.expression, EXPRESSIONS, strict=True)
        )
        aus = "  ".join(f"<b>{k}</b> {a}" for k, a in zip(keys.au, ACTION_UNITS, strict=True))
        return (
            f"Coding keys (during playback): {expressions}<br>{aus}<br>"
            "<b>C</b> close open · <b>S</b> split · <b>M</b> merge · <b>Del</b> delete · "
            "<b>V</b> record VA · drag on a lane to create, its edges to resize"
        )

    def _build_menus(self) -> None:
        """Build the menu bar from `menu_layout`; `self.menus[title]` (without the &) reaches each menu."""
        self.menus = {}
        for title, entries in self.menu_layout():
            menu = self.menuBar().addMenu(title)
            self.menus[title.replace("&", "")] = menu
            for entry in entries:
                if entry is None:
                    menu.addSeparator()
                elif isinstance(entry, tuple):
                    submenu = menu.addMenu(entry[0])
                    submenu.aboutToShow.connect(entry[1])
                    self.menus[entry[0].replace("&", "")] = submenu
                else:
                    menu.addAction(entry)
        self.recent_menu = self.menus["Open recent"]
