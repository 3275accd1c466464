"""The main window on the real sample video: opening, frame-exact navigation, keyboard, errors, persistence.

These tests need no analysis results; `test_gui_analysis.py` runs the real engine.
"""

from __future__ import annotations

import threading

import pytest
from gui_helpers import WAIT_MS
from PySide6.QtCore import QPointF, Qt, QThread

from affectstudio.core.settings import Settings
from affectstudio.gui.main_window import MainWindow
from affectstudio.gui.transport import frame_at, parse_position


def assert_no_threads_left(window: MainWindow) -> None:
    """Every QThread the window started has ended, and no other thread is left running."""
    assert not [t for t in window.findChildren(QThread) if t.isRunning()]
    assert [t.name for t in threading.enumerate() if not t.daemon] == ["MainThread"]


def no_auto_analysis() -> Settings:
    """Settings with automatic analysis off: these tests are about review, not the engine."""
    settings = Settings.load()
    settings.auto_analyse = False
    settings.save()
    return settings


@pytest.fixture
def window(qtbot):
    win = MainWindow(no_auto_analysis())
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    yield win
    win.close()
    assert_no_threads_left(win)


def open_and_wait(window, qtbot, path) -> None:
    with qtbot.waitSignal(window.video.frame_shown, timeout=WAIT_MS):
        assert window.open_video(path)


def show_frame(window, qtbot, action) -> int:
    """Run `action` (which seeks) and wait for the frame it asked for to be painted."""
    action()
    qtbot.waitUntil(lambda: window.video.index == window.current_frame, timeout=WAIT_MS)
    return window.current_frame


def test_position_parsing():
    stamps = [i / 30 for i in range(300)]
    assert parse_position("123", stamps) == 123
    assert parse_position("#5", stamps) == 5
    assert parse_position("2.5s", stamps) == 75
    assert parse_position("0:02.5", stamps) == 75
    assert parse_position("99999", stamps) == 299
    assert parse_position("abc", stamps) is None
    assert frame_at(stamps, -3) == 0 and frame_at(stamps, 1 / 30) == 1


def test_empty_window_has_the_keyboard_shortcuts(window):
    keys = {a.shortcut().toString() for a in window.actions()}
    for key in (
        "Space",
        "Left",
        "Right",
        "Shift+Left",
        "Shift+Right",
        "Up",
        "Down",
        "Home",
        "End",
        "Ctrl+O",
        "Ctrl+E",
        "Ctrl+,",
        "F1",
    ):
        assert key in keys, key
    window.step(1)  # no video: navigation is a no-op, not an error
    assert window.errors == []


def test_open_shows_first_frame_and_readout(window, qtbot, sample_video):
    open_and_wait(window, qtbot, sample_video)
    assert window.video.index == 0 and len(window.timestamps) == 120
    assert "frame   0 / 119" in window.playback.position.text()
    assert "00:00.000" in window.playback.position.text()
    assert window.settings.recent.files == [str(sample_video.resolve())]
    assert Settings.load().recent.files == [str(sample_video.resolve())]  # saved at once


def test_keyboard_navigation_is_frame_exact(window, qtbot, sample_video):
    open_and_wait(window, qtbot, sample_video)
    fps = window.session.video.fps

    def key(k, mod=Qt.KeyboardModifier.NoModifier):
        return show_frame(window, qtbot, lambda: qtbot.keyClick(window.video, k, mod))

    assert key(Qt.Key.Key_Right) == 1
    assert key(Qt.Key.Key_Right) == 2
    assert key(Qt.Key.Key_Left) == 1
    assert key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier) == frame_at(
        window.timestamps, 1 / fps + 1
    )
    assert key(Qt.Key.Key_End) == 119
    assert key(Qt.Key.Key_Right) == 119  # clamped
    assert key(Qt.Key.Key_Home) == 0
    assert key(Qt.Key.Key_PageDown) == 10
    qtbot.keyClick(window.video, Qt.Key.Key_Up)
    assert window.playback.speed_value == 1.5
    qtbot.keyClick(window.video, Qt.Key.Key_Down)
    qtbot.keyClick(window.video, Qt.Key.Key_Down)
    assert window.playback.speed_value == 0.5
    assert f"{window.timestamps[10]:06.3f}"[-6:] in window.playback.position.text()


def test_frames_shown_are_the_frames_asked_for(window, qtbot, sample_video):
    from affectstudio.core.video import VideoReader

    open_and_wait(window, qtbot, sample_video)
    with VideoReader(sample_video) as reader:
        for index in (77, 3, 118, 40):
            show_frame(window, qtbot, lambda i=index: window.seek(i))
            image = window.video._image
            expected = reader.read(index).image
            pixel = image.pixelColor(60, 50)
            assert (pixel.red(), pixel.green(), pixel.blue()) == tuple(int(v) for v in expected[50, 60])


def test_play_advances_and_space_pauses(window, qtbot, sample_video):
    open_and_wait(window, qtbot, sample_video)
    qtbot.keyClick(window.video, Qt.Key.Key_Space)
    assert window.playing
    qtbot.waitUntil(lambda: window.video.index >= 8, timeout=WAIT_MS)
    qtbot.keyClick(window.video, Qt.Key.Key_Space)
    assert not window.playing
    stopped = window.current_frame
    qtbot.wait(200)
    assert window.current_frame == stopped


def test_go_to_box_accepts_frames_and_times(window, qtbot, sample_video):
    open_and_wait(window, qtbot, sample_video)
    box = window.playback.goto
    box.setText("1.5s")
    show_frame(window, qtbot, box.returnPressed.emit)
    assert window.current_frame == frame_at(window.timestamps, 1.5)
    box.setText("100")
    assert show_frame(window, qtbot, box.returnPressed.emit) == 100
    box.setText("nonsense")
    box.returnPressed.emit()
    assert window.current_frame == 100 and "background" in box.styleSheet()


def test_click_on_the_timeline_seeks_the_video(window, qtbot, sample_video):
    open_and_wait(window, qtbot, sample_video)
    timeline = window.timeline
    point = timeline.mapFromScene(timeline.va_plot.vb.mapViewToScene(QPointF(2.0, 0.0)))
    show_frame(
        window, qtbot, lambda: qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=point)
    )
    assert abs(window.current_frame - frame_at(window.timestamps, 2.0)) <= 1
    assert window.timeline.playheads[0].value() == pytest.approx(window.timestamps[window.current_frame])


def test_a_video_that_cannot_be_opened_shows_an_error_and_the_app_keeps_running(
    window, qtbot, tmp_path, sample_video
):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    assert not window.open_video(bad)
    assert window.errors[-1][0] == "Cannot open video" and "broken.mp4" in window.errors[-1][1]
    assert not window.open_video(tmp_path / "missing.mp4")
    open_and_wait(window, qtbot, sample_video)  # still works afterwards


def test_face_boxes_toggle_and_layout_persist(qtbot, sample_video):
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(720, 520)
    first.show()
    first.activateWindow()
    qtbot.waitActive(first)
    first.act_boxes.trigger()
    assert not first.video.show_boxes
    first.main_split.setSizes([200, 400])
    sizes = first.main_split.sizes()
    first.close()
    assert Settings.load().display.show_boxes is False
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    assert not second.act_boxes.isChecked()
    assert second.size() == first.size() and second.main_split.sizes() == sizes
    second.close()
    assert_no_threads_left(second)


def test_shortcuts_sheet_lists_every_shortcut(window, qtbot):
    window.show_shortcuts()
    sheet = window._dialogs[-1]
    texts = {sheet.table.item(r, 0).text() for r in range(sheet.table.rowCount())}
    assert {"Space", "Shift+Left", "Ctrl+E"} <= texts
    sheet.close()
    qtbot.waitUntil(lambda: not window._dialogs)  # deleted on close and forgotten
    window.show_shortcuts()  # a second dialog after the first was deleted
    assert window._dialogs[-1].isVisible()


def test_track_selector_switches_plots_and_highlight(window, qtbot, sample_video):
    from gui_helpers import synthetic_rows

    open_and_wait(window, qtbot, sample_video)
    with qtbot.waitSignal(window.results_changed):  # redraws are throttled: wait for the one that follows
        # as the engine streams
        window.controller.rows.emit(synthetic_rows(120, window.session.video.fps, tracks=2))
    assert window.track_box.count() == 2 and window.track == 0
    first = window.timeline.smooth_curves[0].getData()[1].copy()
    window.track_box.setCurrentIndex(1)
    assert window.track == 1 and window.video.selected_track == 1
    second = window.timeline.smooth_curves[0].getData()[1]
    assert not (first == second).all()  # the plots now show the other face
    show_frame(window, qtbot, lambda: window.seek(12))
    assert [track for track, _ in window.video._faces] == [0, 1]
    window.rename_track("Passenger")
    assert window.track_box.itemText(1) == "Passenger" and window.track_box.itemText(0) == "Face #0"


def test_recent_files_menu_lists_opened_videos(window, qtbot, sample_video):
    window._fill_recent()
    assert [a.text() for a in window.recent_menu.actions()] == ["(none)"]
    open_and_wait(window, qtbot, sample_video)
    window._fill_recent()
    assert [a.text() for a in window.recent_menu.actions()] == [str(sample_video.resolve())]
