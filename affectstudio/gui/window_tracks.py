"""The main window's face tracks: click a box to select its track, correct tracks, see all of them.

Selection is the session's (`select_track`); merge, split and reject are the session's undoable commands
(`core/annotations/track_commands.py`), so Edit > Undo takes them back like a lane edit and the CLI's
`project tracks` does the same to the project. This mixin only offers them: the Tracks menu (on the
selected track), a context menu on a face box (on that face), the track strip above the timelines, the
other tracks' faint curves, and the counts over all tracks in the status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu

from affectstudio.core.errors import AffectStudioError
from affectstudio.gui.fitting_label import FittingLabel
from affectstudio.gui.track_palette import track_colour, track_icon, track_label
from affectstudio.gui.views.track_strip import TrackStrip


class WindowTracks:
    def _build_track_actions(self) -> None:
        self.act_split_track = self._action("&Split selected track at the playhead", self.split_track)
        self.act_reject_track = self._action("&Reject selected track (not a face)", self.reject_track)

    def menu_layout(self) -> list[tuple[str, list]]:
        """The window's menus with a Tracks menu before Analysis."""
        layout = super().menu_layout()
        titles = [title for title, _ in layout]
        at = titles.index("&Analysis") if "&Analysis" in titles else len(layout)
        entries = [
            ("&Merge into the selected track", self._fill_merge_menu),
            self.act_split_track,
            self.act_reject_track,
            None,
            self.act_rename,
        ]
        return [*layout[:at], ("&Tracks", entries), *layout[at:]]

    def _install_tracks_ui(self) -> None:
        self.track_strip = TrackStrip(self.session)
        self.track_strip.link_to(self.timeline.va_plot)
        self.plot_split.insertWidget(0, self.track_strip)
        self.plot_split.setStretchFactor(0, 0)
        self.plot_split.setSizes([self.track_strip.height(), 420, 200])
        self.tracks_label = FittingLabel("", min_chars=14)
        self.statusBar().insertPermanentWidget(1, self.tracks_label)  # after the message, before progress
        self.video.face_clicked.connect(self.session.select_track)
        self.video.face_menu_requested.connect(self._face_menu)
        self.session.tracks_changed.connect(self._show_track_summary)
        self.session.results_changed.connect(self._show_track_summary)
        self.session.video_changed.connect(self._show_track_summary)
        self.results_changed.connect(self._show_other_tracks)  # after each redraw of the plots

    # views --------------------------------------------------------------------------------------------
    def _show_track_summary(self) -> None:
        data = self.session.data
        self.tracks_label.setText(data.summary().text() if data is not None and data.analysed_until else "")

    def _show_other_tracks(self) -> None:
        data, track = self.session.data, self.session.track
        if data is None or track not in data.tracks:
            self.timeline.set_other_tracks([], 1)
            return
        order = [track] + [t for t in data.track_ids() if t != track]
        self.timeline.set_other_tracks(
            [(track_label(t, self.track_names), track_colour(t).name(), data.tracks[t].va) for t in order],
            self.session.smoothing,
        )

    # commands -----------------------------------------------------------------------------------------
    def _track_edit(self, do, *args) -> bool:
        if self.session.video is None or self.session.data is None:
            return False
        try:
            do(*args)
        except AffectStudioError as error:
            self.show_error("Cannot change the face tracks", str(error))
            return False
        return True

    def merge_tracks(self, track: int, other: int) -> bool:
        """`other` becomes part of `track`."""
        return self._track_edit(self.session.merge_tracks, track, other)

    def split_track(self, track: int | None = None) -> bool:
        """Split `track` (default: the selected one) at the playhead."""
        track = self.track if not isinstance(track, int) else track
        return track is not None and self._track_edit(self.session.split_track, track)

    def reject_track(self, track: int | None = None) -> bool:
        track = self.track if not isinstance(track, int) else track
        return track is not None and self._track_edit(self.session.reject_track, track)

    def _fill_merge_menu(self) -> None:
        menu = self.menus["Merge into the selected track"]
        menu.clear()
        others = [t for t in (self.data.track_ids() if self.data else []) if t != self.track]
        for other in others:
            menu.addAction(
                track_icon(other),
                track_label(other, self.track_names),
                lambda checked=False, o=other: self.merge_tracks(self.track, o),
            )
        if menu.isEmpty():
            menu.addAction("(no other track)").setEnabled(False)

    def face_menu(self, track: int) -> QMenu:
        """What a right click on a face box offers for its track."""
        names, selected = self.track_names, self.track
        name = track_label(track, names)
        menu = QMenu(self)
        menu.addAction(track_icon(track), f"Select {name}", lambda: self.session.select_track(track))
        if selected is not None and selected != track and self.data and selected in self.data.tracks:
            menu.addAction(
                track_icon(selected),
                f"Merge {name} into {track_label(selected, names)} (selected)",
                lambda: self.merge_tracks(selected, track),
            )
        menu.addAction(
            f"Split {name} at the playhead (frame {self.current_frame})", lambda: self.split_track(track)
        )
        menu.addAction(f"Reject {name} (not a face)", lambda: self.reject_track(track))
        menu.addSeparator()
        menu.addAction(f"Rename {name}…", lambda: self._rename(track))
        return menu

    def _face_menu(self, track: int, position: QPoint) -> None:
        menu = self.face_menu(track)
        menu.popup(position)

    def _rename(self, track: int) -> None:
        self.session.select_track(track)
        self.rename_track()
