"""Face tracks in the review window, on the real analysis of a two-person video: a click on a face box
selects its track; each track has one colour in the boxes, the track strip, the curves and the selector;
merge, split and reject from the window, with undo, and the counts over all tracks in the status bar."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from test_gui_main_window import no_auto_analysis, open_and_wait, show_frame

from affectstudio.gui.main_window import MainWindow
from affectstudio.gui.track_palette import track_colour


@pytest.fixture
def window(qtbot, two_faces):
    video, rows = two_faces
    win = MainWindow(no_auto_analysis())
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    open_and_wait(win, qtbot, video)
    win.session.use_analysis("two-faces")  # the results key the rows are shown under (their track edits)
    win.session.add_rows(rows)
    show_frame(win, qtbot, lambda: win.seek(20))
    win.refresh_plots()
    yield win
    win.close()


def _box_centre(window, track) -> QPoint:
    box = dict(window.data.faces_at(window.current_frame))[track]
    return window.video.box_rect(box).center().toPoint()


def _other(window) -> int:
    return next(t for t in window.data.track_ids() if t != window.track)


def test_a_click_on_a_face_box_selects_its_track(window, qtbot):
    first = window.track
    other = _other(window)
    qtbot.mouseClick(window.video, Qt.MouseButton.LeftButton, pos=_box_centre(window, other))
    assert window.track == other and window.session.track == other
    assert window.track_box.currentData() == other
    assert window.timeline.track_tag.text.endswith(f"Face #{other}")
    qtbot.mouseClick(window.video, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))  # no face there
    assert window.track == other
    qtbot.mouseClick(window.video, Qt.MouseButton.LeftButton, pos=_box_centre(window, first))
    assert window.track == first


def test_each_track_has_one_colour_everywhere(window, qtbot):
    tracks = window.data.track_ids()
    assert len(tracks) == 2 and track_colour(tracks[0]) != track_colour(tracks[1])
    image = window.video.grab().toImage()
    for row, track in enumerate(tracks):
        colour = track_colour(track)
        rect = window.video.box_rect(dict(window.data.faces_at(window.current_frame))[track])
        edge = [image.pixelColor(int(rect.left()) + dx, int(rect.center().y())) for dx in (-1, 0, 1)]
        assert colour in edge, (
            f"box of track {track} drawn in {[c.name() for c in edge]}, not {colour.name()}"
        )
        icon = window.track_box.itemIcon(window.track_box.findData(track)).pixmap(12, 12).toImage()
        assert icon.pixelColor(6, 6) == colour
        strip = window.track_strip.rgba[window.current_frame, row]
        assert tuple(strip[:3]) == (colour.red(), colour.green(), colour.blue())
    selected, other = window.track, _other(window)
    row = window.track_strip.tracks.index
    assert window.track_strip.rgba[20, row(selected), 3] > window.track_strip.rgba[20, row(other), 3]
    curves = window.timeline.other_curves
    assert len(curves) == 2 and all(c.opts["pen"].color().rgb() == track_colour(other).rgb() for c in curves)


def test_a_click_on_the_track_strip_selects_a_track(window):
    other = _other(window)
    window.track_strip.click_row(window.track_strip.tracks.index(other) + 0.5)
    assert window.track == other


def test_reject_from_the_box_menu_then_undo(window, qtbot):
    other = _other(window)
    assert window.tracks_label.text() == "2 tracks, 2 people, faces in 100% of frames"
    menu = window.face_menu(other)
    texts = [action.text() for action in menu.actions()]
    assert f"Reject Face #{other} (not a face)" in texts
    assert any(text.startswith(f"Merge Face #{other} into Face #{window.track}") for text in texts)
    next(a for a in menu.actions() if a.text().startswith("Reject")).trigger()
    assert window.data.track_ids() == [window.track]
    assert window.track_box.count() == 1 and window.track_strip.tracks == [window.track]
    assert window.tracks_label.text() == "2 tracks, 1 person after rejects, faces in 100% of frames"
    show_frame(window, qtbot, lambda: window.seek(21))
    assert [t for t, _ in window.video._faces] == [window.track]
    assert window.act_undo.text() == "Undo reject track"
    window.undo()
    assert other in window.data.track_ids() and window.track_box.count() == 2


def test_split_at_the_playhead_and_merge_back_from_the_tracks_menu(window, qtbot):
    track = window.track
    show_frame(window, qtbot, lambda: window.seek(30))
    assert "Tracks" in window.menus
    window.act_split_track.trigger()
    new = max(window.data.track_ids())
    assert window.data.face_frames()[new][0] == 30
    assert window.track_strip.tracks == window.data.track_ids() and len(window.track_strip.tracks) == 3
    assert window.tracks_label.text().startswith("3 tracks, 3 people")
    window.menus["Merge into the selected track"].aboutToShow.emit()
    entries = {a.text(): a for a in window.menus["Merge into the selected track"].actions()}
    entries[f"Face #{new}"].trigger()
    assert new not in window.data.track_ids() and len(window.data.face_frames()[track]) == 60
    window.act_split_track.trigger()
    window.merge_tracks(track, _other(window))  # two people in every frame: refused, said in a dialog
    assert window.errors[-1][0] == "Cannot change the face tracks" and "both in frame" in window.errors[-1][1]


def test_the_summary_pdf_counts_faces_over_all_tracks(window, tmp_path):
    from PySide6.QtPdf import QPdfDocument

    from affectstudio.gui.export_dialog import ExportDialog

    window.reject_track(_other(window))
    dialog = ExportDialog(window.session, window.timeline, window.controller.loaded, window)
    pdf = dialog.export_summary(tmp_path / "summary.pdf")
    document = QPdfDocument()
    assert document.load(str(pdf)) == QPdfDocument.Error.None_
    text = " ".join(document.getAllText(0).text().split())
    document.close()
    dialog.close()
    assert "Face tracks in the whole video: 2 tracks, 1 person after rejects, faces in 100% of frames" in text
